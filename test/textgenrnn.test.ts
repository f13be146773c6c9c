// A real CuDNN-trained Keras 2 model (textgenrnn, ../shared/fixtures/models): its HDF5 weights
// loaded with weightLayout 'cudnn' give Keras' own next-character probabilities; skipping the
// per-gate kernel re-layout (the import trap) runs without error and gives what Keras gives for
// that mistake. Expected values: scripts/gen_textgenrnn_fixture.py (Keras 2's loader + predict).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dense, loadModel, Lstm, readKerasLayers, type KerasFileLayer, type Tensor } from '../lib/index.js';
import { expectClose, implementations, SHARED, sharedFor } from './helpers.js';

interface TextgenCase {
  name: string;
  input_ids: number[];
  expected: { probabilities: number[]; top5: [number, string, number][]; rnn_1_last_h: number[]; rnn_2_last_h: number[] };
  wrong_import_top1: [number, string, number];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/textgenrnn.json', import.meta.url), 'utf8')) as { cases: TextgenCase[] };
const IMPLEMENTATIONS = await implementations();

const HAVE_WEIGHTS = sharedFor("the textgenrnn tests (its CuDNNLSTM weights are in ../shared's fixtures)");

const WEIGHTS_FILE = `${SHARED}fixtures/models/keras_textgenrnn_cudnnlstm_weights/textgenrnn_weights.hdf5`;

async function readWeights() {
  await h5wasm.ready;
  const file = new h5wasm.File(WEIGHTS_FILE, 'r');
  const read = (path: string): Tensor => {
    const ds = file.get(path) as unknown as { value: Float32Array; shape: number[] };
    return { data: Float32Array.from(ds.value), shape: ds.shape };
  };
  const weights = {
    embedding: read('embedding/embedding/embeddings:0'),
    rnn: [1, 2].map((n) => ({
      kernel: read(`rnn_${n}/rnn_${n}/kernel:0`),
      recurrentKernel: read(`rnn_${n}/rnn_${n}/recurrent_kernel:0`),
      bias: read(`rnn_${n}/rnn_${n}/bias:0`),
    })),
    attention: read('attention/attention/attention_W:0'),
    output: { kernel: read('output/output/kernel:0'), bias: read('output/output/bias:0') },
  };
  file.close();
  return weights;
}
type Weights = Awaited<ReturnType<typeof readWeights>>;
const W = HAVE_WEIGHTS ? await readWeights() : (null as unknown as Weights);

/** textgenrnn: Embedding -> LSTM -> LSTM -> concat -> attention-weighted average -> Dense softmax. */
async function predict(ids: number[], backend: string, rnnWeights: (w: Weights['rnn'][number]) => object, weightLayout: 'cudnn' | 'keras', w: Weights = W) {
  const T = ids.length;
  const E = w.embedding.shape[1]!;
  const embedded = new Float32Array(T * E);
  ids.forEach((id, t) => embedded.set(w.embedding.data.subarray(id * E, (id + 1) * E), t * E));
  const rnn1 = await Lstm.create({ weights: rnnWeights(w.rnn[0]!) as never, weightLayout, returnSequences: true, backend });
  const rnn2 = await Lstm.create({ weights: rnnWeights(w.rnn[1]!) as never, weightLayout, returnSequences: true, backend });
  const y1 = rnn1.forward({ data: embedded, shape: [1, T, E] }).output;
  const y2 = rnn2.forward(y1).output;
  rnn1.dispose();
  rnn2.dispose();
  // concat [embedding, rnn_1, rnn_2] per step, then softmax-over-time attention (no tanh, no bias).
  const F = E + 2 * 128;
  const x = new Float64Array(T * F);
  for (let t = 0; t < T; t++) {
    x.set(embedded.subarray(t * E, (t + 1) * E), t * F);
    x.set(y1.data.subarray(t * 128, (t + 1) * 128), t * F + E);
    x.set(y2.data.subarray(t * 128, (t + 1) * 128), t * F + E + 128);
  }
  const logits = Array.from({ length: T }, (_, t) => x.subarray(t * F, (t + 1) * F).reduce((s, v, k) => s + v * w.attention.data[k]!, 0));
  const max = Math.max(...logits);
  const a = logits.map((l) => Math.exp(l - max));
  const sum = a.reduce((s, v) => s + v, 0) + 1e-7;
  const pooled = new Float32Array(F);
  for (let t = 0; t < T; t++) for (let k = 0; k < F; k++) pooled[k]! += (a[t]! / sum) * x[t * F + k]!;
  const dense = await Dense.create({ kernel: w.output.kernel, bias: w.output.bias, activation: 'softmax' });
  const probabilities = dense.forward({ data: pooled, shape: [1, F] }).output.data;
  return { probabilities, lastH: [y1.data.subarray((T - 1) * 128), y2.data.subarray((T - 1) * 128)] };
}
const top1 = (p: Float32Array) => p.indexOf(Math.max(...p));

describe.skipIf(!HAVE_WEIGHTS).each(IMPLEMENTATIONS)('textgenrnn (CuDNNLSTM weights, Keras 2.1.5) on %s', (backend) => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))("weightLayout 'cudnn' reproduces Keras for %s", async (_, c) => {
    const { probabilities, lastH } = await predict(c.input_ids, backend, (w) => w, 'cudnn');
    expectClose(lastH[0]!, c.expected.rnn_1_last_h, { abs: 1e-5, rel: 1e-5 }, 'rnn_1 last h');
    expectClose(lastH[1]!, c.expected.rnn_2_last_h, { abs: 1e-5, rel: 1e-5 }, 'rnn_2 last h');
    expectClose(probabilities, c.expected.probabilities, { abs: 1e-5, rel: 1e-4 }, 'next-character probabilities');
    expect(top1(probabilities)).toBe(c.expected.top5[0]![0]);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('summing the biases without the kernel re-layout gives the wrong answer Keras gives (%s)', async (_, c) => {
    const half = (b: Tensor) => b.data.slice(0, 512).map((v, i) => v + b.data[512 + i]!);
    const { probabilities } = await predict(c.input_ids, backend, (w) => ({ ...w, bias: half(w.bias) }), 'keras');
    expect(top1(probabilities)).toBe(c.wrong_import_top1[0]);
    expect(top1(probabilities)).not.toBe(c.expected.top5[0]![0]);
  });
});

// The published weights-only file through readKerasLayers, as a user would read it: the layers by
// their names (rnn_1 and rnn_2 told CuDNN's by their 8U biases and re-laid out to Keras' LSTM), the
// attention's weights as the file lists them.
describe.skipIf(!HAVE_WEIGHTS)('textgenrnn through readKerasLayers', async () => {
  const layers = HAVE_WEIGHTS ? await readKerasLayers(WEIGHTS_FILE) : [];
  const layer = <K extends KerasFileLayer['kind']>(name: string, kind: K) => {
    const found = layers.find((l) => l.name === name);
    expect(found?.kind, `layer ${name}`).toBe(kind);
    return found as Extract<KerasFileLayer, { kind: K }>;
  };

  it('gives every layer of layer_names by its name, what the weights show in its options', () => {
    expect(layers.map((l) => [l.name, l.kind])).toEqual([['input', 'other'], ['embedding', 'embedding'], ['rnn_1', 'lstm'], ['rnn_2', 'lstm'], ['rnn_concat', 'other'], ['attention', 'other'], ['output', 'dense']]);
    expect(layers.every((l) => l.className === undefined)).toBe(true);
    for (const name of ['rnn_1', 'rnn_2']) {
      const rnn = layer(name, 'lstm');
      expect(rnn.options).toEqual({ name, units: 128, useBias: true, weightLayout: 'keras' });
      expect(rnn.weights.bias!.shape).toEqual([512]);
    }
    const attention = layer('attention', 'other');
    expect(attention.weightNames).toEqual(['attention/attention_W:0']);
    expect(attention.weights[0]!.shape).toEqual([356, 1]);
  });

  it.each(IMPLEMENTATIONS)("reproduces Keras 2's states and probabilities on %s", async (backend) => {
    const rnn = ['rnn_1', 'rnn_2'].map((name) => layer(name, 'lstm').weights as Weights['rnn'][number]);
    const output = layer('output', 'dense').weights as Weights['output'];
    const weights: Weights = { embedding: layer('embedding', 'embedding').weights.embeddings, rnn, attention: layer('attention', 'other').weights[0]!, output };
    for (const c of fixture.cases) {
      const { probabilities, lastH } = await predict(c.input_ids, backend, (w) => w, 'keras', weights);
      expectClose(lastH[0]!, c.expected.rnn_1_last_h, { abs: 1e-5, rel: 1e-5 }, `${c.name} rnn_1 last h`);
      expectClose(lastH[1]!, c.expected.rnn_2_last_h, { abs: 1e-5, rel: 1e-5 }, `${c.name} rnn_2 last h`);
      expectClose(probabilities, c.expected.probabilities, { abs: 1e-5, rel: 1e-4 }, `${c.name} next-character probabilities`);
    }
  });
});

/** Writes the weights as Keras 2.1.5 wrote whole models. */
function writeModelFile(path: string): void {
  const out = new h5wasm.File(path, 'w');
  const layers = [
    { class_name: 'Embedding', config: { name: 'embedding', input_dim: 465, output_dim: 100, mask_zero: false, batch_input_shape: [null, 40] }, weights: { 'embeddings:0': W.embedding } },
    ...[1, 2].map((n) => ({ class_name: 'CuDNNLSTM', config: { name: `rnn_${n}`, units: 128, return_sequences: true }, weights: { 'kernel:0': W.rnn[n - 1]!.kernel, 'recurrent_kernel:0': W.rnn[n - 1]!.recurrentKernel, 'bias:0': W.rnn[n - 1]!.bias } })),
  ];
  out.create_attribute('keras_version', '2.1.5');
  out.create_attribute('backend', 'tensorflow');
  out.create_attribute('model_config', JSON.stringify({ class_name: 'Sequential', config: layers.map(({ class_name, config }) => ({ class_name, config })) }));
  const weights = out.create_group('model_weights');
  weights.create_attribute('layer_names', layers.map((l) => l.config.name));
  for (const layer of layers) {
    const group = weights.create_group(layer.config.name);
    const inner = group.create_group(layer.config.name);
    group.create_attribute('weight_names', Object.keys(layer.weights).map((w) => `${layer.config.name}/${w}`));
    for (const [name, t] of Object.entries(layer.weights)) inner.create_dataset({ name, data: t.data, shape: t.shape, dtype: '<f' });
  }
  out.close();
}

// The same weights as a Keras 2.1.5 model file (model_config, model_weights/<layer>/<layer>/<name>:0,
// as Keras 2 saved whole models): Embedding -> CuDNNLSTM -> CuDNNLSTM through loadModel gives
// Keras 2's rnn_2 states. Written to a temporary file at test time: the shared weights are not copied
// into the repository.
describe.skipIf(!HAVE_WEIGHTS)('textgenrnn as a Keras 2 model file through loadModel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lstm-runtime-textgenrnn-'));
  const path = join(dir, 'textgenrnn-sequential.h5');
  beforeAll(() => writeModelFile(path));

  it.each(IMPLEMENTATIONS)('the last step of rnn_2 equals Keras 2 on %s', async (backend) => {
    const model = await loadModel(path, { backend });
    try {
      expect(model.layers.map((l) => l.constructor.name)).toEqual(['Embedding', 'Lstm', 'Lstm']);
      for (const c of fixture.cases) {
        const y = model.forward([c.input_ids]).output;
        expect(y.shape).toEqual([1, 40, 128]);
        expectClose(y.data.subarray(39 * 128), c.expected.rnn_2_last_h, { abs: 1e-5, rel: 1e-5 }, `${c.name} rnn_2 last h`);
      }
    } finally {
      model.dispose();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
