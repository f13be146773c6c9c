// Every golden case (Keras 3, PyTorch, onnxruntime) and every ../shared conformance case, on every
// backend and instruction set this machine has; then every backend against every other.
import { describe, expect, it } from 'vitest';
import { Lstm, type Tensor } from '../lib/index.js';
import { conformanceCases, expectClose, goldenCases, implementations, runCase, type FixtureCase } from './helpers.js';

const IMPLEMENTATIONS = await implementations();

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
  it.each(native)(`threads: 2 and 3 give bit-identical results to threads: 1 on all golden cases (%s)`, async (backend) => {
    for (const c of cases) {
      const run = (threads: number) => runCase({ ...c, config: { ...c.config, threads } }, backend, true);
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

describe("weightPrecision 'f16'", () => {
  const halfCapable = IMPLEMENTATIONS.filter((b) => b === 'native/avx2' || b === 'native/neon');
  const cases = [...conformanceCases(), ...goldenCases().flatMap((g) => g.cases)];
  it.each(halfCapable)('stays within 1e-3 of f32 on every conformance and golden case (%s)', async (backend) => {
    let worst = 0;
    for (const c of cases) {
      const [f32, f16] = await Promise.all([runCase(c, backend, true), runCase({ ...c, config: { ...c.config, weightPrecision: 'f16' } }, backend, true)]);
      f16.forEach((r, k) => {
        const base = f32[k]!;
        const pairs: [string, Tensor, Tensor][] = [['output', r.output, base.output], ['h', r.h, base.h]];
        for (const [g, t] of Object.entries(r.trace!)) pairs.push([`trace.${g}`, t, base.trace![g]!]);
        for (const [name, t, ref] of pairs) {
          t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref.data[i]!))));
          expectClose(t, ref.data, { abs: 1e-3, rel: 0 }, `${c.name} call ${k} ${name} (f16 vs f32)`);
        }
      });
    }
    expect(worst).toBeGreaterThan(0); // the weights really were rounded
  });

  it.each(halfCapable)('refuses weights beyond the half range (%s)', async (backend) => {
    const c = conformanceCases()[0]!;
    const weights = { ...(c.weights as object), recurrentKernel: [Array(12).fill(70000), Array(12).fill(0), Array(12).fill(0)] };
    const error = await Lstm.create({ ...(c.config as object), weights, weightPrecision: 'f16', backend } as never).catch((e) => e);
    expect(error.code).toBe('ERR_LSTM_WEIGHTS');
    expect(error.message).toMatch(/does not fit weightPrecision 'f16'/);
  });

  it.each(IMPLEMENTATIONS.filter((b) => !['native/avx2', 'native/neon'].includes(b)))('is refused with the reason on %s', async (backend) => {
    const c = conformanceCases()[0]!;
    const error = await Lstm.create({ ...(c.config as object), weights: c.weights, weightPrecision: 'f16', backend } as never).catch((e) => e);
    expect(error.code).toBe('ERR_LSTM_UNSUPPORTED');
    expect(error.message).toMatch(/weightPrecision: 'f16' is not supported by backend/);
  });
});
