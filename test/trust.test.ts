// Hostile or careless calls to the facade: each becomes a result or an LstmError with the right code
// and a message naming what was expected and what was given; never a crash, a hang, a RangeError,
// a silent NaN or a wrong answer. Run on every implementation where the case reaches the backend.
import { describe, expect, it } from 'vitest';
import { Bidirectional, Dense, Embedding, Gru, loadModel, Lstm, LstmError, RepeatVector, Sequential, type LstmErrorCode } from '../lib/index.js';
import { implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const r = rng(2024);

/** Runs `run` (sync or async) and expects an LstmError with `code` whose message matches every pattern. */
async function expectError(run: () => unknown, code: LstmErrorCode, ...patterns: (string | RegExp)[]): Promise<LstmError> {
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  if (!(error instanceof LstmError)) throw new Error(`expected LstmError ${code}, got ${error === undefined ? 'no error' : String(error)}`);
  expect(error.code, error.message).toBe(code);
  for (const p of patterns) expect(error.message).toMatch(p);
  return error;
}

const lstmWeights = (I: number, U: number) => ({ kernel: r.matrix(I, 4 * U), recurrentKernel: r.matrix(U, 4 * U), bias: r.matrix(1, 4 * U)[0]! });
const gruWeights = (I: number, U: number) => ({ kernel: r.matrix(I, 3 * U), recurrentKernel: r.matrix(U, 3 * U), bias: r.matrix(2, 3 * U) });
const input = (B: number, T: number, I: number) => Array.from({ length: B }, () => r.matrix(T, I, -2, 2));

describe('silent wrong answers become errors', () => {
  it('a Bidirectional whose backward weights have other units or another input size than the forward ones', async () => {
    await expectError(() => Bidirectional.create({ layer: { weights: lstmWeights(2, 3), backend: 'js' }, backwardWeights: lstmWeights(2, 4) }), 'ERR_LSTM_WEIGHTS', /backwardWeights/, /3 units/, /4 units/);
    await expectError(() => Bidirectional.create({ layer: { weights: lstmWeights(2, 3), backend: 'js' }, backwardWeights: lstmWeights(5, 3) }), 'ERR_LSTM_WEIGHTS', /backwardWeights/, /input size 2/, /input size 5/);
    await expectError(() => Bidirectional.create({ layer: { type: 'gru', weights: gruWeights(2, 3), backend: 'js' }, backwardWeights: gruWeights(2, 2) }), 'ERR_LSTM_WEIGHTS', /3 units/, /2 units/);
    // The same sizes still work.
    (await Bidirectional.create({ layer: { weights: lstmWeights(2, 3), backend: 'js' }, backwardWeights: lstmWeights(2, 3) })).dispose();
  });

  it('fractional, zero, negative and overflowing shapes', async () => {
    const lstm = await Lstm.create({ weights: lstmWeights(4, 3), backend: 'js' });
    await expectError(() => lstm.forward(new Float32Array(12), { shape: [2.5, 1.2, 4] }), 'ERR_LSTM_SHAPE', /options\.shape/, /integers >= 1/, /2\.5/);
    await expectError(() => lstm.forward(new Float32Array(12), { shape: [3, 1, 4, 1] }), 'ERR_LSTM_SHAPE', /\[batch, steps, 4\]/);
    await expectError(() => lstm.forward(new Float32Array(0), { shape: [0, 1, 4] }), 'ERR_LSTM_SHAPE', /integers >= 1/);
    await expectError(() => lstm.forward(new Float32Array(4), { shape: [-1, -1, 4] }), 'ERR_LSTM_SHAPE', /integers >= 1/);
    await expectError(() => lstm.forward(new Float32Array(4), { shape: null as never }), 'ERR_LSTM_CONFIG', /options\.shape/, /null/);
    await expectError(() => lstm.forward({ data: new Float32Array(12), shape: [1.5, 2, 4] }), 'ERR_LSTM_SHAPE', /input\.shape/, /1\.5/);
    await expectError(() => lstm.forward({ data: new Float32Array(0), shape: [0, 3, 4] }), 'ERR_LSTM_SHAPE', /input\.shape/, /integers >= 1/);
    // A shape whose product overflows a safe integer, or whose data could not be held.
    await expectError(() => lstm.forward({ data: new Float32Array(4), shape: [2 ** 40, 2 ** 40, 4] }), 'ERR_LSTM_SHAPE', /input/);
    await expectError(() => lstm.forward(new Float32Array(4), { shape: [2 ** 30, 2 ** 30, 4] }), 'ERR_LSTM_SHAPE', /options\.shape/);
    lstm.dispose();
  });

  it('a Dense with a zero-size kernel, or given 4-D input', async () => {
    await expectError(() => Dense.create({ kernel: { data: new Float32Array(0), shape: [0, 3] } }), 'ERR_LSTM_WEIGHTS', /kernel/);
    await expectError(() => Dense.create({ kernel: { data: new Float32Array(0), shape: [3, 0] } }), 'ERR_LSTM_WEIGHTS', /kernel/);
    const dense = await Dense.create({ kernel: r.matrix(2, 3) });
    await expectError(() => dense.forward({ data: new Float32Array(4), shape: [1, 1, 2, 2] }), 'ERR_LSTM_SHAPE', /2-D or 3-D/, /\[1, 1, 2, 2\]/);
    expect(dense.forward([[[1, 2]]]).output.shape).toEqual([1, 1, 3]);
  });

  it('clip too small for float32 is refused (it would mean "no clip" on some backends and clamp on others)', async () => {
    for (const clip of [1e-50, 1e-40, Number.MIN_VALUE, 1e-39]) {
      await expectError(() => Lstm.create({ weights: lstmWeights(2, 3), clip, backend: 'js' }), 'ERR_LSTM_CONFIG', /options\.clip/, new RegExp(String(clip).replace(/[.+-]/g, '\\$&')));
    }
    // The smallest normal float32 and anything above work; 0 means none.
    for (const clip of [2 ** -126, 1e-6, 0]) (await Lstm.create({ weights: lstmWeights(2, 3), clip, backend: 'js' })).dispose();
  });
});

describe.each(IMPLEMENTATIONS)('on %s', (backend) => {
  it('mask values other than booleans or 0/1 are refused, naming the first bad one', async () => {
    const lstm = await Lstm.create({ weights: lstmWeights(2, 3), backend, returnSequences: true });
    const x = input(2, 3, 2);
    for (const [bad, shown] of [[NaN, 'NaN'], [-1, '-1'], [0.5, '0.5'], [2, '2'], [Infinity, 'Infinity']] as const) {
      await expectError(() => lstm.forward(x, { mask: [[1, 1, 1], [1, bad, 0]] }), 'ERR_LSTM_INPUT', /mask/, /0 or 1/, new RegExp(`${shown} at \\[1, 1\\]`));
    }
    await expectError(() => lstm.forward(x, { mask: Uint8Array.from([1, 1, 1, 1, 2, 0]) }), 'ERR_LSTM_INPUT', /mask/, /2 at \[1, 1\]/);
    await expectError(() => lstm.forward(x, { mask: { data: Float32Array.from([1, 1, 1, 1, 0.5, 0]), shape: [2, 3] } }), 'ERR_LSTM_INPUT', /0\.5 at \[1, 1\]/);
    // Booleans, 0/1 numbers and bytes all work and agree.
    const a = lstm.forward(x, { mask: [[true, true, false], [true, false, true]] }).output.data;
    const b = lstm.forward(x, { mask: [[1, 1, 0], [1, 0, 1]] }).output.data;
    const c = lstm.forward(x, { mask: Uint8Array.from([1, 1, 0, 1, 0, 1]) }).output.data;
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).toEqual(Array.from(a));
    lstm.dispose();
  });

  it('a mask sharing memory with out or the input is refused', async () => {
    const lstm = await Lstm.create({ weights: lstmWeights(2, 3), backend, returnSequences: true });
    const buffer = new ArrayBuffer(4 * (2 * 3 * 3) + 6);
    const output = new Float32Array(buffer, 0, 18);
    const inside = new Uint8Array(buffer, 10, 6).fill(1); // overlaps output
    await expectError(() => lstm.forward(input(2, 3, 2), { mask: inside, out: { output } }), 'ERR_LSTM_CONFIG', /mask/, /out\.output/);
    const asFloats = new Float32Array(buffer, 24, 6).fill(1);
    await expectError(() => lstm.forward(input(2, 3, 2), { mask: { data: asFloats, shape: [2, 3] }, out: { output } }), 'ERR_LSTM_CONFIG', /mask/, /out\.output/);
    const data = new Float32Array(12);
    await expectError(() => lstm.forward({ data, shape: [2, 3, 2] }, { mask: new Uint8Array(data.buffer, 0, 6) }), 'ERR_LSTM_CONFIG', /mask/, /the input/);
    // Apart from each other, the same buffer is fine.
    const after = new Uint8Array(buffer, 72, 6).fill(1);
    expect(lstm.forward(input(2, 3, 2), { mask: after, out: { output } }).output.data).toBe(output);
    lstm.dispose();
  });

  it('concurrent forwardAsync calls on a stateful layer end as the same calls made one after another', async () => {
    for (const cell of ['lstm', 'gru'] as const) {
      const options = { weights: cell === 'lstm' ? lstmWeights(3, 5) : gruWeights(3, 5), backend, stateful: true, returnSequences: true };
      const make = () => (cell === 'lstm' ? Lstm.create(options) : Gru.create(options as never));
      const serial = await make();
      const concurrent = await make();
      for (let n = 2; n <= 8; n++) {
        const inputs = Array.from({ length: n }, () => input(2, 1 + Math.floor(r.next() * 4), 3));
        serial.resetStates();
        concurrent.resetStates();
        const expected = [];
        for (const x of inputs) expected.push(Array.from((await serial.forwardAsync(x)).output.data));
        const got = await Promise.all(inputs.map((x) => concurrent.forwardAsync(x)));
        expect(got.map((g) => Array.from(g.output.data)), `${cell}, ${n} calls`).toEqual(expected);
        expect(Array.from(concurrent.states!.h.data)).toEqual(Array.from(serial.states!.h.data));
      }
      // A failing call in the queue does not stop the ones after it; resetStates() takes its place in the order.
      serial.resetStates();
      concurrent.resetStates();
      const [x1, x2] = [input(2, 2, 3), input(2, 3, 3)];
      await serial.forwardAsync(x1);
      serial.resetStates();
      const want = Array.from((await serial.forwardAsync(x2)).output.data);
      const first = concurrent.forwardAsync(x1);
      const bad = concurrent.forwardAsync(input(3, 1, 3)).catch((e: unknown) => e);
      concurrent.resetStates();
      const last = concurrent.forwardAsync(x2);
      await first;
      expect(((await bad) as LstmError).code).toBe('ERR_LSTM_SHAPE');
      expect(Array.from((await last).output.data)).toEqual(want);
      serial.dispose();
      concurrent.dispose();
    }
  });

  it('stream(batch) past what fits is ERR_LSTM_RESOURCES before anything is allocated', async () => {
    const lstm = await Lstm.create({ weights: lstmWeights(4, 5), backend });
    for (const batch of [1e9, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      await expectError(() => lstm.stream(batch), 'ERR_LSTM_RESOURCES', /stream\(batch\)/, /2147483648 bytes/);
    }
    await expectError(() => lstm.stream(2 ** 53 + 2), 'ERR_LSTM_CONFIG', /stream\(batch\)/);
    const s = lstm.stream(1000);
    expect(s.step(new Float32Array(4000)).shape).toEqual([1000, 5]);
    lstm.dispose();
  });

  it('a call whose results would not fit is ERR_LSTM_RESOURCES', async () => {
    // One input feature, 64 units: the trace of [2^16, 2^10] steps is 6 * 64 * 2^26 values.
    const lstm = await Lstm.create({ weights: lstmWeights(1, 64), backend, returnSequences: true });
    await expectError(() => lstm.forward(new Float32Array(2 ** 26), { shape: [2 ** 16, 2 ** 10, 1], trace: true }), 'ERR_LSTM_RESOURCES', /bytes/);
    lstm.dispose();
  });
});

describe('wrong error types', () => {
  it('keras1 weights with huge declared sizes are refused before anything is allocated', async () => {
    const w = { W_i: [[1]], U_i: [[1]], b_i: [1], W_f: [[1]], U_f: [[1]], b_f: [1], W_c: [[1]], U_c: [[1]], b_c: [1], W_o: [[1]], U_o: [[1]], b_o: [1] };
    await expectError(() => Lstm.create({ weights: w, weightLayout: 'keras1', units: 1e6, backend: 'js' }), 'ERR_LSTM_WEIGHTS', /1000000 units/);
    const flat = { W_i: new Float32Array(1), U_i: new Float32Array(1), b_i: new Float32Array(1), W_f: new Float32Array(1), U_f: new Float32Array(1), b_f: new Float32Array(1), W_c: new Float32Array(1), U_c: new Float32Array(1), b_c: new Float32Array(1), W_o: new Float32Array(1), U_o: new Float32Array(1), b_o: new Float32Array(1) };
    await expectError(() => Lstm.create({ weights: flat, weightLayout: 'keras1', inputSize: 1e5, units: 1e5, backend: 'js' }), 'ERR_LSTM_WEIGHTS', /W_i/);
    (await Lstm.create({ weights: w, weightLayout: 'keras1', backend: 'js' })).dispose();
  });

  it('zero-size weights and inputSize 0 name the weight or the option', async () => {
    await expectError(() => Lstm.create({ weights: { kernel: { data: new Float32Array(0), shape: [0, 12] }, recurrentKernel: lstmWeights(1, 3).recurrentKernel, bias: new Float32Array(12) }, backend: 'js' }), 'ERR_LSTM_WEIGHTS', /weights\.kernel/);
    await expectError(() => Lstm.create({ weights: { kernel: { data: new Float32Array(0), shape: [2, 0] }, recurrentKernel: { data: new Float32Array(0), shape: [0, 0] } }, useBias: false, backend: 'js' }), 'ERR_LSTM_WEIGHTS', /weights\.kernel/);
    await expectError(() => Lstm.create({ weights: { kernel: new Float32Array(0), recurrentKernel: new Float32Array(36), bias: new Float32Array(12) }, inputSize: 0, units: 3, backend: 'js' }), 'ERR_LSTM_CONFIG', /options\.inputSize/);
    await expectError(() => Lstm.create({ weights: { W: { data: new Float32Array(0), shape: [1, 12, 0] }, R: lstmWeights(1, 3).recurrentKernel }, weightLayout: 'onnx', backend: 'js' }), 'ERR_LSTM_WEIGHTS', /weights\.W/);
    await expectError(() => Embedding.create({ embeddings: { data: new Float32Array(0), shape: [0, 4] } }), 'ERR_LSTM_WEIGHTS', /embeddings/);
  });

  it('null for an option is refused where null is not documented', async () => {
    const weights = lstmWeights(2, 3);
    for (const key of ['clip', 'weightPrecision', 'weightLayout', 'backend', 'threads', 'useBias', 'returnSequences', 'inputSize', 'units']) {
      await expectError(() => Lstm.create({ weights, backend: 'js', [key]: null } as never), 'ERR_LSTM_CONFIG', new RegExp(`options\\.${key}`), /null/);
    }
    // Documented: null activations are linear, a null mergeMode returns both directions.
    (await Lstm.create({ weights, activation: null, recurrentActivation: null, backend: 'js' })).dispose();
    (await Bidirectional.create({ layer: { weights, backend: 'js' }, backwardWeights: weights, mergeMode: null })).dispose();
    await expectError(() => Bidirectional.create({ layer: { weights, backend: 'js' }, backwardWeights: null as never }), 'ERR_LSTM_WEIGHTS', /backwardWeights/, /null/);
    const lstm = await Lstm.create({ weights, backend: 'js' });
    for (const key of ['mask', 'sequenceLengths', 'initialState', 'trace', 'out']) {
      await expectError(() => lstm.forward(input(1, 2, 2), { [key]: null } as never), key === 'initialState' ? 'ERR_LSTM_SHAPE' : 'ERR_LSTM_CONFIG', new RegExp(key), /null/);
    }
    const model = await Sequential.create([lstm]);
    await expectError(() => model.forward(input(1, 2, 2), { mask: null } as never), 'ERR_LSTM_CONFIG', /mask/, /null/);
    await expectError(() => model.forward(input(1, 2, 2), { sequenceLengths: null } as never), 'ERR_LSTM_CONFIG', /sequenceLengths/, /null/);
    await expectError(() => Dense.create({ kernel: r.matrix(2, 3), bias: null } as never), 'ERR_LSTM_CONFIG', /options\.bias/, /null/);
    for (const key of ['backend', 'threads', 'weightPrecision', 'format', 'files']) {
      await expectError(() => loadModel(new URL('./fixtures/models/keras/options.keras', import.meta.url), { [key]: null } as never), 'ERR_LSTM_CONFIG', new RegExp(`options\\.${key}`), /null/);
    }
    lstm.dispose();
  });

  it('layers that allocate from their input refuse what would not fit', async () => {
    const embedding = await Embedding.create({ embeddings: { data: new Float32Array(2 * 4096), shape: [2, 4096] } });
    await expectError(() => embedding.forward({ data: new Float32Array(2 ** 18), shape: [2 ** 9, 2 ** 9] }), 'ERR_LSTM_RESOURCES', /bytes/);
    const dense = await Dense.create({ kernel: { data: new Float32Array(8192), shape: [1, 8192] } });
    await expectError(() => dense.forward({ data: new Float32Array(2 ** 17), shape: [2 ** 17, 1] }), 'ERR_LSTM_RESOURCES', /bytes/);
    const repeat = await RepeatVector.create({ n: 2 ** 16 });
    await expectError(() => repeat.forward({ data: new Float32Array(2 ** 14), shape: [2 ** 7, 2 ** 7] }), 'ERR_LSTM_RESOURCES', /bytes/);
  });
});
