// One rule for reversed sequences (SPEC, "sequenceLengths"): with goBackwards, sequenceLengths
// behaves as the equivalent trailing mask with zeroOutputForMask (the padding runs first, leaving
// the state alone and outputting zeros; the output covers all T steps in processing order, the
// trace too), on every backend. A Bidirectional's and a Sequential's results do not depend on it:
// each sequence gives what it gives run alone, cut to its length.
import { describe, expect, it } from 'vitest';
import { Bidirectional, Dense, Gru, Lstm, Sequential, type Tensor } from '../lib/index.js';
import { expectClose, implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const TOL = { abs: 1e-5, rel: 1e-5 };
const B = 4;
const T = 6;
const I = 3;
const U = 5;
// Every length from none to all, and a batch entry of each kind in one call.
const LENGTHS = [T, 2, 0, 5];

type Cell = 'lstm' | 'gru';
type Result = { output: Tensor; h: Tensor; c?: Tensor; trace?: Record<string, Tensor> };

function weightsOf(cell: Cell, seed: number, inputSize = I, units = U) {
  const r = rng(seed);
  const G = cell === 'lstm' ? 4 : 3;
  return {
    kernel: r.matrix(inputSize, G * units),
    recurrentKernel: r.matrix(units, G * units),
    bias: cell === 'lstm' ? r.matrix(1, G * units)[0]! : r.matrix(2, G * units),
  };
}

function create(cell: Cell, options: Record<string, unknown>) {
  return cell === 'lstm' ? Lstm.create(options as never) : Gru.create(options as never);
}

/** The trailing mask that says what `lengths` says: the first lengths[b] steps of row b are real. */
const trailingMask = (lengths: number[], steps: number) => lengths.map((l) => Array.from({ length: steps }, (_, t) => (t < l ? 1 : 0)));

const input = (seed: number, batch = B, steps = T, features = I) => {
  const r = rng(seed);
  return Array.from({ length: batch }, () => r.matrix(steps, features, -1, 1));
};

describe.each(IMPLEMENTATIONS)('goBackwards with sequenceLengths on %s', (backend) => {
  const cases = (['lstm', 'gru'] as const).flatMap((cell) => [true, false].map((returnSequences) => [cell, returnSequences] as const));

  it.each(cases)('%s, returnSequences %s: the same as the equivalent trailing mask with zeroOutputForMask, trace included', async (cell, returnSequences) => {
    const weights = weightsOf(cell, cell === 'lstm' ? 11 : 12);
    const x = input(13);
    const byLengths = await create(cell, { weights, goBackwards: true, returnSequences, returnState: true, backend });
    const byMask = await create(cell, { weights, goBackwards: true, returnSequences, returnState: true, zeroOutputForMask: true, backend });
    const r = rng(14);
    // A state to start from, so that "left alone at the padding" is seen in the results.
    const initialState = { h: r.matrix(B, U), ...(cell === 'lstm' && { c: r.matrix(B, U) }) };
    const a = byLengths.forward(x, { sequenceLengths: LENGTHS, initialState: initialState as never, trace: true }) as Result;
    const m = byMask.forward(x, { mask: trailingMask(LENGTHS, T), initialState: initialState as never, trace: true }) as Result;
    const at = `${backend} ${cell} returnSequences ${returnSequences}`;
    // The same steps run in the same order on the same rows: the same numbers, bit for bit.
    const same = (p: Tensor, q: Tensor, what: string) => {
      expect(p.shape, `${at} ${what} shape`).toEqual(q.shape);
      expect(Array.from(p.data), `${at} ${what}`).toEqual(Array.from(q.data));
    };
    same(a.h, m.h, 'h');
    if (cell === 'lstm') same(a.c!, m.c!, 'c');
    for (const name of Object.keys(m.trace!)) same(a.trace![name]!, m.trace![name]!, `trace.${name}`);
    if (returnSequences) {
      same(a.output, m.output, 'output');
      // Processing order over all T steps: the padding first, in zeros, then the real steps.
      for (const [b, length] of LENGTHS.entries()) {
        const row = a.output.data.subarray(b * T * U, (b + 1) * T * U);
        expect(Array.from(row.subarray(0, (T - length) * U)), `${at} row ${b}: its ${T - length} padding steps come first`).toEqual(new Array((T - length) * U).fill(0));
        if (length > 0) expect(Array.from(row.subarray((T - 1) * U)), `${at} row ${b}: the last step is the first real one`).toEqual(Array.from(a.h.data.subarray(b * U, (b + 1) * U)));
      }
    } else {
      // The final state: the mask's zeros for a row with no real step are the one difference (a
      // row of length 0 keeps its initial state, as without goBackwards).
      expect(Array.from(a.output.data)).toEqual(Array.from(a.h.data));
      const real = LENGTHS.map((l, b) => [l, b] as const).filter(([l]) => l > 0);
      for (const [, b] of real) expect(Array.from(a.output.data.subarray(b * U, (b + 1) * U))).toEqual(Array.from(m.output.data.subarray(b * U, (b + 1) * U)));
    }
    // A row's length 0 leaves it its initial state.
    expectClose(a.h.data.subarray(2 * U, 3 * U), initialState.h[2]!, { abs: 0, rel: 0 }, `${at} h of the empty row`);
    const async = (await byLengths.forwardAsync(x, { sequenceLengths: LENGTHS, initialState: initialState as never })) as Result;
    same(async.output, a.output, 'forwardAsync output');
    byLengths.dispose();
    byMask.dispose();
  });

  it('each row gives what it gives run alone on its real steps: lengths change nothing else', async () => {
    for (const cell of ['lstm', 'gru'] as const) {
      const weights = weightsOf(cell, 21);
      const layer = await create(cell, { weights, goBackwards: true, returnSequences: true, backend });
      const x = input(22);
      const all = layer.forward(x, { sequenceLengths: LENGTHS }) as Result;
      for (const [b, length] of LENGTHS.entries()) {
        if (length === 0) continue;
        const alone = layer.forward([x[b]!.slice(0, length)]) as Result;
        // Alone, the row's output is its `length` real steps in processing order: the call's last ones.
        expectClose(all.output.data.subarray((b * T + T - length) * U, (b + 1) * T * U), alone.output.data, TOL, `${backend} ${cell} row ${b} output`);
        expectClose(all.h.data.subarray(b * U, (b + 1) * U), alone.h.data, TOL, `${backend} ${cell} row ${b} h`);
      }
      layer.dispose();
    }
  });

  it("outputOrder 'input' puts the sequence back in input order (ONNX's Y): real steps first, zeros past the length", async () => {
    for (const cell of ['lstm', 'gru'] as const) {
      const weights = weightsOf(cell, 25);
      const processing = await create(cell, { weights, goBackwards: true, returnSequences: true, backend });
      const inputOrder = await create(cell, { weights, goBackwards: true, returnSequences: true, outputOrder: 'input', backend });
      expect(inputOrder.outputOrder).toBe('input');
      const x = input(26);
      const p = processing.forward(x, { sequenceLengths: LENGTHS, trace: true }) as Result;
      const q = inputOrder.forward(x, { sequenceLengths: LENGTHS, trace: true }) as Result;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const at = (s: number) => Array.from(p.output.data.subarray((b * T + s) * U, (b * T + s + 1) * U));
          expect(Array.from(q.output.data.subarray((b * T + t) * U, (b * T + t + 1) * U)), `${backend} ${cell} row ${b} step ${t}`).toEqual(at(T - 1 - t));
        }
      }
      expect(Array.from(q.h.data)).toEqual(Array.from(p.h.data));
      // The trace stays in processing order.
      expect(Array.from(q.trace!.h!.data)).toEqual(Array.from(p.trace!.h!.data));
      // Into a caller's array too (the flip happens in place).
      const out = new Float32Array(B * T * U);
      inputOrder.forward(x, { sequenceLengths: LENGTHS, out: { output: out } });
      expect(Array.from(out)).toEqual(Array.from(q.output.data));
      processing.dispose();
      inputOrder.dispose();
    }
  });

  it("outputOrder is 'processing' or 'input'", async () => {
    await expect(Lstm.create({ weights: weightsOf('lstm', 27), outputOrder: 'reversed' as never, backend })).rejects.toMatchObject({
      code: 'ERR_LSTM_CONFIG',
      message: expect.stringMatching(/options.outputOrder: expected 'processing' or 'input', got "reversed"/),
    });
  });

  it('float64 by hand: an LSTM and a GRU of one unit, no recurrent weights, T 3, length 2', async () => {
    // With zero recurrent weights and biases and every kernel weight 1, each gate is its activation
    // of x: LSTM i = f = o = sigmoid(x), c~ = tanh(x); GRU z = r = sigmoid(x), h~ = tanh(x). Input
    // [1, 2, 9] of length 2 runs backwards: the padding 9 first (state 0, output 0), then x = 2, then 1.
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    const c1 = sigmoid(2) * Math.tanh(2);
    const h1 = sigmoid(2) * Math.tanh(c1);
    const c2 = sigmoid(1) * c1 + sigmoid(1) * Math.tanh(1);
    const h2 = sigmoid(1) * Math.tanh(c2);
    expect([c1, h1, c2, h2].map((v) => v.toFixed(6))).toEqual(['0.849113', '0.608283', '1.177521', '0.604343']);
    const g1 = (1 - sigmoid(2)) * Math.tanh(2);
    const g2 = sigmoid(1) * g1 + (1 - sigmoid(1)) * Math.tanh(1);
    expect([g1, g2].map((v) => v.toFixed(6))).toEqual(['0.114915', '0.288834']);
    const x = [[[1], [2], [9]]];
    const ones = (n: number) => [new Array(n).fill(1)];
    const lstm = await Lstm.create({ weights: { kernel: ones(4), recurrentKernel: [new Array(4).fill(0)] }, useBias: false, goBackwards: true, returnSequences: true, backend });
    const l = lstm.forward(x, { sequenceLengths: [2], trace: true });
    expectClose(l.output, [[[0], [h1], [h2]]], TOL, `${backend} LSTM output`);
    expectClose(l.c!, [[c2]], TOL, `${backend} LSTM c`);
    expectClose(l.trace!.i!, [[[0], [sigmoid(2)], [sigmoid(1)]]], TOL, `${backend} LSTM trace.i`);
    expectClose(l.trace!.c!, [[[0], [c1], [c2]]], TOL, `${backend} LSTM trace.c`);
    const gru = await Gru.create({ weights: { kernel: ones(3), recurrentKernel: [new Array(3).fill(0)] }, useBias: false, goBackwards: true, returnSequences: true, backend });
    const g = gru.forward(x, { sequenceLengths: [2], trace: true });
    expectClose(g.output, [[[0], [g1], [g2]]], TOL, `${backend} GRU output`);
    expectClose(g.trace!.z!, [[[0], [sigmoid(2)], [sigmoid(1)]]], TOL, `${backend} GRU trace.z`);
    lstm.dispose();
    gru.dispose();
  });

  it('Bidirectional: each row gives what it gives run alone on its real steps, in input order, zeros past its length', async () => {
    for (const cell of ['lstm', 'gru'] as const) {
      const bi = await Bidirectional.create({
        layer: { ...(cell === 'gru' ? { type: 'gru' as const } : {}), weights: weightsOf(cell, 31), returnSequences: true, backend } as never,
        backwardWeights: weightsOf(cell, 32),
      });
      const x = input(33);
      const all = bi.forward(x, { sequenceLengths: LENGTHS });
      const out = all.output as Tensor;
      expect(out.shape).toEqual([B, T, 2 * U]);
      for (const [b, length] of LENGTHS.entries()) {
        const row = out.data.subarray(b * T * 2 * U, (b + 1) * T * 2 * U);
        expect(Array.from(row.subarray(length * 2 * U)), `${backend} ${cell} row ${b} past its length`).toEqual(new Array((T - length) * 2 * U).fill(0));
        if (length === 0) continue;
        const alone = bi.forward([x[b]!.slice(0, length)]);
        expectClose(row.subarray(0, length * 2 * U), (alone.output as Tensor).data, TOL, `${backend} ${cell} row ${b}`);
        expectClose(all.states.backward.h.data.subarray(b * U, (b + 1) * U), alone.states.backward.h.data, TOL, `${backend} ${cell} row ${b} backward h`);
      }
      bi.dispose();
    }
  });

  it('Sequential stacks: lengths give each row its result alone (Bidirectional, GRU, Dense), and what the trailing mask gives with goBackwards layers', async () => {
    const bi = await Bidirectional.create({ layer: { weights: weightsOf('lstm', 41), returnSequences: true, backend }, backwardWeights: weightsOf('lstm', 42) });
    const gru = await Gru.create({ weights: weightsOf('gru', 43, 2 * U, 4), returnSequences: true, backend });
    const dense = await Dense.create({ kernel: rng(44).matrix(4, 2), bias: [0.1, -0.2] });
    const model = await Sequential.create([bi, gru, dense]);
    const x = input(45);
    const all = model.forward(x, { sequenceLengths: LENGTHS }).output;
    for (const [b, length] of LENGTHS.entries()) {
      if (length === 0) continue;
      const alone = model.forward([x[b]!.slice(0, length)]).output;
      expectClose(all.data.subarray(b * T * 2, (b * T + length) * 2), alone.data, TOL, `${backend} stack row ${b}`);
    }
    model.dispose();

    // Two goBackwards layers: the lengths pass on as the mask would (Keras passes the mask on as
    // given, not reversed), so the stack equals the masked one.
    const stack = async (zeroOutputForMask: boolean) =>
      Sequential.create([
        await Lstm.create({ weights: weightsOf('lstm', 51), goBackwards: true, returnSequences: true, zeroOutputForMask, backend }),
        await Gru.create({ weights: weightsOf('gru', 52, U, 4), goBackwards: true, returnSequences: false, backend }),
      ]);
    const [byLengths, byMask] = [await stack(false), await stack(true)];
    const lengths = [T, 2, 1, 5];
    const a = byLengths.forward(x, { sequenceLengths: lengths }).output;
    const m = byMask.forward(x, { mask: trailingMask(lengths, T) }).output;
    expectClose(a, m.data, TOL, `${backend} goBackwards stack`);
    byLengths.dispose();
    byMask.dispose();
  });
});
