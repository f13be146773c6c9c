// Keras files: .h5 (Keras 1-3's HDF5 model format: the model config as an attribute, each layer's
// weights under model_weights/<layer>) and .keras (Keras 3: a zip of config.json, metadata.json
// and model.weights.h5, whose weights sit under layers/<key>/.../vars/<n>). HDF5 is read with
// h5wasm, which runs the HDF5 library itself in WebAssembly.
import { describe } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { kerasLayerSpecs, modelLayers, saveKeys, type HardSigmoid, type KerasLayerConfig } from './keras-layers.js';
import { modelError, parseJson, type LayerSpec } from './spec.js';
import type { ModelFile } from './source.js';

type H5 = typeof import('h5wasm');
type Group = InstanceType<H5['Group']>;

let opened = 0;
let reading = 0; // reads in progress, which share h5wasm's error handler

/** Runs `read` on the HDF5 file held in `bytes` (h5wasm opens files from its in-memory file system). */
async function withHdf5<T>(file: string, bytes: Uint8Array, read: (root: Group, h5: H5) => Promise<T>): Promise<T> {
  const h5 = await import('h5wasm');
  const module = await h5.ready;
  const path = `/lstm-runtime-${++opened}.h5`;
  module.FS.writeFile(path, bytes);
  // HDF5's errors become exceptions with their message, instead of a trace on stderr (until the
  // last read in progress ends).
  if (reading++ === 0) module.activate_throwing_error_handler();
  let root: InstanceType<H5['File']> | null = null;
  try {
    try {
      root = new h5.File(path, 'r');
    } catch (error) {
      return modelError(file, 'expected an HDF5 file, got one the HDF5 library cannot open (damaged or truncated; its report is the cause)', error);
    }
    return await read(root, h5);
  } finally {
    try {
      root?.close();
    } finally {
      if (--reading === 0) module.deactivate_throwing_error_handler();
      module.FS.unlink(path);
    }
  }
}

/** An attribute's value, undefined when the group has none of that name; a damaged one throws. */
function attribute(file: string, group: Group, name: string): unknown {
  try {
    const attrs = group.attrs;
    return name in attrs ? (attrs[name]!.value ?? undefined) : undefined;
  } catch (error) {
    return modelError(file, `attribute '${name}' of '${group.path}' could not be read (a damaged file; HDF5's report is the cause)`, error);
  }
}

function dataset(file: string, h5: H5, group: Group, path: string): Tensor {
  let entity: ReturnType<Group['get']>;
  try {
    entity = group.get(path);
  } catch (error) {
    return modelError(file, `dataset '${group.path}/${path}' could not be read (${(error as Error).message})`, error);
  }
  if (!(entity instanceof h5.Dataset)) return modelError(file, `expected a dataset at '${group.path}/${path}', got ${entity ? entity.constructor.name : 'nothing'}`);
  const value = entity.value;
  const shape = entity.shape ?? [];
  if (!(value instanceof Float32Array || value instanceof Float64Array || value instanceof Uint16Array)) {
    return modelError(file, `dataset '${group.path}/${path}': expected float32 or float64 values, got ${describe(value)} (dtype ${JSON.stringify(entity.dtype)})`);
  }
  if (value instanceof Uint16Array) return modelError(file, `dataset '${group.path}/${path}': expected float32 or float64 values, got float16 or integers (dtype ${JSON.stringify(entity.dtype)})`);
  return { data: value instanceof Float32Array ? value : Float32Array.from(value), shape };
}

const hardSigmoidOf = (version: unknown): HardSigmoid => (typeof version === 'string' && /^[12]\./.test(version) ? 'keras2' : 'keras3');

/** A Keras .h5 model file (model.save('m.h5') in Keras 2 or 3, keras.models.save_model in Keras 1-2). */
export async function readKerasHdf5(file: ModelFile): Promise<LayerSpec[]> {
  return withHdf5(file.name, file.bytes, async (root, h5) => {
    const config = attribute(file.name, root, 'model_config');
    if (config === undefined) {
      const layers = attribute(file.name, root, 'layer_names');
      return modelError(
        file.name,
        `expected a whole model saved to HDF5 (with its model_config), got ${layers === undefined ? 'no model config' : 'weights only (save_weights): create the layers with their weights instead'}`,
      );
    }
    const weightsGroup = root.get('model_weights');
    if (!(weightsGroup instanceof h5.Group)) return modelError(file.name, `expected a model_weights group, got ${describe(weightsGroup)}`);
    const version = attribute(file.name, root, 'keras_version') ?? attribute(file.name, weightsGroup, 'keras_version');
    return kerasLayerSpecs({
      file: file.name,
      layers: modelLayers(file.name, parseJson(file.name, config, 'model_config')).layers,
      hardSigmoid: hardSigmoidOf(version),
      framework: 'keras',
      async weights(layer: KerasLayerConfig) {
        const name = String(layer.config.name);
        const group = weightsGroup.get(name);
        if (!(group instanceof h5.Group)) return modelError(file.name, `expected the weights of layer '${name}' at model_weights/${name}, got nothing there`);
        const names = attribute(file.name, group, 'weight_names');
        const list = names === undefined ? [] : Array.isArray(names) ? names : typeof names === 'string' ? [names] : null;
        if (list === null || !list.every((n) => typeof n === 'string')) return modelError(file.name, `model_weights/${name}: expected weight_names as strings, got ${describe(names)}`);
        return list.map((n) => dataset(file.name, h5, group, n as string));
      },
    });
  });
}

/** Every variable under `group`: its own vars/0..n, then its sublayers' (forward before backward). */
function variables(file: string, h5: H5, group: Group): Tensor[] {
  const out: Tensor[] = [];
  const vars = group.get('vars');
  if (vars instanceof h5.Group) {
    const numbered = vars.keys().filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
    for (const k of numbered) out.push(dataset(file, h5, vars, k));
  }
  const order = (k: string) => (k === 'forward_layer' ? 0 : k === 'backward_layer' ? 2 : 1);
  const children = group.keys().filter((k) => k !== 'vars').sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const k of children) {
    const child = group.get(k);
    if (child instanceof h5.Group) out.push(...variables(file, h5, child));
  }
  return out;
}

/** A Keras 3 .keras file. */
export async function readKerasArchive(file: ModelFile): Promise<LayerSpec[]> {
  const { unzipSync } = await import('fflate');
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(file.bytes, { filter: (f) => ['config.json', 'metadata.json', 'model.weights.h5'].includes(f.name) });
  } catch (error) {
    return modelError(file.name, `expected a .keras zip archive, got one that cannot be unzipped (${(error as Error).message})`, error);
  }
  for (const name of ['config.json', 'model.weights.h5']) {
    if (!entries[name]) modelError(file.name, `expected ${name} in the .keras archive, got only ${Object.keys(entries).join(', ') || 'none of the Keras files'}`);
  }
  const text = (name: string) => new TextDecoder().decode(entries[name]);
  const metadata = entries['metadata.json'] ? (parseJson(file.name, text('metadata.json'), 'metadata.json') as { keras_version?: unknown } | null) : null;
  const { layers, functional } = modelLayers(file.name, parseJson(file.name, text('config.json'), 'config.json'));
  return withHdf5(file.name, entries['model.weights.h5']!, async (root, h5) => {
    const keys = saveKeys(layers, functional);
    return kerasLayerSpecs({
      file: file.name,
      layers,
      hardSigmoid: hardSigmoidOf(metadata?.keras_version ?? '3'),
      framework: 'keras',
      async weights(layer: KerasLayerConfig) {
        const key = keys.get(layer);
        const group = key === undefined ? null : root.get(`layers/${key}`);
        if (!(group instanceof h5.Group)) {
          // tf.keras 2.13-2.15 wrote .keras files with another weight layout.
          const older = root.get('_layer_checkpoint_dependencies') ? ' (this is a tf.keras 2.13-2.15 .keras file: save the model as .h5 there to load it here)' : '';
          return modelError(file.name, `expected the weights of layer '${String(layer.config.name)}' at layers/${key} of model.weights.h5, got nothing there${older}`);
        }
        return variables(file.name, h5, group);
      },
    });
  });
}
