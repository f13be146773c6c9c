// Keras files: .h5 (Keras 1-3's HDF5 model format: the model config as an attribute, each layer's
// weights under model_weights/<layer>) and .keras (Keras 3: a zip of config.json, metadata.json
// and model.weights.h5, whose weights sit under layers/<key>/.../vars/<n>). HDF5 is read with
// h5wasm, which runs the HDF5 library itself in WebAssembly, in a worker thread with a deadline
// where there is one (hdf5.ts).
import { describe } from '../errors.js';
import { MAX_BUFFER_BYTES, type Tensor } from '../tensor.js';
import { readHdf5 } from './hdf5.js';
import type { Hdf5Node } from './hdf5-snapshot.js';
import { kerasGraphSpecs, kerasTopology } from './keras-graph.js';
import { kerasLayerSpecs, READ_KERAS_LAYERS, saveKeys, type HardSigmoid, type KerasLayerConfig, type KerasModel } from './keras-layers.js';
import { modelError, parseJson, type GraphSpec, type LayerSpec } from './spec.js';
import type { ModelFile } from './source.js';
import { readZipEntry, zipEntries } from './zip.js';

/** The most bytes config.json or metadata.json of a .keras file may inflate to (real ones are KBs). */
export const MAX_KERAS_JSON_BYTES = 64 * 2 ** 20;

/** The member of `group` at `path` ('a/b/c'), or undefined. */
export function member(group: Hdf5Node, path: string): Hdf5Node | undefined {
  let node: Hdf5Node | undefined = group;
  for (const name of path.split('/').filter((s) => s !== '')) node = node?.kind === 'group' ? node.children?.[name] : undefined;
  return node;
}
export const isGroup = (node: Hdf5Node | undefined): node is Hdf5Node & { kind: 'group' } => node?.kind === 'group';
const describeNode = (node: Hdf5Node | undefined) => (node === undefined ? 'nothing' : node.kind === 'other' ? node.type! : node.kind === 'group' ? 'Group' : node.kind === 'dataset' ? 'Dataset' : 'nothing');

/** An attribute's value, undefined when the group has none of that name; a damaged one throws. */
export function attribute(file: string, group: Hdf5Node, name: string): unknown {
  const damaged = group.attrsError ?? group.attrs?.[name]?.error;
  if (damaged !== undefined) {
    return modelError(file, `attribute '${name}' of '${group.path}' could not be read (a damaged file; HDF5's report is the cause)`, new Error(damaged));
  }
  return group.attrs?.[name]?.value;
}

function dataset(file: string, group: Hdf5Node, path: string): Tensor {
  const entity = member(group, path);
  if (entity?.kind === 'error' || (entity?.kind === 'dataset' && entity.error !== undefined)) {
    return modelError(file, `dataset '${group.path}/${path}' could not be read (${entity.error})`, new Error(entity.error));
  }
  if (entity?.kind !== 'dataset') return modelError(file, `expected a dataset at '${group.path}/${path}', got ${describeNode(entity)}`);
  const value = entity.value;
  const shape = entity.shape ?? [];
  if (!(value instanceof Float32Array || value instanceof Float64Array || value instanceof Uint16Array)) {
    return modelError(file, `dataset '${group.path}/${path}': expected float32 or float64 values, got ${describe(value)} (dtype ${JSON.stringify(entity.dtype)})`);
  }
  if (value instanceof Uint16Array) return modelError(file, `dataset '${group.path}/${path}': expected float32 or float64 values, got float16 or integers (dtype ${JSON.stringify(entity.dtype)})`);
  return { data: value instanceof Float32Array ? value : Float32Array.from(value), shape };
}

const hardSigmoidOf = (version: unknown): HardSigmoid => (typeof version === 'string' && /^[12]\./.test(version) ? 'keras2' : 'keras3');

/**
 * One layer's weights as Keras 2's HDF5 layout keeps them (model_weights/<layer> of a model file,
 * /<layer> of a save_weights file): the datasets its weight_names attribute lists, in that order.
 */
export function h5LayerWeights(file: string, group: Hdf5Node): { names: string[]; tensors: Tensor[] } {
  const names = attribute(file, group, 'weight_names');
  // A layer without weights: Keras 2 wrote an empty array, which h5py stores as float64.
  const empty = names === undefined || (ArrayBuffer.isView(names) && (names as Float64Array).length === 0);
  const list = empty ? [] : Array.isArray(names) ? names : typeof names === 'string' ? [names] : null;
  if (list === null || !list.every((n) => typeof n === 'string')) return modelError(file, `${group.path.slice(1)}: expected weight_names as strings, got ${describe(names)}`);
  return { names: list as string[], tensors: list.map((n) => dataset(file, group, n as string)) };
}

/** What hard_sigmoid means in a Keras HDF5 file: its keras_version, on the root or on model_weights. */
export function h5HardSigmoid(file: string, root: Hdf5Node): HardSigmoid {
  const weightsGroup = member(root, 'model_weights');
  return hardSigmoidOf(attribute(file, root, 'keras_version') ?? (weightsGroup ? attribute(file, weightsGroup, 'keras_version') : undefined));
}

/** A Keras .h5 model file (model.save('m.h5') in Keras 2 or 3, keras.models.save_model in Keras 1-2). */
export async function readKerasHdf5(file: ModelFile, customLayers?: ReadonlySet<string>): Promise<LayerSpec[] | GraphSpec> {
  const root = await readHdf5(file.name, file.bytes, ['model_weights']);
  const config = attribute(file.name, root, 'model_config');
  if (config === undefined) {
    const weightsOnly = attribute(file.name, root, 'layer_names') !== undefined || isGroup(member(root, 'layers'));
    return modelError(file.name, `expected a whole model saved to HDF5 (with its model_config), got ${weightsOnly ? 'weights only (save_weights)' : 'no model config'}: ${READ_KERAS_LAYERS}`);
  }
  const weightsGroup = member(root, 'model_weights');
  if (!isGroup(weightsGroup)) return modelError(file.name, `expected a model_weights group, got ${describeNode(weightsGroup)}`);
  const topology = kerasTopology(file.name, parseJson(file.name, config, 'model_config'), READ_KERAS_LAYERS);
  return kerasSpecs(topology, {
    file: file.name,
    layers: topology.layers,
    hardSigmoid: h5HardSigmoid(file.name, root),
    framework: 'keras',
    wayOut: READ_KERAS_LAYERS,
    ...(customLayers && { customLayers }),
    async weights(layer: KerasLayerConfig) {
      const name = String(layer.config.name);
      const group = member(weightsGroup, name);
      if (!isGroup(group)) return modelError(file.name, `expected the weights of layer '${name}' at model_weights/${name}, got nothing there`);
      return h5LayerWeights(file.name, group).tensors;
    },
  });
}

/**
 * Every variable under `group` with its path there ('vars/0', 'cell/vars/1'): its own vars/0..n,
 * then its sublayers' (forward before backward), the order of get_weights().
 */
export function variables(file: string, group: Hdf5Node, prefix = ''): { names: string[]; tensors: Tensor[] } {
  const out = { names: [] as string[], tensors: [] as Tensor[] };
  const vars = member(group, 'vars');
  if (isGroup(vars)) {
    const numbered = Object.keys(vars.children ?? {}).filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
    for (const k of numbered) {
      out.names.push(`${prefix}vars/${k}`);
      out.tensors.push(dataset(file, vars, k));
    }
  }
  const order = (k: string) => (k === 'forward_layer' ? 0 : k === 'backward_layer' ? 2 : 1);
  const children = Object.keys(group.children ?? {}).filter((k) => k !== 'vars').sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const k of children) {
    const child = member(group, k);
    if (!isGroup(child)) continue;
    const inner = variables(file, child, `${prefix}${k}/`);
    out.names.push(...inner.names);
    out.tensors.push(...inner.tensors);
  }
  return out;
}

/** A .keras archive's parts: its model config, what hard_sigmoid means there, and model.weights.h5's bytes. */
export async function openKerasArchive(file: ModelFile): Promise<{ config: unknown; hardSigmoid: HardSigmoid; weights: Uint8Array }> {
  // Each entry's size is read from the zip's central directory and bounded before it is inflated
  // (a 2 MB archive can declare a config.json of gigabytes), and inflating stops where an entry
  // gives more than it declared.
  const { Inflate } = await import('fflate');
  const listed = zipEntries(file.name, file.bytes);
  const limits: Record<string, number> = { 'config.json': MAX_KERAS_JSON_BYTES, 'metadata.json': MAX_KERAS_JSON_BYTES, 'model.weights.h5': MAX_BUFFER_BYTES };
  const entries: Record<string, Uint8Array> = {};
  for (const entry of listed) {
    const limit = limits[entry.name];
    if (limit !== undefined && !entries[entry.name]) entries[entry.name] = readZipEntry(file.name, file.bytes, entry, limit, Inflate);
  }
  for (const name of ['config.json', 'model.weights.h5']) {
    if (!entries[name]) modelError(file.name, `expected ${name} in the .keras archive, got only ${Object.keys(entries).join(', ') || 'none of the Keras files'}`);
  }
  const text = (name: string) => new TextDecoder().decode(entries[name]);
  const metadata = entries['metadata.json'] ? (parseJson(file.name, text('metadata.json'), 'metadata.json') as { keras_version?: unknown } | null) : null;
  return { config: parseJson(file.name, text('config.json'), 'config.json'), hardSigmoid: hardSigmoidOf(metadata?.keras_version ?? '3'), weights: entries['model.weights.h5']! };
}

/** The group of a Keras 3 weights file holding `key`'s weights; refused when it is not there. */
export function keras3LayerGroup(file: string, root: Hdf5Node, key: string | undefined, layerName: string): Hdf5Node {
  const group = key === undefined ? undefined : member(root, `layers/${key}`);
  if (isGroup(group)) return group;
  // tf.keras 2.13-2.15 wrote .keras files with another weight layout.
  const older = member(root, '_layer_checkpoint_dependencies') ? ' (this is a tf.keras 2.13-2.15 .keras file: save the model as .h5 there to load it here)' : '';
  return modelError(file, `expected the weights of layer '${layerName}' at layers/${key} of model.weights.h5, got nothing there${older}`);
}

/** A Keras 3 .keras file. */
export async function readKerasArchive(file: ModelFile, customLayers?: ReadonlySet<string>): Promise<LayerSpec[] | GraphSpec> {
  const archive = await openKerasArchive(file);
  const topology = kerasTopology(file.name, archive.config, READ_KERAS_LAYERS);
  const { layers, functional } = topology;
  const root = await readHdf5(file.name, archive.weights, ['layers']);
  const keys = saveKeys(topology.all, functional);
  return kerasSpecs(topology, {
    file: file.name,
    layers,
    hardSigmoid: archive.hardSigmoid,
    framework: 'keras',
    wayOut: READ_KERAS_LAYERS,
    ...(customLayers && { customLayers }),
    async weights(layer: KerasLayerConfig) {
      return variables(file.name, keras3LayerGroup(file.name, root, keys.get(layer), String(layer.config.name))).tensors;
    },
  });
}

/** A chain's specs in order, or a graph's with what each layer takes. */
export function kerasSpecs(topology: ReturnType<typeof kerasTopology>, model: KerasModel): Promise<LayerSpec[] | GraphSpec> {
  return topology.graph ? kerasGraphSpecs(model, topology.graph) : kerasLayerSpecs(model);
}
