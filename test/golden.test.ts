// Every golden case (Keras 3, PyTorch, onnxruntime) and every ../shared conformance case, on every
// backend and instruction set this machine has; then every backend against every other.
import { describe, expect, it } from 'vitest';
import { Lstm, type Tensor } from '../lib/index.js';
import { conformanceCases, expectClose, goldenCases, implementations, rng, runCase, sharedFor, type FixtureCase } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const HAND_CHECKED = sharedFor('the conformance cases on every backend, and the f16 and int8 checks made on its hand-checked case');

/**
 * Where SPEC and an oracle part ways on purpose. onnxruntime returns zeros for the final state of a
 * row whose sequence length is 0; SPEC says steps past the length leave the state unchanged, so
 * such a row keeps its initial state.
 */
function expectedFor(c: FixtureCase, callIndex: number) {
  const call = c.calls[callIndex]!;
  if (c.name !== 'onnx-sequence-length-zero') return call.expected;
  const keep = (final: number[][], initial: number[][] | undefined) =>
    final.map((row, b) => (call.sequenceLengths![b] === 0 ? (initial?.[b] ?? row.map(() => 0)) : row));
  expect(call.sequenceLengths).toContain(0);
  return { ...call.expected, h: keep(call.expected.h, call.initialState?.h), c: keep(call.expected.c!, call.initialState?.c) };
}

type Result = { output: Tensor; h: Tensor; c?: Tensor; trace?: Record<string, Tensor> };

function checkCase(c: FixtureCase, results: Result[], label: string): void {
  results.forEach((r, k) => {
    const e = expectedFor(c, k);
    const at = `${label} ${c.name} call ${k}`;
    expectClose(r.output, e.output, c.tolerance, `${at} output`);
    expectClose(r.h, e.h, c.tolerance, `${at} h`);
    if (c.cell === 'lstm') expectClose(r.c!, e.c!, c.tolerance, `${at} c`);
    else expect(r.c, 'a GRU has no cell state').toBeUndefined();
    if (e.trace) for (const [name, t] of Object.entries(e.trace)) expectClose(r.trace![name]!, t, c.tolerance, `${at} trace.${name}`);
  });
}

describe.each(IMPLEMENTATIONS)('backend %s', (backend) => {
  it.each(conformanceCases().map((c) => [c.name, c] as const))('conformance %s', async (_, c) => {
    checkCase(c, await runCase(c, backend, true), backend);
  });

  for (const { file, cases } of goldenCases()) {
    it.each(cases.map((c) => [c.name, c] as const))(`${file} %s`, async (_, c) => {
      checkCase(c, await runCase(c, backend), backend);
    });
  }
});

describe('backends agree with each other', () => {
  const all = goldenCases().flatMap((g) => g.cases);
  it(`on all ${all.length} golden cases within 1e-5 (${IMPLEMENTATIONS.join(', ')})`, async () => {
    expect(IMPLEMENTATIONS.length).toBeGreaterThanOrEqual(4);
    for (const c of all) {
      const results = await Promise.all(IMPLEMENTATIONS.map((b) => runCase(c, b, true)));
      const [first, ...rest] = results;
      rest.forEach((other, k) =>
        other.forEach((r, call) => {
          const base = first![call]!;
          const at = `${IMPLEMENTATIONS[k + 1]} vs ${IMPLEMENTATIONS[0]} ${c.name} call ${call}`;
          const tol = { abs: 1e-5, rel: 1e-5 };
          expectClose(r.output, base.output.data, tol, `${at} output`);
          expectClose(r.h, base.h.data, tol, `${at} h`);
          if (base.c) expectClose(r.c!, base.c.data, tol, `${at} c`);
          for (const [g, t] of Object.entries(base.trace!)) expectClose(r.trace![g]!, t.data, tol, `${at} trace.${g}`);
        }),
      );
    }
  });
});

describe('native threads', () => {
  const native = IMPLEMENTATIONS.filter((b) => b.startsWith('native/'));
  const cases = goldenCases().flatMap((g) => g.cases);
  it.each(native.flatMap((b) => ['f32', 'int8'].map((p) => [b, p])))(`threads: 2 and 3 give bit-identical results to threads: 1 on all golden cases (%s, %s weights)`, async (backend, weightPrecision) => {
    for (const c of cases) {
      const run = (threads: number) => runCase({ ...c, config: { ...c.config, threads, weightPrecision } }, backend, true);
      const [one, two, three] = await Promise.all([run(1), run(2), run(3)]);
      for (const other of [two, three]) {
        other.forEach((r, k) => {
          expect(Array.from(r.output.data), `${c.name} output`).toEqual(Array.from(one[k]!.output.data));
          expect(Array.from(r.h.data), `${c.name} h`).toEqual(Array.from(one[k]!.h.data));
          for (const [g, t] of Object.entries(r.trace!)) expect(Array.from(t.data), `${c.name} trace.${g}`).toEqual(Array.from(one[k]!.trace![g]!.data));
        });
      }
    }
  });
});

const allCases = () => [...conformanceCases(), ...goldenCases().flatMap((g) => g.cases)];

/** Every result of a case (output, h and each traced tensor), by name. */
function resultTensors(r: Result): [string, Tensor][] {
  return [['output', r.output], ['h', r.h], ...Object.entries(r.trace!).map(([g, t]): [string, Tensor] => [`trace.${g}`, t])];
}

/** Runs every conformance and golden case at `precision` and at f32; returns the worst difference. */
async function expectNearF32(backend: string, precision: string, abs: number): Promise<number> {
  let worst = 0;
  for (const c of allCases()) {
    const [f32, reduced] = await Promise.all([runCase(c, backend, true), runCase({ ...c, config: { ...c.config, weightPrecision: precision } }, backend, true)]);
    reduced.forEach((r, k) => {
      const base = new Map(resultTensors(f32[k]!));
      for (const [name, t] of resultTensors(r)) {
        const ref = base.get(name)!;
        t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref.data[i]!))));
        expectClose(t, ref.data, { abs, rel: 0 }, `${c.name} call ${k} ${name} (${precision} vs f32)`);
      }
    });
  }
  return worst;
}

describe("weightPrecision 'f16'", () => {
  const halfCapable = IMPLEMENTATIONS.filter((b) => b === 'native/avx2' || b === 'native/neon');
  it.each(halfCapable)('stays within 1e-3 of f32 on every conformance and golden case (%s)', async (backend) => {
    expect(await expectNearF32(backend, 'f16', 1e-3)).toBeGreaterThan(0); // the weights really were rounded
  });

  it.skipIf(!HAND_CHECKED).each(halfCapable)('refuses weights beyond the half range (%s)', async (backend) => {
    const c = conformanceCases()[0]!;
    const weights = { ...(c.weights as object), recurrentKernel: [Array(12).fill(70000), Array(12).fill(0), Array(12).fill(0)] };
    const error = await Lstm.create({ ...(c.config as object), weights, weightPrecision: 'f16', backend } as never).catch((e) => e);
    expect(error.code).toBe('ERR_LSTM_WEIGHTS');
    expect(error.message).toMatch(/does not fit weightPrecision 'f16'/);
  });

  it.skipIf(!HAND_CHECKED).each(IMPLEMENTATIONS.filter((b) => !['native/avx2', 'native/neon'].includes(b)))('is refused with the reason on %s', async (backend) => {
    const c = conformanceCases()[0]!;
    const error = await Lstm.create({ ...(c.config as object), weights: c.weights, weightPrecision: 'f16', backend } as never).catch((e) => e);
    expect(error.code).toBe('ERR_LSTM_UNSUPPORTED');
    expect(error.message).toMatch(/weightPrecision: 'f16' is not supported by backend/);
  });
});

describe("weightPrecision 'int8'", () => {
  it.each(IMPLEMENTATIONS)('stays within 1e-2 of f32 on every conformance and golden case (%s)', async (backend) => {
    const worst = await expectNearF32(backend, 'int8', 1e-2);
    expect(worst).toBeGreaterThan(1e-5); // the weights really were quantized
  });

  // Backends quantize alike, but their float32 results differ by about 1e-7, which can move a
  // state value across a rounding boundary of its int16 quantization: a change of max |h| / 16383
  // in one input of a product (1.3e-5 at worst on these cases).
  it(`quantizes alike on every backend: results agree within 1e-4 on all golden cases (${IMPLEMENTATIONS.join(', ')})`, async () => {
    for (const c of goldenCases().flatMap((g) => g.cases)) {
      const int8 = { ...c, config: { ...c.config, weightPrecision: 'int8' } };
      const [first, ...rest] = await Promise.all(IMPLEMENTATIONS.map((b) => runCase(int8, b, true)));
      rest.forEach((other, k) =>
        other.forEach((r, call) => {
          const base = new Map(resultTensors(first![call]!));
          for (const [name, t] of resultTensors(r)) expectClose(t, base.get(name)!.data, { abs: 1e-4, rel: 0 }, `${IMPLEMENTATIONS[k + 1]} vs ${IMPLEMENTATIONS[0]} ${c.name} call ${call} ${name}`);
        }),
      );
    }
  });

  // Columns whose weights are whole multiples of their own power-of-two scale quantize exactly, so
  // what is left is the state's int16 rounding (7e-7 here); their magnitudes span 2^-12 to 2^-2,
  // so one scale for the whole kernel (2^-2 / 127) would round the small columns to zero and
  // miss by 5e-4.
  it.each(IMPLEMENTATIONS)('scales every column (one gate of one unit) by its own range (%s)', async (backend) => {
    const I = 3, U = 5, G = 4, r = rng(7);
    const step = (j: number) => 2 ** -(2 + (j % 11)) / 127;
    const recurrentKernel = Array.from({ length: U }, (_, k) =>
      Array.from({ length: G * U }, (_, j) => (k === j % U ? 127 : Math.round(r.uniform(-127, 127))) * step(j)),
    );
    const weights = { kernel: r.matrix(I, G * U), recurrentKernel, bias: r.matrix(1, G * U)[0]! };
    const input = [Array.from({ length: 6 }, () => Array.from({ length: I }, () => r.uniform(-2, 2)))];
    const run = async (weightPrecision: string) => {
      const layer = await Lstm.create({ weights, returnSequences: true, backend, weightPrecision } as never);
      const result = layer.forward(input, { initialState: { h: [[0.9, -0.8, 0.7, -0.6, 0.5]], c: [[1, -1, 1, -1, 1]] } });
      layer.dispose();
      return result;
    };
    const [f32, int8] = await Promise.all([run('f32'), run('int8')]);
    expectClose(int8.output, f32.output.data, { abs: 1e-5, rel: 0 }, 'output');
    expectClose(int8.c!, f32.c!.data, { abs: 1e-5, rel: 0 }, 'c');
  });

  // The integer sums of a 1100-unit state at full scale (q = 119..127 against 16383) pass 2^31
  // within one column, so the kernels must take them to float in chunks; js sums the same
  // quantized values in float64. Odd sizes pad the last pair of k.
  it.each(IMPLEMENTATIONS.filter((b) => b !== 'js'))('keeps full-scale sums of 1100 units exact, and odd sizes: agrees with js (%s)', async (backend) => {
    const r = rng(11);
    for (const U of [1, 3, 1100]) {
      const G = 4, I = 2;
      const recurrent = Float32Array.from({ length: U * G * U }, () => r.uniform(0.047, 0.05));
      const bias = new Float32Array(G * U);
      // z near 0 at h = 1, so the gates are not saturated
      for (let j = 0; j < G * U; j++) {
        let sum = 0;
        for (let k = 0; k < U; k++) sum += recurrent[k * G * U + j]!;
        bias[j] = r.uniform(-1, 1) - sum;
      }
      const weights = { kernel: { data: new Float32Array(I * G * U), shape: [I, G * U] }, recurrentKernel: { data: recurrent, shape: [U, G * U] }, bias: { data: bias, shape: [G * U] } };
      const initialState = { h: { data: new Float32Array(U).fill(1), shape: [1, U] }, c: { data: new Float32Array(U).fill(0.5), shape: [1, U] } };
      const run = async (on: string) => {
        const layer = await Lstm.create({ weights, backend: on, weightPrecision: 'int8' } as never);
        const result = layer.forward({ data: new Float32Array(I), shape: [1, 1, I] }, { initialState, trace: true });
        layer.dispose();
        return result;
      };
      const [reference, int8] = await Promise.all([run('js'), run(backend)]);
      for (const gate of ['i', 'f', 'g', 'o'] as const) expectClose(int8.trace![gate], reference.trace![gate].data, { abs: 1e-4, rel: 0 }, `U ${U} trace.${gate}`);
      expectClose(int8.c!, reference.c!.data, { abs: 1e-4, rel: 0 }, `U ${U} c`);
    }
  });

  it.skipIf(!HAND_CHECKED).each(IMPLEMENTATIONS)('carries NaN through the quantized state like f32 (allowNonFinite) (%s)', async (backend) => {
    const c = conformanceCases()[0]!;
    const layer = await Lstm.create({ ...(c.config as object), weights: c.weights, weightPrecision: 'int8', allowNonFinite: true, returnSequences: true, backend } as never);
    const I = layer.inputSize;
    const input = { data: Float32Array.from({ length: 2 * I }, (_, k) => (k === 0 ? NaN : 0.5)), shape: [1, 2, I] };
    const { output } = layer.forward(input);
    layer.dispose();
    expect(Array.from(output.data).every(Number.isNaN), 'every output NaN').toBe(true);
  });
});
