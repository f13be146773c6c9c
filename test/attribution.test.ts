// attribute(): gradients against float64 finite differences of the independent reference LSTM
// (test/reference.ts), every method's definition checked on every backend, and bad options.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gaussLegendre } from '../lib/explain/attribute.js';
import { attribute, Bidirectional, Dense, Embedding, GlobalPooling1D, Gru, Lstm, LstmError, Sequential, type SequentialLayer, type Tensor } from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { expectClose, implementations, rng } from './helpers.js';
import { F64, referenceLstm, type RefConfig, type RefWeights } from './reference.js';

const IMPLEMENTATIONS = await implementations();
const GRADIENT_TOL = { abs: 1e-4, rel: 1e-3 };

const I = 3;
const U = 4;
const T = 6;
const random = rng(7);
const WEIGHTS: RefWeights = { kernel: random.matrix(I, 4 * U, -0.8, 0.8), recurrentKernel: random.matrix(U, 4 * U, -0.8, 0.8), bias: random.matrix(1, 4 * U, -0.3, 0.3)[0]! };
const HEAD = random.matrix(U, 2, -1, 1);
const INPUT = [random.matrix(T, I, -1, 1), random.matrix(T, I, -1, 1)];
const MASK = [
  [1, 1, 0, 1, 1, 1],
  [1, 1, 1, 1, 0, 0],
];

interface Variant {
  name: string;
  config: Partial<RefConfig>;
  mask?: number[][];
  lengths?: number[];
  targetStep?: number;
}
const VARIANTS: Variant[] = [
  { name: 'last state', config: {} },
  { name: 'masked', config: {}, mask: MASK },
  { name: 'goBackwards, masked', config: { goBackwards: true }, mask: MASK },
  { name: 'sequence, step 3', config: { returnSequences: true }, targetStep: 3 },
  { name: 'sequence, masked zeros, last step', config: { returnSequences: true, zeroOutputForMask: true }, mask: MASK },
  { name: 'sequence lengths', config: {}, lengths: [4, 6] },
  { name: 'goBackwards, sequence lengths (padding first)', config: { goBackwards: true }, lengths: [4, 2] },
  { name: 'goBackwards sequence, lengths, step 1', config: { goBackwards: true, returnSequences: true }, lengths: [5, 3], targetStep: 1 },
];

/** F(x) = (LSTM -> Dense head)[row, step, target] in float64. */
function reference(v: Variant, input: number[][][], target: number): number[] {
  const cfg: RefConfig = { inputSize: I, units: U, act: F64.tanh, recAct: F64.sigmoid, returnSequences: false, ...v.config };
  const r = referenceLstm(cfg, WEIGHTS, { input, mask: v.mask, lengths: v.lengths });
  return input.map((_, b) => {
    const step = cfg.returnSequences ? (r.output as number[][][])[b]![v.targetStep ?? T - 1]! : (r.output as number[][])[b]!;
    return step.reduce((sum, h, u) => sum + h * HEAD[u]![target]!, 0);
  });
}

/** Central differences of the reference, [B,T,I]. */
function finiteDifferences(v: Variant, target: number): number[] {
  const eps = 1e-6;
  const out: number[] = [];
  INPUT.forEach((rows, b) => {
    rows.forEach((row, t) => {
      row.forEach((_, k) => {
        const at = (d: number) => reference(v, INPUT.map((r, bb) => r.map((s, tt) => s.map((x, kk) => (bb === b && tt === t && kk === k ? x + d : x)))), target)[b]!;
        out.push((at(eps) - at(-eps)) / (2 * eps));
      });
    });
  });
  return out;
}

async function model(v: Variant, backend: string): Promise<Sequential> {
  const lstm = await Lstm.create({ weights: WEIGHTS, backend, returnSequences: v.config.returnSequences, goBackwards: v.config.goBackwards, zeroOutputForMask: v.config.zeroOutputForMask });
  return Sequential.create([lstm, await Dense.create({ kernel: HEAD })]);
}

describe.each(IMPLEMENTATIONS)('attribute on %s', (backend) => {
  it.each(VARIANTS)('gradient of an LSTM + Dense equals float64 finite differences: $name', async (v) => {
    const m = await model(v, backend);
    for (const target of [0, 1]) {
      const a = await attribute(m, INPUT, { method: 'gradient', target, targetStep: v.targetStep, mask: v.mask, sequenceLengths: v.lengths });
      const expected = finiteDifferences(v, target);
      expectClose(a.scores.data, expected, GRADIENT_TOL, `gradient, target ${target}`);
      if (v.mask) {
        // A masked step is read by no layer: its gradient is exactly zero.
        v.mask.forEach((row, b) => row.forEach((m, t) => m === 0 && expect(a.perStep.data[b * T + t]).toBe(0)));
      }
    }
    m.dispose();
  });

  it("outputOrder 'input' (ONNX's reverse Y) attributes step k as processing order attributes step T-1-k", async () => {
    const layers = async (outputOrder: 'input' | 'processing') =>
      Sequential.create([await Lstm.create({ weights: WEIGHTS, backend, goBackwards: true, returnSequences: true, outputOrder }), await Dense.create({ kernel: HEAD })]);
    const [inputOrder, processing] = [await layers('input'), await layers('processing')];
    for (const k of [0, 2, 5]) {
      const a = await attribute(inputOrder, INPUT, { method: 'gradient', target: 1, targetStep: k, sequenceLengths: [6, 4] });
      const b = await attribute(processing, INPUT, { method: 'gradient', target: 1, targetStep: T - 1 - k, sequenceLengths: [6, 4] });
      expect(Array.from(a.scores.data)).toEqual(Array.from(b.scores.data));
    }
    inputOrder.dispose();
    processing.dispose();
  });

  it('a gradient that vanishes through a long sequence ends as exact zeros, never as denormals', async () => {
    // Contracting weights: the gradient shrinks every step, past float32's smallest normal (2^-126)
    // within 400 steps. Denormal products slowed BPTT 10-fold (a 1,000-step report took 6 s); the
    // core flushes values below 2^-100 to zero and stops the row.
    const r = rng(11);
    const small = { kernel: r.matrix(I, 4 * U, -0.5, 0.5), recurrentKernel: r.matrix(U, 4 * U, -0.3, 0.3), bias: r.matrix(1, 4 * U, -0.3, 0.3)[0]! };
    const steps = 400;
    const input = [r.matrix(steps, I, -1, 1)];
    const m = await Sequential.create([await Lstm.create({ weights: small, backend }), await Dense.create({ kernel: HEAD })]);
    const a = await attribute(m, input, { method: 'gradient', target: 0 });
    const scores = Array.from(a.scores.data);
    expect(scores.every((s) => s === 0 || Math.abs(s) >= 2 ** -126)).toBe(true);
    expect(scores.slice(0, 10 * I).every((s) => s === 0)).toBe(true);
    expect(scores.slice(-I).every((s) => Math.abs(s) > 1e-3)).toBe(true);
    m.dispose();
  });

  it('gradient-x-input is the gradient times the input; integrated gradients are complete', async () => {
    const v = VARIANTS[1]!;
    const m = await model(v, backend);
    const g = await attribute(m, INPUT, { method: 'gradient', target: 1, mask: v.mask });
    const gx = await attribute(m, INPUT, { method: 'gradient-x-input', target: 1, mask: v.mask });
    expectClose(gx.scores.data, Array.from(g.scores.data, (d, k) => d * INPUT.flat(2)[k]!), { abs: 1e-7, rel: 1e-6 }, 'gradient x input');
    const ig = await attribute(m, INPUT, { method: 'integrated-gradients', target: 1, mask: v.mask });
    // Completeness: the scores sum to F(x) - F(0), to within the quadrature's error.
    const fx = reference(v, INPUT, 1);
    const f0 = reference(v, INPUT.map((r) => r.map((s) => s.map(() => 0))), 1);
    for (let b = 0; b < 2; b++) {
      const sum = Array.from(ig.scores.data.subarray(b * T * I, (b + 1) * T * I)).reduce((x, y) => x + y, 0);
      expect(Math.abs(sum - (fx[b]! - f0[b]!))).toBeLessThan(1e-4);
      expect(Math.abs(ig.delta!.data[b]! - (sum - (fx[b]! - f0[b]!)))).toBeLessThan(1e-5);
    }
    m.dispose();
  });

  it('occlusion scores the mean change of the windows covering a step, the last window cut short', async () => {
    const v = VARIANTS[0]!;
    const m = await model(v, backend);
    const a = await attribute(m, INPUT, { method: 'occlusion', target: 0, window: 4, stride: 3 });
    // T = 6, window 4, stride 3: windows [0,4) and [3,6) (cut short), so steps 0-2 see the first, 3 both, 4-5 the second.
    const fx = reference(v, INPUT, 0);
    const occluded = (from: number, to: number) => reference(v, INPUT.map((r) => r.map((s, t) => s.map((x) => (t >= from && t < to ? 0 : x)))), 0);
    const w1 = occluded(0, 4);
    const w2 = occluded(3, 6);
    const expected: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < T; t++) {
        const d1 = fx[b]! - w1[b]!;
        const d2 = fx[b]! - w2[b]!;
        const score = t < 3 ? d1 : t === 3 ? (d1 + d2) / 2 : d2;
        for (let k = 0; k < I; k++) expected.push(score);
      }
    }
    expectClose(a.scores.data, expected, { abs: 1e-5, rel: 1e-4 }, 'occlusion');
    expectClose(a.perStep.data, expected.filter((_, k) => k % I === 0).map((s) => s * I), { abs: 1e-5, rel: 1e-4 }, 'occlusion per step');
    m.dispose();
  });
});

// PyTorch autograd in float64 with each method as Captum defines it (scripts/gen-attribution-fixtures.py;
// test/fixtures/attribution/FORMAT.md), with the tolerances.
interface FixtureTensor {
  data: number[];
  shape: number[];
}
interface AttributionFixture {
  layers: { kind: string; options: Record<string, unknown>; weights?: Record<string, unknown>; backwardWeights?: Record<string, unknown> }[];
  input: FixtureTensor;
  cases: (Record<string, unknown> & { method: string; scores: FixtureTensor; perStep: FixtureTensor; delta?: FixtureTensor; embeddingScores?: FixtureTensor; output: FixtureTensor })[];
}
const FIXTURES = new URL('./fixtures/attribution/', import.meta.url);
const FIXTURE_FILES = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
const GRADIENT_METHODS = new Set(['gradient', 'gradient-x-input']);

async function fixtureModel(f: AttributionFixture, backend: string): Promise<Sequential> {
  const layers: SequentialLayer[] = [];
  for (const l of f.layers) {
    const o = { ...l.options } as never;
    if (l.kind === 'lstm') layers.push(await Lstm.create({ ...(o as object), weights: l.weights as never, backend }));
    else if (l.kind === 'gru') layers.push(await Gru.create({ ...(o as object), weights: l.weights as never, backend }));
    else if (l.kind === 'bidirectional') {
      const { layer, ...rest } = l.options as { layer: object };
      layers.push(await Bidirectional.create({ ...rest, layer: { ...layer, weights: l.weights, backend }, backwardWeights: l.backwardWeights } as never));
    } else if (l.kind === 'dense') layers.push(await Dense.create({ ...(o as object), ...l.weights } as never));
    else if (l.kind === 'embedding') layers.push(await Embedding.create({ ...(o as object), ...l.weights } as never));
    else if (l.kind === 'globalPooling1D') layers.push(await GlobalPooling1D.create(o));
    else throw new Error(`fixture layer kind ${l.kind}`);
  }
  return Sequential.create(layers);
}

describe.each(IMPLEMENTATIONS)('attribute against torch autograd (Captum definitions) on %s', (backend) => {
  it.each(FIXTURE_FILES)('%s', async (file) => {
    const f = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as AttributionFixture;
    const model = await fixtureModel(f, backend);
    for (const [k, c] of f.cases.entries()) {
      const what = `${file} case ${k} (${c.method}${c.mask ? ', mask' : ''}${c.sequenceLengths ? ', lengths' : ''})`;
      const tol = GRADIENT_METHODS.has(c.method) ? { abs: 1e-4, rel: 1e-3 } : { abs: 1e-3, rel: 1e-2 };
      const call = { mask: c.mask as number[][] | undefined, sequenceLengths: c.sequenceLengths as number[] | undefined };
      expectClose(model.forward(f.input, call).output.data, c.output.data, { abs: 1e-5, rel: 1e-5 }, `${what} output`);
      const a = await attribute(model, f.input, { ...call, method: c.method, target: c.target, targetStep: c.targetStep, steps: c.steps, baseline: c.baseline, window: c.window, stride: c.stride } as never);
      expect(a.scores.shape, `${what} scores shape`).toEqual(c.scores.shape);
      expectClose(a.scores.data, c.scores.data, tol, `${what} scores`);
      expectClose(a.perStep.data, c.perStep.data, tol, `${what} perStep`);
      if (c.delta) expectClose(a.delta!.data, c.delta.data, tol, `${what} delta`);
      else expect(a.delta, `${what} delta`).toBeUndefined();
      if (c.embeddingScores) expectClose(a.embeddingScores!.data, c.embeddingScores.data, tol, `${what} embeddingScores`);
    }
    model.dispose();
  });
});

// The forecaster's question ("does the prediction depend on t-1 or t-5?") on a Keras model whose
// answer is known: scripts/train-planted-lag.py trained it on noise whose target depends on two lags.
describe.each(IMPLEMENTATIONS)('attribution finds the planted lags of a trained Keras forecaster on %s', (backend) => {
  const dir = new URL('./fixtures/planted-lag/', import.meta.url);
  const windows = JSON.parse(readFileSync(new URL('inputs.json', dir), 'utf8')) as { stepIndices: number[]; input: FixtureTensor; meanAbsScores: Record<string, number[]> };
  it.each(['gradient', 'gradient-x-input', 'integrated-gradients', 'occlusion'])('%s: the two largest mean |scores| are at exactly those lags', async (method) => {
    const model = await loadModel(readFileSync(new URL('../examples/models/planted-lag.keras', import.meta.url)), { backend });
    const { perStep } = await attribute(model, windows.input, { method: method as never, target: 0 });
    const [B, T] = perStep.shape as [number, number];
    const meanAbs = Array.from({ length: T }, (_, t) => Array.from({ length: B }, (_, b) => Math.abs(perStep.data[b * T + t]!)).reduce((x, y) => x + y, 0) / B);
    const ranked = [...meanAbs.keys()].sort((a, b) => meanAbs[b]! - meanAbs[a]!);
    expect(ranked.slice(0, 2).sort()).toEqual([...windows.stepIndices].sort());
    // The largest other step scores under a tenth of the planted ones.
    expect(meanAbs[ranked[2]!]! * 10).toBeLessThan(meanAbs[ranked[1]!]!);
    // And the same means as jax's gradients of the same model gave when it was trained.
    expectClose(Float32Array.from(meanAbs), windows.meanAbsScores[method]!, { abs: 1e-3, rel: 1e-2 }, `${method} mean |score| per step`);
    model.dispose();
  });
});

describe('attribute refuses what it cannot do, naming the option', () => {
  const lstm = () => Lstm.create({ weights: WEIGHTS, backend: 'js' });
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['an unknown method', { method: 'saliency', target: 0 }, 'ERR_LSTM_CONFIG', /options\.method.*'gradient'.*"saliency"/],
    ['a target out of range', { method: 'gradient', target: 4 }, 'ERR_LSTM_CONFIG', /options\.target.*\[0, 4\).*4/],
    ['a fractional target', { method: 'gradient', target: 0.5 }, 'ERR_LSTM_CONFIG', /options\.target/],
    ['a target step on a vector output', { method: 'gradient', target: 0, targetStep: 1 }, 'ERR_LSTM_CONFIG', /options\.targetStep.*not a sequence/],
    ['steps < 1', { method: 'integrated-gradients', target: 0, steps: 0 }, 'ERR_LSTM_CONFIG', /options\.steps.*from 1/],
    ['a baseline of the wrong shape', { method: 'integrated-gradients', target: 0, baseline: [[1, 2]] }, 'ERR_LSTM_SHAPE', /options\.baseline.*\[2, 6, 3\].*\[1, 2\]/],
    ['a window longer than the input', { method: 'occlusion', target: 0, window: 7 }, 'ERR_LSTM_CONFIG', /options\.window.*6 steps/],
    ['an unknown option', { method: 'gradient', target: 0, stepz: 3 }, 'ERR_LSTM_CONFIG', /stepz/],
  ];
  it.each(cases)('%s', async (_, options, code, message) => {
    const layer = await lstm();
    const error = await attribute(layer, INPUT, options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LstmError);
    expect((error as LstmError).code).toBe(code);
    expect((error as LstmError).message).toMatch(message);
  });

  it('a layer with int8 weights, which has no gradient', async () => {
    const layer = await Lstm.create({ weights: WEIGHTS, backend: 'js', weightPrecision: 'int8' });
    const error = await attribute(layer, INPUT, { method: 'gradient', target: 0 }).catch((e: unknown) => e);
    expect((error as LstmError).code).toBe('ERR_LSTM_UNSUPPORTED');
    expect((error as LstmError).message).toMatch(/weightPrecision 'int8'.*'f32'/);
  });

  it('a GRU layer alone is attributed as a Sequential of one', async () => {
    const gru = await Gru.create({ inputSize: I, units: 2, weights: { kernel: random.matrix(I, 6), recurrentKernel: random.matrix(2, 6), bias: random.matrix(2, 6) }, backend: 'js' });
    const a = await attribute(gru, INPUT, { method: 'gradient', target: 1 });
    expect(a.scores.shape).toEqual([2, T, I]);
    expect(Array.from(a.scores.data).some((x) => x !== 0)).toBe(true);
  });
});

describe('Gauss-Legendre nodes on [0, 1]', () => {
  it('integrate polynomials of degree 2n - 1 exactly, as numpy.polynomial.legendre.leggauss does', () => {
    for (const n of [1, 2, 5, 50]) {
      const { nodes, weights } = gaussLegendre(n);
      for (let d = 0; d <= 2 * n - 1; d += Math.max(1, n >> 2)) {
        const integral = nodes.reduce((sum, x, k) => sum + weights[k]! * x ** d, 0);
        expect(integral, `n ${n}, x^${d}`).toBeCloseTo(1 / (d + 1), 12);
      }
    }
    // numpy: leggauss(2) -> nodes +-1/sqrt(3), weights 1
    expect(Array.from(gaussLegendre(2).nodes)).toEqual([expect.closeTo(0.5 - 0.5 / Math.sqrt(3), 15), expect.closeTo(0.5 + 0.5 / Math.sqrt(3), 15)]);
  });
});

export type { Tensor };
