// loadModel on PyTorch state dicts in safetensors: the models of scripts/gen_torch_models.py against
// torch's own outputs on every backend, the config (from the options or the file), and every way a
// file or a config can be wrong.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Bidirectional, detectFormat, Dense, Embedding, Gru, Lstm, LstmError, type LoadModelOptions, type SafetensorsConfig, type Tensor } from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { expectClose, flat, implementations, rng, shapeOf, type Nested } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const DIR = new URL('./fixtures/models/torch/', import.meta.url);
const fixture = (file: string) => new Uint8Array(readFileSync(new URL(file, DIR)));

interface GoldenCase {
  name: string;
  file: string;
  dtype: string;
  config?: SafetensorsConfig;
  /** input: [B, T, I], or ids [B, T] for a model that starts with an nn.Embedding. */
  calls: { input: number[][][] | number[][]; sequenceLengths?: number[]; expected: Nested; expected64: number[] }[];
  tolerance: { abs: number; rel: number };
}
const GOLDEN = JSON.parse(readFileSync(new URL('golden.json', DIR), 'utf8')) as { cases: GoldenCase[] };
const CASES = GOLDEN.cases;

async function run(c: GoldenCase, backend: string): Promise<Tensor[]> {
  const options: LoadModelOptions = { backend };
  if (c.config) options.config = c.config;
  const model = await loadModel(fixture(c.file), options);
  try {
    return c.calls.map((call) => model.forward(call.input, { sequenceLengths: call.sequenceLengths }).output);
  } finally {
    model.dispose();
  }
}

describe.each(IMPLEMENTATIONS)('backend %s', (backend) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s matches torch', async (_, c) => {
    const outputs = await run(c, backend);
    outputs.forEach((output, k) => {
      const { expected } = c.calls[k]!;
      const at = `${backend} ${c.name} call ${k}`;
      expect(output.shape, `${at} shape`).toEqual(shapeOf(expected));
      // The oracle's values are float32 written as shortest decimals: compare them as float32.
      expectClose(output, Float32Array.from(flat(expected)), c.tolerance, at);
    });
  });
});

describe('the models as loaded', () => {
  const kinds = async (file: string, config?: SafetensorsConfig) => {
    const model = await loadModel(fixture(file), { backend: 'js', ...(config ? { config } : {}) });
    const names = model.layers.map((l) => (l instanceof Bidirectional ? `bidirectional(${l.forwardLayer instanceof Gru ? 'gru' : 'lstm'})` : l instanceof Lstm ? 'lstm' : l instanceof Gru ? 'gru' : l instanceof Dense ? 'dense' : l instanceof Embedding ? 'embedding' : '?'));
    model.dispose();
    return names;
  };
  const config = (name: string) => CASES.find((c) => c.name === name)!.config;

  it('timeMajor: true runs a batch_first=False model on [steps, batch, features], sequences out the same way', async () => {
    const swap = (x: number[][][]) => x[0]!.map((_, t) => x.map((row) => row[t]!)); // [B][T][F] <-> [T][B][F]
    const classifier = CASES.find((c) => c.name === 'lstm-2layer-last-softmax')!;
    const tagger = CASES.find((c) => c.name === 'bigru-2layer-sequence-linear')!;
    const taggerConfig = JSON.parse((parse(fixture(tagger.file)).header.__metadata__ as Record<string, string>).lstm_runtime!) as SafetensorsConfig;
    for (const [c, config] of [[classifier, classifier.config!], [tagger, taggerConfig]] as const) {
      const model = await loadModel(fixture(c.file), { backend: 'js', config: { ...config, timeMajor: true } });
      expect(model.timeMajor).toBe(true);
      const call = c.calls[0]!;
      const out = model.forward(swap(call.input as number[][][])).output;
      const expected = out.shape.length === 3 ? swap(call.expected as number[][][]) : call.expected;
      expectClose(out, Float32Array.from(flat(expected as Nested)), c.tolerance, `${c.name} time-major`);
      expect(out.shape).toEqual(shapeOf(expected as Nested));
      model.dispose();
    }
    await expect(loadModel(fixture(classifier.file), { config: { ...classifier.config!, timeMajor: 'yes' } as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
  });

  it('one nn.LSTM of num_layers 2 is two layers; bidirectional modules are Bidirectional layers', async () => {
    expect(await kinds('lstm_classifier.safetensors', config('lstm-2layer-last-softmax'))).toEqual(['lstm', 'lstm', 'dense']);
    expect(await kinds('bigru_tagger.safetensors')).toEqual(['bidirectional(gru)', 'bidirectional(gru)', 'dense']);
    expect(await kinds('lstm_nobias.safetensors', config('linear-relu-bilstm-nobias-final-sigmoid'))).toEqual(['dense', 'bidirectional(lstm)', 'dense']);
  });

  it('an nn.Embedding marked in the config is an Embedding layer first; ids outside its table are refused with ERR_LSTM_INPUT', async () => {
    expect(await kinds('embedding_gru.safetensors')).toEqual(['embedding', 'gru', 'dense']);
    const model = await loadModel(fixture('embedding_gru.safetensors'), { backend: 'js' });
    try {
      expect((model.layers[0] as Embedding).inputDim).toBe(25);
      expect((model.layers[0] as Embedding).maskZero).toBe(false);
      for (const id of [25, -1, 0.5]) expect(() => model.forward([[1, id]]), `id ${id}`).toThrow(expect.objectContaining({ code: 'ERR_LSTM_INPUT' }));
    } finally {
      model.dispose();
    }
  });

  it('options.config takes precedence over the config in the file; lastStep of a bidirectional module is [forward final, backward final]', async () => {
    const input = CASES.find((c) => c.name === 'bigru-2layer-sequence-linear')!.calls[0]!.input;
    const sequence = await loadModel(fixture('bigru_tagger.safetensors'), { backend: 'js', config: { layers: [{ module: 'encoder.gru' }], ignore: ['proj'] } });
    const last = await loadModel(fixture('bigru_tagger.safetensors'), { backend: 'js', config: { layers: [{ module: 'encoder.gru', lastStep: true }], ignore: ['proj'] } });
    const seq = sequence.forward(input).output;
    const fin = last.forward(input).output;
    sequence.dispose();
    last.dispose();
    const [B, T, F] = seq.shape as [number, number, number];
    expect(fin.shape).toEqual([B, F]);
    const H = F / 2;
    const expected: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) expected.push(seq.data[(b * T + T - 1) * F + j]!); // forward direction at its last step
      for (let j = H; j < F; j++) expected.push(seq.data[b * T * F + j]!); // backward direction, which ends at step 0
    }
    expectClose(fin, Float32Array.from(expected), { abs: 1e-6, rel: 0 }, 'last step');
  });

  it('loads from a path (the Node entry reads files)', async () => {
    const c = CASES.find((k) => k.name === 'gru-last-tanh-f16')!;
    const model = await loadModel(new URL(c.file, DIR).pathname, { backend: 'js' });
    expectClose(model.forward(c.calls[0]!.input).output, c.calls[0]!.expected, c.tolerance, 'from a path');
    model.dispose();
  });

  it('loads from an ArrayBuffer and by format name too', async () => {
    const c = CASES.find((k) => k.name === 'gru-last-tanh-f16')!;
    const bytes = fixture(c.file);
    const model = await loadModel(bytes.slice().buffer, { format: 'safetensors', backend: 'js' });
    expectClose(model.forward(c.calls[0]!.input).output, c.calls[0]!.expected, c.tolerance, 'from an ArrayBuffer');
    model.dispose();
  });
});

// ---------------------------------------------------------------- building files for the error cases

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}
type Header = Record<string, Entry | Record<string, string>>;

/** Header and data of a safetensors file. */
function parse(bytes: Uint8Array): { header: Header; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.slice(8 + n) };
}

/** A safetensors file from a header (any JSON text) and data. */
function build(header: Header | string, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const BYTES = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8 } as Record<string, number>;

/** A state dict of small F32 values (other dtypes zero-filled); `metadata` becomes __metadata__. */
function stateDict(tensors: Record<string, number[] | { shape: number[]; dtype: string }>, metadata?: Record<string, string>): Uint8Array {
  const header: Header = metadata ? { __metadata__: metadata } : {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const random = rng(7);
  for (const [name, t] of Object.entries(tensors)) {
    const { shape, dtype } = Array.isArray(t) ? { shape: t, dtype: 'F32' } : t;
    const count = shape.reduce((a, b) => a * b, 1);
    const chunk = new Uint8Array(count * BYTES[dtype]!);
    if (dtype === 'F32') new Float32Array(chunk.buffer).set(Array.from({ length: count }, () => random.uniform(-0.5, 0.5)));
    header[name] = { dtype, shape, data_offsets: [offset, offset + chunk.length] };
    chunks.push(chunk);
    offset += chunk.length;
  }
  const data = new Uint8Array(offset);
  chunks.reduce((at, c) => (data.set(c, at), at + c.length), 0);
  return build(header, data);
}

/** nn.LSTM(2, 3) as 'rnn' and nn.Linear(3, 4) as 'head'; EMB_TENSORS adds nn.Embedding(10, 2) as 'emb' before them. */
const LSTM_TENSORS = { 'rnn.weight_ih_l0': [12, 2], 'rnn.weight_hh_l0': [12, 3], 'rnn.bias_ih_l0': [12], 'rnn.bias_hh_l0': [12], 'head.weight': [4, 3], 'head.bias': [4] };
const LSTM_CONFIG: SafetensorsConfig = { layers: [{ module: 'rnn', lastStep: true }, { module: 'head' }] };
const EMB_TENSORS = { 'emb.weight': [10, 2], ...LSTM_TENSORS };
const EMB_CONFIG: SafetensorsConfig = { layers: [{ module: 'emb', embedding: true }, ...LSTM_CONFIG.layers] };

async function loadError(bytes: Uint8Array, config?: unknown, extra: LoadModelOptions = {}): Promise<LstmError> {
  try {
    const model = await loadModel(bytes, { backend: 'js', format: 'safetensors', ...(config === undefined ? {} : { config: config as SafetensorsConfig }), ...extra });
    model.dispose();
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(LstmError);
    return error as LstmError;
  }
  return expect.fail('expected loadModel to throw');
}

async function expectModelError(bytes: Uint8Array, config: unknown, ...parts: (string | RegExp)[]): Promise<void> {
  const error = await loadError(bytes, config);
  expect(error.code, error.message).toBe('ERR_LSTM_MODEL');
  for (const p of parts) expect(error.message).toMatch(p);
}

const loads = async (bytes: Uint8Array, config?: SafetensorsConfig) => {
  const model = await loadModel(bytes, { backend: 'js', format: 'safetensors', ...(config ? { config } : {}) });
  model.dispose();
  return model.layers.length;
};

describe('modules and config', () => {
  it('the synthetic base model loads (so each case below fails for its own change)', async () => {
    expect(await loads(stateDict(LSTM_TENSORS), LSTM_CONFIG)).toBe(2);
    expect(await loads(stateDict(EMB_TENSORS), EMB_CONFIG)).toBe(3);
  });

  it('embedding: true only on the first layer, without lastStep or activation (ERR_LSTM_CONFIG in options.config)', async () => {
    const bytes = stateDict({ ...EMB_TENSORS, 'proj.weight': [2, 2] });
    const cases: [unknown, RegExp][] = [
      [{ layers: [{ module: 'proj' }, { module: 'emb', embedding: true }, ...LSTM_CONFIG.layers] }, /layers\[1\]\.embedding: expected an nn\.Embedding only on layers\[0\].*got one on layers\[1\]/],
      [{ layers: [{ module: 'emb', embedding: 'yes' }, ...LSTM_CONFIG.layers] }, /layers\[0\]\.embedding: expected true or false, got "yes"/],
      [{ layers: [{ module: 'emb', embedding: true, lastStep: true }, ...LSTM_CONFIG.layers] }, /layers\[0\]\.lastStep: expected no lastStep on an nn\.Embedding.*got true/],
      [{ layers: [{ module: 'emb', embedding: true, activation: 'tanh' }, ...LSTM_CONFIG.layers] }, /layers\[0\]\.activation: expected no activation on an nn\.Embedding.*got "tanh"/],
    ];
    for (const [config, message] of cases) {
      const error = await loadError(bytes, config);
      expect(error.code, error.message).toBe('ERR_LSTM_CONFIG');
      expect(error.message).toMatch(message);
    }
    // The same config in the file makes a bad file.
    const inFile = stateDict(EMB_TENSORS, { lstm_runtime: JSON.stringify({ layers: [{ module: 'rnn', lastStep: true }, { module: 'emb', embedding: true }, { module: 'head' }] }) });
    await expectModelError(inFile, undefined, /__metadata__\.lstm_runtime\.layers\[1\]\.embedding: expected an nn\.Embedding only on layers\[0\]/);
  });

  it('embedding: true on a module that is not an nn.Embedding, or on a weight that is not [num_embeddings, dim]', async () => {
    await expectModelError(stateDict(EMB_TENSORS), { layers: [{ module: 'rnn', embedding: true }, { module: 'head' }], ignore: ['emb'] }, /module 'rnn'/, /layers\[0\]\.embedding: expected an nn\.Embedding/, /got 'rnn\.weight_ih_l0' of an nn\.LSTM\/nn\.GRU/);
    await expectModelError(stateDict(EMB_TENSORS), { layers: [{ module: 'head', embedding: true }], ignore: ['emb', 'rnn'] }, /module 'head'/, /whose only tensor is weight/, /got 'head\.bias'/);
    await expectModelError(stateDict({ ...EMB_TENSORS, 'emb.weight': [20] }), EMB_CONFIG, /module 'emb'/, /expected weight of shape \[num_embeddings, dim\], got \[20\]/);
    // Its dim is the next module's input size.
    await expectModelError(stateDict({ ...EMB_TENSORS, 'emb.weight': [10, 5] }), EMB_CONFIG, /'rnn\.weight_ih_l0'/, /input size 5 from module 'emb'/, /got \[12, 2\]/);
    // Without the mark, its weight alone is an nn.Linear (the summary names both).
    await expectModelError(stateDict(EMB_TENSORS), undefined, /'emb' \(nn\.Linear 2 -> 10 or nn\.Embedding\(10, 2\)\)/, /embedding: true/);
  });

  it('no config in the options or the file: says which modules the file holds and what config is expected', async () => {
    await expectModelError(fixture('lstm_classifier.safetensors'), undefined, /options\.config/, /__metadata__\.lstm_runtime/, /'rnn' \(nn\.LSTM, 2 layers\)/, /'head' \(nn\.Linear 5 -> 4\)/, /lastStep/);
  });

  it('a module the file does not hold', async () => {
    await expectModelError(stateDict(LSTM_TENSORS), { layers: [{ module: 'lstm' }, { module: 'head' }] }, /layers\[0\]\.module/, /'lstm'/, /'rnn' \(nn\.LSTM, 1 layer\)/);
    await expectModelError(stateDict({ 'enc.rnn.weight_ih_l0': [12, 2], 'enc.rnn.weight_hh_l0': [12, 3] }), { layers: [{ module: 'enc' }] }, /expected an nn\.LSTM, nn\.GRU, nn\.Linear, nn\.Conv1d, nn\.BatchNorm1d or nn\.LayerNorm/, /'enc'/, /'enc\.rnn'/);
  });

  it('the state dict of a bare nn.LSTM is module "" (its layer named by its kind, stacked ones by level too)', async () => {
    const one = { weight_ih_l0: [12, 2], weight_hh_l0: [12, 3], bias_ih_l0: [12], bias_hh_l0: [12] };
    expect(await loads(stateDict(one), { layers: [{ module: '' }] })).toBe(1);
    const names = async (tensors: Record<string, number[]>) => {
      const model = await loadModel(stateDict(tensors), { backend: 'js', config: { layers: [{ module: '' }] } });
      model.dispose();
      return model.layers.map((l) => l.name);
    };
    expect(await names(one)).toEqual(['lstm']);
    expect(await names({ ...one, weight_ih_l1: [12, 3], weight_hh_l1: [12, 3], bias_ih_l1: [12], bias_hh_l1: [12] })).toEqual(['lstm.l0', 'lstm.l1']);
    expect(await names({ weight: [4, 2], bias: [4] })).toEqual(['linear']);
  });

  it('malformed options.config: ERR_LSTM_CONFIG naming the field', async () => {
    const bytes = stateDict(LSTM_TENSORS);
    const cases: [unknown, RegExp][] = [
      [null, /options\.config: expected a config/],
      [{ layers: [] }, /options\.config\.layers: expected a non-empty array/],
      [{ layer: LSTM_CONFIG.layers }, /options\.config\.layer: expected one of the known fields/],
      [{ layers: [{ module: 'rnn', returnSequences: false }, { module: 'head' }] }, /options\.config\.layers\[0\]\.returnSequences: expected one of the known fields \(module, embedding, lastStep, activation, pool, kernelSize, stride, dilation, groups, padding, countIncludePad, epsilon\)/],
      [{ layers: [{ module: 'rnn', lastStep: 'yes' }, { module: 'head' }] }, /layers\[0\]\.lastStep: expected true or false, got "yes"/],
      [{ layers: [{ module: 'rnn', lastStep: true }, { module: 'head', activation: 'gelu' }] }, /layers\[1\]\.activation: expected 'softmax'.*got "gelu"/],
      [{ layers: [{ module: 3 }] }, /layers\[0\]\.module: expected a module name/],
      [{ layers: LSTM_CONFIG.layers, ignore: 'emb' }, /options\.config\.ignore: expected an array of module names/],
    ];
    for (const [config, message] of cases) {
      const error = await loadError(bytes, config);
      expect(error.code, error.message).toBe('ERR_LSTM_CONFIG');
      expect(error.message).toMatch(message);
    }
  });

  it('a malformed config in the file: ERR_LSTM_MODEL naming __metadata__.lstm_runtime', async () => {
    await expectModelError(stateDict(LSTM_TENSORS, { lstm_runtime: '{"layers": [' }), undefined, /__metadata__\.lstm_runtime: expected JSON, got text that does not parse/);
    await expectModelError(stateDict(LSTM_TENSORS, { lstm_runtime: JSON.stringify({ layers: [{ module: 'rnn', last: true }] }) }), undefined, /__metadata__\.lstm_runtime\.layers\[0\]\.last: expected one of the known fields/);
    expect(await loads(stateDict(LSTM_TENSORS, { lstm_runtime: JSON.stringify(LSTM_CONFIG) }))).toBe(2);
  });

  it('a field that does not fit the module it is on', async () => {
    const bytes = stateDict(LSTM_TENSORS);
    await expectModelError(bytes, { layers: [{ module: 'rnn', activation: 'relu' }, { module: 'head' }] }, /'rnn'/, /activation applies to an nn\.Linear/);
    await expectModelError(bytes, { layers: [{ module: 'rnn' }, { module: 'head', lastStep: true }] }, /'head'/, /lastStep applies to an nn\.LSTM\/nn\.GRU/);
  });

  it('a recurrent module after one that passed on only its last step', async () => {
    const bytes = stateDict({ ...LSTM_TENSORS, 'rnn2.weight_ih_l0': [12, 3], 'rnn2.weight_hh_l0': [12, 3] });
    await expectModelError(bytes, { layers: [{ module: 'rnn', lastStep: true }, { module: 'rnn2' }], ignore: ['head'] }, /'rnn2'/, /expected a sequence/, /'rnn' passes on only its last step/);
    expect(await loads(bytes, { layers: [{ module: 'rnn' }, { module: 'rnn2', lastStep: true }, { module: 'head' }] })).toBe(3);
  });

  it('sizes that do not chain between modules', async () => {
    await expectModelError(stateDict({ ...LSTM_TENSORS, 'head.weight': [4, 5] }), LSTM_CONFIG, /'head'/, /expected weight \[4, 3\]/, /3 features from module 'rnn'/, /got \[4, 5\]/);
    const bytes = stateDict({ ...LSTM_TENSORS, 'inp.weight': [3, 6] });
    await expectModelError(bytes, { layers: [{ module: 'inp' }, ...LSTM_CONFIG.layers] }, /'rnn\.weight_ih_l0'/, /expected shape \[12, 3\]/, /input size 3 from module 'inp'/, /got \[12, 2\]/);
  });

  it('tensors no layer uses, unless ignored on purpose (and ignore must name modules of the file)', async () => {
    const bytes = stateDict({ ...LSTM_TENSORS, 'emb.weight': [10, 2], 'bn.num_batches_tracked': { shape: [], dtype: 'I64' } });
    await expectModelError(bytes, LSTM_CONFIG, /tensors no layer uses: 'emb\.weight', 'bn\.num_batches_tracked'/, /ignore/);
    expect(await loads(bytes, { ...LSTM_CONFIG, ignore: ['emb', 'bn'] })).toBe(2);
    await expectModelError(bytes, { ...LSTM_CONFIG, ignore: ['emb', 'bn', 'embedding'] }, /ignore: expected modules of the file, got 'embedding'/);
    // A module left out of the layers is unused too.
    await expectModelError(stateDict(LSTM_TENSORS), { layers: [{ module: 'rnn', lastStep: true }] }, /tensors no layer uses: 'head\.weight', 'head\.bias'/);
  });

  it('missing, extra and mis-shaped tensors of a module', async () => {
    const without = (name: string) => Object.fromEntries(Object.entries(LSTM_TENSORS).filter(([n]) => n !== name));
    await expectModelError(stateDict(without('rnn.bias_hh_l0')), LSTM_CONFIG, /expected tensor 'rnn\.bias_hh_l0' \[12\]/, /missing/);
    await expectModelError(stateDict(without('rnn.weight_ih_l0')), LSTM_CONFIG, /weight_ih_l0/, /got none/);
    await expectModelError(stateDict(without('head.weight')), LSTM_CONFIG, /'head'/, /expected an nn\.LSTM, nn\.GRU, nn\.Linear, nn\.Conv1d/);
    await expectModelError(stateDict({ ...LSTM_TENSORS, 'rnn.bias_ih_l0': [11] }), LSTM_CONFIG, /'rnn\.bias_ih_l0': expected shape \[12\]/, /got \[11\]/);
    await expectModelError(stateDict({ ...LSTM_TENSORS, 'head.bias': [3] }), LSTM_CONFIG, /'head\.bias': expected shape \[4\]/);
    await expectModelError(stateDict({ ...LSTM_TENSORS, 'head.running_mean': [4] }), LSTM_CONFIG, /expected only nn\.Linear tensors/, /'head\.running_mean'/);
    await expectModelError(stateDict({ ...LSTM_TENSORS, 'rnn.weight_ih_l0_extra': [2] }), LSTM_CONFIG, /expected only nn\.LSTM\/nn\.GRU tensors/, /'rnn\.weight_ih_l0_extra'/);
    // A layer missing between two, a reverse direction on one layer only.
    const two = { 'rnn.weight_ih_l0': [12, 2], 'rnn.weight_hh_l0': [12, 3], 'rnn.weight_ih_l2': [12, 3], 'rnn.weight_hh_l2': [12, 3] };
    await expectModelError(stateDict(two), { layers: [{ module: 'rnn' }] }, /expected tensor 'rnn\.weight_ih_l1'/);
    const partial = { 'rnn.weight_ih_l0': [12, 2], 'rnn.weight_hh_l0': [12, 3], 'rnn.weight_ih_l0_reverse': [12, 2] };
    await expectModelError(stateDict(partial), { layers: [{ module: 'rnn' }] }, /expected tensor 'rnn\.weight_hh_l0_reverse'/);
  });

  it('cells it does not run: nn.LSTM with proj_size, nn.RNN, an unknown gate count', async () => {
    await expectModelError(fixture('lstm_proj.safetensors'), { layers: [{ module: 'rnn' }] }, /proj_size/, /'rnn\.weight_hr_l0'/, /not supported/);
    await expectModelError(stateDict({ 'rnn.weight_ih_l0': [3, 2], 'rnn.weight_hh_l0': [3, 3] }), { layers: [{ module: 'rnn' }] }, /1 gate blocks/, /nn\.RNN is not supported/);
    await expectModelError(stateDict({ 'rnn.weight_ih_l0': [6, 2], 'rnn.weight_hh_l0': [6, 3] }), { layers: [{ module: 'rnn' }] }, /2 gate blocks/, /expected 4 \(nn\.LSTM\) or 3 \(nn\.GRU\)/);
    await expectModelError(stateDict({ 'rnn.weight_ih_l0': [12, 2], 'rnn.weight_hh_l0': [12] }), { layers: [{ module: 'rnn' }] }, /weight_hh_l0 of shape \[gates \* hidden, hidden\], got \[12\]/);
  });

  it('dtypes: F32, F16, BF16, F64 are read; others are refused when used', async () => {
    const t = (dtype: string) => ({ ...LSTM_TENSORS, 'head.bias': { shape: [4], dtype } });
    for (const dtype of ['F32', 'F16', 'BF16', 'F64']) expect(await loads(stateDict(t(dtype)), LSTM_CONFIG)).toBe(2);
    await expectModelError(stateDict(t('I64')), LSTM_CONFIG, /'head\.bias': expected dtype F32, F16, BF16, F64, got I64/);
  });

  it('non-finite weights: ERR_LSTM_MODEL naming the layer', async () => {
    const bytes = stateDict(LSTM_TENSORS);
    const { header, data } = parse(bytes);
    const [begin] = (header['rnn.weight_hh_l0'] as Entry).data_offsets;
    new DataView(data.buffer).setFloat32(begin + 4 * 5, NaN, true);
    await expectModelError(build(header, data), LSTM_CONFIG, /layer 'rnn' \(lstm\)/, /finite/);
    const inf = parse(stateDict(LSTM_TENSORS));
    new DataView(inf.data.buffer).setFloat32((inf.header['head.weight'] as Entry).data_offsets[0], Infinity, true);
    await expectModelError(build(inf.header, inf.data), LSTM_CONFIG, /layer 'head' \(dense\)/, /finite/);
  });
});

describe('the file format', () => {
  const base = () => parse(stateDict(LSTM_TENSORS));
  const entry = (header: Header, name: string) => header[name] as Entry;

  it("is told from its bytes when the header length's first bytes read as JSON's '{' or whitespace", () => {
    const { header, data } = base();
    const text = JSON.stringify(header);
    // Lengths with low byte '{', and with low byte ' ' then '{' (31520, a multiple of 8 as the reference writer pads).
    for (const length of [text.length + ((0x7b - text.length) & 0xff), 0x7b20]) {
      const bytes = build(text.padEnd(length, ' '), data);
      expect(bytes.subarray(0, 2).some((b) => b === 0x7b)).toBe(true);
      expect(detectFormat(bytes)).toBe('safetensors');
    }
  });

  it('truncated files and header lengths past the end', async () => {
    const bytes = stateDict(LSTM_TENSORS);
    await expectModelError(bytes.subarray(0, bytes.length - 10), LSTM_CONFIG, /'head\.bias'/, /reach past the \d+ data bytes/, /truncated/);
    await expectModelError(bytes.subarray(0, 60), LSTM_CONFIG, /header length \d+ is larger than the 52 bytes after it/);
    await expectModelError(bytes.subarray(0, 5), LSTM_CONFIG, /expected an 8-byte header length, got a file of 5 bytes/);
    const { header, data } = base();
    await expectModelError(build(header, data, 2n ** 63n), LSTM_CONFIG, /header length 9223372036854775808 is larger/);
  });

  it('headers that are not a JSON object of well-formed entries', async () => {
    await expectModelError(build('{"rnn.weight": {"dtype": "F32",'), LSTM_CONFIG, /expected a JSON header of 31 bytes, got one that does not parse/);
    await expectModelError(build('[1, 2]'), LSTM_CONFIG, /expected a JSON object as the header, got \[1, 2\]/);
    const invalidUtf8 = build('{"a":1}');
    invalidUtf8[10] = 0xff;
    await expectModelError(invalidUtf8, LSTM_CONFIG, /does not parse/);
    const { header, data } = base();
    const variants: [(h: Header) => void, RegExp][] = [
      [(h) => (h.__metadata__ = { lstm_runtime: 3 } as never), /__metadata__ to map names to strings/],
      [(h) => (h['rnn.bias_ih_l0'] = [1] as never), /expected tensor 'rnn\.bias_ih_l0' to be \{ dtype, shape, data_offsets \}, got \[1\]/],
      [(h) => delete (entry(h, 'rnn.bias_ih_l0') as Partial<Entry>).dtype, /'rnn\.bias_ih_l0': expected a dtype string, got undefined/],
      [(h) => (entry(h, 'rnn.bias_ih_l0').shape = [12.5]), /'rnn\.bias_ih_l0': expected a shape of non-negative integers/],
      [(h) => (entry(h, 'rnn.bias_ih_l0').shape = [-12]), /expected a shape of non-negative integers/],
      [(h) => (entry(h, 'rnn.bias_ih_l0').data_offsets = [-1, 47] as never), /data_offsets \[begin, end\] with 0 <= begin <= end, got \[-1, 47\]/],
      [(h) => (entry(h, 'rnn.bias_ih_l0').data_offsets = [300, 252] as never), /0 <= begin <= end, got \[300, 252\]/],
      [(h) => (entry(h, 'rnn.bias_ih_l0').data_offsets = [0, 1e300] as never), /0 <= begin <= end/],
      [(h) => (entry(h, 'rnn.bias_ih_l0').shape = [13]), /'rnn\.bias_ih_l0': F32 shape \[13\] needs 52 bytes, data_offsets \[\d+, \d+\] hold 48/],
      [(h) => (entry(h, 'rnn.bias_ih_l0').shape = [2 ** 40, 2 ** 40]), /shape \[1099511627776, 1099511627776\] needs [\d.e+]+ bytes/],
    ];
    for (const [change, message] of variants) {
      const h = structuredClone(header);
      change(h);
      await expectModelError(build(h, data), LSTM_CONFIG, message);
    }
  });

  it('data offsets that overlap, leave gaps, or leave bytes over', async () => {
    const { header, data } = base();
    const overlap = structuredClone(header);
    const [b, e] = entry(overlap, 'rnn.bias_ih_l0').data_offsets;
    entry(overlap, 'rnn.bias_hh_l0').data_offsets = [b, e]; // two tensors on the same bytes
    await expectModelError(build(overlap, data), LSTM_CONFIG, /overlap/, /'rnn\.bias_ih_l0'|'rnn\.bias_hh_l0'/);

    // A gap: every tensor after the first moved 4 bytes on.
    const gap = structuredClone(header);
    const first = entry(gap, 'rnn.weight_ih_l0').data_offsets[1];
    for (const [name, t] of Object.entries(gap)) {
      if (name !== '__metadata__' && name !== 'rnn.weight_ih_l0') (t as Entry).data_offsets = (t as Entry).data_offsets.map((o) => o + 4) as [number, number];
    }
    const gapData = new Uint8Array(data.length + 4);
    gapData.set(data.subarray(0, first));
    gapData.set(data.subarray(first), first + 4);
    await expectModelError(build(gap, gapData), LSTM_CONFIG, new RegExp(`bytes \\[${first}, ${first + 4}\\) of the data belong to no tensor`));

    const over = new Uint8Array(data.length + 3);
    over.set(data);
    await expectModelError(build(header, over), LSTM_CONFIG, new RegExp(`the tensors cover ${data.length} data bytes, the file holds ${data.length + 3}`));
  });

  it('header padding with spaces (as the reference writer pads to 8 bytes) is accepted', async () => {
    const { header, data } = base();
    expect(await loads(build(JSON.stringify(header) + '     ', data), LSTM_CONFIG)).toBe(2);
  });

  it('random corruption of a real file throws LstmError or loads, never anything else', async () => {
    const original = fixture('bigru_tagger.safetensors');
    const headerEnd = 8 + Number(new DataView(original.buffer, original.byteOffset).getBigUint64(0, true));
    const random = rng(2024);
    let rejected = 0;
    for (let k = 0; k < 300; k++) {
      const bytes = original.slice();
      const flips = 1 + Math.floor(random.next() * 4);
      // Mostly the length and the header, where a flip changes structure rather than a weight.
      const span = k % 3 === 0 ? bytes.length : headerEnd;
      for (let f = 0; f < flips; f++) bytes[Math.floor(random.next() * span)] = Math.floor(random.next() * 256);
      try {
        const model = await loadModel(bytes, { backend: 'js', format: 'safetensors' });
        try {
          model.forward([[[0.1, 0.2, 0.3, 0.4]]]);
        } catch (error) {
          if (!(error instanceof LstmError)) throw error;
        }
        model.dispose();
      } catch (error) {
        expect(error, String(error)).toBeInstanceOf(LstmError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });
});
