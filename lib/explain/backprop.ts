// Backpropagation through a model's layers, in float64, over one traced forward pass: the gradient
// of an output with respect to the input of the layers, which attribution is made of. The gates,
// cell and hidden states at every step come from the trace the backend wrote; each recurrent layer
// is then run backwards through time (BPTT) with its float32 weights in Keras' layout.
import { activationFn, derivativeFromOutput, encodeActivation, type ActivationCode } from '../activations.js';
import { Bidirectional, type DirectionResult } from '../bidirectional.js';
import { Dense } from '../dense.js';
import { Gru } from '../gru.js';
import { Lstm } from '../lstm.js';
import { readMask } from '../recurrent.js';
import { Flatten, GlobalPooling1D, RepeatVector } from '../sequence-ops.js';
import { frontEndBackward, isFrontEnd } from './front-end-backprop.js';
import type { LayerPass } from '../sequential.js';
import type { Tensor } from '../tensor.js';

/** d(value)/d(the first pass's input), given d(value)/d(the last pass's output). */
export function inputGradient(passes: readonly LayerPass[], outputGradient: Float64Array): Float64Array {
  let grad = outputGradient;
  for (let k = passes.length - 1; k >= 0; k--) grad = backward(passes[k]!, grad);
  return grad;
}

function backward(pass: LayerPass, grad: Float64Array): Float64Array {
  const { layer, input, output } = pass;
  if (layer instanceof Dense) return denseBackward(layer, input, output, grad);
  if (layer instanceof RepeatVector) return repeatBackward(input, output, grad);
  if (layer instanceof Flatten) return grad; // the same values, reshaped
  if (layer instanceof GlobalPooling1D) return poolingBackward(layer, input, pass.poolingMask, grad);
  if (isFrontEnd(layer)) return frontEndBackward(layer, input, output, grad);
  const [B, T] = input.shape as [number, number];
  const mask = pass.mask === undefined ? null : readMask(pass.mask, B, T);
  const lengths = pass.sequenceLengths === undefined ? null : Int32Array.from(pass.sequenceLengths);
  if (layer instanceof Bidirectional) return bidirectionalBackward(layer, pass, mask, lengths, grad);
  if (layer instanceof Lstm || layer instanceof Gru) return recurrentBackward(layer, input, mask, lengths, (pass.result as DirectionResult).trace!, grad);
  throw new Error(`no backward pass for ${(layer as object).constructor.name}`); // Sequential admits no other layer
}

function denseBackward(layer: Dense, input: Tensor, output: Tensor, grad: Float64Array): Float64Array {
  const { inputSize: I, units: O, kernel } = layer;
  const rows = output.data.length / O;
  const y = output.data;
  const pre = new Float64Array(grad.length); // d/d(pre-activation)
  if (layer.activation === 'softmax') {
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let j = 0; j < O; j++) dot += y[r * O + j]! * grad[r * O + j]!;
      for (let j = 0; j < O; j++) pre[r * O + j] = y[r * O + j]! * (grad[r * O + j]! - dot);
    }
  } else {
    const slope = derivativeFromOutput(encodeActivation(layer.activation, 'activation'));
    for (let k = 0; k < grad.length; k++) pre[k] = grad[k]! * slope(y[k]!);
  }
  const out = new Float64Array(input.data.length);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < I; k++) {
      let sum = 0;
      for (let j = 0; j < O; j++) sum += kernel[k * O + j]! * pre[r * O + j]!;
      out[r * I + k] = sum;
    }
  }
  return out;
}

function repeatBackward(input: Tensor, output: Tensor, grad: Float64Array): Float64Array {
  const [B, F] = input.shape as [number, number];
  const n = output.shape[1]!;
  const out = new Float64Array(B * F);
  for (let b = 0; b < B; b++) for (let s = 0; s < n; s++) for (let f = 0; f < F; f++) out[b * F + f]! += grad[(b * n + s) * F + f]!;
  return out;
}

function poolingBackward(layer: GlobalPooling1D, input: Tensor, mask: Uint8Array | undefined, grad: Float64Array): Float64Array {
  const [B, T, F] = input.shape as [number, number, number];
  const x = input.data;
  const out = new Float64Array(B * T * F);
  for (let b = 0; b < B; b++) {
    if (layer.mode === 'max') {
      // The gradient goes to the step that gave the maximum (the first of equals, as forward keeps it).
      for (let f = 0; f < F; f++) {
        let best = 0;
        for (let s = 1; s < T; s++) if (x[(b * T + s) * F + f]! > x[(b * T + best) * F + f]!) best = s;
        out[(b * T + best) * F + f] = grad[b * F + f]!;
      }
      continue;
    }
    const counts = (s: number) => !(layer.maskAware && mask && !mask[b * T + s]);
    let counted = 0;
    for (let s = 0; s < T; s++) if (counts(s)) counted++;
    for (let s = 0; s < T; s++) {
      if (!counts(s)) continue;
      for (let f = 0; f < F; f++) out[(b * T + s) * F + f] = grad[b * F + f]! / counted;
    }
  }
  return out;
}

function bidirectionalBackward(layer: Bidirectional, pass: LayerPass, mask: Uint8Array | null, lengths: Int32Array | null, grad: Float64Array): Float64Array {
  const { forward: f, backward: b } = (pass.result as { directions: { forward: DirectionResult; backward: DirectionResult } }).directions;
  const U = layer.forwardLayer.units;
  const sequences = layer.returnSequences;
  const rows = grad.length / (layer.mergeMode === 'concat' ? 2 * U : U);
  const dF = new Float64Array(rows * U);
  let dB: Float64Array = new Float64Array(rows * U); // in input order, as the merged output holds it
  const backwardOut = b.output.data; // combine() put a backward sequence in input order
  for (let r = 0; r < rows; r++) {
    for (let u = 0; u < U; u++) {
      const at = r * U + u;
      switch (layer.mergeMode) {
        case 'concat':
          dF[at] = grad[2 * r * U + u]!;
          dB[at] = grad[(2 * r + 1) * U + u]!;
          break;
        case 'sum':
          dF[at] = dB[at] = grad[at]!;
          break;
        case 'ave':
          dF[at] = dB[at] = grad[at]! / 2;
          break;
        case 'mul':
          dF[at] = grad[at]! * backwardOut[at]!;
          dB[at] = grad[at]! * f.output.data[at]!;
          break;
        default:
          throw new Error('a Sequential holds no Bidirectional without a merge mode');
      }
    }
  }
  // The backward direction ran its sequence in processing order: reversed, the gradient is too.
  if (sequences) dB = reversedSteps(dB, b.output.shape as [number, number, number]);
  const dx = recurrentBackward(layer.forwardLayer, pass.input, mask, lengths, f.trace!, dF);
  const dxBackward = recurrentBackward(layer.backwardLayer, pass.input, mask, lengths, b.trace!, dB);
  for (let k = 0; k < dx.length; k++) dx[k]! += dxBackward[k]!;
  return dx;
}

/** A traced LSTM's or GRU's tensors by name. */
type GateTrace = { readonly [name in 'i' | 'f' | 'g' | 'o' | 'c' | 'h' | 'z' | 'r']?: Tensor };

/** [B,T,U] with each row's steps in reverse order. */
function reversedSteps(grad: Float64Array, [B, T, U]: [number, number, number]): Float64Array {
  const out = new Float64Array(grad.length);
  for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) out.set(grad.subarray((b * T + s) * U, (b * T + s + 1) * U), (b * T + T - 1 - s) * U);
  return out;
}

const REAL = 0;
const MASKED = 1;
const PAST_END = 2;

/**
 * What a row does at processing step s, as every backend's forward decides it: which time step it
 * reads, and whether that step is real, masked or past the row's length.
 */
function stepAt(s: number, row: number, T: number, backwards: boolean, mask: Uint8Array | null, lengths: Int32Array | null): [t: number, kind: number] {
  const length = lengths ? lengths[row]! : T;
  const t = backwards ? T - 1 - s : s;
  return [t, t >= length ? PAST_END : mask && !mask[row * T + t] ? MASKED : REAL];
}

/** Per-gate activation slopes from their outputs, and the cell activation. */
interface Slopes {
  act: (y: number) => number;
  rec: (y: number) => number;
  cellAct: (x: number) => number;
  cellSlope: (y: number) => number;
}

function slopes(config: { activation: ActivationCode; recurrentActivation: ActivationCode; cellActivation: ActivationCode }): Slopes {
  return {
    act: derivativeFromOutput(config.activation),
    rec: derivativeFromOutput(config.recurrentActivation),
    cellAct: activationFn(config.cellActivation),
    cellSlope: derivativeFromOutput(config.cellActivation),
  };
}

/**
 * BPTT through one LSTM or GRU layer. `grad` is d/d(output): [B,T,U] in processing order with
 * returnSequences, else [B,U]. Returns d/d(input) [B,T,I].
 */
export function recurrentBackward(layer: Lstm | Gru, input: Tensor, mask: Uint8Array | null, lengths: Int32Array | null, trace: GateTrace, grad: Float64Array): Float64Array {
  const { config, weights } = layer.parts;
  const [B, T, I] = input.shape as [number, number, number];
  // The backend's own engine when it has one (native, WebAssembly: the C++ core's rnn_backward).
  const first = (trace.i ?? trace.z)!.data; // the trace's tensors are views of one [count,B,T,U] array
  const whole = new Float32Array(first.buffer, first.byteOffset, (config.cell === 'lstm' ? 6 : 4) * first.length);
  // A sequence given in input order ('input' outputOrder) was the processing order reversed.
  if (layer.goBackwards && layer.returnSequences && layer.outputOrder === 'input') grad = reversedSteps(grad, [B, T, config.units]);
  const engine = layer.backwardThroughTime(B, T, mask, lengths, whole, Float32Array.from(grad));
  if (engine) return Float64Array.from(engine);
  const U = config.units;
  const G = config.cell === 'lstm' ? 4 : 3;
  const GU = G * U;
  const { kernel: K, recurrentKernel: R } = weights;
  const backwards = layer.goBackwards;
  const sequences = layer.returnSequences;
  const zeroMasked = layer.zeroOutputForMask;
  const s = slopes(config);
  const dx = new Float64Array(B * T * I);
  const dh = new Float64Array(U);
  const dc = new Float64Array(U);
  const dz = new Float64Array(GU); // d/d(x.W + b), per gate
  const dzh = new Float64Array(GU); // d/d(h.U): a GRU's differs from dz in its candidate
  const dhPrev = new Float64Array(U);
  const zh = new Float64Array(U); // GRU: the candidate's recurrent product, recomputed
  const lstm = config.cell === 'lstm';
  const step = lstm ? lstmStep : gruStep;
  for (let row = 0; row < B; row++) {
    dh.fill(0);
    dc.fill(0);
    let vanished = false; // dh and dc are zero: the steps before get nothing from here
    if (!sequences) {
      const [, last] = stepAt(T - 1, row, T, backwards, mask, lengths);
      if (!(last === MASKED && zeroMasked)) for (let u = 0; u < U; u++) dh[u] = grad[row * U + u]!;
    }
    for (let p = T - 1; p >= 0; p--) {
      const [t, kind] = stepAt(p, row, T, backwards, mask, lengths);
      if (sequences && !(kind === PAST_END || (kind === MASKED && zeroMasked))) {
        for (let u = 0; u < U; u++) {
          const g = grad[(row * T + p) * U + u]!;
          if (g === 0) continue;
          dh[u]! += g;
          vanished = false;
        }
      }
      if (kind !== REAL) continue; // the state passed through unchanged
      if (vanished) {
        if (!sequences) break; // nothing will reach the earlier steps: their gradients stay 0
        continue;
      }
      const at = (row * T + p) * U;
      const before = p > 0 ? at - U : -1; // the state this step started from (zeros first)
      step({ trace, at, before, U, dh, dc, dz, dzh, dhPrev, zh, config, weights, slopes: s });
      // d/dx = W.dz; d/dh_prev = U.dzh (+ what the step added directly)
      const xAt = (row * T + t) * I;
      for (let k = 0; k < I; k++) {
        let sum = 0;
        for (let j = 0; j < GU; j++) sum += K[k * GU + j]! * dz[j]!;
        dx[xAt + k] = sum;
      }
      for (let k = 0; k < U; k++) {
        let sum = dhPrev[k]!;
        for (let j = 0; j < GU; j++) sum += R[k * GU + j]! * dzh[j]!;
        dh[k] = sum;
      }
      const dhLeft = flushVanished(dh);
      const dcLeft = lstm && flushVanished(dc);
      vanished = !dhLeft && !dcLeft;
    }
  }
  return dx;
}

/**
 * Below this (2^-100) a gradient through time can no longer move a float32 score. The C++ core
 * flushes such values to zero (their denormal products would slow it 30-fold) and stops a row
 * whose state gradients are all zero; this does the same, so every backend agrees.
 */
const VANISHED = 2 ** -100;

/** Zeroes the values of x below VANISHED; whether any value is left. */
function flushVanished(x: Float64Array): boolean {
  let any = false;
  for (let u = 0; u < x.length; u++) {
    if (Math.abs(x[u]!) < VANISHED) x[u] = 0;
    else any = true;
  }
  return any;
}

interface StepArgs {
  trace: GateTrace;
  at: number;
  before: number;
  U: number;
  dh: Float64Array;
  dc: Float64Array;
  dz: Float64Array;
  dzh: Float64Array;
  dhPrev: Float64Array;
  zh: Float64Array;
  config: Lstm['parts']['config'];
  weights: Lstm['parts']['weights'];
  slopes: Slopes;
}

/** One LSTM step backwards: dh, dc of its output state in; dz, dzh (= dz) and dc of its input state out. */
function lstmStep({ trace, at, before, U, dh, dc, dz, dzh, dhPrev, config, weights, slopes: s }: StepArgs): void {
  const [gi, gf, gg, go, gc] = [trace.i!.data, trace.f!.data, trace.g!.data, trace.o!.data, trace.c!.data];
  const P = weights.peepholes; // order i, o, f
  for (let u = 0; u < U; u++) {
    const i = gi[at + u]!;
    const f = gf[at + u]!;
    const g = gg[at + u]!;
    const o = go[at + u]!;
    const cPrev = before >= 0 ? gc[before + u]! : 0;
    const cell = s.cellAct(gc[at + u]!);
    const dzo = dh[u]! * cell * s.rec(o);
    let dct = dc[u]! + dh[u]! * o * s.cellSlope(cell);
    if (P) dct += dzo * P[U + u]!; // o saw the new c through its peephole
    let di = dct * g;
    const df = dct * cPrev;
    let dzf = 0;
    if (config.inputForget) di -= df; // f = 1 - i
    else dzf = df * s.rec(f);
    const dzi = di * s.rec(i);
    let dcPrev = dct * f;
    if (P) dcPrev += dzi * P[u]! + dzf * P[2 * U + u]!;
    dz[u] = dzi;
    dz[U + u] = dzf;
    dz[2 * U + u] = dct * i * s.act(g);
    dz[3 * U + u] = dzo;
    dc[u] = dcPrev;
    dhPrev[u] = 0;
  }
  dzh.set(dz);
}

/** One GRU step backwards: h = z * h_prev + (1 - z) * g. */
function gruStep({ trace, at, before, U, dh, dz, dzh, dhPrev, zh, config, weights, slopes: s }: StepArgs): void {
  const [gz, gr, gg, gh] = [trace.z!.data, trace.r!.data, trace.g!.data, trace.h!.data];
  const R = weights.recurrentKernel;
  const GU = 3 * U;
  const hPrev = (k: number) => (before >= 0 ? gh[before + k]! : 0);
  if (config.resetAfter) {
    // r multiplied the candidate's recurrent product h_prev.U_h (+ its bias): recompute it.
    const rb = weights.recurrentBias;
    for (let u = 0; u < U; u++) zh[u] = rb ? rb[2 * U + u]! : 0;
    if (before >= 0) for (let k = 0; k < U; k++) for (let u = 0; u < U; u++) zh[u]! += hPrev(k) * R[k * GU + 2 * U + u]!;
  }
  for (let u = 0; u < U; u++) {
    const z = gz[at + u]!;
    const r = gr[at + u]!;
    const g = gg[at + u]!;
    const dzz = dh[u]! * (hPrev(u) - g) * s.rec(z);
    const dpg = dh[u]! * (1 - z) * s.act(g);
    dz[u] = dzh[u] = dzz;
    dz[2 * U + u] = dpg;
    dhPrev[u] = dh[u]! * z;
    if (config.resetAfter) {
      dz[U + u] = dzh[U + u] = dpg * zh[u]! * s.rec(r);
      dzh[2 * U + u] = dpg * r;
    }
  }
  if (!config.resetAfter) {
    // g = act(x.W_h + (r * h_prev).U_h): d/d(r * h_prev) = U_h.dpg, shared out to r and h_prev.
    for (let k = 0; k < U; k++) {
      let drh = 0;
      for (let u = 0; u < U; u++) drh += R[k * GU + 2 * U + u]! * dz[2 * U + u]!;
      const r = gr[at + k]!;
      dz[U + k] = dzh[U + k] = drh * hPrev(k) * s.rec(r);
      dhPrev[k]! += drh * r;
      dzh[2 * U + k] = 0;
    }
  }
}
