// Which inputs an output depends on: gradient, gradient x input, integrated gradients and
// occlusion, each as Captum defines it (Saliency with abs=False, InputXGradient,
// IntegratedGradients with Gauss-Legendre nodes, Occlusion), so results can be compared with it.
import { Bidirectional } from '../bidirectional.js';
import { Dense } from '../dense.js';
import { Embedding } from '../embedding.js';
import { describe, fail, LstmError } from '../errors.js';
import { Gru } from '../gru.js';
import { Lstm } from '../lstm.js';
import { checkOptions, readMask, refuseNull } from '../recurrent.js';
import { Sequential, type LayerPass, type PreparedInput, type SequentialLayer } from '../sequential.js';
import { readTensor, shapeText, type Tensor, type TensorLike } from '../tensor.js';
import { inputGradient } from './backprop.js';

export type AttributionMethod = 'gradient' | 'gradient-x-input' | 'integrated-gradients' | 'occlusion';
const METHODS: readonly AttributionMethod[] = ['gradient', 'gradient-x-input', 'integrated-gradients', 'occlusion'];

export interface AttributeOptions {
  method: AttributionMethod;
  /** The output feature explained: an index into the last axis of the model's output. */
  target: number;
  /** For a sequence output, the step explained (default the last; negative counts from the end). */
  targetStep?: number;
  /** Integrated gradients and occlusion: the input's reference, [B,T,I] or [T,I] for every row (default zeros). */
  baseline?: TensorLike;
  /** Integrated gradients: Gauss-Legendre nodes (default 50, as Captum's n_steps). */
  steps?: number;
  /** Occlusion: steps per window (default 1), over all features. */
  window?: number;
  /** Occlusion: steps between windows (default 1). */
  stride?: number;
  /** [B,T] Keras mask, as forward takes it. */
  mask?: TensorLike | Uint8Array;
  sequenceLengths?: readonly number[] | Int32Array;
}

export interface Attribution {
  /**
   * [B,T,I], batch-major: each input value's share of the target. A model of ids ([B,T]) is
   * attributed at its embedding vectors (as Captum's LayerIntegratedGradients on the embedding):
   * [B,T,1], one score per token, its vector's scores summed.
   */
  scores: Tensor;
  /** Scores summed over features, [B,T] (a token's score in a model of ids). */
  perStep: Tensor;
  /**
   * A model of ids, gradient methods: [B,T,D] per embedding feature ('gradient': the gradient with
   * respect to the embedding vectors).
   */
  embeddingScores?: Tensor;
  /** Integrated gradients: sum of scores - (F(input) - F(baseline)) per row, Captum's convergence delta. */
  delta?: Tensor;
}

const KEYS = ['method', 'target', 'targetStep', 'baseline', 'steps', 'window', 'stride', 'mask', 'sequenceLengths'];
/** Rows one batched pass runs at most: bounds the memory of traces over many interpolations or windows. */
const ROWS_PER_PASS = 64;

/**
 * How much each input of `input` contributes to one output of `model` (a Sequential, as loadModel
 * returns, or one Lstm, Gru, Bidirectional or Dense layer). The gradients come from
 * backpropagation through time over the traced forward pass of the model's own backend.
 */
export async function attribute(model: Sequential | SequentialLayer, input: TensorLike, options: AttributeOptions): Promise<Attribution> {
  if (typeof options !== 'object' || options === null) fail('ERR_LSTM_CONFIG', 'attribute options', "an object { method, target, ... }", describe(options));
  checkOptions(options, KEYS, 'attribute options');
  refuseNull(options, 'attribute options');
  const method = options.method;
  if (!METHODS.includes(method)) fail('ERR_LSTM_CONFIG', 'options.method', METHODS.map((m) => `'${m}'`).join(', '), describe(method));
  const sequential = model instanceof Sequential ? model : await single(model);
  checkDifferentiable(sequential);
  const prepared = sequential.prepare(input, options.mask);
  const x = readTensor(prepared.x, 'input') as Tensor;
  if (x.shape?.length !== 3) fail('ERR_LSTM_SHAPE', 'input', 'shape [batch, steps, features]', x.shape ? `shape ${shapeText(x.shape)}` : 'a flat array');
  const [B, T, F] = x.shape as [number, number, number];
  const mask = prepared.mask === undefined ? undefined : readMask(prepared.mask, B, T);
  const model_ = new Batched(sequential, prepared.from, [T, F], mask, options.sequenceLengths);
  const base = model_.evaluate([x.data], [...Array(B).keys()]);
  const pick = targetPicker(base.output, options);

  let scores: Float64Array;
  let delta: Float64Array | undefined;
  switch (method) {
    case 'gradient':
    case 'gradient-x-input': {
      scores = model_.gradient(x.data, rowsOf(B, 1), pick);
      if (method === 'gradient-x-input') for (let k = 0; k < scores.length; k++) scores[k]! *= x.data[k]!;
      break;
    }
    case 'integrated-gradients': {
      const baseline = readBaseline(options.baseline, B, T, F);
      const n = positiveInt(options.steps, 'options.steps', 50);
      const { nodes, weights } = gaussLegendre(n);
      // Row (k, b): baseline + alpha_k (x - baseline), every node of every row in batched passes.
      const path = new Float32Array(n * B * T * F);
      for (let k = 0; k < n; k++) {
        for (let j = 0; j < B * T * F; j++) path[k * B * T * F + j] = baseline[j]! + nodes[k]! * (x.data[j]! - baseline[j]!);
      }
      const grads = model_.gradient(path, rowsOf(B, n), pick);
      scores = new Float64Array(B * T * F);
      for (let k = 0; k < n; k++) for (let j = 0; j < B * T * F; j++) scores[j]! += weights[k]! * grads[k * B * T * F + j]!;
      for (let j = 0; j < B * T * F; j++) scores[j]! *= x.data[j]! - baseline[j]!;
      const atBaseline = model_.evaluate([baseline], rowsOf(B, 1)).output;
      delta = new Float64Array(B);
      for (let b = 0; b < B; b++) {
        let sum = 0;
        for (let j = 0; j < T * F; j++) sum += scores[b * T * F + j]!;
        delta[b] = sum - (pick.value(base.output, b) - pick.value(atBaseline, b));
      }
      break;
    }
    case 'occlusion':
      scores = occlusion(model_, x.data, [B, T, F], pick, base.output, options, realSteps(mask, options.sequenceLengths, B, T));
      break;
  }
  const perStep = new Float32Array(B * T);
  for (let s = 0; s < B * T; s++) {
    let sum = 0;
    for (let f = 0; f < F; f++) sum += scores[s * F + f]!;
    // Occlusion changes a whole token at once: its score is the token's, not one per feature.
    perStep[s] = prepared.from === 1 && method === 'occlusion' ? scores[s * F]! : sum;
  }
  const vectors: Tensor = { data: Float32Array.from(scores), shape: [B, T, F] };
  const result: Attribution =
    prepared.from === 1
      ? { scores: { data: perStep.slice(), shape: [B, T, 1] }, perStep: { data: perStep, shape: [B, T] } }
      : { scores: vectors, perStep: { data: perStep, shape: [B, T] } };
  if (prepared.from === 1 && method !== 'occlusion') result.embeddingScores = vectors;
  if (delta) result.delta = { data: Float32Array.from(delta), shape: [B] };
  return result;
}

/** A lone layer runs as a Sequential of one (not disposed: the layer stays the caller's). */
async function single(layer: SequentialLayer): Promise<Sequential> {
  if (!(layer instanceof Lstm || layer instanceof Gru || layer instanceof Bidirectional || layer instanceof Dense || layer instanceof Embedding)) {
    fail('ERR_LSTM_CONFIG', 'model', 'a Sequential, or an Lstm, Gru, Bidirectional or Dense layer', describe(layer));
  }
  return Sequential.create([layer]);
}

/** Layers whose gradient the backward pass cannot take are refused before any work. */
function checkDifferentiable(model: Sequential): void {
  model.layers.forEach((layer, k) => {
    const recurrent = layer instanceof Bidirectional ? [layer.forwardLayer] : layer instanceof Lstm || layer instanceof Gru ? [layer] : [];
    for (const l of recurrent) {
      const { config } = l.parts;
      const where = `layers[${k}] ('${layer.name}')`;
      if (config.weightPrecision === 'int8') throw new LstmError('ERR_LSTM_UNSUPPORTED', `attribute: ${where} stores its recurrent kernel as int8 (weightPrecision 'int8'), whose rounding has no gradient; create the layer with weightPrecision 'f32' to attribute it`);
      if (config.clip > 0) throw new LstmError('ERR_LSTM_UNSUPPORTED', `attribute: ${where} clips its gate pre-activations (clip ${config.clip}), which its trace cannot show; attribution needs a layer without clip`);
      if (l.stateful) throw new LstmError('ERR_LSTM_UNSUPPORTED', `attribute: ${where} is stateful, and attribution would run it many times; use a layer with stateful false`);
    }
  });
}

function positiveInt(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 1e6) fail('ERR_LSTM_CONFIG', what, 'an integer from 1 to 1000000', describe(value));
  return value as number;
}

/** [B,T,F] or [T,F] (every row's), as float32; zeros when absent. */
function readBaseline(value: TensorLike | undefined, B: number, T: number, F: number): Float32Array {
  if (value === undefined) return new Float32Array(B * T * F);
  const t = readTensor(value, 'options.baseline');
  const shape = t.shape ?? [t.data.length];
  if (shapeText(shape) === shapeText([B, T, F])) return t.data;
  if (shapeText(shape) === shapeText([T, F])) {
    const out = new Float32Array(B * T * F);
    for (let b = 0; b < B; b++) out.set(t.data, b * T * F);
    return out;
  }
  return fail('ERR_LSTM_SHAPE', 'options.baseline', `shape [${B}, ${T}, ${F}] (the input's) or [${T}, ${F}]`, `shape ${shapeText(shape)}`);
}

/** Each of `n` copies of B rows maps to its row b: the mask and lengths of b apply. */
const rowsOf = (B: number, n: number): number[] => Array.from({ length: n * B }, (_, k) => k % B);

/** How the explained value is read from an output, and its gradient seeded. */
interface TargetPicker {
  /** The value for row r of an output. */
  value(output: Tensor, r: number): number;
  /** Where row r's value sits in the output's data. */
  index(output: Tensor, r: number): number;
}

function targetPicker(output: Tensor, options: AttributeOptions): TargetPicker {
  const shape = output.shape;
  const O = shape[shape.length - 1]!;
  if (!Number.isInteger(options.target) || options.target < 0 || options.target >= O) {
    fail('ERR_LSTM_CONFIG', 'options.target', `an integer in [0, ${O}) (the output's last axis, of shape ${shapeText(shape)})`, describe(options.target));
  }
  let step = 0;
  if (shape.length === 3) {
    const Tout = shape[1]!;
    const given = options.targetStep ?? -1;
    if (!Number.isInteger(given) || given < -Tout || given >= Tout) fail('ERR_LSTM_CONFIG', 'options.targetStep', `an integer in [${-Tout}, ${Tout}) (the output's steps; negative counts from the end)`, describe(options.targetStep));
    step = given < 0 ? Tout + given : given;
  } else if (options.targetStep !== undefined) {
    fail('ERR_LSTM_CONFIG', 'options.targetStep', 'no step: the model returns one vector per row, not a sequence', describe(options.targetStep));
  }
  const index = (out: Tensor, r: number) => (out.shape.length === 3 ? (r * out.shape[1]! + step) * O : r * O) + options.target;
  return { index, value: (out, r) => out.data[index(out, r)]! };
}

/**
 * The model on many rows at once: rows of [T,F] inputs, each standing for one original row whose
 * mask and sequence length it takes; passes of at most ROWS_PER_PASS rows.
 */
class Batched {
  constructor(
    private readonly model: Sequential,
    private readonly from: number,
    private readonly rowShape: [number, number],
    private readonly mask: Uint8Array | undefined,
    private readonly lengths: readonly number[] | Int32Array | undefined,
  ) {}

  private run(data: Float32Array, rows: readonly number[], passes?: LayerPass[]): Tensor {
    const [T] = this.rowShape;
    const R = rows.length;
    let mask: Uint8Array | undefined;
    if (this.mask) {
      mask = new Uint8Array(R * T);
      rows.forEach((b, r) => mask!.set(this.mask!.subarray(b * T, (b + 1) * T), r * T));
    }
    const prepared: PreparedInput = { x: { data, shape: [R, ...this.rowShape] }, mask, from: this.from };
    const sequenceLengths = this.lengths ? rows.map((b) => this.lengths![b]!) : undefined;
    return this.model.runLayers(prepared, { sequenceLengths }, passes).output;
  }

  /** Outputs of `rows.length` rows given as one or more arrays laid end to end. */
  evaluate(parts: Float32Array[], rows: readonly number[]): { output: Tensor } {
    const data = parts.length === 1 ? parts[0]! : concat(parts);
    const size = this.rowShape[0] * this.rowShape[1];
    const outputs: Tensor[] = [];
    for (let start = 0; start < rows.length; start += ROWS_PER_PASS) {
      const end = Math.min(rows.length, start + ROWS_PER_PASS);
      outputs.push(this.run(data.subarray(start * size, end * size), rows.slice(start, end)));
    }
    return { output: joinRows(outputs) };
  }

  /** d(target)/d(input) of every row, [rows, T, F]. */
  gradient(data: Float32Array, rows: readonly number[], pick: TargetPicker): Float64Array {
    const size = this.rowShape[0] * this.rowShape[1];
    const out = new Float64Array(rows.length * size);
    for (let start = 0; start < rows.length; start += ROWS_PER_PASS) {
      const end = Math.min(rows.length, start + ROWS_PER_PASS);
      const passes: LayerPass[] = [];
      const output = this.run(data.subarray(start * size, end * size), rows.slice(start, end), passes);
      const seed = new Float64Array(output.data.length);
      for (let r = 0; r < end - start; r++) seed[pick.index(output, r)] = 1;
      out.set(inputGradient(passes, seed), start * size);
    }
    return out;
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function joinRows(outputs: Tensor[]): Tensor {
  if (outputs.length === 1) return outputs[0]!;
  const rows = outputs.reduce((n, o) => n + o.shape[0]!, 0);
  return { data: concat(outputs.map((o) => o.data)), shape: [rows, ...outputs[0]!.shape.slice(1)] };
}

/**
 * Captum's Occlusion with a window of `window` steps over all features: windows start every
 * `stride` steps, ceil((T - window) / stride) + 1 of them, the last cut short at the end; each value
 * scores the mean of F(input) - F(input with a window covering it set to the baseline).
 */
function occlusion(model: Batched, x: Float32Array, [B, T, F]: [number, number, number], pick: TargetPicker, output: Tensor, options: AttributeOptions, real: Uint8Array | undefined): Float64Array {
  const window = positiveInt(options.window, 'options.window', 1);
  const stride = positiveInt(options.stride, 'options.stride', 1);
  if (window > T) fail('ERR_LSTM_CONFIG', 'options.window', `at most the input's ${T} steps`, String(window));
  const baseline = readBaseline(options.baseline, B, T, F);
  const count = Math.ceil((T - window) / stride) + 1;
  const occluded = new Float32Array(count * B * T * F);
  for (let w = 0; w < count; w++) {
    const copy = occluded.subarray(w * B * T * F, (w + 1) * B * T * F);
    copy.set(x);
    for (let b = 0; b < B; b++) {
      for (let t = w * stride; t < Math.min(T, w * stride + window); t++) {
        const at = (b * T + t) * F;
        copy.set(baseline.subarray(at, at + F), at);
      }
    }
  }
  const changed = model.evaluate([occluded], rowsOf(B, count)).output;
  const total = new Float64Array(B * T);
  const covered = new Float64Array(B * T);
  for (let w = 0; w < count; w++) {
    for (let b = 0; b < B; b++) {
      const diff = pick.value(output, b) - pick.value(changed, w * B + b);
      for (let t = w * stride; t < Math.min(T, w * stride + window); t++) {
        total[b * T + t]! += diff;
        covered[b * T + t]!++;
      }
    }
  }
  const scores = new Float64Array(B * T * F);
  for (let s = 0; s < B * T; s++) {
    // A masked or padding step is read by no layer: it scores 0 whatever the windows around it changed.
    const value = real && !real[s] ? 0 : total[s]! / covered[s]!;
    scores.fill(value, s * F, (s + 1) * F);
  }
  return scores;
}

/** [B,T] 1 where a step is read: unmasked and within its row's length; undefined when all are. */
function realSteps(mask: Uint8Array | undefined, lengths: readonly number[] | Int32Array | undefined, B: number, T: number): Uint8Array | undefined {
  if (!mask && !lengths) return undefined;
  const real = mask ? mask.slice() : new Uint8Array(B * T).fill(1);
  if (lengths) for (let b = 0; b < B; b++) real.fill(0, b * T + Math.min(T, lengths[b]!), (b + 1) * T);
  return real;
}

/** Gauss-Legendre nodes and weights on [0, 1] (Captum's 'gausslegendre': numpy's leggauss rescaled). */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  // Newton's method on P_n from Chebyshev guesses; the roots are symmetric about 0.
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      dp = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const w = 2 / ((1 - x * x) * dp * dp);
    // leggauss returns ascending nodes: -x first.
    nodes[i] = 0.5 * (1 - x);
    nodes[n - 1 - i] = 0.5 * (1 + x);
    weights[i] = weights[n - 1 - i] = 0.5 * w;
  }
  return { nodes, weights };
}
