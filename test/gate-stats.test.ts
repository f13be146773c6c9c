// gateStats: statistics computed here by hand from gate values fixed by the weights, masked steps
// left out, every backend alike, and the real Keras models' traces.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { timeConstant } from '../lib/explain/gate-stats.js';
import { Bidirectional, Dense, gateStats, Gru, Lstm, LstmError, Sequential, splitGates, type LayerGateStats, type Tensor } from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { implementations, type Nested } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const LN3 = Math.log(3);

// One input, two units (Keras layout, gates i, f, c, o), no recurrent weights, so each gate is a
// function of the step's input alone:
//   unit 0: i = sigmoid(x), f = 0.9 (bias ln 9), c~ = tanh(x), o = 0.5
//   unit 1: i = f = o = 0.5, c~ = 0, so c and h stay 0: an inactive unit.
const KERNEL = [[1, 0, 0, 0, 1, 0, 0, 0]];
const BIAS = [0, 0, Math.log(9), 0, 0, 0, 0, 0];
const WEIGHTS = { kernel: KERNEL, recurrentKernel: [new Array(8).fill(0), new Array(8).fill(0)], bias: BIAS };
const X = [
  [0, LN3, -LN3, 100],
  [-100, 0, 5, 5],
];
const INPUT = X.map((row) => row.map((x) => [x]));
const MASK = [
  [1, 1, 1, 1],
  [1, 1, 0, 0],
];
// The steps that ran: all of row 0, the first two of row 1.
const RAN = [...X[0]!, ...X[1]!.slice(0, 2)];

const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const stdOf = (v: number[]) => Math.sqrt(meanOf(v.map((x) => (x - meanOf(v)) ** 2)));
const share = (v: number[], test: (x: number) => boolean) => v.filter(test).length / v.length;

/** Unit 0's cell state at each step that ran, row by row: c = 0.9 c + sigmoid(x) tanh(x). */
function cellStates(): number[] {
  const out: number[] = [];
  for (const [row, steps] of [
    [X[0]!, 4],
    [X[1]!, 2],
  ] as const) {
    let c = 0;
    for (const x of row.slice(0, steps)) out.push((c = 0.9 * c + sigmoid(x) * Math.tanh(x)));
  }
  return out;
}

function expectClose(actual: number, expected: number, tol = 1e-5) {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}

function expectHandStats(s: LayerGateStats) {
  expect(s).toMatchObject({ cell: 'lstm', units: 2, steps: 6 });
  const i0 = RAN.map(sigmoid);
  expectClose(s.gates.i!.mean[0]!, meanOf(i0)); // 0.5, not 3/8 as with the two masked zeros
  expectClose(s.gates.i!.std[0]!, stdOf(i0));
  expect(s.gates.i!.shut![0]).toBeCloseTo(share(i0, (v) => v < 0.05), 10); // x = -100
  expect(s.gates.i!.open![0]).toBeCloseTo(share(i0, (v) => v > 0.95), 10); // x = 100
  expectClose(s.gates.i!.mean[1]!, 0.5);
  expectClose(s.gates.i!.std[1]!, 0);
  expect([s.gates.i!.shut![1], s.gates.i!.open![1]]).toEqual([0, 0]);
  // The candidate is no sigmoid gate: mean and spread only.
  const g0 = RAN.map(Math.tanh);
  expectClose(s.gates.g!.mean[0]!, meanOf(g0));
  expectClose(s.gates.g!.std[0]!, stdOf(g0));
  expect(s.gates.g!.shut).toBeUndefined();
  expect(s.gates.g!.label).toBe('candidate');
  expectClose(s.gates.f!.mean[0]!, 0.9);
  expectClose(s.gates.o!.mean[0]!, 0.5);
  // Over both units: i is unit 0's six values and six times 0.5.
  const iAll = [...i0, ...i0.map(() => 0.5)];
  expectClose(s.gates.i!.all.mean, meanOf(iAll));
  expectClose(s.gates.i!.all.std, stdOf(iAll));
  expect(s.gates.i!.all.open).toBeCloseTo(share(iAll, (v) => v > 0.95), 10);
  // tau = -1/ln(0.9) = 9.49 steps; -1/ln(0.5) = 1.44.
  expectClose(s.timeConstant![0]!, -1 / Math.log(0.9), 1e-3);
  expectClose(s.timeConstant![1]!, 1 / Math.LN2, 1e-4);
  const c = cellStates();
  expectClose(s.cellRange!.min[0]!, Math.min(...c));
  expectClose(s.cellRange!.max[0]!, Math.max(...c));
  expect([s.cellRange!.min[1], s.cellRange!.max[1]]).toEqual([0, 0]);
  expect(s.inactiveUnits).toEqual([1]);
}

describe('gateStats on a layer whose gates the weights fix', () => {
  it.each(IMPLEMENTATIONS)('LSTM: means, spreads, saturation, time constant, cell range, inactive units; masked steps left out (%s)', async (backend) => {
    const layer = await Lstm.create({ weights: WEIGHTS, returnSequences: true, backend });
    try {
      const masked = gateStats(layer.forward(INPUT, { mask: MASK, trace: true }).trace);
      expect(masked).toHaveLength(1);
      expect(masked[0]!.name).toBe('0_lstm');
      expectHandStats(masked[0]!);
      // Sequence lengths skip the same steps (past the end, not masked).
      expectHandStats(gateStats(layer.forward(INPUT, { sequenceLengths: [4, 2], trace: true }).trace)[0]!);
      // Without a mask all eight steps count.
      const all = gateStats(layer.forward(INPUT, { trace: true }).trace)[0]!;
      expect(all.steps).toBe(8);
      expectClose(all.gates.i!.mean[0]!, meanOf([...X[0]!, ...X[1]!].map(sigmoid)));
    } finally {
      layer.dispose();
    }
  });

  it('every backend gives the same statistics as js on random weights, with a mask', async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const I = 3;
    const U = 5;
    const weights = { kernel: Array.from({ length: I }, () => Array.from({ length: 4 * U }, rand)), recurrentKernel: Array.from({ length: U }, () => Array.from({ length: 4 * U }, rand)), bias: Array.from({ length: 4 * U }, rand) };
    const input = Array.from({ length: 3 }, () => Array.from({ length: 9 }, () => Array.from({ length: I }, () => 3 * rand())));
    const mask = [new Array(9).fill(1), [1, 1, 0, 1, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1, 0, 0]];
    const statsOn = async (backend: string) => {
      const layer = await Lstm.create({ weights, returnSequences: true, backend });
      try {
        return gateStats(layer.forward(input, { mask, trace: true }).trace)[0]!;
      } finally {
        layer.dispose();
      }
    };
    const reference = await statsOn('js');
    expect(reference.steps).toBe(27 - 6);
    for (const backend of IMPLEMENTATIONS) {
      const s = await statsOn(backend);
      expect(s.steps, backend).toBe(reference.steps);
      expect(s.inactiveUnits, backend).toEqual(reference.inactiveUnits);
      const pairs: [number[], number[]][] = [[s.timeConstant!, reference.timeConstant!], [s.cellRange!.min, reference.cellRange!.min], [s.cellRange!.max, reference.cellRange!.max]];
      for (const [name, g] of Object.entries(s.gates)) {
        const r = reference.gates[name]!;
        pairs.push([g.mean, r.mean], [g.std, r.std]);
        // A value within rounding of 0.05 or 0.95 could fall either side: shares only roughly.
        if (g.shut) pairs.push([g.shut, r.shut!], [g.open!, r.open!]);
      }
      for (const [a, b] of pairs) a.forEach((v, k) => expect(Math.abs(v - b[k]!), `${backend}: ${v} vs ${b[k]}`).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(b[k]!))));
    }
  });

  it('time constant: Infinity for a forget gate always 1, 0 for one always 0', async () => {
    expect(timeConstant(1)).toBe(Infinity);
    expect(timeConstant(0)).toBe(0);
    expect(timeConstant(NaN)).toBeNaN();
    expect(timeConstant(Math.exp(-1 / 4))).toBeCloseTo(4, 12);
    // A forget gate's bias of 40 keeps f at 1 in float32 on every backend.
    const bias = [...BIAS];
    bias[2] = bias[3] = 40;
    for (const backend of IMPLEMENTATIONS) {
      const layer = await Lstm.create({ weights: { ...WEIGHTS, bias }, backend });
      const s = gateStats(layer.forward(INPUT, { trace: true }).trace)[0]!;
      layer.dispose();
      expect(s.gates.f!.mean, backend).toEqual([1, 1]);
      expect(s.timeConstant, backend).toEqual([Infinity, Infinity]);
    }
  });

  it('every step masked: NaN statistics, no steps, no inactive units', async () => {
    const layer = await Lstm.create({ weights: WEIGHTS, backend: 'js' });
    const s = gateStats(layer.forward(INPUT, { mask: [new Array(4).fill(0), new Array(4).fill(0)], trace: true }).trace)[0]!;
    layer.dispose();
    expect(s.steps).toBe(0);
    expect(s.gates.i!.mean[0]).toBeNaN();
    expect(s.timeConstant![0]).toBeNaN();
    expect(s.inactiveUnits).toEqual([]);
  });

  it('weight norms per gate and unit, from the weights in any layout', async () => {
    // Column norms of the Keras kernels, gate k's unit u being column k * U + u.
    const kernel = [
      [1, 2, 3, 4, 5, 6, 7, 8],
      [-2, 0, 4, 0, 0, 1, 0, 2],
    ];
    const recurrentKernel = [
      [3, 0, 0, 1, 0, 0, 2, 0],
      [4, 1, 0, 1, 0, 0, 0, 0],
    ];
    const bias = [1, -2, 3, -4, 5, -6, 7, -8];
    const layer = await Lstm.create({ weights: { kernel, recurrentKernel, bias }, backend: 'js' });
    const { trace } = layer.forward([[[1, 1]]], { trace: true });
    layer.dispose();
    const expected = {
      i: { W: [Math.sqrt(5), 2], U: [5, 1], b: [1, 2] },
      f: { W: [5, 4], U: [0, Math.SQRT2], b: [3, 4] },
      g: { W: [5, Math.sqrt(37)], U: [0, 0], b: [5, 6] },
      o: { W: [7, Math.sqrt(68)], U: [2, 0], b: [7, 8] },
    };
    const norms = gateStats(trace, { weights: { kernel, recurrentKernel, bias } })[0]!.weightNorms!;
    for (const [gate, e] of Object.entries(expected)) for (const part of ['W', 'U', 'b'] as const) e[part].forEach((v, u) => expectClose(norms[gate]![part][u]!, v));
    // PyTorch's layout of the same weights (gate rows i, f, g, o; bias split in two) gives the same norms.
    const t = (m: number[][]) => m[0]!.map((_, k) => m.map((row) => row[k]!));
    const pytorch = { weight_ih: t(kernel), weight_hh: t(recurrentKernel), bias_ih: bias.map((b) => b / 2), bias_hh: bias.map((b) => b / 2) };
    expect(gateStats(trace, { weights: pytorch, weightLayout: 'pytorch' })[0]!.weightNorms).toEqual(norms);
    expect(splitGates({ kernel, recurrentKernel, bias }).c.b.data[1]).toBe(-6); // g is splitGates' c
  });

  it('with options.model, every layer (LSTM, GRU, both directions) gets the norms of its own weights', async () => {
    // A GRU of 2 units on 1 input: kernel columns z0 z1 r0 r1 h0 h1, one recurrent row per unit.
    const gru = await Gru.create({
      weights: { kernel: [[3, 0, 1, -2, 0, 5]], recurrentKernel: [[4, 1, 0, 0, 2, 0], [0, 1, 3, 0, 0, -1]], bias: [[1, -2, 3, -4, 5, -6], [0, 0, 0, 0, 0, 0]] },
      returnSequences: true,
      backend: 'js',
    });
    const model = await Sequential.create([gru, await Dense.create({ kernel: [[1], [1]] })]);
    const stats = gateStats(model.forward([[[1], [0.5]]], { trace: true }).trace, { model })[0]!;
    expect(stats.weightNorms).toEqual({
      z: { W: [3, 0], U: [4, Math.SQRT2], b: [1, 2] },
      r: { W: [1, 2], U: [3, 0], b: [3, 4] },
      g: { W: [0, 5], U: [2, 1], b: [5, 6] },
    });
    model.dispose();
  });

  it('GRU: z, r and the candidate h~, no LSTM-only statistics', async () => {
    // z = sigmoid(x), r = 0.5, h~ = 0: h stays 0.
    const layer = await Gru.create({ weights: { kernel: [[1, 0, 0]], recurrentKernel: [[0, 0, 0]], bias: [[0, 0, 0], [0, 0, 0]] }, returnSequences: true, backend: 'js' });
    const s = gateStats(layer.forward([INPUT[0]!.map((x) => x)], { trace: true }).trace)[0]!;
    layer.dispose();
    expect(Object.keys(s.gates)).toEqual(['z', 'r', 'g']);
    expect(s.gates.z!.label).toBe('update gate');
    expectClose(s.gates.z!.mean[0]!, meanOf(X[0]!.map(sigmoid)));
    expect(s.gates.z!.open).toEqual([0.25]);
    expectClose(s.gates.r!.mean[0]!, 0.5);
    expect(s.gates.g!.open).toBeUndefined();
    expect(s.timeConstant).toBeUndefined();
    expect(s.cellRange).toBeUndefined();
    expect(s.inactiveUnits).toEqual([0]);
  });

  it('Bidirectional: both directions, each over the steps that ran', async () => {
    const layer = await Bidirectional.create({ layer: { weights: WEIGHTS, returnSequences: true, backend: 'js' }, backwardWeights: WEIGHTS });
    const stats = gateStats(layer.forward(INPUT, { sequenceLengths: [4, 2], trace: true }).trace);
    layer.dispose();
    expect(stats.map((s) => [s.name, s.direction])).toEqual([
      ['0_bidirectional/forward', 'forward'],
      ['0_bidirectional/backward', 'backward'],
    ]);
    // Gates that read only the step's input do not depend on the order the steps ran in.
    expectHandStats(stats[0]!);
    const back = stats[1]!;
    expect(back.steps).toBe(6);
    expectClose(back.gates.i!.mean[0]!, meanOf(RAN.map(sigmoid)));
    expectClose(back.gates.g!.std[0]!, stdOf(RAN.map(Math.tanh)));
  });
});

describe('gateStats refuses what is no trace, or options the trace is not of', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(LstmError);
      return `${(e as LstmError).code}: ${(e as LstmError).message}`;
    }
    return 'no error';
  };

  it('names the trace or the option', async () => {
    const lstm = await Lstm.create({ weights: WEIGHTS, backend: 'js' });
    const gru = await Gru.create({ weights: { kernel: [[1, 0, 0]], recurrentKernel: [[0, 0, 0]], bias: [0, 0, 0] }, resetAfter: false, backend: 'js' });
    const trace = lstm.forward(INPUT, { trace: true }).trace!;
    const gruTrace = gru.forward(INPUT, { trace: true }).trace!;
    lstm.dispose();
    gru.dispose();
    expect(code(() => gateStats(42))).toMatch(/^ERR_LSTM_INPUT: trace: expected a forward call's trace/);
    expect(code(() => gateStats({ i: trace.i }))).toMatch(/^ERR_LSTM_INPUT: trace: /);
    expect(code(() => gateStats([trace, 'x']))).toMatch(/^ERR_LSTM_INPUT: trace\[1\]: /);
    const short: Tensor = { data: trace.f.data.subarray(4), shape: [2, 3, 2] };
    expect(code(() => gateStats({ ...trace, f: short }))).toMatch(/^ERR_LSTM_SHAPE: trace\.f: expected shape \[2, 4, 2\]/);
    expect(code(() => gateStats({ ...trace, f: { data: trace.f.data, shape: [16] } }))).toMatch(/^ERR_LSTM_SHAPE: trace\.f: expected a tensor \[batch, steps, units\]/);
    expect(code(() => gateStats(gruTrace, { cell: 'lstm' }))).toMatch(/^ERR_LSTM_CONFIG: gateStats options\.cell: expected a trace of an LSTM, got trace of a GRU/);
    expect(code(() => gateStats(trace, { cell: 'gru' }))).toMatch(/^ERR_LSTM_CONFIG: gateStats options\.cell/);
    expect(code(() => gateStats(gruTrace, { weights: WEIGHTS }))).toMatch(/^ERR_LSTM_UNSUPPORTED: gateStats options\.weights/);
    expect(code(() => gateStats(trace, { weights: { kernel: [[1, 2, 3, 4]], recurrentKernel: [[1, 2, 3, 4]], bias: [1, 2, 3, 4] } }))).toMatch(/^ERR_LSTM_CONFIG: gateStats options\.weights: expected the weights of the traced layer \(2 units\)/);
    expect(code(() => gateStats([trace, trace], { weights: WEIGHTS }))).toMatch(/^ERR_LSTM_CONFIG: gateStats options\.weights/);
    expect(code(() => gateStats(trace, { shut: '0.1' as never }))).toMatch(/^ERR_LSTM_CONFIG: gateStats options\.shut/);
    expect(code(() => gateStats(trace, { steps: 3 } as never))).toMatch(/^ERR_LSTM_CONFIG: gateStats options\.steps/);
    expect(code(() => gateStats(trace, { model: lstm as never }))).toMatch(/^ERR_LSTM_CONFIG: gateStats options\.model: expected a Sequential/);
  });
});

const KERAS = new URL('./fixtures/models/keras/', import.meta.url);
const golden = JSON.parse(readFileSync(new URL('golden.json', KERAS), 'utf8')) as Record<string, { input: Nested }>;

/** Unit u's values of a [B, T, U] trace tensor at the (b, t) pairs `keep` accepts. */
function column(t: Tensor, u: number, keep: (b: number, t: number) => boolean = () => true): number[] {
  const [B, T, U] = t.shape as [number, number, number];
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) if (keep(b, s)) out.push(t.data[(b * T + s) * U + u]!);
  return out;
}

describe('gateStats on the Keras fixture models', () => {
  it('lstm_gru_dense: a layer per recurrent layer, named as the model names them; statistics match the trace', async () => {
    const model = await loadModel(new URL('lstm_gru_dense.keras', KERAS).pathname);
    const { trace } = model.forward(golden.lstm_gru_dense!.input, { trace: true });
    const stats = gateStats(trace, { model });
    expect(stats.map((s) => [s.name, s.cell])).toEqual([
      ['0_lstm', 'lstm'],
      ['1_gru', 'gru'],
    ]);
    const [lstm, gru] = trace as [Record<string, Tensor>, Record<string, Tensor>];
    for (const [s, t] of [
      [stats[0]!, lstm],
      [stats[1]!, gru],
    ] as const) {
      expect(s.steps).toBe(3 * 7);
      expect(s.units).toBe(t.h!.shape[2]);
      for (const [name, g] of Object.entries(s.gates)) {
        for (let u = 0; u < s.units; u++) {
          const v = column(t[name]!, u);
          expectClose(g.mean[u]!, meanOf(v));
          expectClose(g.std[u]!, stdOf(v));
          if (g.shut) {
            expect(g.shut[u]).toBe(share(v, (x) => x < 0.05));
            expect(g.open![u]).toBe(share(v, (x) => x > 0.95));
          }
        }
      }
    }
    const s = stats[0]!;
    for (let u = 0; u < s.units; u++) {
      const c = column(lstm.c!, u);
      expect([s.cellRange!.min[u], s.cellRange!.max[u]]).toEqual([Math.min(...c), Math.max(...c)]);
      expectClose(s.timeConstant![u]!, -1 / Math.log(meanOf(column(lstm.f!, u))), 1e-4 * s.timeConstant![u]!);
      const active = column(lstm.h!, u).some((h) => Math.abs(h) >= 0.01);
      expect(s.inactiveUnits.includes(u)).toBe(!active);
    }
    // The same without the model: named by their place in the trace.
    expect(gateStats(trace).map((x) => x.name)).toEqual(['0_lstm', '1_gru']);
    model.dispose();
  });

  it('embedding_mask_zero: the steps of id 0 (masked by the Embedding) count in no layer', async () => {
    // Embedding(mask_zero), Bidirectional(LSTM), GRU, Dense.
    const model = await loadModel(new URL('embedding_mask_zero.keras', KERAS).pathname);
    const ids = golden.embedding_mask_zero!.input as number[][];
    const T = ids[0]!.length;
    const { trace } = model.forward(ids, { trace: true });
    const stats = gateStats(trace, { model });
    expect(stats.map((s) => s.name)).toEqual(['1_bidirectional/forward', '1_bidirectional/backward', '2_gru']);
    const [bi, gru] = trace as [{ forward: Record<string, Tensor>; backward: Record<string, Tensor> }, Record<string, Tensor>];
    // The backward direction's trace runs from the last step: its step s reads id T - 1 - s.
    const real = (b: number, step: number) => ids[b]![step] !== 0;
    const realBackward = (b: number, step: number) => ids[b]![T - 1 - step] !== 0;
    for (const [s, t, keep] of [
      [stats[0]!, bi.forward, real],
      [stats[1]!, bi.backward, realBackward],
      [stats[2]!, gru, real],
    ] as const) {
      expect(s.steps, s.name).toBe(ids.flat().filter((id) => id !== 0).length);
      for (let u = 0; u < s.units; u++) {
        for (const [gate, g] of Object.entries(s.gates)) {
          const v = column(t[gate]!, u, keep);
          expectClose(g.mean[u]!, meanOf(v));
          expectClose(g.std[u]!, stdOf(v));
          if (g.shut) expect(g.shut[u]).toBe(share(v, (x) => x < 0.05));
        }
        if (s.cellRange) {
          const c = column(t.c!, u, keep);
          expect([s.cellRange.min[u], s.cellRange.max[u]]).toEqual([Math.min(...c), Math.max(...c)]);
        }
      }
    }
    model.dispose();
  });

  it('bidirectional_dropout: forward and backward directions; a model that is not the trace\'s is refused', async () => {
    const model = await loadModel(new URL('bidirectional_dropout.keras', KERAS).pathname);
    const { trace } = model.forward(golden.bidirectional_dropout!.input, { trace: true });
    const stats = gateStats(trace, { model });
    expect(stats.map((s) => s.name)).toEqual(['0_bidirectional/forward', '0_bidirectional/backward', '1_bidirectional/forward', '1_bidirectional/backward']);
    const traces = (trace as { forward: Record<string, Tensor>; backward: Record<string, Tensor> }[]).flatMap((t) => [t.forward, t.backward]);
    stats.forEach((s, k) => {
      for (const [name, g] of Object.entries(s.gates)) expectClose(g.mean[0]!, meanOf(column(traces[k]![name]!, 0)));
    });
    const other = await loadModel(new URL('lstm_gru_dense.keras', KERAS).pathname);
    expect(() => gateStats(trace, { model: other })).toThrow(/gateStats options\.model: expected the model whose trace this is/);
    other.dispose();
    model.dispose();
  });
});
