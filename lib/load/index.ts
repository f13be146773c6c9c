// loadModel: a Sequential from the files trained models come in. The format is told by the bytes
// (or options.format); each reader turns its file into layer specs, built here the same way.
import { describe, fail, LstmError } from '../errors.js';
import { checkOptions, refuseNull } from '../recurrent.js';
import type { Model } from '../model.js';
import type { Sequential } from '../sequential.js';
import type { OnnxGraph } from '../onnx-graph.js';
import { buildModel, buildSequential, chainAsGraph, modelError, type CustomLayerFactory, type GraphSpec, type LayerSpec, type RecurrentRunOptions } from './spec.js';
import { checkFiles, openModel, type ModelFile, type ModelSource } from './source.js';
import type { KerasFileLayer } from './keras-file.js';
import type { OnnxRecurrentNode } from './onnx.js';
import type { SafetensorsConfig } from './safetensors.js';

/** The `__metadata__` key under which a safetensors file may carry its own SafetensorsConfig, as a JSON string. */
export const SAFETENSORS_CONFIG_KEY = 'lstm_runtime';

export type ModelFormat = 'tfjs' | 'keras' | 'h5' | 'onnx' | 'safetensors';
const FORMATS: readonly ModelFormat[] = ['tfjs', 'keras', 'h5', 'onnx', 'safetensors'];

export interface LoadModelOptions extends RecurrentRunOptions {
  /**
   * 'tfjs' (model.json with its weight shards), 'keras' (Keras 3 .keras), 'h5' (Keras HDF5 with its
   * model config), 'onnx', or 'safetensors' (a PyTorch state dict). Told from the bytes when omitted.
   */
  format?: ModelFormat;
  /** safetensors: which modules of the state dict run, in order (see SafetensorsConfig). */
  config?: SafetensorsConfig;
  /**
   * Files the model names beside its main file, when it is given as bytes (or to use instead of
   * reading them): TF.js weight shards by their manifest paths, ONNX external data by its location
   * (`model.onnx.data` from torch's exporter).
   */
  files?: Readonly<Record<string, Uint8Array | ArrayBuffer>>;
  /**
   * Keras layers of the user's own by class name (TF.js, .keras, .h5): each gets the layer's config
   * and its weights (get_weights() order) and returns a CustomLayer. A model with one loads as a Model.
   */
  customLayers?: Readonly<Record<string, CustomLayerFactory>>;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04];

const startsWith = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((b, k) => bytes[k] === b);

/** The format the bytes are in, or null. */
export function detectFormat(bytes: Uint8Array): ModelFormat | null {
  if (startsWith(bytes, HDF5_SIGNATURE)) return 'h5';
  if (startsWith(bytes, ZIP_SIGNATURE)) return 'keras';
  // safetensors: a little-endian u64 header length, then the JSON header. Checked before JSON, as
  // the length's low byte may be '{'; model.json's first 8 bytes read as a length exceed any file.
  if (bytes.length >= 10 && bytes[8] === 0x7b) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const length = view.getBigUint64(0, true);
    if (length >= 2n && length <= BigInt(bytes.length - 8)) return 'safetensors';
  }
  let k = 0;
  while (k < bytes.length && (bytes[k] === 0x20 || bytes[k] === 0x0a || bytes[k] === 0x0d || bytes[k] === 0x09 || bytes[k] === 0xef || bytes[k] === 0xbb || bytes[k] === 0xbf)) k++;
  if (bytes[k] === 0x7b) return 'tfjs'; // '{': JSON
  // ONNX ModelProto starts with field 1 (ir_version, a varint): tag 0x08.
  if (bytes[0] === 0x08) return 'onnx';
  return null;
}

async function readSpecs(file: ModelFile, format: ModelFormat, options: LoadModelOptions): Promise<LayerSpec[] | GraphSpec> {
  return asModelError(file, format, () => readFormat(file, format, options));
}

async function asModelError<T>(file: ModelFile, format: ModelFormat, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    // A reader's own checks throw LstmError; anything else a damaged file set off (in HDF5, in
    // unzip, in the protobuf decoder) is still the file's fault, not a crash.
    if (error instanceof LstmError) throw error;
    return modelError(file.name, `could not be read as ${format} (${error instanceof Error ? error.message : String(error)})`, error);
  }
}

async function readFormat(file: ModelFile, format: ModelFormat, options: LoadModelOptions): Promise<LayerSpec[] | GraphSpec> {
  const custom = options.customLayers === undefined ? undefined : new Set(Object.keys(options.customLayers));
  switch (format) {
    case 'tfjs':
      return (await import('./tfjs.js')).readTfjs(file, custom);
    case 'keras':
      return (await import('./keras.js')).readKerasArchive(file, custom);
    case 'h5':
      return (await import('./keras.js')).readKerasHdf5(file, custom);
    case 'onnx':
      return (await import('./onnx.js')).readOnnx(file);
    case 'safetensors':
      return (await import('./safetensors.js')).readSafetensors(file, options.config);
  }
}

/**
 * A Sequential from a TensorFlow.js model.json (and its weight shards), a Keras .keras or .h5
 * file, an ONNX model of LSTM/GRU/Gemm/MatMul nodes, or a PyTorch state dict in safetensors; a
 * Model from a Keras functional model that is more than a chain (several inputs or outputs,
 * merges, a layer's output taken by several layers) or one with customLayers.
 * `source` is a path (Node), a URL, or the bytes of the main file.
 */
export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<Sequential | Model | OnnxGraph> {
  checkOptions(options, ['format', 'config', 'files', 'backend', 'threads', 'weightPrecision', 'customLayers']);
  const custom = options.customLayers;
  if (custom !== undefined && (typeof custom !== 'object' || custom === null || Object.values(custom).some((f) => typeof f !== 'function'))) {
    fail('ERR_LSTM_CONFIG', 'options.customLayers', 'an object of functions by Keras class name, (config, weights) => layer', describe(custom));
  }
  refuseNull(options, 'options', ['config']); // here: inside a layer it would read as the file's fault (a null config has its own message)
  if (options.format !== undefined && !FORMATS.includes(options.format)) {
    fail('ERR_LSTM_CONFIG', 'options.format', FORMATS.map((f) => `'${f}'`).join(', '), describe(options.format));
  }
  checkFiles(options.files, 'options.files');
  const file = await openModel(source, options.files);
  const format = options.format ?? detectFormat(file.bytes);
  if (format === null) {
    modelError(file.name, `expected a TF.js model.json, a Keras .keras or .h5 file, an ONNX model or safetensors, got ${file.bytes.length} bytes in none of these formats`);
  }
  if (options.config !== undefined && format !== 'safetensors') {
    fail('ERR_LSTM_CONFIG', 'options.config', `no config for a ${format} file (it names a safetensors state dict's modules)`, describe(options.config));
  }
  const run = runOptions(options);
  let specs: LayerSpec[] | GraphSpec;
  try {
    specs = await readSpecs(file, format, options);
  } catch (error) {
    // An ONNX model that is more than a chain of layers runs whole, node by node.
    if (format === 'onnx' && (error as { runsAsGraph?: boolean }).runsAsGraph) return onnxGraph(file, run);
    throw error;
  }
  const graph = Array.isArray(specs) ? chainAsGraph(file.name, specs) : specs;
  return graph ? buildModel(file.name, graph, run, custom ?? {}) : buildSequential(file.name, specs as LayerSpec[], run);
}

function runOptions({ backend, threads, weightPrecision }: RecurrentRunOptions): RecurrentRunOptions {
  const run: RecurrentRunOptions = {};
  if (backend !== undefined) run.backend = backend;
  if (threads !== undefined) run.threads = threads;
  if (weightPrecision !== undefined) run.weightPrecision = weightPrecision;
  return run;
}

/** @internal For what runs a Sequential only (the CLI's tools, the live page): the model, or ERR_LSTM_UNSUPPORTED for a graph. */
export function sequentialOnly(model: Sequential | Model | OnnxGraph, what: string): Sequential {
  // Told by shape, not instanceof: the CLI's bundle and the package may hold two copies of the classes.
  if (!('outputNames' in model)) return model;
  model.dispose();
  throw new LstmError('ERR_LSTM_UNSUPPORTED', `${what} runs a chain of layers (a Sequential); this model is a graph (inputs ${model.inputNames.map((n) => `'${n}'`).join(', ')} and outputs ${model.outputNames.map((n) => `'${n}'`).join(', ')})`);
}

/**
 * An ONNX model run whole, as a graph: inputs and outputs by name, If branches, convolutions,
 * padding and the shape arithmetic exporters put around them, with every LSTM/GRU node on
 * lstm-runtime's layers (Silero VAD: `forward({ input, state, sr })` gives `output` and `stateN`).
 * `loadModel` gives one for an ONNX model that is not a chain of layers.
 */
export async function loadOnnxGraph(source: ModelSource, options: Omit<LoadModelOptions, 'format' | 'config' | 'customLayers'> = {}): Promise<OnnxGraph> {
  checkOptions(options, ['files', 'backend', 'threads', 'weightPrecision']);
  refuseNull(options, 'options');
  checkFiles(options.files, 'options.files');
  return onnxGraph(await openModel(source, options.files), runOptions(options));
}

async function onnxGraph(file: ModelFile, run: RecurrentRunOptions): Promise<OnnxGraph> {
  const spec = await asModelError(file, 'onnx', async () => (await import('./onnx-graph.js')).readOnnxGraph(file));
  const { OnnxGraph } = await import('../onnx-graph.js');
  return OnnxGraph.create(spec, run);
}

/**
 * Every LSTM and GRU node of an ONNX model, subgraphs included, with its weights folded from the
 * model's constants and its attributes as `Lstm.create` / `Gru.create` options: for models that
 * are more than `loadModel` runs whole. `files` holds the external data the model names (torch's
 * `model.onnx.data`), by its location. (The reader loads with the first call.)
 */
export async function readOnnxRecurrent(bytes: Uint8Array | ArrayBuffer, name?: string, files?: Readonly<Record<string, Uint8Array | ArrayBuffer>>): Promise<OnnxRecurrentNode[]> {
  return (await import('./onnx.js')).readOnnxRecurrent(bytes, name, files);
}

/**
 * Every layer of a Keras file, whole model or weights only: a Keras 2 or 3 `.h5` (model.save,
 * save_weights, ModelCheckpoint(save_weights_only=True)), a Keras 3 `.weights.h5` or a `.keras`
 * archive, each with its name, its class when the file holds the model config, its weights in
 * Keras' layout (CuDNNLSTM and CuDNNGRU ones re-laid out) and the options `Lstm.create`,
 * `Gru.create`, `Bidirectional.create`, `Dense.create` or `Embedding.create` takes (see
 * KerasFileLayer). The Keras counterpart of `readOnnxRecurrent`, for what `loadModel` does not run
 * whole. `source` is a path (Node), a URL, or the file's bytes.
 */
export async function readKerasLayers(source: ModelSource): Promise<KerasFileLayer[]> {
  const file = await openModel(source);
  const format = detectFormat(file.bytes);
  if (format !== 'h5' && format !== 'keras') {
    return modelError(file.name, `readKerasLayers: expected a Keras HDF5 file (.h5, .weights.h5) or a .keras archive, got ${format === null ? `${file.bytes.length} bytes in no model format` : `a ${format} file: load it with loadModel`}${format === 'onnx' ? ' or readOnnxRecurrent' : ''}`);
  }
  return asModelError(file, format, async () => (await import('./keras-file.js')).readKerasFileLayers(file, format));
}
