// loadModel on Keras-family files: the same small models as Keras 3 .keras, Keras .h5 and TF.js
// model.json (scripts/gen_keras_models.py, Keras' predictions), and a real TF.js model trained in
// Keras 2.1.5 (../shared), each against the framework that runs its format: Keras for .keras and
// .h5, TF.js for model.json (scripts/gen_tfjs_golden.mjs; TF.js' hard_sigmoid is 0.2x + 0.5).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LstmError, type Tensor } from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { expectClose, flat, implementations, SHARED, sharedFor, type Nested } from './helpers.js';

const DIR = new URL('./fixtures/models/', import.meta.url).pathname;
const keras = JSON.parse(readFileSync(`${DIR}keras/golden.json`, 'utf8')) as Record<string, { input: Nested; output: Nested; formats: string[] }>;
const tfjs = JSON.parse(readFileSync(`${DIR}tfjs-golden.json`, 'utf8')).models as Record<string, { input: Nested; output: number[]; shape: number[]; refused?: string }>;
const NIETZSCHE = `${SHARED}fixtures/models/tfjs_lstm_text_generation_nietzsche/`;
const HAVE_REAL_MODELS = sharedFor('the real Nietzsche (TF.js) and textgenrnn (Keras 2 weights) models of ../shared/fixtures');
const TOL = { abs: 1e-5, rel: 1e-5 };
const IMPLEMENTATIONS = await implementations();

async function expectModelError(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, 'an LstmError').toBeInstanceOf(LstmError);
  expect((error as LstmError).code).toBe('ERR_LSTM_MODEL');
  expect((error as LstmError).message).toMatch(message);
}

/**
 * A TF.js model of the fixtures as JSON to edit, its shards as `files`, and a way to load an
 * edited copy from bytes (so a test can vary the topology or manifest of a real model).
 */
function tfjsModel(name: string) {
  const folder = `${DIR}keras/${name}.tfjs/`;
  const json = JSON.parse(readFileSync(`${folder}model.json`, 'utf8'));
  const files = Object.fromEntries(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => [p, new Uint8Array(readFileSync(folder + p))]));
  const load = (edit: (j: typeof json) => void = () => {}) => {
    const copy = structuredClone(json);
    edit(copy);
    return loadModel(new TextEncoder().encode(JSON.stringify(copy)), { files });
  };
  return { json, files, load };
}

describe.each(IMPLEMENTATIONS)('loadModel on %s', (backend) => {
  for (const name of Object.keys(keras)) {
    it.each(keras[name]!.formats.filter((f) => f !== '.tfjs'))(`${name}%s matches Keras`, async (ext) => {
      const model = await loadModel(`${DIR}keras/${name}${ext}`, { backend });
      try {
        expectClose(model.forward(keras[name]!.input).output, keras[name]!.output, TOL, `${name}${ext}`);
      } finally {
        model.dispose();
      }
    });

    if (!keras[name]!.formats.includes('.tfjs')) continue;
    it(`${name}.tfjs matches TF.js`, async () => {
      const golden = tfjs[`keras/${name}.tfjs/model.json`]!;
      const model = await loadModel(`${DIR}keras/${name}.tfjs/model.json`, { backend });
      try {
        const { output } = model.forward(keras[name]!.input);
        // TF.js cannot run a GRU with reset_after (Keras' default since 2.3); Keras can, and we follow it.
        if (golden.refused) expectClose(output, keras[name]!.output, TOL, `${name}.tfjs (as Keras)`);
        else expectClose(output.data, golden.output, TOL, `${name}.tfjs`);
      } finally {
        model.dispose();
      }
    });
  }

  // Model files whose expected values TF.js itself computed (scripts/gen_tfjs_golden.mjs).
  it.each([
    ['a model.json with uint8, uint16 and float16 quantized weights', 'keras/options.tfjs-quantized/model.json', `${DIR}keras/options.tfjs-quantized/model.json`],
    ['a model saved by TF.js itself (masked through a Bidirectional, hard_sigmoid, goBackwards GRU)', 'tfjs-saved/model.json', `${DIR}tfjs-saved/model.json`],
    ...(HAVE_REAL_MODELS ? [["the real Nietzsche model (TF.js, Keras 2.1.5, hard_sigmoid): next-character probabilities", 'nietzsche', `${NIETZSCHE}model.json`]] : []),
  ] as [string, string, string][])('%s matches TF.js', async (_, key, path) => {
    const golden = tfjs[key]!;
    const model = await loadModel(path, { backend });
    try {
      const { output } = model.forward(golden.input);
      expect(output.shape).toEqual(golden.shape);
      expectClose(output.data, golden.output, TOL, key);
    } finally {
      model.dispose();
    }
  });

  it('a model.json converted from a Keras 3 .keras (weights named layers/<class key>/.../vars/<n>) matches Keras', async () => {
    const model = await loadModel(`${DIR}keras/bidirectional_dropout.tfjs-v3/model.json`, { backend });
    try {
      expectClose(model.forward(keras.bidirectional_dropout!.input).output, keras.bidirectional_dropout!.output, TOL, 'tfjs-v3');
    } finally {
      model.dispose();
    }
  });

});

describe('loadModel, Keras family', () => {
  it("reads hard_sigmoid as the writer meant it: the golden values of Keras 3 and TF.js differ for the 'options' model", () => {
    // options.tfjs holds the same weights as options.keras; only hard_sigmoid's meaning differs, so
    // passing both tests above needs the per-format definition.
    const a = flat(keras.options!.output);
    const b = tfjs['keras/options.tfjs/model.json']!.output;
    expect(Math.max(...a.map((v, k) => Math.abs(v - b[k]!)))).toBeGreaterThan(1e-4);
  });

  it('loads from bytes, TF.js shards from options.files, and tells the format from the bytes', async () => {
    const input = keras.lstm_gru_dense!.input;
    const expected = keras.lstm_gru_dense!.output;
    for (const ext of ['.keras', '.h5']) {
      const model = await loadModel(new Uint8Array(readFileSync(`${DIR}keras/lstm_gru_dense${ext}`)));
      expectClose(model.forward(input).output, expected, TOL, `bytes ${ext}`);
      model.dispose();
    }
    const folder = `${DIR}keras/lstm_gru_dense.tfjs/`;
    const json = readFileSync(`${folder}model.json`);
    const files = Object.fromEntries(['group1-shard1of1.bin', 'group2-shard1of1.bin', 'group3-shard1of1.bin'].map((f) => [f, new Uint8Array(readFileSync(folder + f))]));
    const model = await loadModel(json.buffer.slice(json.byteOffset, json.byteOffset + json.length), { files });
    expectClose(model.forward(input).output, expected, TOL, 'model.json bytes');
    model.dispose();
    await expectModelError(loadModel(new Uint8Array(json)), /needs the file 'group1-shard1of1\.bin'/);
  });

  it('reads a functional model that is a chain as Keras 2 and TF.js write it, and refuses one called on a layer it does not have', async () => {
    // The Sequential 'options' model rewritten as the functional config Keras 2 writes
    // (inbound_nodes [[[name, 0, 0, {}]]]): same layers, same weights, same result.
    const { json, load } = tfjsModel('options');
    const sequential = json.modelTopology.config.layers as { class_name: string; config: { name: string; batch_input_shape?: unknown } }[];
    const chain = [{ class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: sequential[0]!.config.batch_input_shape }, inbound_nodes: [] },
      ...sequential.map((l, k) => ({ ...l, name: l.config.name, inbound_nodes: [[[k === 0 ? 'in' : sequential[k - 1]!.config.name, 0, 0, {}]]] }))];
    const functional = (layers: unknown[]) =>
      load((j) => (j.modelTopology = { class_name: 'Model', config: { name: 'm', layers, input_layers: [['in', 0, 0]], output_layers: [[sequential[2]!.config.name, 0, 0]] } }));
    const model = await functional([chain[0], chain[3], chain[1], chain[2]]); // listed out of order
    expectClose(model.forward(keras.options!.input).output.data, tfjs['keras/options.tfjs/model.json']!.output, TOL, 'functional');
    model.dispose();
    const dangling = structuredClone(chain);
    dangling[3]!.inbound_nodes = [[['nowhere', 0, 0, {}]]];
    await expectModelError(functional(dangling), /inbound layer 'nowhere', which is not among them/);
  });

  it('passes backend, threads and weightPrecision to every recurrent layer, and checks its options', async () => {
    const { input, output } = keras.bidirectional_dropout!;
    const int8 = await loadModel(`${DIR}keras/bidirectional_dropout.h5`, { weightPrecision: 'int8' });
    expectClose(int8.forward(input).output, output, { abs: 1e-2, rel: 0 }, 'int8 (SPEC: within 1e-2)');
    int8.dispose();
    if (IMPLEMENTATIONS.includes('native/avx2') || IMPLEMENTATIONS.includes('native/scalar')) {
      const threaded = await loadModel(`${DIR}keras/bidirectional_dropout.h5`, { backend: 'native', threads: 2 });
      expectClose(threaded.forward(input).output, output, TOL, 'threads: 2');
      threaded.dispose();
    }
    const js = await loadModel(`${DIR}keras/options.keras`, { backend: 'js' });
    expect(js.layers.map((l) => ('backend' in l ? l.backend : 'dense'))).toEqual(['js', 'js', 'dense']);
    js.dispose();
    await expect(loadModel(`${DIR}keras/options.keras`, { shape: [1] } as never)).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expect(loadModel(`${DIR}keras/options.keras`, { format: 'pb' } as never)).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
    await expectModelError(loadModel(`${DIR}keras/no-such-model.keras`), /could not be read/);
  });

  it('Masking: steps whose features all equal mask_value are skipped; an explicit mask takes its place; it must come first', async () => {
    const { input, output } = keras.masking!;
    const model = await loadModel(`${DIR}keras/masking.keras`);
    expect(model.maskValue).toBe(0);
    expectClose(model.forward(input).output, output, TOL, 'masked by value');
    // A mask given to forward replaces the computed one: all ones is running without Masking.
    const unmasked = model.forward(input, { mask: new Uint8Array(21).fill(1) }).output;
    expect(Math.max(...flat(output).map((v, k) => Math.abs(v - unmasked.data[k]!)))).toBeGreaterThan(1e-3);
    expect(() => model.stream(3)).toThrow(/maskValue/);
    model.dispose();
    const swapped = tfjsModel('masking').load((j) => {
      const layers = j.modelTopology.config.layers;
      [layers[0], layers[1]] = [layers[1], layers[0]];
    });
    await expectModelError(swapped, /expected it first in the model \(it says how the model reads its input\)/);
  });

  it('loads from file: URLs (a URL or its text), TF.js shards beside them; options.files must hold bytes', async () => {
    const expected = keras.options!.output;
    for (const source of [new URL('./fixtures/models/keras/options.keras', import.meta.url), new URL('./fixtures/models/keras/options.tfjs/model.json', import.meta.url).href]) {
      const model = await loadModel(source);
      const golden = typeof source === 'string' ? tfjs['keras/options.tfjs/model.json']!.output : flat(expected);
      expectClose(model.forward(keras.options!.input).output.data, golden, TOL, String(source));
      model.dispose();
    }
    await expect(loadModel(`${DIR}keras/options.keras`, { files: { 'w.bin': 244 } as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/options\.files\['w\.bin'\]: expected a Uint8Array or ArrayBuffer, got 244/) });
    await expect(loadModel(`${DIR}keras/options.keras`, { files: 'w.bin' as never })).rejects.toMatchObject({ code: 'ERR_LSTM_CONFIG' });
  });

  it('streams a loaded model step by step with the same result as forward', async () => {
    const model = await loadModel(`${DIR}keras/lstm_gru_dense.keras`);
    const input = keras.lstm_gru_dense!.input as number[][][];
    const stream = model.stream(input.length);
    const full = model.forward(input).output;
    const T = input[0]!.length;
    for (let t = 0; t < T; t++) {
      const step = stream.step(input.map((row) => row[t]!));
      for (let b = 0; b < input.length; b++) {
        for (let j = 0; j < 4; j++) expect(step.data[b * 4 + j]).toBeCloseTo(full.data[(b * T + t) * 4 + j]!, 6);
      }
    }
    stream.dispose();
    model.dispose();
  });

  it.skipIf(!HAVE_REAL_MODELS)("refuses a weights-only file (textgenrnn's save_weights) with ERR_LSTM_MODEL saying so", async () => {
    await expectModelError(
      loadModel(`${SHARED}fixtures/models/keras_textgenrnn_cudnnlstm_weights/textgenrnn_weights.hdf5`),
      /weights only \(save_weights\)/,
    );
  });

  it('rejects damaged and unsupported files with ERR_LSTM_MODEL', async () => {
    const h5 = readFileSync(`${DIR}keras/options.h5`);
    const zip = readFileSync(`${DIR}keras/options.keras`);
    await expectModelError(loadModel(new Uint8Array(h5.subarray(0, 3000)), { format: 'h5' }), /HDF5|model_config|could not be read/);
    await expectModelError(loadModel(new Uint8Array(zip.subarray(0, 2000))), /unzip|expected/);
    await expectModelError(loadModel(Uint8Array.from({ length: 4096 }, (_, k) => (k * 7919 + 13) & 0xff)), /none of these formats/);

    // model.json variations, written to bytes with the real shards beside them.
    const { json, load: variant } = tfjsModel('options');
    await expectModelError(variant((j) => (j.modelTopology.config.layers[2].class_name = 'Conv2D')), /unsupported layer/);
    await expectModelError(variant((j) => (j.modelTopology.config.layers[1].config.activation = 'gelu')), /got activation "gelu"/);
    await expectModelError(variant((j) => (j.modelTopology.class_name = 'Subclassed')), /expected a Sequential or functional model, got a 'Subclassed'/);
    await expectModelError(variant((j) => (j.modelTopology.config.layers[1].config.output_dim = 4)), /a Keras 1 one \(output_dim\)/);
    await expectModelError(variant((j) => j.modelTopology.config.layers.splice(2, 0, { class_name: 'Activation', config: { name: 'a', activation: 'relu' } })), /right after a Dense/);
    await expectModelError(variant((j) => (j.weightsManifest[0].weights[0].shape = [40, 18])), /expected \d+ bytes/);
    await expectModelError(variant((j) => j.weightsManifest[0].weights.pop()), /expected \d+ bytes for their weights/);
    await expectModelError(variant((j) => (j.weightsManifest[0].weights[0].shape = [18, 3])), /layer 'gru_2' \(gru\)/);
    await expectModelError(loadModel(new TextEncoder().encode('{"modelTopology": 1')), /model\.json: expected JSON, got text that does not parse/);
    await expectModelError(variant((j) => (j.modelTopology.config.layers[1].config.return_sequences = 1)), /return_sequences: expected true or false, got 1/);
    await expectModelError(variant((j) => (j.modelTopology.config.layers[0] = { class_name: 'TimeDistributed', config: { name: 't', layer: null } })), /'t' \(TimeDistributed\)\.layer: expected a layer as \{ class_name, config \}, got null/);

    // A Bidirectional whose backward_layer is configured unlike its forward layer.
    const unlikeBackward = tfjsModel('bidirectional_dropout').load((j) => {
      const forward = j.modelTopology.config.layers[0].config.layer;
      j.modelTopology.config.layers[0].config.backward_layer = { ...forward, config: { ...forward.config, recurrent_activation: 'hard_sigmoid' } };
    });
    await expectModelError(unlikeBackward, /expected backward_layer configured as the forward one, got recurrentActivation \{"name":"hard_sigmoid"/);

    // A functional config with two layers of one name, one reading the other: refused, not walked forever.
    const chain = [
      { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 5, 3] }, inbound_nodes: [] },
      { ...json.modelTopology.config.layers[0], inbound_nodes: [[['in', 0, 0, {}]]] },
      { ...json.modelTopology.config.layers[0], inbound_nodes: [[[json.modelTopology.config.layers[0].config.name, 0, 0, {}]]] },
    ];
    await expectModelError(variant((j) => (j.modelTopology = { class_name: 'Model', config: { name: 'm', layers: chain } })), /distinct names.*twice/);
  });
});

// Kept apart so a reader that returns the wrong layer count fails loudly, not as a shape mismatch.
it('a loaded model has the layers its file describes', async () => {
  const model = await loadModel(`${DIR}keras/bidirectional_dropout.keras`);
  expect(model.layers.map((l) => l.constructor.name)).toEqual(['Bidirectional', 'Bidirectional', 'Dense']);
  const out = model.forward(keras.bidirectional_dropout!.input).output as Tensor;
  expect(out.shape).toEqual([3, 3]);
  model.dispose();
});
