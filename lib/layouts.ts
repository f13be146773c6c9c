import { describe, fail } from './errors.js';
import { firstNonFinite, readTensor, readShaped, shapeText, type Tensor, type TensorLike } from './tensor.js';

export type WeightLayout = 'keras' | 'keras1' | 'pytorch' | 'onnx';
export const WEIGHT_LAYOUTS: readonly WeightLayout[] = ['keras', 'keras1', 'pytorch', 'onnx'];

/** Keras/TF.js: gate order i, f, c, o; `recurrent_kernel` and Keras' get_weights() array also work. */
export interface KerasWeights {
  kernel: TensorLike;
  recurrentKernel: TensorLike;
  bias?: TensorLike;
}
/** Keras 1: one tensor per gate. */
export interface Keras1Weights {
  W_i: TensorLike; U_i: TensorLike; b_i?: TensorLike;
  W_f: TensorLike; U_f: TensorLike; b_f?: TensorLike;
  W_c: TensorLike; U_c: TensorLike; b_c?: TensorLike;
  W_o: TensorLike; U_o: TensorLike; b_o?: TensorLike;
}
/** PyTorch nn.LSTM (one layer, one direction): gate order i, f, g, o, two biases. */
export interface PytorchWeights {
  weight_ih: TensorLike;
  weight_hh: TensorLike;
  bias_ih?: TensorLike;
  bias_hh?: TensorLike;
}
/** ONNX LSTM inputs W, R, B, P (one direction): gate order i, o, f, c; peepholes i, o, f. */
export interface OnnxWeights {
  W: TensorLike;
  R: TensorLike;
  B?: TensorLike;
  P?: TensorLike;
}
/** Peepholes in any layout: weights.P ([3U] or [1,3U], order i, o, f) or weights.peepholes. */
export interface PeepholeWeights {
  P?: TensorLike;
  peepholes?: { i: TensorLike; f: TensorLike; o: TensorLike };
}
export type LstmWeights = (KerasWeights | Keras1Weights | PytorchWeights | OnnxWeights | readonly TensorLike[]) & PeepholeWeights;

/** Every layout reduces to this: Keras order i, f, c, o, float32, checked and finite. */
export interface CanonicalLstmWeights {
  inputSize: number;
  units: number;
  kernel: Float32Array; // [I, 4U]
  recurrentKernel: Float32Array; // [U, 4U]
  bias: Float32Array | null; // [4U]
  peepholes: Float32Array | null; // [3U], order i, o, f
}

export interface GateWeights {
  W: Tensor; // [I, U]
  U: Tensor; // [U, U]
  b: Tensor; // [U]
}

const KERAS_GATES = ['i', 'f', 'c', 'o'] as const;
/** Row of each Keras gate (i, f, c, o) in ONNX's i, o, f, c order. */
const ONNX_ROW_OF_KERAS_GATE = [0, 2, 3, 1];

type Fields = Record<string, unknown>;

const BIAS_FIELDS = ['bias', 'b_i', 'b_f', 'b_c', 'b_o', 'bias_ih', 'bias_hh', 'bias_ih_l0', 'bias_hh_l0', 'B'];
const hasBias = (w: Fields) => BIAS_FIELDS.some((k) => w[k] !== undefined && w[k] !== null);

function field(w: Fields, names: string[], what: string, required: true): unknown;
function field(w: Fields, names: string[], what: string, required: false): unknown | undefined;
function field(w: Fields, names: string[], what: string, required: boolean): unknown {
  for (const n of names) if (w[n] !== undefined && w[n] !== null) return w[n];
  if (required) fail('ERR_LSTM_WEIGHTS', `weights.${names[0]}`, `a ${what} tensor`, 'nothing');
  return undefined;
}

/** First dimension of a shaped tensor, or of `fallback` sizes when the value is flat. */
function dims(value: unknown, what: string): number[] | null {
  return readTensor(value, what, 'ERR_LSTM_WEIGHTS').shape;
}

function checkFinite(data: Float32Array, what: string): void {
  const bad = firstNonFinite(data);
  if (bad >= 0) fail('ERR_LSTM_WEIGHTS', what, 'finite values', `${data[bad]} at flat index ${bad}`);
}

function sizes(inputSize: number | undefined, units: number | undefined, inferredI: number | undefined, inferredU: number | undefined) {
  const I = inputSize ?? inferredI;
  const U = units ?? inferredU;
  if (I === undefined || U === undefined) {
    fail('ERR_LSTM_CONFIG', 'inputSize/units', 'both given, or shaped weight tensors to infer them from', 'flat weights without sizes');
  }
  if (inferredI !== undefined && inputSize !== undefined && inferredI !== inputSize) {
    fail('ERR_LSTM_WEIGHTS', 'weights', `input size ${inputSize} (options.inputSize)`, `tensors for input size ${inferredI}`);
  }
  if (inferredU !== undefined && units !== undefined && inferredU !== units) {
    fail('ERR_LSTM_WEIGHTS', 'weights', `${units} units (options.units)`, `tensors for ${inferredU} units`);
  }
  return { I, U };
}

/** Sums two optional biases; either may be absent. */
function addBiases(a: Float32Array | null, b: Float32Array | null): Float32Array | null {
  if (!a) return b;
  if (!b) return a;
  return a.map((v, i) => v + b[i]!);
}

function readPeepholes(w: Fields, U: number): Float32Array | null {
  if (w.P !== undefined && w.P !== null) {
    const t = readTensor(w.P, 'weights.P', 'ERR_LSTM_WEIGHTS');
    const shape = t.shape ?? [t.data.length];
    const ok = (shape.length === 1 && shape[0] === 3 * U) || (shape.length === 2 && shape[0] === 1 && shape[1] === 3 * U);
    if (!ok) fail('ERR_LSTM_WEIGHTS', 'weights.P', `shape [${3 * U}] or [1, ${3 * U}] (order i, o, f)`, `shape ${shapeText(shape)}`);
    return t.data;
  }
  const p = w.peepholes as Fields | undefined;
  if (p === undefined || p === null) return null;
  const out = new Float32Array(3 * U);
  (['i', 'o', 'f'] as const).forEach((g, k) => out.set(readShaped(field(p, [g], 'peephole', true), `weights.peepholes.${g}`, [U], 'ERR_LSTM_WEIGHTS'), k * U));
  return out;
}

function fromKeras(w: Fields, useBias: boolean, inputSize?: number, units?: number) {
  const kernel = field(w, ['kernel'], '[inputSize, 4*units] kernel', true);
  const recurrent = field(w, ['recurrentKernel', 'recurrent_kernel'], '[units, 4*units] recurrent kernel', true);
  const kd = dims(kernel, 'weights.kernel');
  const rd = dims(recurrent, 'weights.recurrentKernel');
  const { I, U } = sizes(inputSize, units, kd?.[0], rd?.[0]);
  return {
    I,
    U,
    kernel: readShaped(kernel, 'weights.kernel', [I, 4 * U], 'ERR_LSTM_WEIGHTS'),
    recurrentKernel: readShaped(recurrent, 'weights.recurrentKernel', [U, 4 * U], 'ERR_LSTM_WEIGHTS'),
    bias: useBias ? readShaped(field(w, ['bias'], '[4*units] bias', true), 'weights.bias', [4 * U], 'ERR_LSTM_WEIGHTS') : null,
  };
}

function fromKeras1(w: Fields, useBias: boolean, inputSize?: number, units?: number) {
  const { I, U } = sizes(inputSize, units, dims(field(w, ['W_i'], '[inputSize, units]', true), 'weights.W_i')?.[0], dims(field(w, ['U_i'], '[units, units]', true), 'weights.U_i')?.[0]);
  const kernel = new Float32Array(I * 4 * U);
  const recurrentKernel = new Float32Array(U * 4 * U);
  const bias = useBias ? new Float32Array(4 * U) : null;
  KERAS_GATES.forEach((g, gate) => {
    const Wg = readShaped(field(w, [`W_${g}`], '[inputSize, units]', true), `weights.W_${g}`, [I, U], 'ERR_LSTM_WEIGHTS');
    const Ug = readShaped(field(w, [`U_${g}`], '[units, units]', true), `weights.U_${g}`, [U, U], 'ERR_LSTM_WEIGHTS');
    for (let k = 0; k < I; k++) kernel.set(Wg.subarray(k * U, (k + 1) * U), k * 4 * U + gate * U);
    for (let k = 0; k < U; k++) recurrentKernel.set(Ug.subarray(k * U, (k + 1) * U), k * 4 * U + gate * U);
    if (bias) bias.set(readShaped(field(w, [`b_${g}`], '[units]', true), `weights.b_${g}`, [U], 'ERR_LSTM_WEIGHTS'), gate * U);
  });
  return { I, U, kernel, recurrentKernel, bias };
}

/** Transposes gate-major rows [4U, K] (gate order given by rowOfGate) into Keras' [K, 4U]. */
function gateRowsToKeras(src: Float32Array, K: number, U: number, rowOfGate: readonly number[]): Float32Array {
  const out = new Float32Array(K * 4 * U);
  for (let gate = 0; gate < 4; gate++) {
    const base = rowOfGate[gate]! * U;
    for (let u = 0; u < U; u++) for (let k = 0; k < K; k++) out[k * 4 * U + gate * U + u] = src[(base + u) * K + k]!;
  }
  return out;
}

function reorderBias(src: Float32Array, U: number, rowOfGate: readonly number[]): Float32Array {
  const out = new Float32Array(4 * U);
  for (let gate = 0; gate < 4; gate++) out.set(src.subarray(rowOfGate[gate]! * U, (rowOfGate[gate]! + 1) * U), gate * U);
  return out;
}

function fromPytorch(w: Fields, useBias: boolean, inputSize?: number, units?: number) {
  const ih = field(w, ['weight_ih', 'weight_ih_l0'], '[4*units, inputSize]', true);
  const hh = field(w, ['weight_hh', 'weight_hh_l0'], '[4*units, units]', true);
  const { I, U } = sizes(inputSize, units, dims(ih, 'weights.weight_ih')?.[1], dims(hh, 'weights.weight_hh')?.[1]);
  const same = [0, 1, 2, 3]; // PyTorch's i, f, g, o is Keras' i, f, c, o
  const biasOf = (names: string[]) => {
    const v = field(w, names, '[4*units]', false);
    return v === undefined ? null : readShaped(v, `weights.${names[0]}`, [4 * U], 'ERR_LSTM_WEIGHTS');
  };
  const bias = useBias ? addBiases(biasOf(['bias_ih', 'bias_ih_l0']), biasOf(['bias_hh', 'bias_hh_l0'])) : null;
  if (useBias && !bias) fail('ERR_LSTM_WEIGHTS', 'weights.bias_ih/bias_hh', 'at least one [4*units] bias (or useBias: false)', 'neither');
  return {
    I,
    U,
    kernel: gateRowsToKeras(readShaped(ih, 'weights.weight_ih', [4 * U, I], 'ERR_LSTM_WEIGHTS'), I, U, same),
    recurrentKernel: gateRowsToKeras(readShaped(hh, 'weights.weight_hh', [4 * U, U], 'ERR_LSTM_WEIGHTS'), U, U, same),
    bias,
  };
}

function fromOnnx(w: Fields, useBias: boolean, inputSize?: number, units?: number) {
  const Wt = field(w, ['W'], '[1, 4*units, inputSize]', true);
  const Rt = field(w, ['R'], '[1, 4*units, units]', true);
  const wd = dims(Wt, 'weights.W');
  const rd = dims(Rt, 'weights.R');
  for (const [d, name] of [[wd, 'W'], [rd, 'R']] as const) {
    if (d && d.length === 3 && d[0] !== 1) {
      fail('ERR_LSTM_UNSUPPORTED', `weights.${name}`, 'one direction (num_directions = 1; use Bidirectional for two)', `num_directions = ${d[0]}`);
    }
  }
  const { I, U } = sizes(inputSize, units, wd?.[2], rd?.[2]);
  let bias: Float32Array | null = null;
  if (useBias && w.B !== undefined && w.B !== null) {
    const B = readShaped(w.B, 'weights.B', [1, 8 * U], 'ERR_LSTM_WEIGHTS');
    bias = reorderBias(addBiases(B.slice(0, 4 * U), B.slice(4 * U))!, U, ONNX_ROW_OF_KERAS_GATE);
  }
  return {
    I,
    U,
    kernel: gateRowsToKeras(readShaped(Wt, 'weights.W', [1, 4 * U, I], 'ERR_LSTM_WEIGHTS'), I, U, ONNX_ROW_OF_KERAS_GATE),
    recurrentKernel: gateRowsToKeras(readShaped(Rt, 'weights.R', [1, 4 * U, U], 'ERR_LSTM_WEIGHTS'), U, U, ONNX_ROW_OF_KERAS_GATE),
    bias,
  };
}

/**
 * Converts weights in any supported layout to the canonical Keras form, checking every shape and
 * value. `useBias` false means no bias is read (ONNX's B is optional in any case).
 */
export function toCanonicalWeights(
  weights: unknown,
  layout: unknown = 'keras',
  { inputSize, units, useBias = true }: { inputSize?: number; units?: number; useBias?: boolean } = {},
): CanonicalLstmWeights {
  if (typeof weights !== 'object' || weights === null) fail('ERR_LSTM_WEIGHTS', 'weights', 'an object of weight tensors', describe(weights));
  let w = weights as Fields;
  if (Array.isArray(weights)) {
    // Keras' layer.get_weights() order.
    if (layout !== 'keras') fail('ERR_LSTM_WEIGHTS', 'weights', `an object of named tensors for layout '${String(layout)}'`, 'an array');
    w = { kernel: weights[0], recurrentKernel: weights[1], bias: weights[2] };
  }
  if (!useBias && hasBias(w)) {
    fail('ERR_LSTM_WEIGHTS', 'weights', 'no bias tensor (useBias is false)', `${BIAS_FIELDS.filter((k) => w[k] != null).join(', ')}`);
  }
  let r: { I: number; U: number; kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null };
  switch (layout) {
    case 'keras':
      r = fromKeras(w, useBias, inputSize, units);
      break;
    case 'keras1':
      r = fromKeras1(w, useBias, inputSize, units);
      break;
    case 'pytorch':
      r = fromPytorch(w, useBias, inputSize, units);
      break;
    case 'onnx':
      r = fromOnnx(w, useBias, inputSize, units);
      break;
    default:
      return fail('ERR_LSTM_CONFIG', 'weightLayout', WEIGHT_LAYOUTS.map((l) => `'${l}'`).join(', '), describe(layout));
  }
  const peepholes = readPeepholes(w, r.U);
  checkFinite(r.kernel, 'weights (input kernel)');
  checkFinite(r.recurrentKernel, 'weights (recurrent kernel)');
  if (r.bias) checkFinite(r.bias, 'weights (bias)');
  if (peepholes) checkFinite(peepholes, 'weights (peepholes)');
  return { inputSize: r.I, units: r.U, kernel: r.kernel, recurrentKernel: r.recurrentKernel, bias: r.bias, peepholes };
}

/** Per-gate weights { i, f, c, o }, each { W [I,U], U [U,U], b [U] }, from any layout. */
export function splitGates(weights: LstmWeights, layout: WeightLayout = 'keras'): Record<'i' | 'f' | 'c' | 'o', GateWeights> {
  const w = Array.isArray(weights) ? { bias: weights[2] } : (weights as unknown as Fields);
  const cw = toCanonicalWeights(weights, layout, { useBias: hasBias(w) });
  const { inputSize: I, units: U } = cw;
  const gate = (g: number): GateWeights => {
    const W = new Float32Array(I * U);
    const R = new Float32Array(U * U);
    for (let k = 0; k < I; k++) W.set(cw.kernel.subarray(k * 4 * U + g * U, k * 4 * U + (g + 1) * U), k * U);
    for (let k = 0; k < U; k++) R.set(cw.recurrentKernel.subarray(k * 4 * U + g * U, k * 4 * U + (g + 1) * U), k * U);
    const b = cw.bias ? cw.bias.slice(g * U, (g + 1) * U) : new Float32Array(U);
    return { W: { data: W, shape: [I, U] }, U: { data: R, shape: [U, U] }, b: { data: b, shape: [U] } };
  };
  return { i: gate(0), f: gate(1), c: gate(2), o: gate(3) };
}
