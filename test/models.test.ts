// Bidirectional and Sequential models against Keras 3, PyTorch and onnxruntime (golden fixtures),
// on every backend; Dense and Sequential streaming against the layers run by hand.
import { describe, expect, it } from 'vitest';
import { Bidirectional, Dense, Embedding, Flatten, GlobalPooling1D, Gru, Lstm, RepeatVector, Sequential, type SequentialLayer, type Tensor } from '../lib/index.js';
import { expectClose, implementations, readFixture, rng, type Nested } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const TOL = { abs: 1e-5, rel: 1e-5 };

interface BiCase {
  name: string;
  layout: 'keras' | 'pytorch' | 'onnx';
  config: { layer: Record<string, unknown> & { type: 'lstm' | 'gru' }; mergeMode: 'concat' | 'sum' | 'mul' | 'ave' | null };
  weights: { forward: object; backward: object };
  calls: {
    input: number[][][];
    mask?: number[][];
    sequenceLengths?: number[];
    initialState?: { forward: { h: number[][]; c?: number[][] }; backward: { h: number[][]; c?: number[][] } };
    expected: { output: Nested; states: Record<'forward' | 'backward', { h: number[][]; c?: number[][] }> };
  }[];
}
interface SeqCase {
  name: string;
  layers: { type: 'lstm' | 'gru' | 'dense' | 'bidirectional'; config: Record<string, unknown>; weights: Record<string, unknown> }[];
  calls: { input: number[][][]; expected: { output: Nested } }[];
}

const BI_CASES = ['bidirectional-keras.json', 'bidirectional-pytorch.json', 'bidirectional-onnx.json'].flatMap((f) => readFixture<BiCase>(f));
const SEQ_CASES = readFixture<SeqCase>('sequential-keras.json');

async function buildLayer(spec: SeqCase['layers'][number], backend: string): Promise<SequentialLayer> {
  const { type, config, weights } = spec;
  if (type === 'dense') return Dense.create({ kernel: weights.kernel as never, bias: weights.bias as never, activation: config.activation as never });
  if (type === 'bidirectional') {
    const c = config as unknown as BiCase['config'];
    const w = weights as unknown as BiCase['weights'];
    return Bidirectional.create({ layer: { ...c.layer, weights: w.forward, backend } as never, backwardWeights: w.backward as never, mergeMode: c.mergeMode });
  }
  const options = { ...config, weights, backend } as never;
  return type === 'gru' ? Gru.create(options) : Lstm.create(options);
}

describe.each(IMPLEMENTATIONS)('on %s', (backend) => {
  it.each(BI_CASES.map((c) => [c.name, c] as const))('Bidirectional %s', async (_, c) => {
    const layer = await Bidirectional.create({
      layer: { ...c.config.layer, weights: c.weights.forward, weightLayout: c.layout, backend } as never,
      backwardWeights: c.weights.backward as never,
      mergeMode: c.config.mergeMode,
    });
    for (const [k, call] of c.calls.entries()) {
      const r = layer.forward(call.input, { mask: call.mask, sequenceLengths: call.sequenceLengths, initialState: call.initialState });
      const at = `${c.name} call ${k}`;
      if (c.config.mergeMode === null) {
        const [f, b] = r.output as [Tensor, Tensor];
        const [ef, eb] = call.expected.output as [Nested, Nested];
        expectClose(f, ef, TOL, `${at} forward output`);
        expectClose(b, eb, TOL, `${at} backward output`);
      } else {
        expectClose(r.output as Tensor, call.expected.output, TOL, `${at} output`);
      }
      for (const dir of ['forward', 'backward'] as const) {
        expectClose(r.states[dir].h, call.expected.states[dir].h, TOL, `${at} ${dir} h`);
        if (call.expected.states[dir].c) expectClose(r.states[dir].c!, call.expected.states[dir].c!, TOL, `${at} ${dir} c`);
      }
      const async = await layer.forwardAsync(call.input, { mask: call.mask, sequenceLengths: call.sequenceLengths, initialState: call.initialState });
      expect(async.states.backward.h.data).toEqual(r.states.backward.h.data);
    }
    layer.dispose();
  });

  it.each(SEQ_CASES.map((c) => [c.name, c] as const))('Sequential %s', async (_, c) => {
    const model = await Sequential.create(await Promise.all(c.layers.map((l) => buildLayer(l, backend))));
    for (const call of c.calls) {
      const r = model.forward(call.input, { trace: true });
      expectClose(r.output, call.expected.output, TOL, `${c.name} output`);
      expect(r.trace).toHaveLength(c.layers.filter((l) => l.type !== 'dense').length);
      const async = await model.forwardAsync(call.input, { trace: true });
      expect(async.output).toEqual(r.output);
      expect(async.trace).toEqual(r.trace);
    }
    model.dispose();
  });

  it('Sequential.stream() steps the stack exactly like forward with sequences', async () => {
    const r = rng(17);
    const lstm = await Lstm.create({ weights: { kernel: r.matrix(3, 20), recurrentKernel: r.matrix(5, 20), bias: r.matrix(1, 20)[0]! }, returnSequences: true, backend });
    const gru = await Gru.create({ weights: { kernel: r.matrix(5, 12), recurrentKernel: r.matrix(4, 12), bias: r.matrix(2, 12) }, returnSequences: true, backend });
    const dense = await Dense.create({ kernel: r.matrix(4, 2), bias: [0.1, -0.2], activation: 'softmax' });
    const model = await Sequential.create([lstm, gru, dense]);
    const input = [r.matrix(6, 3, -1, 1), r.matrix(6, 3, -1, 1)];
    const full = model.forward(input).output;
    const stream = model.stream(2);
    for (let t = 0; t < 6; t++) {
      const y = stream.step(input.map((row) => row[t]!));
      const expected = [0, 1].flatMap((b) => Array.from(full.data.subarray((b * 6 + t) * 2, (b * 6 + t + 1) * 2)));
      expectClose(y, Float64Array.from(expected), { abs: 1e-6, rel: 1e-6 }, `step ${t}`);
    }
    model.dispose();
  });
});

describe('model errors', () => {
  const r = rng(4);
  const lstmOptions = () => ({ weights: { kernel: r.matrix(2, 8), recurrentKernel: r.matrix(2, 8), bias: r.matrix(1, 8)[0]! }, returnSequences: true, backend: 'js' });
  it('Sequential checks that each layer takes the previous one\'s output', async () => {
    const a = await Lstm.create(lstmOptions());
    const dense = await Dense.create({ kernel: r.matrix(3, 2) });
    await expect(Sequential.create([a, dense])).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/layers\[1\]: expected input size 2 \(the previous layer's output\), got input size 3/) });
    await expect(Sequential.create([])).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
  });
  it('Bidirectional rejects a bad merge mode, a missing backward and streaming', async () => {
    await expect(Bidirectional.create({ layer: lstmOptions(), backwardWeights: lstmOptions().weights, mergeMode: 'max' as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/mergeMode: expected 'concat', 'sum', 'mul', 'ave' or null, got "max"/) });
    await expect(Bidirectional.create({ layer: lstmOptions() } as never)).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS' });
    const bi = await Bidirectional.create({ layer: lstmOptions(), backwardWeights: lstmOptions().weights });
    expect(() => bi.stream()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED' }));
    const model = await Sequential.create([bi]);
    expect(() => model.stream()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED' }));
    model.dispose();
  });
  it('Dense rejects a misshaped bias, NaN weights and a wrong input width', async () => {
    await expect(Dense.create({ kernel: r.matrix(3, 2), bias: [1, 2, 3] })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS', message: expect.stringMatching(/bias: expected shape \[2\], got shape \[3\]/) });
    await expect(Dense.create({ kernel: [[NaN, 1]] })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS' });
    const dense = await Dense.create({ kernel: r.matrix(3, 2) });
    expect(() => dense.forward([[1, 2]])).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
  });
  it('Embedding: looks ids up, steps ids [batch] in a stream, refuses ids it has no row for, and comes only first', async () => {
    const table = r.matrix(5, 2);
    const embedding = await Embedding.create({ embeddings: table });
    expect(embedding.forward([[4, 0], [1, 1]]).output).toEqual({ data: Float32Array.from([table[4], table[0], table[1], table[1]].flat()), shape: [2, 2, 2] });
    for (const bad of [5, -1, 1.5, NaN]) expect(() => embedding.forward([[0, bad]])).toThrow(expect.objectContaining({ code: 'ERR_LSTM_INPUT' }));
    const lstm = await Lstm.create(lstmOptions());
    const model = await Sequential.create([embedding, lstm]);
    const ids = [[3, 1, 4], [2, 0, 2]];
    const full = model.forward(ids).output;
    const stream = model.stream(2);
    for (let t = 0; t < 3; t++) {
      const h = stream.step(ids.map((row) => row[t]!));
      for (let b = 0; b < 2; b++) for (let j = 0; j < 2; j++) expect(h.data[b * 2 + j]).toBeCloseTo(full.data[(b * 3 + t) * 2 + j]!, 6);
    }
    stream.dispose();
    expect(() => model.forward([1, 2, 3])).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
    await expect(Sequential.create([lstm, embedding as never])).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/an Embedding only first/) });
    await expect(Sequential.create([embedding, lstm], { maskValue: 0 })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    const masked = await Sequential.create([await Embedding.create({ embeddings: table, maskZero: true }), lstm]);
    expect(() => masked.stream()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED' }));
    await expect(Embedding.create({ embeddings: [1, 2] })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS' });
    model.dispose();
  });
  it('timeMajor: [steps, batch, ...] in (ids and masks too), sequences out the same way, equal to the batch-major model', async () => {
    const lstm = await Lstm.create(lstmOptions());
    const [batchMajor, timeMajor] = await Promise.all([Sequential.create([lstm]), Sequential.create([lstm], { timeMajor: true })]);
    const x = [r.matrix(3, 2), r.matrix(3, 2)]; // [B=2][T=3][2]
    const xT = [0, 1, 2].map((t) => x.map((row) => row[t]!)); // [T][B][2]
    const mask = [[1, 0, 1], [1, 1, 0]];
    const maskT = [0, 1, 2].map((t) => mask.map((row) => row[t]!));
    const expected = batchMajor.forward(x, { mask }).output;
    const got = timeMajor.forward(xT, { mask: maskT }).output;
    expect(got.shape).toEqual([3, 2, 2]);
    for (let t = 0; t < 3; t++) for (let b = 0; b < 2; b++) for (let j = 0; j < 2; j++) expect(got.data[(t * 2 + b) * 2 + j]).toBe(expected.data[(b * 3 + t) * 2 + j]);
    expect(() => timeMajor.forward(xT, { mask: new Uint8Array(5) })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
    // Ids [steps, batch] through an Embedding, the last step out as [batch, units].
    const last = await Lstm.create({ ...lstmOptions(), returnSequences: false });
    const table = r.matrix(4, 2);
    const [ids, idsT] = [[[1, 2, 3], [0, 3, 1]], [[1, 0], [2, 3], [3, 1]]];
    const a = (await Sequential.create([await Embedding.create({ embeddings: table }), last])).forward(ids).output;
    const b = (await Sequential.create([await Embedding.create({ embeddings: table }), last], { timeMajor: true })).forward(idsT).output;
    expect(b).toEqual(a);
    await expect(Sequential.create([lstm], { timeMajor: 1 as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    lstm.dispose();
    last.dispose();
  });
  it('RepeatVector, Flatten and GlobalPooling1D reshape the sequence; the mask stops where the steps it describes end', async () => {
    const x = [r.matrix(4, 2), r.matrix(4, 2)]; // [B=2][T=4][2]
    const mask = [[1, 1, 0, 0], [1, 1, 1, 1]];
    const encoder = await Lstm.create({ ...lstmOptions(), returnSequences: false });
    const decoder = await Lstm.create(lstmOptions());
    const autoencoder = await Sequential.create([encoder, await RepeatVector.create({ n: 3 }), decoder]);
    // The encoder's final state, repeated 3 times, runs through the decoder unmasked (a mask of 4 steps no longer applies).
    const h = encoder.forward(x, { mask }).output;
    const repeated = (await RepeatVector.create({ n: 3 })).forward(h).output;
    expect(repeated.shape).toEqual([2, 3, 2]);
    expect(autoencoder.forward(x, { mask }).output).toEqual(decoder.forward(repeated).output);
    expect(() => autoencoder.stream()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED', message: expect.stringMatching(/RepeatVector/) }));
    // A mask-aware average leaves masked steps out; max and a plain average take every step.
    const seq = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 2] };
    const stepMask = Uint8Array.from([1, 0, 1, 1]);
    expect((await GlobalPooling1D.create({ mode: 'average' })).forward(seq, stepMask).output.data).toEqual(Float32Array.from([1, 2, 6, 7]));
    expect((await GlobalPooling1D.create({ mode: 'average', maskAware: false })).forward(seq, stepMask).output.data).toEqual(Float32Array.from([2, 3, 6, 7]));
    expect((await GlobalPooling1D.create({ mode: 'max' })).forward(seq, stepMask).output.data).toEqual(Float32Array.from([3, 4, 7, 8]));
    expect((await Flatten.create()).forward(seq).output).toEqual({ data: seq.data, shape: [2, 4] });
    // Flatten's width depends on the steps: the Dense after it checks it when it runs.
    const pooled = await Sequential.create([decoder, await Flatten.create(), await Dense.create({ kernel: r.matrix(8, 1) })]);
    expect(pooled.forward(x).output.shape).toEqual([2, 1]);
    expect(() => pooled.forward([r.matrix(3, 2)])).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
    // Lengths stand for a mask where none is given: padding steps stay out of the average.
    const average = await Sequential.create([decoder, await GlobalPooling1D.create({ mode: 'average' })]);
    expect(average.forward(x, { sequenceLengths: [2, 4] }).output).toEqual(average.forward(x, { mask }).output);
    expect(() => average.forward(x, { mask: new Uint8Array(7) })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
    // Every step of a row masked: Keras' 0/0 becomes a clear error, naming the layer.
    expect(() => average.forward(x, { mask: [[0, 0, 0, 0], [1, 1, 1, 1]] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_INPUT', message: expect.stringMatching(/layers\[1\] \(GlobalPooling1D\): row 0: expected at least one unmasked step/) }));
    expect(() => average.forward(x, { masks: mask } as never)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG' }));
    // Flatten of [batch, features] leaves it as it is, as in Keras.
    expect((await Flatten.create()).forward([[1, 2]]).output).toEqual({ data: Float32Array.from([1, 2]), shape: [1, 2] });
    await expect(RepeatVector.create({ n: 2 ** 20 })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expect(RepeatVector.create({ n: 0 })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expect(GlobalPooling1D.create({ mode: 'sum' as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expect(Sequential.create([await Flatten.create(), decoder])).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    expect(() => (autoencoder.layers[1] as RepeatVector).forward(x)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
    encoder.dispose();
    decoder.dispose();
  });
  it('a GRU has no cell state and refuses LSTM-only options', async () => {
    const gruOptions = { weights: { kernel: r.matrix(2, 6), recurrentKernel: r.matrix(2, 6), bias: r.matrix(2, 6) }, backend: 'js' };
    await expect(Gru.create({ ...gruOptions, inputForget: true } as never)).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/options.inputForget: expected one of the known options/) });
    await expect(Gru.create({ ...gruOptions, resetAfter: false })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS', message: expect.stringMatching(/weights.bias: expected shape \[6\], got shape \[2, 6\]/) });
    await expect(Gru.create({ ...gruOptions, weightLayout: 'pytorch', resetAfter: false, weights: { weight_ih: r.matrix(6, 2), weight_hh: r.matrix(6, 2) } } as never)).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/resetAfter: expected true with weightLayout 'pytorch'/) });
    const gru = await Gru.create(gruOptions);
    const out = gru.forward([[[1, 0]]]);
    expect(out).not.toHaveProperty('c');
    expect(() => gru.forward([[[1, 0]]], { initialState: { c: [[0, 0]] } as never })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
    gru.dispose();
  });
});

describe.each(IMPLEMENTATIONS)('GRU and Bidirectional state on %s', (backend) => {
  const r = rng(23);
  const gruWeights = { kernel: r.matrix(3, 15), recurrentKernel: r.matrix(5, 15), bias: r.matrix(2, 15) };
  const input = [r.matrix(6, 3, -1, 1), r.matrix(6, 3, -1, 1)];
  const half = (from: number, to: number) => input.map((row) => row.slice(from, to));

  it('Gru.stream() steps exactly like forward, with state { h } only', async () => {
    const gru = await Gru.create({ weights: gruWeights, returnSequences: true, backend });
    const full = gru.forward(input);
    const stream = gru.stream(2);
    for (let t = 0; t < 6; t++) {
      const h = stream.step(input.map((row) => row[t]!));
      const expected = [0, 1].flatMap((b) => Array.from(full.output.data.subarray((b * 6 + t) * 5, (b * 6 + t + 1) * 5)));
      expectClose(h, Float64Array.from(expected), { abs: 1e-6, rel: 1e-6 }, `GRU step ${t}`);
    }
    expect(stream.state.c).toBeUndefined();
    stream.setState({ h: full.h });
    expectClose(stream.state.h, full.h.data, { abs: 0, rel: 0 }, 'setState');
    gru.dispose();
  });

  it('a stateful Bidirectional carries both directions into the next call', async () => {
    const w = () => ({ kernel: r.matrix(3, 16), recurrentKernel: r.matrix(4, 16), bias: r.matrix(1, 16)[0]! });
    const [fw, bw] = [w(), w()];
    const stateful = await Bidirectional.create({ layer: { weights: fw, returnSequences: true, stateful: true, backend }, backwardWeights: bw });
    const plain = await Bidirectional.create({ layer: { weights: fw, returnSequences: true, backend }, backwardWeights: bw });
    const first = stateful.forward(half(0, 3));
    const second = stateful.forward(half(3, 6));
    const expected = plain.forward(half(3, 6), { initialState: first.states as never });
    expect(Array.from((second.output as Tensor).data)).toEqual(Array.from((expected.output as Tensor).data));
    stateful.resetStates();
    expect(Array.from((stateful.forward(half(0, 3)).output as Tensor).data)).toEqual(Array.from((first.output as Tensor).data));
    stateful.dispose();
    plain.dispose();
  });
});

describe('Sequential.forwardAsync', () => {
  it('names the layer that failed, as forward does', async () => {
    const r = rng(5);
    const lstm = await Lstm.create({ weights: { kernel: r.matrix(2, 8), recurrentKernel: r.matrix(2, 8), bias: r.matrix(1, 8)[0]! }, returnSequences: true, backend: 'js' });
    const gru = await Gru.create({ weights: { kernel: r.matrix(2, 6), recurrentKernel: r.matrix(2, 6), bias: r.matrix(2, 6) }, backend: 'js' });
    const model = await Sequential.create([lstm, gru]);
    // The first layer's errors are the caller's own input's: no prefix.
    await expect(model.forwardAsync([[[1, 2]]], { sequenceLengths: [-1] })).rejects.toMatchObject({ code: 'ERR_LSTM_SHAPE', message: expect.stringMatching(/^sequenceLengths\[0\]/) });
    gru.dispose();
    await expect(model.forwardAsync([[[1, 2]]])).rejects.toMatchObject({ code: 'ERR_LSTM_DISPOSED', message: expect.stringMatching(/^layers\[1\] \(Gru\): /) });
    expect(() => model.forward([[[1, 2]]])).toThrow(/^layers\[1\] \(Gru\): /);
    model.dispose();
  });
});
