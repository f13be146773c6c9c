// CNN-LSTM models (Conv1D, pooling, BatchNormalization, LayerNormalization in front of an LSTM or
// GRU) from Keras 3 (.keras, .h5, TF.js model.json) and PyTorch (safetensors state dicts) against
// their frameworks' outputs (scripts/gen-conv-fixtures.py), on every backend; stream() of a causal
// Conv1D + LSTM model against forward(); and the layers' refusals of bad input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attribute, AveragePooling1D, BatchNormalization, Conv1D, Dense, LayerNormalization, Lstm, LstmError, MaxPooling1D, Sequential, ZeroPadding1D, type Tensor } from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { expectClose, implementations, type Nested } from './helpers.js';

const DIR = new URL('./fixtures/conv/', import.meta.url).pathname;
const IMPLEMENTATIONS = await implementations();
const TOL = { abs: 1e-5, rel: 1e-5 };
const golden = JSON.parse(readFileSync(`${DIR}golden.json`, 'utf8')) as Record<string, { input: Nested; output: Nested; formats: string[] }>;

const fileOf = (name: string, ext: string) => (ext === '.tfjs' ? `${DIR}${name}.tfjs/model.json` : `${DIR}${name}${ext}`);

describe.each(IMPLEMENTATIONS)('CNN-LSTM models on %s', (backend) => {
  for (const [name, g] of Object.entries(golden)) {
    it.each(g.formats)(`${name}%s matches its framework`, async (ext) => {
      const model = await loadModel(fileOf(name, ext), { backend });
      try {
        expectClose(model.forward(g.input).output, g.output, TOL, `${name}${ext}`);
      } finally {
        model.dispose();
      }
    });
  }

  // Conv1D (relu, groups, dilation, strides, same and explicit padding), both poolings (max, average
  // with and without the padding counted), BatchNorm and LayerNorm, then the LSTM and Dense.
  it.each(['conv_valid_bn.keras', 'conv_same_strides_ln.keras', 'conv_groups_pool_gru.keras', 'torch_conv_strided_groups.onnx', 'conv_zero_padding.keras'])('attribute() backpropagates through the front end of %s: the gradient equals finite differences', async (file) => {
    const model = await loadModel(`${DIR}${file}`, { backend });
    try {
      const g = golden[file.replace(/\.\w+$/, '')]!;
      const x = Float32Array.from((g.input as number[][][]).flat(2));
      const shape = [(g.input as number[][][]).length, (g.input as number[][][])[0]!.length, (g.input as number[][][])[0]![0]!.length];
      const a = await attribute(model, { data: x, shape }, { method: 'gradient', target: 0 });
      // The target as attribute reads it: feature 0 of the last step, per row.
      const f = (data: Float32Array) => {
        const out = model.forward({ data, shape }).output;
        const per = out.data.length / shape[0]!;
        return Array.from({ length: shape[0]! }, (_, b) => out.data[b * per + per - out.shape[out.shape.length - 1]!]!);
      };
      const eps = 1e-3;
      const T = shape[1]!;
      const C = shape[2]!;
      const expected = Array.from(x, (_, k) => {
        const b = Math.floor(k / (T * C));
        const up = x.slice();
        const down = x.slice();
        up[k]! += eps;
        down[k]! -= eps;
        return (f(up)[b]! - f(down)[b]!) / (2 * eps);
      });
      // Gradients here are up to 0.01-0.09; float32 differences over 2e-3 carry about 1e-5 of noise.
      expectClose(a.scores.data, expected, { abs: 1e-4, rel: 1e-2 }, `${file} gradient`);
    } finally {
      model.dispose();
    }
  });

  it('stream() of a causal Conv1D + LSTM model equals forward() of the whole sequence', async () => {
    const g = golden.conv_causal_stream!;
    const model = await loadModel(fileOf('conv_causal_stream', '.keras'), { backend });
    try {
      const x = g.input as number[][][];
      const [B, T, C] = [x.length, x[0]!.length, x[0]![0]!.length];
      const whole = model.forward(g.input).output;
      const U = whole.shape[2]!;
      const stream = model.stream(B);
      for (let round = 0; round < 2; round++) {
        for (let t = 0; t < T; t++) {
          const step = stream.step({ data: Float32Array.from(x.flatMap((row) => row[t]!)), shape: [B, C] });
          const expected = Array.from({ length: B }, (_, b) => Array.from(whole.data.subarray((b * T + t) * U, (b * T + t + 1) * U)));
          expectClose(step, expected, TOL, `step ${t} (round ${round})`);
        }
        stream.reset(); // a reset stream starts over as a new sequence
      }
      // A row's state (the convolutions' windows with the LSTM's h and c) saved and put back, as the
      // serving pools do: the row goes on as if it had never left.
      const rowStep = (t: number) => ({ data: Float32Array.from(x.flatMap((row) => row[t]!)), shape: [B, C] });
      for (let t = 0; t < 5; t++) stream.step(rowStep(t));
      const saved = stream.saveRows([1]);
      const ahead = Array.from(stream.step(rowStep(5)).data);
      stream.restoreRows([1], null); // row 1 starts over
      stream.step(rowStep(5));
      stream.restoreRows([1], saved);
      expectClose(stream.step(rowStep(5)).data.subarray(U, 2 * U), ahead.slice(U, 2 * U), { abs: 0, rel: 0 }, 'row 1 after restoreRows');
      stream.dispose();
    } finally {
      model.dispose();
    }
  });
});

describe('front-end layers', () => {
  const kernel = (K: number, cin: number, cout: number) => ({ data: new Float32Array(K * cin * cout).fill(0.1), shape: [K, cin, cout] });

  it('refuse a kernel that does not fit the input channels, groups that do not divide them, and an input too short', async () => {
    await expect(Conv1D.create({ kernel: kernel(3, 2, 4), inputSize: 3 })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS', message: expect.stringContaining('kernel: expected shape [3, 3, 4] for 3 input channels') });
    await expect(Conv1D.create({ kernel: kernel(3, 2, 5), groups: 2 })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: expect.stringContaining('options.groups: expected a divisor of the filters (kernel.shape[2] = 5), got 2') });
    await expect(Conv1D.create({ kernel: { data: new Float32Array(6), shape: [3, 2] } })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS' });
    await expect(Conv1D.create({ kernel: kernel(3, 2, 4), padding: 'full' as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expect(Conv1D.create({ kernel: kernel(3, 2, 4), strides: 0 })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expect(Conv1D.create({ kernel: kernel(3, 2, 4), bias: [1, 2] })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS' });
    for (const backend of IMPLEMENTATIONS) {
      const conv = await Conv1D.create({ kernel: kernel(3, 2, 4), dilationRate: 2, backend });
      expect(() => conv.forward({ data: new Float32Array(8), shape: [1, 4, 2] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE', message: 'input: expected at least 5 steps (kernel size 3, dilation 2, padding "valid"), got 4 steps' }));
      expect(() => conv.forward({ data: new Float32Array(15), shape: [1, 5, 3] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
      expect(() => conv.forward({ data: Float32Array.from([NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0]), shape: [1, 5, 2] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_INPUT' }));
      const long = new Float32Array(2 * 700 * 2); // past the size the native addon scans for NaN itself
      long[2799] = -Infinity;
      expect(() => conv.forward({ data: long, shape: [2, 700, 2] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_INPUT', message: 'input: expected finite values, got -Infinity at flat index 2799' }));
      expect(() => conv.stream()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED', message: expect.stringContaining("padding 'causal' and strides 1 only") }));
      const causal = await Conv1D.create({ kernel: kernel(3, 2, 4), padding: 'causal', backend });
      const stream = causal.stream(2);
      expect(stream.step([[1, 2], [3, 4]]).shape).toEqual([2, 4]);
      expect(() => stream.step([[1, 2]])).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
      causal.dispose(); // the stream runs on the layer's kernel: after dispose it refuses, never touches freed memory
      expect(() => stream.step([[1, 2], [3, 4]])).toThrow(expect.objectContaining({ code: 'ERR_LSTM_DISPOSED' }));
      conv.dispose();
      expect(() => conv.forward({ data: new Float32Array(10), shape: [1, 5, 2] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_DISPOSED' }));
    }
    const pool = await MaxPooling1D.create({ poolSize: 3 });
    expect(() => pool.forward({ data: new Float32Array(4), shape: [1, 2, 2] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
    await expect(AveragePooling1D.create({ poolSize: 2, padding: [2, 0] })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expect(BatchNormalization.create({ movingMean: [0, 0], movingVariance: [1] })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS' });
    await expect(BatchNormalization.create({ movingMean: [0], movingVariance: [-1], epsilon: 0 })).rejects.toMatchObject({ code: 'ERR_LSTM_WEIGHTS' });
    await expect(LayerNormalization.create({})).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    const ln = await LayerNormalization.create({ gamma: [1, 1, 1] });
    expect(() => ln.forward({ data: new Float32Array(4), shape: [1, 2, 2] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
  });

  it('a safetensors config that does not fit its nn.Conv1d or pooling is refused, naming the field', async () => {
    const file = fileOf('torch_conv_strided_groups', '.safetensors');
    const base = [{ module: 'conv', stride: 2, padding: 2, dilation: 2, activation: 'relu' }, { pool: 'average', kernelSize: 2, padding: 1 }, { module: 'bn' }, { module: 'ln' }, { module: 'lstm' }, { module: 'head' }];
    const load = (layers: object[]) => loadModel(file, { config: { layers } as never });
    // Without groups, a first nn.Conv1d takes in / groups channels: the 4-channel input is refused.
    const ungrouped = await load(base);
    expect(() => ungrouped.forward(golden.torch_conv_strided_groups!.input)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE', message: expect.stringContaining('expected shape [batch, steps, 2] (Conv1D)') }));
    ungrouped.dispose();
    await expect(load([{ ...base[0], groups: 4 }, ...base.slice(1)])).rejects.toMatchObject({ code: 'ERR_LSTM_MODEL' });
    await expect(load([{ ...base[0], groups: 2, lastStep: true }, ...base.slice(1)])).rejects.toMatchObject({ message: expect.stringContaining('layers[0].lastStep: expected no lastStep on an nn.Conv1d') });
    await expect(load([{ ...base[0], groups: 2 }, { pool: 'average', padding: 1 }, ...base.slice(2)])).rejects.toMatchObject({ message: expect.stringContaining('kernelSize: expected the pooling window') });
    await expect(load([{ ...base[0], groups: 2 }, { pool: 'max', module: 'bn', kernelSize: 2 }, ...base.slice(2)])).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    const model = await load([{ ...base[0], groups: 2 }, ...base.slice(1)]);
    expectClose(model.forward(golden.torch_conv_strided_groups!.input).output, golden.torch_conv_strided_groups!.output, TOL, 'config given as an option');
    model.dispose();
  });

  it('Keras: a Conv1D whose config and weights disagree is ERR_LSTM_MODEL', async () => {
    const folder = `${DIR}conv_valid_bn.tfjs/`;
    const json = JSON.parse(readFileSync(`${folder}model.json`, 'utf8'));
    const files = Object.fromEntries(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => [p, new Uint8Array(readFileSync(folder + p))]));
    const conv = json.modelTopology.config.layers.find((l: { class_name: string }) => l.class_name === 'Conv1D');
    conv.config.kernel_size = [5];
    await expect(loadModel(new TextEncoder().encode(JSON.stringify(json)), { files })).rejects.toMatchObject({ code: 'ERR_LSTM_MODEL', message: expect.stringContaining('expected a kernel of shape [5, inputChannels / groups, 8] (kernel_size and filters of its config), got [3, 3, 8]') });
    conv.config.kernel_size = [3];
    conv.config.padding = 'full';
    await expect(loadModel(new TextEncoder().encode(JSON.stringify(json)), { files })).rejects.toMatchObject({ code: 'ERR_LSTM_MODEL', message: expect.stringContaining('expected padding valid, same or causal, got "full"') });
  });

  it('ONNX: a 1-D Conv or pooling the layers cannot run is ERR_LSTM_MODEL saying what was expected', async () => {
    const refused = async (name: string, message: string) => {
      const error = await loadModel(`${DIR}${name}.onnx`).then(() => null, (e: unknown) => e);
      expect(error, name).toBeInstanceOf(LstmError);
      expect(error).toMatchObject({ code: 'ERR_LSTM_MODEL', message: expect.stringContaining(message) });
    };
    await refused('bad_conv_same_lower', 'expected auto_pad NOTSET, VALID or SAME_UPPER, got SAME_LOWER');
    await refused('bad_conv_channels_last', "expected Conv's input as [batch, channels, time] (a 1-D Conv), got [batch, time, features(3)]");
    await refused('bad_pool_ceil_mode', 'expected ceil_mode 0 (windows that fit), got 1');
    await refused('bad_pad_channels', 'expected Pad to add zero steps on the time axis only (no cropping), got pads [0, 1, 0, 0, 0, 0]');
  });

  it('in a Sequential: chained sizes checked, masks refused at a Conv1D, pooling refused by stream()', async () => {
    const conv = await Conv1D.create({ kernel: kernel(2, 3, 4), padding: 'causal' });
    const lstm = await Lstm.create({ weights: { kernel: new Float32Array(5 * 8), recurrentKernel: new Float32Array(2 * 8), bias: new Float32Array(8) }, inputSize: 5, units: 2 });
    await expect(Sequential.create([conv, lstm])).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: 'layers[1]: expected input size 4 (the previous layer\'s output), got input size 5' });
    const pool = await MaxPooling1D.create({ poolSize: 2 });
    const bn = await BatchNormalization.create({ movingMean: [0, 0, 0, 0], movingVariance: [1, 1, 1, 1] });
    const dense = await Dense.create({ kernel: { data: new Float32Array(8), shape: [4, 2] } });
    const model = await Sequential.create([conv, pool, bn, dense]);
    const x = { data: new Float32Array(2 * 6 * 3).fill(1), shape: [2, 6, 3] };
    expect((model.forward(x).output as Tensor).shape).toEqual([2, 3, 2]);
    expect(() => model.forward(x, { sequenceLengths: [6, 4] })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED', message: expect.stringContaining('Conv1D changes the steps, so no mask or sequence lengths pass through it') }));
    expect(() => model.stream()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED', message: expect.stringContaining('layers[1] is MaxPooling1D') }));
    model.dispose();
    await expect(ZeroPadding1D.create({ padding: [-1, 2] as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    const padded = await Sequential.create([await ZeroPadding1D.create({ padding: [2, 1] }), await Dense.create({ kernel: { data: new Float32Array([1, 2]), shape: [2, 1] } })]);
    expect(Array.from(padded.forward([[[1, 1], [2, 2]]]).output.data)).toEqual([0, 0, 3, 6, 0]);
    expect(() => padded.stream()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED', message: expect.stringContaining('it adds steps of its own') }));
    padded.dispose();
    lstm.dispose();
    expect(new LstmError('ERR_LSTM_SHAPE', 'x')).toBeInstanceOf(Error);
  });
});
