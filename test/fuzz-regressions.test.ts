// Findings of the fuzzers and of the property suite (docs/reliability.md, "Fuzzing"), each kept as a
// regular test. A finding that is reported and not fixed yet is an `it.fails` test: it passes while
// the bug is there and fails once it is fixed, so the fix turns it into a plain `it` (and removes the
// finding's skip in test/properties.test.ts and its line in native/fuzz/known-findings.supp).
import { describe, expect, it } from 'vitest';
import { Lstm, type Tensor } from '../lib/index.js';
import { implementations } from './helpers.js';

const IMPLS = await implementations();

/** h after one forward call on every implementation, by name. */
async function finalH(options: Record<string, unknown>, input: number[][][], initialState?: { h: number[][]; c: number[][] }) {
  const out: Record<string, number[]> = {};
  for (const backend of IMPLS) {
    const layer = await Lstm.create({ ...options, backend } as never);
    try {
      out[backend] = Array.from((layer.forward(input, initialState ? { initialState } : {}) as { h: Tensor }).h.data);
    } finally {
      layer.dispose();
    }
  }
  return out;
}

function expectAgree(h: Record<string, number[]>, tol: number): void {
  for (const [backend, values] of Object.entries(h)) {
    values.forEach((v, k) => {
      expect(Number.isFinite(v), `${backend} h[${k}] = ${v}`).toBe(true);
      expect(Math.abs(v - h.js![k]!), `${backend} h[${k}] = ${v}, js ${h.js![k]}`).toBeLessThanOrEqual(tol);
    });
  }
}

describe('F1 (fixed): int8 weights and a state whose largest |h| is in (0, 2^-114)', () => {
  // quantize_state (native/kernel/rnn_kernel.inl) and quantizeState (lib/backends/js.ts) scaled the
  // state by 16383 / max|h|, which overflowed to infinity: native converted inf and NaN to int16
  // (undefined behaviour, UBSan float-cast-overflow; x86 and WASM gave 0), js kept them and gave NaN.
  // Now such a state quantizes to zeros on every backend.
  const weights = {
    kernel: [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]],
    recurrentKernel: [
      [0.1, -0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
      [0.2, 0.1, -0.3, 0.4, 0.5, 0.2, 0.7, 0.1],
    ],
    bias: [0, 0, 0, 0, 0, 0, 0, 0],
  };

  it('an initial state of 1e-36: every backend gives a finite h, within 1e-4 of the others (js gave NaN)', async () => {
    const h = await finalH({ weights, weightPrecision: 'int8' }, [[[0.5]]], { h: [[1e-36, 0]], c: [[0, 0]] });
    expectAgree(h, 1e-4);
  });

  it('a state made tiny by the first step, then clipped: every backend gives 0 (js gave -0.2113; found by the property suite)', async () => {
    // Step 1: o = tanh(5.73e-27 * -4e-15), h = o * hard_sigmoid(0) = -1.15e-41; step 2 quantizes that h.
    const options = {
      weights: { kernel: [[0, 0, 0, -4.006497180731889e-15]], recurrentKernel: [[-8.96831017167883e-44, -8.96831017167883e-44, 8.96831017167883e-44, 8.96831017167883e-44]] },
      useBias: false,
      recurrentActivation: 'tanh',
      cellActivation: { name: 'hard_sigmoid', alpha: 0.2, beta: 0.5 },
      clip: 0.5,
      weightPrecision: 'int8',
    };
    const h = await finalH(options, [[[5.730061052093914e-27], [0]]]);
    expectAgree(h, 1e-4);
  });

  it('with f32 weights the same cases agree (the finding is the int8 quantization only)', async () => {
    const h = await finalH({ weights }, [[[0.5]]], { h: [[1e-36, 0]], c: [[0, 0]] });
    expectAgree(h, 1e-5);
  });
});
