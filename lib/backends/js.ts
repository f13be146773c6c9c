// Plain TypeScript, for runtimes with neither the addon nor WebAssembly. Same semantics as the
// C++ kernel (native/kernel/rnn_kernel.inl); the sums run in float64, the state is float32.
import { activationFn } from '../activations.js';
import {
  GO_BACKWARDS, RETURN_SEQUENCES, ZERO_OUTPUT_FOR_MASK, gatesOf, unsupportedPrecision,
  conv1dOutputSteps, type Backend, type CanonicalWeights, type Conv1dKernel, type Conv1dKernelConfig, type ForwardBuffers, type RnnKernel, type RnnKernelConfig, type StreamKernel,
} from '../backend.js';

const REAL = 0;
const MASKED = 1;
const PAST_END = 2;

// int8 weights are quantized as native/rnn_runtime.cc does, and the state each step multiplies
// by them as native/kernel/rnn_kernel.inl does, in float32 arithmetic.
const roundAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
const STATE_Q = 16383;
const ROUND = 12582912; // 1.5 * 2^23: adding it in float32 rounds to a whole number, ties to even

/** Per column of a [rows, cols] matrix: scale = max |w| / 127, q = round(w / scale). */
function quantizeColumns(w: Float32Array, rows: number, cols: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(cols);
  for (let k = 0; k < rows; k++) for (let j = 0; j < cols; j++) scales[j] = Math.max(scales[j]!, Math.abs(w[k * cols + j]!));
  for (let j = 0; j < cols; j++) scales[j] = Math.fround(scales[j]! / 127);
  const q = new Int8Array(rows * cols);
  for (let k = 0; k < rows; k++)
    for (let j = 0; j < cols; j++) {
      const s = scales[j]!;
      // Clamped: a subnormal scale is imprecise, and w / scale can pass 127 (as in the kernel).
      q[k * cols + j] = s > 0 ? Math.max(-127, Math.min(127, roundAway(Math.fround(w[k * cols + j]! / s)))) : 0;
    }
  return { q, scales };
}

/** A state row to int16: q = h * (16383 / max |h|) rounded, scale = max |h| / 16383 (NaN if any h is not finite). */
function quantizeState(h: ArrayLike<number>, off: number, q: Float64Array): number {
  const n = q.length;
  let top = 0;
  for (let k = 0; k < n; k++) {
    const a = Math.abs(h[off + k]!);
    if (a > top || Number.isNaN(a)) top = a;
  }
  if (!Number.isFinite(top)) {
    q.fill(0);
    return NaN;
  }
  // Below 2^-114, 16383 / max |h| overflows float32: such a state rounds to zeros, as in the kernel.
  const inv = top >= 2 ** -114 ? Math.fround(STATE_Q / top) : 0;
  for (let k = 0; k < n; k++) q[k] = Math.fround(Math.fround(h[off + k]! * inv) + ROUND) - ROUND;
  return Math.fround(top / STATE_Q);
}

/** Where one row's step reads and writes. */
interface RowStep {
  x: Float32Array;
  xOff: number;
  hPrev: Float32Array;
  hNext: Float32Array;
  c: Float32Array | null;
  row: number;
  trace: Float32Array | null;
  traceOff: number;
  traceStride: number;
}

class JsRnn implements RnnKernel {
  readonly name = 'js';
  private readonly G: number;
  private readonly zx: Float64Array;
  private readonly zh: Float64Array;
  private readonly resetH: Float32Array;
  private readonly act;
  private readonly cellAct;
  private readonly recAct;
  private readonly clamp: (v: number) => number;
  /** The recurrent kernel [U, GU] as stored: floats, or int8 with a scale per column. */
  private readonly recurrent: Float32Array | Int8Array;
  private readonly recurrentScales: Float32Array | null;
  /** int8: the state row a product reads, quantized. */
  private readonly stateQ: Float64Array;

  constructor(private readonly cfg: RnnKernelConfig, private readonly w: CanonicalWeights) {
    this.G = gatesOf(cfg.cell);
    if (cfg.weightPrecision === 'int8') {
      const { q, scales } = quantizeColumns(w.recurrentKernel, cfg.units, this.G * cfg.units);
      this.recurrent = q;
      this.recurrentScales = scales;
    } else {
      this.recurrent = w.recurrentKernel;
      this.recurrentScales = null;
    }
    this.zx = new Float64Array(this.G * cfg.units);
    this.zh = new Float64Array(this.G * cfg.units);
    this.resetH = new Float32Array(cfg.units); // r * h in float32, as the kernel holds it
    this.stateQ = new Float64Array(cfg.units);
    this.act = activationFn(cfg.activation);
    this.cellAct = activationFn(cfg.cellActivation);
    this.recAct = activationFn(cfg.recurrentActivation);
    const clip = cfg.clip;
    this.clamp = clip > 0 ? (v) => Math.min(Math.max(v, -clip), clip) : (v) => v;
  }

  /** zx = x.W + b and zh = h.U (+ recurrent bias), each [G*U]. */
  private products(s: RowStep, h: ArrayLike<number>, hOff: number): void {
    const { inputSize: I, units: U } = this.cfg;
    const { kernel, bias, recurrentBias } = this.w;
    const { zx, zh, recurrent } = this;
    const GU = this.G * U;
    for (let j = 0; j < GU; j++) {
      zx[j] = bias ? bias[j]! : 0;
      zh[j] = 0;
    }
    for (let k = 0; k < I; k++) {
      const xk = s.x[s.xOff + k]!;
      for (let j = 0; j < GU; j++) zx[j]! += xk * kernel[k * GU + j]!;
    }
    const [state, stateOff, stateScale] = this.recurrentState(h, hOff);
    for (let k = 0; k < U; k++) {
      const hk = state[stateOff + k]!;
      for (let j = 0; j < GU; j++) zh[j]! += hk * recurrent[k * GU + j]!;
    }
    for (let j = 0; j < GU; j++) zh[j] = (recurrentBias ? recurrentBias[j]! : 0) + this.columnScale(j, stateScale) * zh[j]!;
  }

  /** What a recurrent product multiplies: the state row, or with int8 weights its quantization and scale. */
  private recurrentState(h: ArrayLike<number>, off: number): [ArrayLike<number>, number, number] {
    return this.recurrentScales ? [this.stateQ, 0, quantizeState(h, off, this.stateQ)] : [h, off, 1];
  }

  /** What a recurrent column's sum is multiplied by: int8's state and column scales, else 1. */
  private columnScale(j: number, stateScale: number): number {
    return this.recurrentScales ? stateScale * this.recurrentScales[j]! : 1;
  }

  private traceGate(s: RowStep, gate: number, u: number, value: number): void {
    if (s.trace) s.trace[s.traceOff + gate * s.traceStride + u] = value;
  }

  private lstmStep(s: RowStep): void {
    const U = this.cfg.units;
    const P = this.w.peepholes;
    const c = s.c!;
    this.products(s, s.hPrev, s.row * U);
    const z = (j: number) => this.zx[j]! + this.zh[j]!;
    for (let u = 0; u < U; u++) {
      const at = s.row * U + u;
      const cPrev = c[at]!;
      const i = this.recAct(this.clamp(z(u) + (P ? P[u]! * cPrev : 0)));
      const f = this.cfg.inputForget ? 1 - i : this.recAct(this.clamp(z(U + u) + (P ? P[2 * U + u]! * cPrev : 0)));
      const g = this.act(this.clamp(z(2 * U + u)));
      const cNew = Math.fround(f * cPrev + i * g);
      const o = this.recAct(this.clamp(z(3 * U + u) + (P ? P[U + u]! * cNew : 0)));
      c[at] = cNew;
      s.hNext[at] = o * this.cellAct(cNew);
      [i, f, g, o].forEach((v, gate) => this.traceGate(s, gate, u, v));
    }
  }

  private gruStep(s: RowStep): void {
    const U = this.cfg.units;
    const { zx, zh } = this;
    const hOff = s.row * U;
    if (this.cfg.resetAfter) {
      this.products(s, s.hPrev, hOff);
    } else {
      // r multiplies h before the h gate's product: z and r first, then (r * h).U_h.
      this.products(s, s.hPrev, hOff);
      const rh = this.resetH;
      for (let u = 0; u < U; u++) rh[u] = this.recAct(this.clamp(zx[U + u]! + zh[U + u]!)) * s.hPrev[hOff + u]!;
      const { recurrent } = this;
      const [state, , stateScale] = this.recurrentState(rh, 0);
      for (let u = 0; u < U; u++) {
        let sum = 0;
        for (let k = 0; k < U; k++) sum += state[k]! * recurrent[k * 3 * U + 2 * U + u]!;
        zh[2 * U + u] = this.columnScale(2 * U + u, stateScale) * sum;
      }
    }
    for (let u = 0; u < U; u++) {
      const zg = this.recAct(this.clamp(zx[u]! + zh[u]!));
      const r = this.recAct(this.clamp(zx[U + u]! + zh[U + u]!));
      const candidate = this.cfg.resetAfter ? zx[2 * U + u]! + r * zh[2 * U + u]! : zx[2 * U + u]! + zh[2 * U + u]!;
      const g = this.act(this.clamp(candidate));
      const hPrev = s.hPrev[hOff + u]!;
      s.hNext[hOff + u] = zg * hPrev + (1 - zg) * g;
      [zg, r, g].forEach((v, gate) => this.traceGate(s, gate, u, v));
    }
  }

  forward(b: ForwardBuffers): void {
    const { batch: B, steps: T, flags, input, mask, sequenceLengths: lengths, trace, output, c } = b;
    const { inputSize: I, units: U, cell } = this.cfg;
    const G = this.G;
    const traceH = cell === 'lstm' ? 5 : 3;
    const backwards = (flags & GO_BACKWARDS) !== 0;
    const sequences = (flags & RETURN_SEQUENCES) !== 0;
    const zeroMasked = (flags & ZERO_OUTPUT_FOR_MASK) !== 0;
    const traceStride = B * T * U;
    let hPrev = Float32Array.from(b.h);
    let hNext = new Float32Array(B * U);
    const skip = new Uint8Array(B);
    for (let s = 0; s < T; s++) {
      for (let row = 0; row < B; row++) {
        // Steps at or past the length are padding: going backwards, they come first.
        const t = backwards ? T - 1 - s : s;
        skip[row] = lengths && t >= lengths[row]! ? PAST_END : mask && !mask[row * T + t] ? MASKED : REAL;
        const traceOff = (row * T + s) * U;
        if (skip[row] === REAL) {
          const step: RowStep = { x: input, xOff: (row * T + t) * I, hPrev, hNext, c, row, trace, traceOff, traceStride };
          if (cell === 'lstm') this.lstmStep(step);
          else this.gruStep(step);
        } else {
          hNext.set(hPrev.subarray(row * U, (row + 1) * U), row * U);
          if (trace) for (let g = 0; g < G; g++) trace.fill(0, traceOff + g * traceStride, traceOff + g * traceStride + U);
        }
        const h = hNext.subarray(row * U, (row + 1) * U);
        if (sequences) {
          const zero = skip[row] === PAST_END || (skip[row] === MASKED && zeroMasked);
          if (zero) output.fill(0, traceOff, traceOff + U);
          else output.set(h, traceOff);
        }
        if (trace) {
          if (c) trace.set(c.subarray(row * U, (row + 1) * U), traceOff + 4 * traceStride);
          trace.set(h, traceOff + traceH * traceStride);
        }
      }
      [hPrev, hNext] = [hNext, hPrev];
    }
    b.h.set(hPrev);
    if (!sequences) {
      for (let row = 0; row < B; row++) {
        if (skip[row] === MASKED && zeroMasked) output.fill(0, row * U, (row + 1) * U);
        else output.set(hPrev.subarray(row * U, (row + 1) * U), row * U);
      }
    }
  }

  async forwardAsync(b: ForwardBuffers): Promise<void> {
    this.forward(b);
  }

  stream(batch: number): StreamKernel {
    const { units: U, cell } = this.cfg;
    const h = new Float32Array(batch * U);
    const c = cell === 'lstm' ? new Float32Array(batch * U) : null;
    const out = new Float32Array(batch * U);
    const kernel = this;
    return {
      h,
      c,
      step(x: Float32Array) {
        kernel.forward({ batch, steps: 1, flags: 0, input: x, h, c, output: out, mask: null, sequenceLengths: null, trace: null });
      },
      setState(nh: Float32Array, nc: Float32Array | null) {
        h.set(nh);
        if (c && nc) c.set(nc);
      },
      dispose() {},
    };
  }

  dispose(): void {}
}

/** The convolution of native/kernel/conv1d.inl in plain TypeScript, summed in float64. */
class JsConv1d implements Conv1dKernel {
  readonly name = 'js';
  private readonly act: (x: number) => number;
  constructor(private readonly c: Conv1dKernelConfig, private readonly kernel: Float32Array, private readonly bias: Float32Array | null) {
    this.act = activationFn(c.activation);
  }
  forward(batch: number, steps: number, padLeft: number, padRight: number, input: Float32Array, output: Float32Array): void {
    const { inChannels: CI, outChannels: CO, kernelSize: K, stride, dilation, groups } = this.c;
    const cig = CI / groups;
    const cog = CO / groups;
    const To = conv1dOutputSteps(this.c, steps, padLeft, padRight);
    const acc = new Float64Array(CO);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < To; t++) {
        for (let o = 0; o < CO; o++) acc[o] = this.bias ? this.bias[o]! : 0;
        for (let k = 0; k < K; k++) {
          const s = t * stride + k * dilation - padLeft;
          if (s < 0 || s >= steps) continue; // zero padding
          const x = (b * steps + s) * CI;
          for (let g = 0; g < groups; g++) {
            for (let i = 0; i < cig; i++) {
              const v = input[x + g * cig + i]!;
              const w = (k * cig + i) * CO + g * cog;
              for (let o = 0; o < cog; o++) acc[g * cog + o]! += v * this.kernel[w + o]!;
            }
          }
        }
        const y = (b * To + t) * CO;
        for (let o = 0; o < CO; o++) output[y + o] = this.act(acc[o]!);
      }
    }
  }
  dispose(): void {}
}

export function loadJsBackend(): Backend {
  return {
    name: 'js',
    implementation: 'js',
    implementations: ['js'],
    createRnn: (config, weights) => {
      if (config.weightPrecision === 'f16') throw unsupportedPrecision(config, 'js');
      return new JsRnn(config, weights);
    },
    createConv1d: (config, kernel, bias) => new JsConv1d(config, kernel, bias),
  };
}
