// Every failure is an LstmError with a stable code and a message naming expected and given.
import { describe, expect, it } from 'vitest';
import { Lstm, LstmError, type LstmOptions } from '../lib/index.js';
import { implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const r = rng(3);
const I = 2;
const U = 3;
const weights = { kernel: r.matrix(I, 4 * U), recurrentKernel: r.matrix(U, 4 * U), bias: r.matrix(1, 4 * U)[0]! };
const x = [r.matrix(4, I, -1, 1)];
const shared = new Float32Array(12); // an input and an out array over one buffer

async function rejects(p: Promise<unknown> | (() => unknown), code: string, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(LstmError);
  expect((error as LstmError).code).toBe(code);
  expect((error as LstmError).message).toMatch(message);
}

const create = (o: Record<string, unknown>) => Lstm.create({ weights, backend: 'js', ...o } as unknown as LstmOptions);

describe('threads', () => {
  // WebAssembly and js run one thread: more is refused, never silently ignored.
  it.each(IMPLEMENTATIONS.filter((b) => !b.startsWith('native')))('threads: 2 on %s is ERR_LSTM_UNSUPPORTED', async (backend) => {
    await rejects(create({ threads: 2, backend }), 'ERR_LSTM_UNSUPPORTED', new RegExp(`options.threads: 2 is not supported by backend '${backend}'.*'native'`));
    (await create({ threads: 1, backend })).dispose();
  });

  it.each(IMPLEMENTATIONS.filter((b) => b.startsWith('native')))('threads is at most 16 on %s', async (backend) => {
    (await create({ threads: 16, backend })).dispose();
    await rejects(create({ threads: 17, backend }), 'ERR_LSTM_CONFIG', /options.threads: expected an integer from 1 to 16, got 17/);
    await rejects(create({ threads: 2 ** 31, backend }), 'ERR_LSTM_CONFIG', /options.threads: expected an integer from 1 to 16/);
  });
});

describe('configuration errors', () => {
  it.each([
    ['a zero size', { units: 0 }, 'ERR_LSTM_CONFIG', /options.units: expected an integer >= 1, got 0/],
    ['a fractional size', { inputSize: 2.5 }, 'ERR_LSTM_CONFIG', /options.inputSize: expected an integer >= 1, got 2.5/],
    ['an unknown activation', { activation: 'swish' }, 'ERR_LSTM_CONFIG', /options.activation: expected one of 'linear', 'sigmoid', 'tanh'.*got "swish"/],
    ['a bad hard_sigmoid', { recurrentActivation: { name: 'hard_sigmoid', alpha: 'x' } }, 'ERR_LSTM_CONFIG', /options.recurrentActivation/],
    ['an unknown layout', { weightLayout: 'caffe' }, 'ERR_LSTM_CONFIG', /weightLayout: expected 'keras', 'keras1', 'pytorch', 'onnx', 'cudnn', got "caffe"/],
    ['an unknown option', { returnSequence: true }, 'ERR_LSTM_CONFIG', /options.returnSequence: expected one of the known options/],
    ['a non-boolean flag', { goBackwards: 'yes' }, 'ERR_LSTM_CONFIG', /options.goBackwards: expected true or false, got "yes"/],
    ['a negative clip', { clip: -1 }, 'ERR_LSTM_CONFIG', /options.clip/],
    ['an unknown backend', { backend: 'cuda' }, 'ERR_LSTM_CONFIG', /backend: expected 'auto'.*got "cuda"/],
    ['an unknown weight precision', { weightPrecision: 'f64' }, 'ERR_LSTM_CONFIG', /weightPrecision/],
    ['an unsupported weight precision', { weightPrecision: 'f16' }, 'ERR_LSTM_UNSUPPORTED', /weightPrecision: 'f16' is not supported by backend 'js'/],
  ])('%s', async (_, options, code, message) => {
    await rejects(create(options), code, message);
  });
  it('a forced implementation this machine lacks', async () => {
    await rejects(create({ backend: 'native/neon' }), 'ERR_LSTM_BACKEND', /'native\/neon' is not available here/);
  });
});

describe('weight errors', () => {
  const kernelT = weights.kernel[0]!.map((_, j) => weights.kernel.map((row) => row[j]!));
  it.each([
    ['a missing recurrent kernel', { weights: { kernel: weights.kernel, bias: weights.bias } }, /weights.recurrentKernel: expected a \[units, 4\*units\] recurrent kernel tensor, got nothing/],
    ['a transposed kernel', { weights: { ...weights, kernel: kernelT } }, /weights.kernel: expected shape \[12, 12\], got shape \[12, 2\]|weights: expected input size/],
    ['a short bias', { weights: { ...weights, bias: weights.bias.slice(1) } }, /weights.bias: expected shape \[12\], got shape \[11\]/],
    ['a NaN weight', { weights: { ...weights, recurrentKernel: weights.recurrentKernel.map((row, i) => row.map((v, j) => (i === 1 && j === 2 ? NaN : v))) } }, /weights \(recurrent kernel\): expected finite values, got NaN at flat index 14/],
    ['an infinite bias', { weights: { ...weights, bias: weights.bias.map((v, j) => (j ? v : Infinity)) } }, /weights \(bias\): expected finite values, got Infinity/],
    ['sizes that disagree with the weights', { units: 4 }, /expected 4 units \(options.units\), got tensors for 3 units/],
    ['a bias with useBias false', { useBias: false }, /weights: expected no bias tensor \(useBias is false\), got bias/],
    ['two ONNX directions', { weightLayout: 'onnx', weights: { W: [[[0]], [[0]]], R: [[[0]], [[0]]] } }, /num_directions = 2/],
    ['no weights at all', { weights: undefined }, /weights: expected an object of weight tensors, got undefined/],
    ['a misshaped PyTorch tensor', { weightLayout: 'pytorch', weights: { weight_ih: [[1, 2]], weight_hh: [[1]], bias_ih: [1] } }, /weights\.(weight_ih|weight_hh|bias_ih)/],
  ])('%s', async (_, options, message) => {
    const code = (options as { weights?: { W?: unknown } }).weights?.W ? 'ERR_LSTM_UNSUPPORTED' : 'ERR_LSTM_WEIGHTS';
    await rejects(create(options as never), code, message);
  });
});

// [3, 400, 2] zeros with the given values at the given flat indices.
function long(values: [number, number][]) {
  const data = new Float32Array(3 * 400 * 2);
  for (const [at, v] of values) data[at] = v;
  return { data, shape: [3, 400, 2] };
}

describe.each(IMPLEMENTATIONS)('call errors on %s', (backend) => {
  it.each([
    ['a 2-D input', () => [[1, 2]], {}, 'ERR_LSTM_SHAPE', /input: expected shape \[batch, steps, 2\] with batch, steps >= 1, got shape \[1, 2\]/],
    ['a wrong feature count', () => [[[1, 2, 3]]], {}, 'ERR_LSTM_SHAPE', /got shape \[1, 1, 3\]/],
    ['a ragged input', () => [[[1, 2], [3]]], {}, 'ERR_LSTM_SHAPE', /input\[0\]\[1\]: expected an array of length 2 \(the tensor is not rectangular\)/],
    ['an empty input', () => [], {}, 'ERR_LSTM_SHAPE', /input: expected a non-empty array/],
    ['a NaN input', () => [[[1, NaN]]], {}, 'ERR_LSTM_INPUT', /input: expected finite values \(or allowNonFinite: true\), got NaN at \[0, 0, 1\]/],
    ['an infinite input', () => ({ data: new Float32Array([0, 0, 0, -Infinity]), shape: [1, 2, 2] }), {}, 'ERR_LSTM_INPUT', /got -Infinity at \[0, 1, 1\]/],
    // Long inputs go through the backend's own scan where it has one (native): the first bad value
    // inside a block of 64, past the last whole block, and before a second one.
    ['a NaN inside a long input', () => long([[1795, NaN]]), {}, 'ERR_LSTM_INPUT', /got NaN at \[2, 97, 1\]/],
    ['an infinity at the end of a long input', () => long([[2399, Infinity]]), {}, 'ERR_LSTM_INPUT', /got Infinity at \[2, 399, 1\]/],
    ['two non-finite values in a long input', () => long([[70, -Infinity], [2000, NaN]]), {}, 'ERR_LSTM_INPUT', /got -Infinity at \[0, 35, 0\]/],
    ['a flat input without shape', () => new Float32Array(8), {}, 'ERR_LSTM_SHAPE', /a flat array of 8 values/],
    ['a shape that does not fit the data', () => new Float32Array(8), { shape: [1, 3, 2] }, 'ERR_LSTM_SHAPE', /options.shape: expected a shape with 8 values, got \[1, 3, 2\]/],
    ['a wrong initial state', () => x, { initialState: { h: [[0, 0]], c: [[0, 0, 0]] } }, 'ERR_LSTM_SHAPE', /initialState.h: expected shape \[1, 3\], got shape \[1, 2\]/],
    ['a wrong mask', () => x, { mask: [[1, 0]] }, 'ERR_LSTM_SHAPE', /mask: expected shape \[1, 4\], got shape \[1, 2\]/],
    ['too long a sequence length', () => x, { sequenceLengths: [5] }, 'ERR_LSTM_SHAPE', /sequenceLengths\[0\]: expected an integer in \[0, 4\], got 5/],
    ['too many sequence lengths', () => x, { sequenceLengths: [1, 2] }, 'ERR_LSTM_SHAPE', /sequenceLengths: expected 1 integers/],
    ['an unknown forward option', () => x, { traces: true }, 'ERR_LSTM_CONFIG', /forward options.traces/],
    ['an out array of the wrong size', () => x, { out: { h: new Float32Array(4) } }, 'ERR_LSTM_SHAPE', /forward options.out.h: expected a Float32Array of 3 values, got/],
    ['an out array of the wrong type', () => x, { out: { output: new Float64Array(3) } }, 'ERR_LSTM_SHAPE', /forward options.out.output: expected a Float32Array of 3 values/],
    ['an unknown out array', () => x, { out: { y: new Float32Array(3) } }, 'ERR_LSTM_CONFIG', /forward options.out.y/],
    ['out arrays sharing memory', () => x, { out: ((m) => ({ h: m.subarray(0, 3), c: m.subarray(2, 5) }))(new Float32Array(5)) }, 'ERR_LSTM_CONFIG', /forward options.out.c: expected memory of its own, got an array overlapping out.h/],
    ['an out array over the input', () => shared.subarray(0, 8), { shape: [1, 4, 2], out: { output: shared.subarray(5, 8) } }, 'ERR_LSTM_CONFIG', /forward options.out.output: expected memory of its own, got an array overlapping the input/],
  ] as const)('%s', async (_, input, options, code, message) => {
    const layer = await Lstm.create({ weights, backend });
    await rejects(() => layer.forward(input() as never, options as never), code, message);
    await rejects(layer.forwardAsync(input() as never, options as never), code, message);
    layer.dispose();
  });

  it('allowNonFinite lets NaN through instead', async () => {
    const layer = await Lstm.create({ weights, backend, allowNonFinite: true });
    expect(Number.isNaN(layer.forward([[[NaN, 0]]]).h.data[0])).toBe(true);
    layer.dispose();
  });

  it('every call after dispose throws ERR_LSTM_DISPOSED', async () => {
    const layer = await Lstm.create({ weights, backend });
    const stream = layer.stream();
    layer.dispose();
    layer.dispose(); // twice is harmless
    await rejects(() => layer.forward(x), 'ERR_LSTM_DISPOSED', /disposed/);
    await rejects(layer.forwardAsync(x), 'ERR_LSTM_DISPOSED', /disposed/);
    await rejects(() => layer.stream(), 'ERR_LSTM_DISPOSED', /disposed/);
    await rejects(() => layer.backend, 'ERR_LSTM_DISPOSED', /disposed/);
    await rejects(() => stream.step([[0, 0]]), 'ERR_LSTM_DISPOSED', /disposed/);
    await rejects(() => layer.resetStates(), 'ERR_LSTM_DISPOSED', /disposed/);
  });

  it('streams reject wrong shapes and non-finite steps', async () => {
    const layer = await Lstm.create({ weights, backend });
    const s = layer.stream(2);
    await rejects(() => s.step([[0, 0]]), 'ERR_LSTM_SHAPE', /step\(x\): expected shape \[2, 2\], got shape \[1, 2\]/);
    await rejects(() => s.step([[0, 0], [0, Infinity]]), 'ERR_LSTM_INPUT', /step\(x\): expected finite values/);
    await rejects(() => s.setState({ h: [[0, 0, 0]], c: [[0, 0, 0]] }), 'ERR_LSTM_SHAPE', /setState\(state\).h: expected shape \[2, 3\]/);
    await rejects(() => layer.stream(0), 'ERR_LSTM_CONFIG', /stream\(batch\): expected an integer >= 1, got 0/);
    layer.dispose();
  });

  it('a stateful layer refuses a new batch size until resetStates()', async () => {
    const layer = await Lstm.create({ weights, backend, stateful: true });
    layer.forward(x);
    await rejects(() => layer.forward([x[0]!, x[0]!]), 'ERR_LSTM_SHAPE', /expected batch 1 \(a stateful layer keeps its batch size until resetStates\(\)\), got batch 2/);
    layer.resetStates();
    expect(layer.forward([x[0]!, x[0]!]).h.shape).toEqual([2, U]);
    layer.dispose();
  });
});
