// createBatcher: concurrent calls batched into one kernel call give each caller what the same
// call alone gives, on every backend; bad calls fail alone; close() drains.
import { describe, expect, it } from 'vitest';
import { Bidirectional, createBatcher, Dense, Embedding, Gru, Lstm, LstmError, Sequential, type BatchModel, type Tensor } from '../lib/index.js';
import { implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const I = 5;
const U = 7;

/** The largest |a - b| over every tensor of two results of the same structure (shapes must agree). */
function maxDifference(a: unknown, b: unknown, at = 'result'): number {
  if (a && typeof a === 'object' && 'data' in a && 'shape' in a) {
    const [x, y] = [a as Tensor, b as Tensor];
    expect(x.shape, `${at} shape`).toEqual(y.shape);
    let worst = 0;
    for (let k = 0; k < y.data.length; k++) worst = Math.max(worst, Math.abs(x.data[k]! - y.data[k]!) || (Object.is(x.data[k], y.data[k]) ? 0 : Infinity));
    return worst;
  }
  if (Array.isArray(a)) return Math.max(0, ...a.map((v, k) => maxDifference(v, (b as unknown[])[k], `${at}[${k}]`)));
  if (a && typeof a === 'object') {
    expect(Object.keys(a).sort(), `${at} keys`).toEqual(Object.keys(b as object).sort());
    return Math.max(0, ...Object.entries(a).map(([k, v]) => maxDifference(v, (b as Record<string, unknown>)[k], `${at}.${k}`)));
  }
  expect(a, at).toEqual(b);
  return 0;
}

type Call = { x: { data: Float32Array; shape: number[] }; options: Record<string, unknown> };

/** Calls of 1-3 rows and 1-9 steps; some with lengths, some masked, some (layers) with an initial state. */
function randomCalls(seed: number, count: number, width: number, state: { parts: string[][]; units: number } | null, ids = 0): Call[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1));
  return Array.from({ length: count }, (_, n) => {
    const rows = int(1, 3);
    const steps = int(1, 9);
    const data = Float32Array.from({ length: rows * steps * width }, () => (ids ? int(1, ids - 1) : r.uniform(-1, 1)));
    const options: Record<string, unknown> = {};
    const kind = n % 4;
    if (kind === 1) options.sequenceLengths = Array.from({ length: rows }, () => int(0, steps));
    if (kind === 2) options.mask = Uint8Array.from({ length: rows * steps }, () => (r.next() < 0.7 ? 1 : 0));
    if (kind === 3 && state) {
      const initialState: Record<string, unknown> = {};
      for (const path of state.parts) {
        let at = initialState;
        path.slice(0, -1).forEach((k) => (at = (at[k] ??= {}) as Record<string, unknown>));
        at[path[path.length - 1]!] = r.matrix(rows, state.units);
      }
      options.initialState = initialState;
    }
    return { x: { data, shape: ids ? [rows, steps] : [rows, steps, width] }, options };
  });
}

const r = rng(7);
const lstmWeights = (i: number, u: number) => ({ kernel: r.matrix(i, 4 * u), recurrentKernel: r.matrix(u, 4 * u), bias: r.matrix(1, 4 * u)[0]! });
const gruWeights = (i: number, u: number) => ({ kernel: r.matrix(i, 3 * u), recurrentKernel: r.matrix(u, 3 * u), bias: r.matrix(2, 3 * u) });
const lstmState = { parts: [['h'], ['c']], units: U };

interface ModelCase {
  name: string;
  make: (backend: string) => Promise<BatchModel>;
  state: { parts: string[][]; units: number } | null;
  ids?: number;
  /** Only calls of the same length batch (padding would change its results). */
  grouped?: boolean;
}
const MODELS: ModelCase[] = [
  { name: 'LSTM, last output', make: (backend) => Lstm.create({ weights: lstmWeights(I, U), backend }), state: lstmState },
  { name: 'LSTM, sequences, zeroOutputForMask', make: (backend) => Lstm.create({ weights: lstmWeights(I, U), returnSequences: true, zeroOutputForMask: true, backend }), state: lstmState },
  // goBackwards processes padding first, so its sequence would start with it: grouped by length.
  { name: 'GRU, sequences, goBackwards (not padded: grouped by length)', make: (backend) => Gru.create({ weights: gruWeights(I, U), returnSequences: true, goBackwards: true, backend }), state: { parts: [['h']], units: U }, grouped: true },
  {
    name: 'Bidirectional LSTM, sequences',
    make: (backend) => Bidirectional.create({ layer: { weights: lstmWeights(I, U), returnSequences: true, backend }, backwardWeights: lstmWeights(I, U) }),
    state: { parts: [['forward', 'h'], ['forward', 'c'], ['backward', 'h'], ['backward', 'c']], units: U },
  },
  {
    name: 'Sequential LSTM > GRU > Dense',
    make: async (backend) => Sequential.create([await Lstm.create({ weights: lstmWeights(I, 6), returnSequences: true, backend }), await Gru.create({ weights: gruWeights(6, 4), returnSequences: true, backend }), await Dense.create({ kernel: r.matrix(4, 3), bias: [0.1, 0, -0.1], activation: 'softmax' })]),
    state: null,
  },
  {
    name: 'Sequential Embedding (maskZero) > GRU (not padded: grouped by length)',
    make: async (backend) => Sequential.create([await Embedding.create({ embeddings: r.matrix(11, I), maskZero: true }), await Gru.create({ weights: gruWeights(I, U), backend })]),
    state: null,
    ids: 11,
    grouped: true,
  },
];

describe.each(IMPLEMENTATIONS)('%s', (backend) => {
  it.each(MODELS.map((m) => [m.name, m] as const))('%s: each caller gets what its call alone gives', async (_, m) => {
    const model = await m.make(backend);
    const calls = randomCalls(31, 24, m.ids ? 1 : I, m.state, m.ids);
    const batcher = createBatcher(model, { maxBatch: 16 });
    const batched = await Promise.all(calls.map((c) => batcher.forward(c.x, c.options as never)));
    // The calls were batched: masked calls by length, the others into one padded batch (or by
    // length where padding would change the results), at most 16 rows per kernel call.
    const groupRows = new Map<string, number>();
    for (const c of calls) {
      const key = c.options.mask ? `masked ${c.x.shape[1]}` : m.grouped ? `${c.x.shape[1]}` : 'padded';
      groupRows.set(key, (groupRows.get(key) ?? 0) + c.x.shape[0]!);
    }
    // Calls fill a kernel call in turn until the next would not fit: two in a row hold over 16 rows.
    const mostCalls = [...groupRows.values()].reduce((n, rows) => n + Math.floor(rows / 8) + 1, 0);
    expect(batcher.stats.requests).toBe(24);
    expect(batcher.stats.modelCalls).toBeLessThanOrEqual(mostCalls);
    expect(batcher.stats.modelCalls).toBeLessThan(m.grouped ? 24 : 12);
    let worst = 0;
    for (const [k, c] of calls.entries()) {
      const alone = await model.forwardAsync(c.x as never, c.options as never);
      worst = Math.max(worst, maxDifference(batched[k], alone, `call ${k}`));
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
    // The plain-JS kernel computes each row alone; the SIMD kernels block rows by batch size, so a
    // row's sums may round differently (a few ulp) in a batch than alone.
    if (backend === 'js') expect(worst).toBe(0);
    BIT_IDENTICAL.set(`${backend} ${m.name}`, worst);
    await batcher.close();
    model.dispose();
  });

  it('one bad call among good ones fails alone, with the error it gets alone', async () => {
    const model = await Lstm.create({ weights: lstmWeights(I, U), returnSequences: true, backend });
    const batcher = createBatcher(model);
    const good = randomCalls(5, 6, I, null);
    const nan = { data: Float32Array.from(good[0]!.x.data, (v, k) => (k === 3 ? NaN : v)), shape: good[0]!.x.shape };
    const results = await Promise.allSettled([
      ...good.slice(0, 3).map((c) => batcher.forward(c.x, c.options as never)),
      batcher.forward(nan),
      batcher.forward({ data: new Float32Array(12), shape: [1, 3, 4] }),
      batcher.forward(good[3]!.x, { sequenceLengths: [99] } as never),
      ...good.slice(3).map((c) => batcher.forward(c.x, c.options as never)),
    ]);
    expect(results.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    const errors = results.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason);
    expect(errors.map((e) => [e instanceof LstmError, e.code])).toEqual([[true, 'ERR_LSTM_INPUT'], [true, 'ERR_LSTM_SHAPE'], [true, 'ERR_LSTM_SHAPE']]);
    expect(errors[1].message).toMatch(/expected shape \[batch, steps, 5\]/);
    const fulfilled = results.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<unknown>).value);
    for (const [k, c] of good.entries()) expect(maxDifference(fulfilled[k], model.forward(c.x, c.options as never))).toBeLessThanOrEqual(1e-6);
    await batcher.close();
    model.dispose();
  });
});

/** How far batched results are from unbatched ones (0: bit for bit), per backend and model (printed at the end). */
const BIT_IDENTICAL = new Map<string, number>();
describe('bit-identity report', () => {
  it('lists, per backend, whether batched results equal unbatched ones bit for bit', () => {
    expect(BIT_IDENTICAL.size).toBe(IMPLEMENTATIONS.length * MODELS.length);
    console.log([...BIT_IDENTICAL].map(([k, v]) => `${v === 0 ? 'bit-identical' : `within ${v.toExponential(1)}`}  ${k}`).join('\n'));
  });
});

describe('batching', () => {
  const make = () => Lstm.create({ weights: lstmWeights(I, U), returnSequences: true, backend: 'js' });

  it('keeps each caller to its own rows, in order, whatever order the calls settle in', async () => {
    const model = await make();
    const batcher = createBatcher(model, { maxBatch: 4, maxDelayMs: 5 });
    const calls = randomCalls(9, 10, I, null);
    const order: number[] = [];
    const results = await Promise.all(calls.map((c, k) => batcher.forward(c.x, c.options as never).then((res) => (order.push(k), res))));
    expect(results.map((res) => res.output.shape[0])).toEqual(calls.map((c) => c.x.shape[0]));
    for (const [k, c] of calls.entries()) expect(maxDifference(results[k], model.forward(c.x, c.options as never))).toBeLessThanOrEqual(1e-6);
    expect(order).toHaveLength(10);
    // maxBatch bounds the rows of each kernel call.
    expect(batcher.stats.modelCalls).toBeGreaterThanOrEqual(Math.ceil(calls.reduce((n, c) => n + c.x.shape[0]!, 0) / 4));
    await batcher.close();
  });

  it('runs calls made in different turns together within maxDelayMs', async () => {
    const model = await make();
    const batcher = createBatcher(model, { maxDelayMs: 30 });
    const x = { data: new Float32Array(2 * I).fill(0.5), shape: [1, 2, I] };
    const first = batcher.forward(x);
    await new Promise((resolve) => setTimeout(resolve, 1));
    const second = batcher.forward(x);
    const [a, b] = await Promise.all([first, second]);
    expect(batcher.stats.modelCalls).toBe(1);
    expect(a.output.data).toEqual(b.output.data);
    await batcher.close();
  });

  it('close() drains what is queued, then refuses new calls', async () => {
    const model = await make();
    const batcher = createBatcher(model, { maxDelayMs: 10_000 });
    const calls = randomCalls(3, 5, I, null);
    const pending = calls.map((c) => batcher.forward(c.x, c.options as never));
    let settled = 0;
    pending.forEach((p) => p.then(() => settled++));
    await batcher.close();
    expect(settled).toBe(5);
    await expect(batcher.forward(calls[0]!.x)).rejects.toMatchObject({ code: 'ERR_LSTM_DISPOSED', message: expect.stringMatching(/closed/) });
  });

  it('runs traced calls and calls larger than maxBatch alone, with their own results', async () => {
    const model = await make();
    const batcher = createBatcher(model, { maxBatch: 2 });
    const big = randomCalls(4, 1, I, null)[0]!;
    const x = { data: new Float32Array(3 * 4 * I).fill(0.25), shape: [3, 4, I] };
    const [traced, large] = await Promise.all([batcher.forward(big.x, { trace: true }), batcher.forward(x)]);
    expect(maxDifference(traced, model.forward(big.x, { trace: true }))).toBe(0);
    expect(maxDifference(large, model.forward(x))).toBe(0);
    await batcher.close();
  });

  it('reruns a batch call by call when the model refuses it, so that only the bad call fails', async () => {
    // The batcher does not check ids against the vocabulary: the batched call fails, then each call runs alone.
    const model = await Sequential.create([await Embedding.create({ embeddings: r.matrix(5, I) }), await make()]);
    const batcher = createBatcher(model);
    const ids = (v: number[]) => ({ data: Float32Array.from(v), shape: [1, v.length] });
    const results = await Promise.allSettled([batcher.forward(ids([1, 2])), batcher.forward(ids([3, 99])), batcher.forward(ids([4, 0]))]);
    expect(results.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_LSTM_INPUT', message: expect.stringMatching(/99/) });
    expect(batcher.stats.modelCalls).toBe(1 + 3);
    expect(maxDifference((results[2] as PromiseFulfilledResult<unknown>).value, model.forward(ids([4, 0])))).toBe(0);
    await batcher.close();
  });

  it('refuses stateful layers, time-major models and bad options', async () => {
    const stateful = await Lstm.create({ weights: lstmWeights(I, U), stateful: true, backend: 'js' });
    expect(() => createBatcher(stateful)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED', message: expect.stringMatching(/stateful/) }));
    const timeMajor = await Sequential.create([await make()], { timeMajor: true });
    expect(() => createBatcher(timeMajor)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED' }));
    const model = await make();
    expect(() => createBatcher(model, { maxBatch: 0 })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/options.maxBatch/) }));
    expect(() => createBatcher(model, { maxDelayMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG' }));
    expect(() => createBatcher(model, { wait: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG' }));
    expect(() => createBatcher({} as never)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG' }));
  });
});
