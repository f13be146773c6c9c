// What a loaded model takes: ids or features, how many steps (a Flatten fixes them), batch- or
// time-major; a random input of that kind, and a user's tensor fitted to it.
import { Bidirectional } from '../bidirectional.js';
import { Embedding } from '../embedding.js';
import { LstmError } from '../errors.js';
import { Flatten } from '../sequence-ops.js';
import type { Sequential } from '../sequential.js';
import { decodeTensor, sniffTensorFormat, tensorFormatOf, type TensorFormat } from '../io/tensor-file.js';
import { shapeText, type Tensor } from '../tensor.js';

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ModelInput {
  /** 'ids' when an Embedding comes first: [batch, steps] integer ids; else [batch, steps, features]. */
  kind: 'ids' | 'features';
  /** Features per step (1 for ids). */
  features: number;
  /** Ids are in [0, vocabulary) (ids only). */
  vocabulary?: number;
  /** The number of steps the model requires (a Flatten before a Dense), or null for any. */
  steps: number | null;
  /** The model takes [steps, batch, ...]. */
  timeMajor: boolean;
}

/** What the model's input is. */
export function modelInput(model: Sequential): ModelInput {
  const first = model.layers[0]!;
  const ids = first instanceof Embedding;
  const input: ModelInput = { kind: ids ? 'ids' : 'features', features: 'inputSize' in first ? first.inputSize : 1, steps: null, timeMajor: model.timeMajor };
  if (ids) input.vocabulary = first.inputDim;
  // A Flatten fixes the number of steps: the Dense after it takes steps * features.
  const k = model.layers.findIndex((l) => l instanceof Flatten);
  const before = model.layers[k - 1];
  const after = model.layers[k + 1];
  if (k > 0 && before && after && 'inputSize' in after) {
    const width = before instanceof Bidirectional ? before.outputSize : 'units' in before ? before.units : null;
    if (width) input.steps = after.inputSize / width;
  }
  return input;
}

/** The shape of `batch` sequences of `steps` for the model ([steps, batch, ...] if time-major). */
export function inputShape(model: Sequential, steps: number, batch = 1): number[] {
  const m = modelInput(model);
  return [...(m.timeMajor ? [steps, batch] : [batch, steps]), ...(m.kind === 'ids' ? [] : [m.features])];
}

export interface RandomInputOptions {
  /** Steps per sequence (20); a model with a fixed number of steps takes its own. */
  steps?: number;
  batch?: number;
  seed?: number;
}

/**
 * A random input the model takes: ids in [1, vocabulary) (0 is padding) for a model of ids,
 * features uniform in [-1, 1] otherwise.
 */
export function randomInput(model: Sequential, options: RandomInputOptions = {}): Tensor {
  const m = modelInput(model);
  const steps = m.steps ?? options.steps ?? 20;
  const shape = inputShape(model, steps, options.batch ?? 1);
  const rand = seededRandom(options.seed ?? 7);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let k = 0; k < n; k++) data[k] = m.kind === 'ids' ? 1 + Math.floor(rand() * Math.max(1, m.vocabulary! - 1)) : 2 * rand() - 1;
  return { data, shape };
}

/**
 * A user's tensor as the model takes it. `oneSequence` (CSV): the tensor is [steps, features]
 * (a column for a model of ids) and becomes one sequence, [1, steps, ...] ([steps, 1, ...] for a
 * time-major model). Otherwise a tensor one axis short of the model's input ([steps, features],
 * or [steps] of ids) gets a batch axis of 1 the same way; anything else passes unchanged, for the
 * model to check.
 */
export function fitInput(model: Sequential, tensor: Tensor, options: { oneSequence?: boolean } = {}): Tensor {
  const m = modelInput(model);
  const { data, shape } = tensor;
  let steps: number[];
  if (options.oneSequence) {
    if (shape.length !== 2) throw new LstmError('ERR_LSTM_SHAPE', `input: expected one sequence [steps, features], got shape ${shapeText(shape)}`);
    if (m.kind === 'ids' && shape[1] !== 1) throw new LstmError('ERR_LSTM_SHAPE', `input: this model takes ids, one column of them (one id per step), got ${shape[1]} columns`);
    steps = m.kind === 'ids' ? [shape[0]!] : shape;
  } else if (shape.length === (m.kind === 'ids' ? 1 : 2)) {
    steps = shape;
  } else {
    return tensor;
  }
  const [T, ...rest] = steps as [number, ...number[]];
  return { data, shape: m.timeMajor ? [T, 1, ...rest] : [1, T, ...rest] };
}

/**
 * The model's input from the bytes of a JSON, CSV or .npy file (see decodeTensor), fitted to
 * the model (see fitInput; a CSV file is one sequence). `name` gives the format by its extension
 * and names the file in messages; without it the format is told from the bytes.
 */
export function readModelInput(model: Sequential, bytes: Uint8Array, options: { name?: string; format?: TensorFormat } = {}): Tensor {
  const format = options.format ?? (options.name ? tensorFormatOf(options.name) : null) ?? sniffTensorFormat(bytes);
  const tensor = decodeTensor(bytes, { format, name: options.name ?? 'the input' });
  return fitInput(model, tensor, { oneSequence: format === 'csv' });
}
