// TensorFlow.js layers models: model.json (a Keras topology and a weights manifest) and the
// binary shards the manifest names, read relative to model.json.
import { describe } from '../errors.js';
import { MAX_BUFFER_BYTES, sizeOf, type Tensor } from '../tensor.js';
import { halfToFloat, readFloat32 } from './binary.js';
import { kerasSpecs } from './keras.js';
import { kerasTopology } from './keras-graph.js';
import { saveKeys, type KerasLayerConfig } from './keras-layers.js';
import { modelError, parseJson, type GraphSpec, type LayerSpec } from './spec.js';
import type { ModelFile } from './source.js';

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  /** tensorflowjs_converter --quantize_*: stored as uint8/uint16 (value = q * scale + min) or float16. */
  quantization?: { dtype: string; scale?: number; min?: number };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

const STORED_BYTES: Record<string, number> = { float32: 4, uint8: 1, uint16: 2, float16: 2 };

function readModelJson(file: ModelFile): Record<string, unknown> {
  const json = parseJson(file.name, new TextDecoder().decode(file.bytes), 'model.json');
  if (typeof json !== 'object' || json === null || !('modelTopology' in json) || !('weightsManifest' in json)) {
    return modelError(file.name, `expected TF.js model.json with modelTopology and weightsManifest, got ${describe(json)}`);
  }
  return json as Record<string, unknown>;
}

function checkManifest(file: string, manifest: unknown): ManifestGroup[] {
  const ok = (w: ManifestWeight) =>
    typeof w === 'object' && w !== null && typeof w.name === 'string' && typeof w.dtype === 'string' &&
    Array.isArray(w.shape) && w.shape.every((d) => Number.isInteger(d) && d >= 0);
  if (!Array.isArray(manifest)) return modelError(file, `expected weightsManifest to be a list of groups, got ${describe(manifest)}`);
  manifest.forEach((g: ManifestGroup, k) => {
    if (typeof g !== 'object' || g === null || !Array.isArray(g.paths) || !g.paths.every((p) => typeof p === 'string') || !Array.isArray(g.weights) || !g.weights.every(ok)) {
      modelError(file, `weightsManifest[${k}]: expected { paths: string[], weights: { name, shape, dtype }[] }, got ${describe(g)}`);
    }
  });
  return manifest as ManifestGroup[];
}

/** One weight's values from its stored bytes. */
function decode(file: string, w: ManifestWeight, bytes: Uint8Array, offset: number, count: number): Float32Array {
  const stored = w.quantization?.dtype ?? w.dtype;
  if (stored === 'float32') return readFloat32(bytes, offset, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * STORED_BYTES[stored]!);
  const out = new Float32Array(count);
  if (stored === 'float16') {
    for (let k = 0; k < count; k++) out[k] = halfToFloat(view.getUint16(2 * k, true));
    return out;
  }
  const { scale, min } = w.quantization!;
  if (typeof scale !== 'number' || typeof min !== 'number') modelError(file, `weight '${w.name}': expected quantization scale and min, got ${describe(w.quantization)}`);
  for (let k = 0; k < count; k++) out[k] = (stored === 'uint8' ? view.getUint8(k) : view.getUint16(2 * k, true)) * scale + min;
  return out;
}

/** The bytes a group's weights declare, checked to be a count a model may hold here before any shard is read. */
function declaredBytes(file: string, group: ManifestGroup): number {
  let total = 0;
  for (const w of group.weights) {
    const stored = w.quantization?.dtype ?? w.dtype;
    const size = sizeOf(w.shape) * (STORED_BYTES[stored] ?? 4);
    total += size;
    if (!Number.isSafeInteger(size) || total > MAX_BUFFER_BYTES) {
      modelError(file, `weight '${w.name}' ${JSON.stringify(w.shape)}: its group's weights declare ${Number.isSafeInteger(total) ? total : 'more than 2^53'} bytes, more than the ${MAX_BUFFER_BYTES} a model may hold here`);
    }
  }
  return total;
}

/** Every weight of the manifest by name: each group's shards joined, its weights one after another. */
async function readWeights(file: ModelFile, groups: ManifestGroup[]): Promise<Map<string, Tensor>> {
  const weights = new Map<string, Tensor>();
  for (const group of groups) {
    // The shards are read one by one, none past the bytes the group's weights still declare: a
    // shard that is an endless device or a huge file is refused before it is read.
    const declared = declaredBytes(file.name, group);
    const shards: Uint8Array[] = [];
    let read = 0;
    for (const path of group.paths) {
      const shard = await file.sibling(path, Math.max(0, declared - read));
      shards.push(shard);
      read += shard.length;
    }
    const bytes = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
    shards.reduce((at, s) => (bytes.set(s, at), at + s.length), 0);
    let offset = 0;
    for (const w of group.weights) {
      const stored = w.quantization?.dtype ?? w.dtype;
      if (w.dtype !== 'float32' || !(stored in STORED_BYTES)) {
        modelError(file.name, `weight '${w.name}': expected float32 (stored as float32, float16, uint8 or uint16), got ${w.dtype} stored as ${stored}`);
      }
      const count = sizeOf(w.shape);
      const size = count * STORED_BYTES[stored]!;
      if (offset + size > bytes.length) {
        modelError(file.name, `weight '${w.name}' ${JSON.stringify(w.shape)}: expected ${size} bytes at offset ${offset} of shards ${group.paths.join(', ')}, got ${bytes.length - offset}`);
      }
      weights.set(w.name, { data: decode(file.name, w, bytes, offset, count), shape: w.shape });
      offset += size;
    }
    if (offset !== bytes.length) modelError(file.name, `shards ${group.paths.join(', ')}: expected ${offset} bytes for their weights, got ${bytes.length}`);
  }
  return weights;
}

// Within a layer: the forward direction before the backward one, then get_weights() order
// (kernel, recurrent_kernel, bias by name, or vars/0, 1, 2 by number).
const directionRank = (segment: string | undefined) => (segment?.startsWith('backward') ? 1 : 0);
const WEIGHT_ORDER = ['kernel', 'recurrent_kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance'];
function weightRank(path: readonly string[]): number {
  const last = path[path.length - 1]!.replace(/:\d+$/, '');
  return /^\d+$/.test(last) ? Number(last) : WEIGHT_ORDER.indexOf(last);
}

type Owner = { layer: KerasLayerConfig; path: string[] } | null;

/**
 * Which layer a weight belongs to. Converted from a Keras 3 .keras file, weights are named by where
 * Keras saved them (layers/<key>/cell/vars/0, the key from the layer's class); otherwise by the
 * first layer name in their path ('lstm_1/lstm_cell/kernel', 'sequential/dense/bias',
 * 'bidirectional/forward_lstm/lstm_cell/kernel').
 */
function ownerOf(layers: KerasLayerConfig[], functional: boolean, names: readonly string[]): (path: string[]) => Owner {
  if (names.some((n) => n.startsWith('layers/') && n.includes('/vars/'))) {
    const byKey = new Map([...saveKeys(layers, functional)].map(([layer, key]) => [key, layer]));
    return (path) => (path[0] === 'layers' && byKey.has(path[1]!) ? { layer: byKey.get(path[1]!)!, path: path.slice(2) } : null);
  }
  const byName = new Map(layers.map((layer) => [layer.config.name, layer]));
  return (path) => {
    const at = path.findIndex((segment) => byName.has(segment));
    return at < 0 ? null : { layer: byName.get(path[at])!, path: path.slice(at + 1) };
  };
}

export async function readTfjs(file: ModelFile, customLayers?: ReadonlySet<string>): Promise<LayerSpec[] | GraphSpec> {
  const json = readModelJson(file);
  const topology = json.modelTopology as { model_config?: unknown } | null;
  // Converted from a Keras file, the topology wraps the model config; saved by TF.js, it is one.
  const kept = kerasTopology(file.name, topology && typeof topology === 'object' && 'model_config' in topology ? topology.model_config : topology);
  const { layers, functional } = kept;
  const all = await readWeights(file, checkManifest(file.name, json.weightsManifest));
  const owner = ownerOf(kept.all, functional, [...all.keys()]);
  const byLayer = new Map<KerasLayerConfig, { path: string[]; tensor: Tensor; k: number }[]>();
  for (const [name, tensor] of all) {
    const found = owner(name.split('/'));
    if (!found) continue; // not a layer's (an optimizer's, say)
    const list = byLayer.get(found.layer) ?? [];
    list.push({ path: found.path, tensor, k: list.length });
    byLayer.set(found.layer, list);
  }
  return kerasSpecs(kept, {
    file: file.name,
    layers,
    hardSigmoid: 'keras2', // TF.js' own definition, whichever Keras wrote the model
    framework: 'tfjs',
    ...(customLayers && { customLayers }),
    async weights(layer: KerasLayerConfig) {
      return (byLayer.get(layer) ?? [])
        .sort((a, b) => directionRank(a.path[0]) - directionRank(b.path[0]) || weightRank(a.path) - weightRank(b.path) || a.k - b.k)
        .map((w) => w.tensor);
    },
  });
}
