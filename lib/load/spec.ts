// What every model reader produces: the model's layers as the options their `create` takes, so
// the readers share one way of building a Sequential and the checks every layer makes.
import { Bidirectional, type BidirectionalOptions } from '../bidirectional.js';
import { AveragePooling1D, Conv1D, MaxPooling1D, ZeroPadding1D, type Conv1DOptions, type Pooling1DOptions } from '../conv.js';
import { Dense, type DenseOptions } from '../dense.js';
import { Embedding, type EmbeddingOptions } from '../embedding.js';
import { describe, LstmError } from '../errors.js';
import { Gru, type GruOptions } from '../gru.js';
import { Lstm, type LstmOptions } from '../lstm.js';
import { BatchNormalization, LayerNormalization, type BatchNormalizationOptions, type LayerNormalizationOptions } from '../normalization.js';
import type { RecurrentOptions } from '../recurrent.js';
import { Flatten, GlobalPooling1D, RepeatVector, type PoolingMode } from '../sequence-ops.js';
import { Merge, type MergeOptions } from '../merge.js';
import { Model, type CustomLayer, type ModelLayer } from '../model.js';
import { Sequential, stepMask, type SequentialLayer, type SequentialOptions } from '../sequential.js';
import type { Tensor } from '../tensor.js';

/** One layer of a model file: its kind, the name the file gives it, and its create options. */
export type LayerSpec =
  | { type: 'lstm'; name: string; options: LstmOptions }
  | { type: 'gru'; name: string; options: GruOptions }
  | { type: 'bidirectional'; name: string; options: BidirectionalOptions }
  | { type: 'dense'; name: string; options: DenseOptions }
  | { type: 'embedding'; name: string; options: EmbeddingOptions }
  | { type: 'repeat-vector'; name: string; options: { n: number } }
  | { type: 'flatten'; name: string }
  | { type: 'global-pooling'; name: string; options: { mode: PoolingMode; maskAware: boolean } }
  | { type: 'merge'; name: string; options: MergeOptions }
  /** A layer loadModel's customLayers builds from its Keras config and weights (get_weights() order). */
  | { type: 'custom'; name: string; options: { className: string; config: Record<string, unknown>; weights: Tensor[] } }
  | { type: 'conv1d'; name: string; options: Conv1DOptions }
  | { type: 'max-pooling-1d' | 'average-pooling-1d'; name: string; options: Pooling1DOptions }
  | { type: 'zero-padding-1d'; name: string; options: { padding: [number, number] } }
  | { type: 'batch-normalization'; name: string; options: BatchNormalizationOptions }
  | { type: 'layer-normalization'; name: string; options: LayerNormalizationOptions }
  /** How the model reads its input (first in the list): Keras' Masking value, ONNX's time-major layout. */
  | { type: 'input'; name: string; options: SequentialOptions };

/** Options applied to every recurrent layer of a loaded model. */
export type RecurrentRunOptions = Pick<RecurrentOptions, 'backend' | 'threads' | 'weightPrecision'>;

/** Throws ERR_LSTM_MODEL: "<file>: <what>". */
export function modelError(file: string, what: string, cause?: unknown): never {
  throw new LstmError('ERR_LSTM_MODEL', `${file}: ${what}`, cause === undefined ? undefined : { cause });
}

// Every layer takes its spec's name (a Bidirectional's directions, when the file names no wrapped
// layer, 'forward_<name>' and 'backward_<name>').
/** @internal A layer from its spec, on the run options' backend (loaders and ONNX graphs). */
export function createLayer(spec: Exclude<LayerSpec, { type: 'input' | 'merge' | 'custom' }>, run: RecurrentRunOptions): Promise<SequentialLayer> {
  const { name } = spec;
  switch (spec.type) {
    case 'lstm':
      return Lstm.create({ ...spec.options, ...run, name });
    case 'gru':
      return Gru.create({ ...spec.options, ...run, name });
    case 'bidirectional':
      return Bidirectional.create({ ...spec.options, name, layer: { name, ...spec.options.layer, ...run } });
    case 'dense':
      return Dense.create({ ...spec.options, name });
    case 'embedding':
      return Embedding.create({ ...spec.options, name });
    case 'repeat-vector':
      return RepeatVector.create({ ...spec.options, name });
    case 'flatten':
      return Flatten.create({ name });
    case 'global-pooling':
      return GlobalPooling1D.create({ ...spec.options, name });
    case 'conv1d':
      return Conv1D.create({ ...spec.options, name, ...(run.backend !== undefined && { backend: run.backend }) });
    case 'max-pooling-1d':
      return MaxPooling1D.create({ ...spec.options, name });
    case 'average-pooling-1d':
      return AveragePooling1D.create({ ...spec.options, name });
    case 'zero-padding-1d':
      return ZeroPadding1D.create({ ...spec.options, name });
    case 'batch-normalization':
      return BatchNormalization.create({ ...spec.options, name });
    case 'layer-normalization':
      return LayerNormalization.create({ ...spec.options, name });
  }
}

/** JSON text a model file holds (`what` names it in the message). */
export function parseJson(file: string, text: unknown, what: string): unknown {
  if (typeof text !== 'string') return modelError(file, `expected ${what} as JSON text, got ${describe(text)}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    return modelError(file, `${what}: expected JSON, got text that does not parse (${(error as Error).message})`, error);
  }
}

// The library's own checks of a layer (its weights, its options, how it joins the previous one)
// failing on a model file mean the file is wrong: ERR_LSTM_MODEL naming the layer, cause attached.
async function asModelError<T>(file: string, what: string, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if (!(error instanceof LstmError) || error.code === 'ERR_LSTM_BACKEND' || error.code === 'ERR_LSTM_UNSUPPORTED') throw error;
    // A size past what fits is a bound of this machine, not a fault of the file: the code stays, the layer is named.
    if (error.code === 'ERR_LSTM_RESOURCES') throw new LstmError(error.code, `${file}: ${what}: ${error.message}`, { cause: error });
    return modelError(file, `${what}: ${error.message}`, error);
  }
}

/** Creates each layer and the Sequential holding them (on a failure, the layers made so far are freed). */
export async function buildSequential(file: string, specs: readonly LayerSpec[], run: RecurrentRunOptions): Promise<Sequential> {
  const input = specs[0]?.type === 'input' ? specs[0] : null;
  const rest = specs.slice(input ? 1 : 0);
  if (rest.length === 0) modelError(file, 'expected at least one LSTM, GRU, Bidirectional or Dense layer, got none');
  const layers: SequentialLayer[] = [];
  try {
    for (const spec of rest) {
      if (spec.type === 'merge' || spec.type === 'custom') return modelError(file, `layer '${spec.name}': expected a layer a Sequential runs, got a ${spec.type} layer (a Model runs it)`);
      if (spec.type === 'input') return modelError(file, `layer '${spec.name}': expected it first in the model (it says how the model reads its input), got it after '${layers.length ? rest[layers.length - 1]!.name : ''}'`);
      layers.push(await asModelError(file, `layer '${spec.name}' (${spec.type})`, () => createLayer(spec, run)));
    }
    return await asModelError(file, 'the layers do not form a Sequential', () => Sequential.create(layers, input?.options ?? {}));
  } catch (error) {
    for (const layer of layers) layer.dispose();
    throw error;
  }
}

/**
 * A builder of a layer of the user's own: its Keras config and its weights in get_weights() order
 * give a CustomLayer (or a layer of this library, e.g. a Dense built from those weights).
 */
export type CustomLayerFactory = (config: Record<string, unknown>, weights: Tensor[]) => ModelLayer | Promise<ModelLayer>;

/** A functional model's layers, each with the tensors it takes (inputs' and layers' names). */
export interface GraphSpec {
  inputs: string[];
  outputs: string[];
  /** A shared layer's calls hold the same spec (one layer), each with a name of its own. */
  nodes: { spec: LayerSpec; inputs: string[]; name: string }[];
}

/** A chain of specs that holds a layer only a Model runs (a custom one): the same chain as a graph. */
export function chainAsGraph(file: string, specs: readonly LayerSpec[]): GraphSpec | null {
  if (!specs.some((s) => s.type === 'custom' || s.type === 'merge')) return null;
  let previous = 'input';
  const nodes = specs.map((spec) => {
    const node = { spec, inputs: [previous], name: spec.name };
    previous = spec.name;
    return node;
  });
  return { inputs: ['input'], outputs: [previous], nodes };
}

/** Keras' Masking inside a graph: the tensor as it is, with the mask of its steps (no step(): a stream does not mask). */
class Masking implements CustomLayer {
  constructor(readonly name: string, readonly maskValue: number) {}
  forward(x: Tensor | Tensor[]) {
    return { output: x as Tensor, mask: stepMask(x as Tensor, this.maskValue) };
  }
}

async function createNode(file: string, spec: LayerSpec, run: RecurrentRunOptions, customLayers: Readonly<Record<string, CustomLayerFactory>>): Promise<ModelLayer> {
  if (spec.type === 'input') {
    const value = spec.options.maskValue;
    if (value === undefined || spec.options.timeMajor) return modelError(file, `layer '${spec.name}': expected a Masking layer, got ${describe(spec.options)}`);
    return new Masking(spec.name, value);
  }
  if (spec.type === 'merge') return asModelError(file, `layer '${spec.name}' (merge)`, () => Merge.create({ ...spec.options, name: spec.name }));
  if (spec.type !== 'custom') return asModelError(file, `layer '${spec.name}' (${spec.type})`, () => createLayer(spec, run));
  const { className, config, weights } = spec.options;
  const layer: ModelLayer = await customLayers[className]!(config, weights);
  if (typeof layer !== 'object' || layer === null || typeof (layer as CustomLayer).forward !== 'function') {
    throw new LstmError('ERR_LSTM_CONFIG', `options.customLayers.${className}: expected a layer with forward(input), got ${describe(layer)}`);
  }
  return layer;
}

/** Creates each layer and the Model holding them (on a failure, the layers made so far are freed). */
export async function buildModel(file: string, graph: GraphSpec, run: RecurrentRunOptions, customLayers: Readonly<Record<string, CustomLayerFactory>>): Promise<Model> {
  const layers = new Map<LayerSpec, ModelLayer>(); // a shared layer's calls share it
  try {
    const nodes: { layer: ModelLayer; inputs: string[]; name: string }[] = [];
    for (const { spec, inputs, name } of graph.nodes) {
      if (!layers.has(spec)) layers.set(spec, await createNode(file, spec, run, customLayers));
      nodes.push({ layer: layers.get(spec)!, inputs, name });
    }
    return await asModelError(file, 'the layers do not form a graph', () => Model.create({ inputs: graph.inputs, outputs: graph.outputs, nodes }));
  } catch (error) {
    for (const layer of layers.values()) layer.dispose?.();
    throw error;
  }
}
