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
import { Sequential, type SequentialLayer, type SequentialOptions } from '../sequential.js';

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
function createLayer(spec: Exclude<LayerSpec, { type: 'input' }>, run: RecurrentRunOptions): Promise<SequentialLayer> {
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
      if (spec.type === 'input') return modelError(file, `layer '${spec.name}': expected it first in the model (it says how the model reads its input), got it after '${layers.length ? rest[layers.length - 1]!.name : ''}'`);
      layers.push(await asModelError(file, `layer '${spec.name}' (${spec.type})`, () => createLayer(spec, run)));
    }
    return await asModelError(file, 'the layers do not form a Sequential', () => Sequential.create(layers, input?.options ?? {}));
  } catch (error) {
    for (const layer of layers) layer.dispose();
    throw error;
  }
}
