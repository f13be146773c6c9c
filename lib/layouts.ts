import type { CanonicalWeights, CellKind } from './backend.js';
import { describe, fail } from './errors.js';
import { checkFiniteWeights, readTensor, readShaped, shapeText, type Tensor, type TensorLike } from './tensor.js';

export type WeightLayout = 'keras' | 'keras1' | 'pytorch' | 'onnx' | 'cudnn';
export const WEIGHT_LAYOUTS: readonly WeightLayout[] = ['keras', 'keras1', 'pytorch', 'onnx', 'cudnn'];

/** Keras/TF.js: LSTM gates i, f, c, o; GRU z, r, h. `recurrent_kernel` and get_weights() arrays also work. */
export interface KerasWeights {
  kernel: TensorLike;
  recurrentKernel: TensorLike;
  /** LSTM [4U]; GRU [3U], or [2, 3U] (input and recurrent bias) with resetAfter. */
  bias?: TensorLike;
}
/**
 * Keras 2 CuDNNLSTM / CuDNNGRU weights as saved (kernel [I,GU], recurrentKernel [U,GU], bias [2GU]):
 * each gate's blocks hold cuDNN's memory order, and the input and recurrent biases are separate.
 */
export interface CudnnWeights {
  kernel: TensorLike;
  recurrentKernel: TensorLike;
  bias?: TensorLike;
}
/** Keras 1: one tensor per gate (LSTM i, f, c, o; GRU z, r, h). */
export interface Keras1Weights {
  [name: `W_${string}` | `U_${string}` | `b_${string}`]: TensorLike;
}
/** PyTorch nn.LSTM / nn.GRU (one layer, one direction): LSTM gates i, f, g, o; GRU r, z, n. */
export interface PytorchWeights {
  weight_ih: TensorLike;
  weight_hh: TensorLike;
  bias_ih?: TensorLike;
  bias_hh?: TensorLike;
}
/** ONNX LSTM / GRU inputs (one direction): LSTM gates i, o, f, c with peepholes i, o, f; GRU z, r, h. */
export interface OnnxWeights {
  W: TensorLike;
  R: TensorLike;
  B?: TensorLike;
  P?: TensorLike;
}
/** LSTM peepholes in any layout: weights.P ([3U] or [1,3U], order i, o, f) or weights.peepholes. */
export interface PeepholeWeights {
  P?: TensorLike;
  peepholes?: { i: TensorLike; f: TensorLike; o: TensorLike };
}
export type LstmWeights = (KerasWeights | Keras1Weights | PytorchWeights | OnnxWeights | CudnnWeights | readonly TensorLike[]) & PeepholeWeights;
export type GruWeights = KerasWeights | Keras1Weights | PytorchWeights | OnnxWeights | CudnnWeights | readonly TensorLike[];

export interface GateWeights {
  W: Tensor; // [I, U]
  U: Tensor; // [U, U]
  b: Tensor; // [U]
}

/** Per cell: Keras' gate names, and the row block of each Keras gate in the PyTorch and ONNX layouts. */
const CELLS = {
  lstm: { gates: ['i', 'f', 'c', 'o'], pytorchRow: [0, 1, 2, 3], onnxRow: [0, 2, 3, 1] },
  gru: { gates: ['z', 'r', 'h'], pytorchRow: [1, 0, 2], onnxRow: [0, 1, 2] },
} as const;

type Fields = Record<string, unknown>;

const BIAS_FIELDS = ['bias', 'b_i', 'b_f', 'b_c', 'b_o', 'b_z', 'b_r', 'b_h', 'bias_ih', 'bias_hh', 'bias_ih_l0', 'bias_hh_l0', 'B'];
const hasBias = (w: Fields) => BIAS_FIELDS.some((k) => w[k] !== undefined && w[k] !== null);

function field(w: Fields, names: string[], what: string, required: true): unknown;
function field(w: Fields, names: string[], what: string, required: false): unknown | undefined;
function field(w: Fields, names: string[], what: string, required: boolean): unknown {
  for (const n of names) if (w[n] !== undefined && w[n] !== null) return w[n];
  if (required) fail('ERR_LSTM_WEIGHTS', `weights.${names[0]}`, `a ${what} tensor`, 'nothing');
  return undefined;
}

/** The shape of a tensor given with one, else null (a flat array). */
function dims(value: unknown, what: string): number[] | null {
  return readTensor(value, what, 'ERR_LSTM_WEIGHTS').shape;
}

/** The layer's sizes, given or inferred from the tensors' shapes; `admit` sees them before any weight is read. */
function sizes(c: Ctx, inferredI: number | undefined, inferredU: number | undefined) {
  const { inputSize, units } = c;
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
  c.admit?.(I, U);
  return { I, U };
}

/** Sums two optional biases; either may be absent. */
function addBiases(a: Float32Array | null, b: Float32Array | null): Float32Array | null {
  if (!a) return b;
  if (!b) return a;
  return a.map((v, i) => v + b[i]!);
}

/** Transposes gate-major rows [G*U, K] (gate order given by rowOfGate) into Keras' [K, G*U]. */
function gateRowsToKeras(src: Float32Array, K: number, U: number, rowOfGate: readonly number[]): Float32Array {
  const G = rowOfGate.length;
  const out = new Float32Array(K * G * U);
  for (let gate = 0; gate < G; gate++) {
    const base = rowOfGate[gate]! * U;
    for (let u = 0; u < U; u++) for (let k = 0; k < K; k++) out[k * G * U + gate * U + u] = src[(base + u) * K + k]!;
  }
  return out;
}

function reorderBias(src: Float32Array | null, U: number, rowOfGate: readonly number[]): Float32Array | null {
  if (!src) return null;
  const out = new Float32Array(rowOfGate.length * U);
  rowOfGate.forEach((row, gate) => out.set(src.subarray(row * U, (row + 1) * U), gate * U));
  return out;
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

interface Parsed {
  I: number;
  U: number;
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array | null;
  recurrentBias: Float32Array | null;
}
interface Ctx {
  cell: CellKind;
  G: number;
  useBias: boolean;
  resetAfter: boolean;
  inputSize?: number;
  units?: number;
  admit?: (inputSize: number, units: number) => void;
}

function fromKeras(w: Fields, c: Ctx): Parsed {
  const { G } = c;
  const kernel = field(w, ['kernel'], `[inputSize, ${G}*units] kernel`, true);
  const recurrent = field(w, ['recurrentKernel', 'recurrent_kernel'], `[units, ${G}*units] recurrent kernel`, true);
  const { I, U } = sizes(c, dims(kernel, 'weights.kernel')?.[0], dims(recurrent, 'weights.recurrentKernel')?.[0]);
  let bias: Float32Array | null = null;
  let recurrentBias: Float32Array | null = null;
  if (c.useBias) {
    const b = field(w, ['bias'], `[${G}*units] bias`, true);
    if (c.cell === 'gru' && c.resetAfter) {
      // Keras' GRU with reset_after keeps the input and recurrent biases as two rows.
      const both = readShaped(b, 'weights.bias', [2, G * U], 'ERR_LSTM_WEIGHTS');
      bias = both.slice(0, G * U);
      recurrentBias = both.slice(G * U);
    } else {
      const t = readTensor(b, 'weights.bias', 'ERR_LSTM_WEIGHTS');
      if (c.cell === 'lstm' && t.data.length === 2 * G * U) {
        fail('ERR_LSTM_WEIGHTS', 'weights.bias', `${G * U} values (${2 * G * U} is a CuDNNLSTM bias: load such weights with weightLayout 'cudnn')`, `${t.data.length} values`);
      }
      bias = readShaped(b, 'weights.bias', [G * U], 'ERR_LSTM_WEIGHTS');
    }
  }
  return {
    I,
    U,
    kernel: readShaped(kernel, 'weights.kernel', [I, G * U], 'ERR_LSTM_WEIGHTS'),
    recurrentKernel: readShaped(recurrent, 'weights.recurrentKernel', [U, G * U], 'ERR_LSTM_WEIGHTS'),
    bias,
    recurrentBias,
  };
}

function fromKeras1(w: Fields, c: Ctx): Parsed {
  const names = CELLS[c.cell].gates;
  const { G } = c;
  const first = names[0];
  const { I, U } = sizes(c, dims(field(w, [`W_${first}`], '[inputSize, units]', true), `weights.W_${first}`)?.[0], dims(field(w, [`U_${first}`], '[units, units]', true), `weights.U_${first}`)?.[0]);
  // Every gate's tensors are read and checked before the joined ones are allocated: sizes the
  // tensors do not hold (a huge options.units) are the weights' error, not an allocation's.
  const gates = names.map((g) => ({
    W: readShaped(field(w, [`W_${g}`], '[inputSize, units]', true), `weights.W_${g}`, [I, U], 'ERR_LSTM_WEIGHTS'),
    U: readShaped(field(w, [`U_${g}`], '[units, units]', true), `weights.U_${g}`, [U, U], 'ERR_LSTM_WEIGHTS'),
    b: c.useBias ? readShaped(field(w, [`b_${g}`], '[units]', true), `weights.b_${g}`, [U], 'ERR_LSTM_WEIGHTS') : null,
  }));
  const kernel = new Float32Array(I * G * U);
  const recurrentKernel = new Float32Array(U * G * U);
  const bias = c.useBias ? new Float32Array(G * U) : null;
  gates.forEach(({ W: Wg, U: Ug, b }, gate) => {
    for (let k = 0; k < I; k++) kernel.set(Wg.subarray(k * U, (k + 1) * U), k * G * U + gate * U);
    for (let k = 0; k < U; k++) recurrentKernel.set(Ug.subarray(k * U, (k + 1) * U), k * G * U + gate * U);
    if (bias && b) bias.set(b, gate * U);
  });
  return { I, U, kernel, recurrentKernel, bias, recurrentBias: null };
}

function fromPytorch(w: Fields, c: Ctx): Parsed {
  const { G } = c;
  const rows = CELLS[c.cell].pytorchRow;
  if (c.cell === 'gru' && !c.resetAfter) fail('ERR_LSTM_CONFIG', 'resetAfter', "true with weightLayout 'pytorch' (PyTorch's GRU applies r after the recurrent product)", 'false');
  const ih = field(w, ['weight_ih', 'weight_ih_l0'], `[${G}*units, inputSize]`, true);
  const hh = field(w, ['weight_hh', 'weight_hh_l0'], `[${G}*units, units]`, true);
  const { I, U } = sizes(c, dims(ih, 'weights.weight_ih')?.[1], dims(hh, 'weights.weight_hh')?.[1]);
  const biasOf = (names: string[]) => {
    const v = field(w, names, `[${G}*units]`, false);
    return v === undefined ? null : readShaped(v, `weights.${names[0]}`, [G * U], 'ERR_LSTM_WEIGHTS');
  };
  let bias: Float32Array | null = null;
  let recurrentBias: Float32Array | null = null;
  if (c.useBias) {
    const bih = biasOf(['bias_ih', 'bias_ih_l0']);
    const bhh = biasOf(['bias_hh', 'bias_hh_l0']);
    if (!bih && !bhh) fail('ERR_LSTM_WEIGHTS', 'weights.bias_ih/bias_hh', `at least one [${G}*units] bias (or useBias: false)`, 'neither');
    // An LSTM only ever adds the two; a GRU keeps b_hn inside r * (h.W_hn + b_hn).
    if (c.cell === 'lstm') bias = reorderBias(addBiases(bih, bhh), U, rows);
    else {
      bias = reorderBias(bih, U, rows);
      recurrentBias = reorderBias(bhh, U, rows);
    }
  }
  return {
    I,
    U,
    kernel: gateRowsToKeras(readShaped(ih, 'weights.weight_ih', [G * U, I], 'ERR_LSTM_WEIGHTS'), I, U, rows),
    recurrentKernel: gateRowsToKeras(readShaped(hh, 'weights.weight_hh', [G * U, U], 'ERR_LSTM_WEIGHTS'), U, U, rows),
    bias,
    recurrentBias,
  };
}

function fromOnnx(w: Fields, c: Ctx): Parsed {
  const { G } = c;
  const rows = CELLS[c.cell].onnxRow;
  const Wt = field(w, ['W'], `[1, ${G}*units, inputSize]`, true);
  const Rt = field(w, ['R'], `[1, ${G}*units, units]`, true);
  const wd = dims(Wt, 'weights.W');
  const rd = dims(Rt, 'weights.R');
  for (const [d, name] of [[wd, 'W'], [rd, 'R']] as const) {
    if (d && d.length === 3 && d[0] !== 1) {
      fail('ERR_LSTM_UNSUPPORTED', `weights.${name}`, 'one direction (num_directions = 1; use Bidirectional for two)', `num_directions = ${d[0]}`);
    }
  }
  const { I, U } = sizes(c, wd?.[2], rd?.[2]);
  let bias: Float32Array | null = null;
  let recurrentBias: Float32Array | null = null;
  if (c.useBias && w.B !== undefined && w.B !== null) {
    const B = readShaped(w.B, 'weights.B', [1, 2 * G * U], 'ERR_LSTM_WEIGHTS');
    const [Wb, Rb] = [B.slice(0, G * U), B.slice(G * U)];
    // linear_before_reset (our resetAfter) keeps Rb_h inside r * (...); otherwise the biases add.
    if (c.cell === 'gru' && c.resetAfter) {
      bias = reorderBias(Wb, U, rows);
      recurrentBias = reorderBias(Rb, U, rows);
    } else {
      bias = reorderBias(addBiases(Wb, Rb), U, rows);
    }
  }
  return {
    I,
    U,
    kernel: gateRowsToKeras(readShaped(Wt, 'weights.W', [1, G * U, I], 'ERR_LSTM_WEIGHTS'), I, U, rows),
    recurrentKernel: gateRowsToKeras(readShaped(Rt, 'weights.R', [1, G * U, U], 'ERR_LSTM_WEIGHTS'), U, U, rows),
    bias,
    recurrentBias,
  };
}

/**
 * Keras 2 CuDNN weights, converted as Keras 2 does when it loads them into LSTM/GRU
 * (keras/saving/hdf5_format.py, _convert_rnn_weights): per gate, the input kernel block is read
 * as cuDNN's [U, I] and transposed (`k.T.reshape(k.shape, order='F')`), the recurrent block is
 * transposed, and the two biases are summed (LSTM) or kept as input and recurrent rows (GRU,
 * which is reset-after like cuDNN). Skipping the kernel re-layout runs without error and gives
 * garbage, which is why this is a layout of its own.
 */
function fromCudnn(w: Fields, c: Ctx): Parsed {
  const { G } = c;
  if (c.cell === 'gru' && !c.resetAfter) fail('ERR_LSTM_CONFIG', 'resetAfter', "true with weightLayout 'cudnn' (CuDNNGRU applies r after the recurrent product)", 'false');
  const kernelIn = field(w, ['kernel'], `[inputSize, ${G}*units] kernel`, true);
  const recurrentIn = field(w, ['recurrentKernel', 'recurrent_kernel'], `[units, ${G}*units] recurrent kernel`, true);
  const { I, U } = sizes(c, dims(kernelIn, 'weights.kernel')?.[0], dims(recurrentIn, 'weights.recurrentKernel')?.[0]);
  const GU = G * U;
  const k = readShaped(kernelIn, 'weights.kernel', [I, GU], 'ERR_LSTM_WEIGHTS');
  const r = readShaped(recurrentIn, 'weights.recurrentKernel', [U, GU], 'ERR_LSTM_WEIGHTS');
  const kernel = new Float32Array(I * GU);
  const recurrentKernel = new Float32Array(U * GU);
  for (let g = 0; g < G; g++) {
    for (let i = 0; i < I; i++) {
      for (let u = 0; u < U; u++) {
        const p = u * I + i; // the gate block's memory, read as cuDNN's row-major [U, I]
        kernel[i * GU + g * U + u] = k[Math.floor(p / U) * GU + g * U + (p % U)]!;
      }
    }
    for (let a = 0; a < U; a++) for (let u = 0; u < U; u++) recurrentKernel[a * GU + g * U + u] = r[u * GU + g * U + a]!;
  }
  let bias: Float32Array | null = null;
  let recurrentBias: Float32Array | null = null;
  if (c.useBias) {
    const both = readShaped(field(w, ['bias'], `[${2 * G}*units] bias`, true), 'weights.bias', [2 * GU], 'ERR_LSTM_WEIGHTS');
    if (c.cell === 'lstm') bias = addBiases(both.slice(0, GU), both.slice(GU));
    else [bias, recurrentBias] = [both.slice(0, GU), both.slice(GU)];
  }
  return { I, U, kernel, recurrentKernel, bias, recurrentBias };
}

const READERS: Record<WeightLayout, (w: Fields, c: Ctx) => Parsed> = { keras: fromKeras, keras1: fromKeras1, pytorch: fromPytorch, onnx: fromOnnx, cudnn: fromCudnn };

export interface CanonicalOptions {
  inputSize?: number;
  units?: number;
  useBias?: boolean;
  cell?: CellKind;
  /** GRU only. */
  resetAfter?: boolean;
  /**
   * Called with the sizes once they are known, before any weight is copied or checked: it may
   * throw to refuse a layer that could never be created (a backend's memory limit).
   */
  admit?: (inputSize: number, units: number) => void;
}

/**
 * Converts weights in any supported layout to the canonical Keras form, checking every shape and
 * value. `useBias` false means no bias is read.
 */
export function toCanonicalWeights(weights: unknown, layout: unknown = 'keras', options: CanonicalOptions = {}): CanonicalWeights {
  const { inputSize, units, useBias = true, cell = 'lstm', resetAfter = true, admit } = options;
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
  const read = typeof layout === 'string' ? READERS[layout as WeightLayout] : undefined;
  if (!read) return fail('ERR_LSTM_CONFIG', 'weightLayout', WEIGHT_LAYOUTS.map((l) => `'${l}'`).join(', '), describe(layout));
  const G = CELLS[cell].gates.length;
  const r = read(w, { cell, G, useBias, resetAfter: cell === 'gru' && resetAfter, inputSize, units, admit });
  const peepholes = cell === 'lstm' ? readPeepholes(w, r.U) : null;
  if (cell === 'gru' && (w.P != null || w.peepholes != null)) fail('ERR_LSTM_WEIGHTS', 'weights.P', 'no peepholes (a GRU has none)', 'peepholes');
  checkFiniteWeights(r.kernel, 'weights (input kernel)');
  checkFiniteWeights(r.recurrentKernel, 'weights (recurrent kernel)');
  if (r.bias) checkFiniteWeights(r.bias, 'weights (bias)');
  if (r.recurrentBias) checkFiniteWeights(r.recurrentBias, 'weights (recurrent bias)');
  if (peepholes) checkFiniteWeights(peepholes, 'weights (peepholes)');
  return { inputSize: r.I, units: r.U, kernel: r.kernel, recurrentKernel: r.recurrentKernel, bias: r.bias, recurrentBias: r.recurrentBias, peepholes };
}

/** Per-gate weights { i, f, c, o }, each { W [I,U], U [U,U], b [U] }, of an LSTM in any layout. */
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

/**
 * CuDNNLSTM / CuDNNGRU weights re-laid out as the Keras LSTM / GRU (reset_after) Keras 2 loads
 * them into: kernel [I, GU], recurrentKernel [U, GU], bias [GU] for an LSTM (the two cuDNN biases
 * summed), [2, GU] for a GRU (input and recurrent rows).
 */
export function cudnnToKeras(weights: CudnnWeights, cell: CellKind): { kernel: Tensor; recurrentKernel: Tensor; bias: Tensor } {
  const w = toCanonicalWeights(weights, 'cudnn', { cell });
  const GU = w.kernel.length / w.inputSize;
  let bias: Tensor = { data: w.bias!, shape: [GU] };
  if (cell === 'gru') {
    bias = { data: new Float32Array(2 * GU), shape: [2, GU] };
    bias.data.set(w.bias!);
    bias.data.set(w.recurrentBias!, GU);
  }
  return { kernel: { data: w.kernel, shape: [w.inputSize, GU] }, recurrentKernel: { data: w.recurrentKernel, shape: [w.units, GU] }, bias };
}
