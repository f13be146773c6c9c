// Every backend against the independent float64 reference (test/reference.ts) on sizes at, below
// and above the SIMD tile (8 lanes on AVX2, 4 on WASM SIMD), with the full gate trace.
import { describe, expect, it } from 'vitest';
import { Lstm, type ActivationName } from '../lib/index.js';
import { expectClose, implementations, rng } from './helpers.js';
import { F64, referenceLstm, type RefCall } from './reference.js';

const IMPLEMENTATIONS = await implementations();
const TOL = { abs: 1e-5, rel: 1e-5 };

interface Spec {
  B: number;
  T: number;
  I: number;
  U: number;
  activation?: ActivationName;
  recurrentActivation?: ActivationName;
  goBackwards?: boolean;
  returnSequences?: boolean;
  zeroOutputForMask?: boolean;
  mask?: boolean;
  lengths?: boolean;
  initialState?: boolean;
}

const SIZES: Spec[] = [];
for (const U of [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64]) SIZES.push({ B: 1 + (U % 3), T: 3, I: 1 + (U % 5), U });
for (const I of [1, 2, 7, 9, 40]) SIZES.push({ B: 2, T: 2, I, U: 12 });
SIZES.push({ B: 5, T: 7, I: 6, U: 10 }, { B: 4, T: 1, I: 3, U: 24 });
// Batches across the row tiles (6 rows natively, 4 in WASM, then 2, then 1) and, with B*T > 96,
// across the input projection's row panels.
for (const B of [8, 13]) SIZES.push({ B, T: 4, I: 5, U: 20 });
SIZES.push({ B: 7, T: 15, I: 4, U: 6 });

const SEMANTICS: Spec[] = [
  { B: 3, T: 6, I: 4, U: 9, goBackwards: true },
  { B: 3, T: 6, I: 4, U: 9, goBackwards: true, returnSequences: false },
  { B: 3, T: 6, I: 4, U: 9, lengths: true },
  { B: 3, T: 6, I: 4, U: 9, lengths: true, goBackwards: true, initialState: true },
  { B: 3, T: 6, I: 4, U: 9, lengths: true, returnSequences: false },
  { B: 3, T: 6, I: 4, U: 9, mask: true, initialState: true },
  { B: 3, T: 6, I: 4, U: 9, mask: true, zeroOutputForMask: true, returnSequences: false },
  { B: 3, T: 6, I: 4, U: 9, mask: true, lengths: true, goBackwards: true },
  { B: 2, T: 5, I: 3, U: 11, activation: 'relu', recurrentActivation: 'hard_sigmoid' },
  { B: 2, T: 5, I: 3, U: 11, activation: 'elu', recurrentActivation: 'softsign' },
  { B: 2, T: 5, I: 3, U: 11, activation: 'linear', recurrentActivation: 'tanh' },
];

const F64_OF: Record<ActivationName, (x: number) => number> = {
  tanh: F64.tanh, sigmoid: F64.sigmoid, hard_sigmoid: F64.hardSigmoid, linear: F64.linear, relu: F64.relu, softsign: F64.softsign, elu: F64.elu,
};

function build(spec: Spec, seed: number) {
  const r = rng(seed);
  const { B, T, I, U } = spec;
  const weights = { kernel: r.matrix(I, 4 * U), recurrentKernel: r.matrix(U, 4 * U), bias: r.matrix(1, 4 * U)[0]! };
  const call: RefCall = { input: Array.from({ length: B }, () => r.matrix(T, I, -1, 1)) };
  if (spec.initialState) {
    call.h0 = r.matrix(B, U);
    call.c0 = r.matrix(B, U);
  }
  if (spec.mask) call.mask = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => ((t + b) % 3 === 1 ? 0 : 1)));
  if (spec.lengths) call.lengths = Array.from({ length: B }, (_, b) => [T, 1, T - 2, 0][b % 4]!);
  return { weights, call };
}

function check(spec: Spec, seed: number) {
  const { weights, call } = build(spec, seed);
  const returnSequences = spec.returnSequences ?? true;
  const activation = spec.activation ?? 'tanh';
  const recurrentActivation = spec.recurrentActivation ?? 'sigmoid';
  const ref = referenceLstm(
    { inputSize: spec.I, units: spec.U, act: F64_OF[activation], recAct: F64_OF[recurrentActivation], returnSequences, goBackwards: spec.goBackwards, zeroOutputForMask: spec.zeroOutputForMask },
    weights,
    call,
  );
  return async (backend: string) => {
    const layer = await Lstm.create({ weights, activation, recurrentActivation, returnSequences, goBackwards: spec.goBackwards, zeroOutputForMask: spec.zeroOutputForMask, backend });
    const options = {
      initialState: call.h0 ? { h: call.h0, c: call.c0! } : undefined,
      mask: call.mask,
      sequenceLengths: call.lengths,
    };
    const traced = layer.forward(call.input, { ...options, trace: true });
    const plain = layer.forward(call.input, options);
    layer.dispose();
    const at = `${backend} ${JSON.stringify(spec)}`;
    expectClose(traced.output, ref.output, TOL, `${at} output`);
    expectClose(traced.h, ref.h, TOL, `${at} h`);
    expectClose(traced.c, ref.c, TOL, `${at} c`);
    for (const g of ['i', 'f', 'g', 'o', 'c', 'h'] as const) expectClose(traced.trace![g], ref.trace[g], TOL, `${at} trace.${g}`);
    // Tracing must not change the results: bit for bit.
    expect(Array.from(plain.output.data), `${at}: output with and without trace`).toEqual(Array.from(traced.output.data));
    expect(Array.from(plain.h.data)).toEqual(Array.from(traced.h.data));
    expect(Array.from(plain.c.data)).toEqual(Array.from(traced.c.data));
  };
}

describe.each(IMPLEMENTATIONS)('%s against the float64 reference', (backend) => {
  it.each(SIZES.map((s) => [`B${s.B} T${s.T} I${s.I} U${s.U}`, s] as const))('tile edges %s', async (_, spec) => {
    await check(spec, spec.U * 1000 + spec.I)(backend);
  });
  it.each(SEMANTICS.map((s, k) => [JSON.stringify(s), s, k] as const))('semantics %s', async (_, spec, k) => {
    await check(spec, 77 + k)(backend);
  });
  it('sigmoid and tanh are exact at 0 and saturate to exactly 0 and 1', async () => {
    // Zero weights, so each gate's pre-activation is its bias (gate order i, f, c, o; U = 2).
    const bias = [60, -60, -60, 0, 0, 30, 0, -30];
    const weights = { kernel: [new Array(8).fill(0)], recurrentKernel: [new Array(8).fill(0), new Array(8).fill(0)], bias };
    const layer = await Lstm.create({ weights, backend });
    const { trace } = layer.forward([[[0.5]]], { trace: true });
    expect([...trace!.i.data]).toEqual([1, expect.closeTo(0, 12)]);
    expect([...trace!.f.data]).toEqual([expect.closeTo(0, 12), 0.5]);
    expect([...trace!.g.data]).toEqual([0, 1]);
    expect([...trace!.o.data]).toEqual([0.5, expect.closeTo(0, 12)]);
    layer.dispose();
  });
  it('sigmoid and tanh stay within 5e-7 of float64 over [-40, 40]', async () => {
    // Zero recurrent weights and bias, so each gate's pre-activation is x times its unit's kernel
    // weight: x sweeps [-10, 10] over the steps and powers of two scale it exactly.
    const scale = [0.25, 0.5, 1, 2, 4];
    const U = scale.length;
    const xs = Array.from({ length: 401 }, (_, t) => Math.fround(-10 + t * 0.05));
    const weights = { kernel: [[...scale, ...scale, ...scale, ...scale]], recurrentKernel: scale.map(() => new Array(4 * U).fill(0)), bias: new Array(4 * U).fill(0) };
    const layer = await Lstm.create({ weights, returnSequences: true, backend });
    const { trace } = layer.forward([xs.map((x) => [x])], { trace: true });
    let worstSigmoid = 0;
    let worstTanh = 0;
    xs.forEach((x, t) =>
      scale.forEach((k, u) => {
        worstSigmoid = Math.max(worstSigmoid, Math.abs(trace!.i.data[t * U + u]! - F64.sigmoid(x * k)));
        worstTanh = Math.max(worstTanh, Math.abs(trace!.g.data[t * U + u]! - F64.tanh(x * k)));
      }),
    );
    expect(worstSigmoid).toBeLessThan(5e-7);
    expect(worstTanh).toBeLessThan(5e-7);
    layer.dispose();
  });
  it('saturated pre-activations (|z| up to ~60) stay exact to 1e-5', async () => {
    const r = rng(5);
    const weights = { kernel: r.matrix(3, 20, -20, 20), recurrentKernel: r.matrix(5, 20, -5, 5), bias: r.matrix(1, 20, -5, 5)[0]! };
    const input = [r.matrix(4, 3, -1, 1)];
    const ref = referenceLstm({ inputSize: 3, units: 5, act: F64.tanh, recAct: F64.sigmoid, returnSequences: true }, weights, { input });
    const layer = await Lstm.create({ weights, returnSequences: true, backend });
    const out = layer.forward(input, { trace: true });
    expectClose(out.output, ref.output, TOL, `${backend} saturated output`);
    expectClose(out.trace!.i, ref.trace.i, TOL, `${backend} saturated trace.i`);
    layer.dispose();
  });
});
