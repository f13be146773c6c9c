// Plain TypeScript, for runtimes with neither the addon nor WebAssembly. Same semantics as the
// C++ kernel (native/kernel/lstm_kernel.inl); the sums run in float64, the state is float32.
import { activationFn } from '../activations.js';
import { GO_BACKWARDS, RETURN_SEQUENCES, ZERO_OUTPUT_FOR_MASK, type Backend, type ForwardBuffers, type LstmKernel, type LstmKernelConfig, type StreamKernel } from '../backend.js';
import type { CanonicalLstmWeights } from '../layouts.js';

const REAL = 0;
const MASKED = 1;
const PAST_END = 2;

class JsLstm implements LstmKernel {
  readonly name = 'js';
  private readonly z: Float64Array;
  private readonly act;
  private readonly cellAct;
  private readonly recAct;

  constructor(private readonly cfg: LstmKernelConfig, private readonly w: CanonicalLstmWeights) {
    this.z = new Float64Array(4 * cfg.units);
    this.act = activationFn(cfg.activation);
    this.cellAct = activationFn(cfg.cellActivation);
    this.recAct = activationFn(cfg.recurrentActivation);
  }

  /** One real step of one row: reads x and hPrev, updates c in place, writes hNext. */
  private cell(x: Float32Array, xOff: number, hPrev: Float32Array, hNext: Float32Array, c: Float32Array, row: number, trace: Float32Array | null, traceOff: number, traceStride: number): void {
    const { inputSize: I, units: U, clip, inputForget } = this.cfg;
    const { kernel, recurrentKernel, bias, peepholes: P } = this.w;
    const z = this.z;
    const G = 4 * U;
    for (let j = 0; j < G; j++) z[j] = bias ? bias[j]! : 0;
    for (let k = 0; k < I; k++) {
      const xk = x[xOff + k]!;
      for (let j = 0; j < G; j++) z[j]! += xk * kernel[k * G + j]!;
    }
    for (let k = 0; k < U; k++) {
      const hk = hPrev[row * U + k]!;
      for (let j = 0; j < G; j++) z[j]! += hk * recurrentKernel[k * G + j]!;
    }
    const clamp = clip > 0 ? (v: number) => Math.min(Math.max(v, -clip), clip) : (v: number) => v;
    for (let u = 0; u < U; u++) {
      const cPrev = c[row * U + u]!;
      const i = this.recAct(clamp(z[u]! + (P ? P[u]! * cPrev : 0)));
      const f = inputForget ? 1 - i : this.recAct(clamp(z[U + u]! + (P ? P[2 * U + u]! * cPrev : 0)));
      const g = this.act(clamp(z[2 * U + u]!));
      const cNew = Math.fround(f * cPrev + i * g);
      const o = this.recAct(clamp(z[3 * U + u]! + (P ? P[U + u]! * cNew : 0)));
      c[row * U + u] = cNew;
      hNext[row * U + u] = o * this.cellAct(cNew);
      if (trace) {
        trace[traceOff + u] = i;
        trace[traceOff + traceStride + u] = f;
        trace[traceOff + 2 * traceStride + u] = g;
        trace[traceOff + 3 * traceStride + u] = o;
      }
    }
  }

  forward(b: ForwardBuffers): void {
    const { batch: B, steps: T, flags, input, mask, sequenceLengths: lengths, trace, output } = b;
    const { inputSize: I, units: U } = this.cfg;
    const backwards = (flags & GO_BACKWARDS) !== 0;
    const sequences = (flags & RETURN_SEQUENCES) !== 0;
    const zeroMasked = (flags & ZERO_OUTPUT_FOR_MASK) !== 0;
    const traceStride = B * T * U;
    let hPrev = Float32Array.from(b.h);
    let hNext = new Float32Array(B * U);
    const c = b.c;
    const skip = new Uint8Array(B);
    for (let s = 0; s < T; s++) {
      for (let row = 0; row < B; row++) {
        const length = lengths ? lengths[row]! : T;
        const t = backwards ? length - 1 - s : s;
        skip[row] = s >= length ? PAST_END : mask && !mask[row * T + t] ? MASKED : REAL;
        const traceOff = (row * T + s) * U;
        if (skip[row] === REAL) {
          this.cell(input, (row * T + t) * I, hPrev, hNext, c, row, trace, traceOff, traceStride);
        } else {
          hNext.set(hPrev.subarray(row * U, (row + 1) * U), row * U);
          if (trace) for (let g = 0; g < 4; g++) trace.fill(0, traceOff + g * traceStride, traceOff + g * traceStride + U);
        }
        const h = hNext.subarray(row * U, (row + 1) * U);
        if (sequences) {
          const zero = skip[row] === PAST_END || (skip[row] === MASKED && zeroMasked);
          if (zero) output.fill(0, traceOff, traceOff + U);
          else output.set(h, traceOff);
        }
        if (trace) {
          trace.set(c.subarray(row * U, (row + 1) * U), traceOff + 4 * traceStride);
          trace.set(h, traceOff + 5 * traceStride);
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
    const { units: U } = this.cfg;
    const h = new Float32Array(batch * U);
    const c = new Float32Array(batch * U);
    const out = new Float32Array(batch * U);
    const kernel = this;
    return {
      h,
      c,
      step(x: Float32Array) {
        kernel.forward({ batch, steps: 1, flags: 0, input: x, h, c, output: out, mask: null, sequenceLengths: null, trace: null });
      },
      setState(nh: Float32Array, nc: Float32Array) {
        h.set(nh);
        c.set(nc);
      },
      dispose() {},
    };
  }

  dispose(): void {}
}

export function loadJsBackend(): Backend {
  return {
    name: 'js',
    implementation: 'js',
    implementations: ['js'],
    createLstm: (config, weights) => new JsLstm(config, weights),
  };
}
