// Layer names: every loaded layer keeps the name its file gives it (the names here are read from
// the files by the test itself: Keras' config.json / model_config / model.json topology, the ONNX
// graph's nodes, the safetensors config's modules), model.getLayer(name) finds it, and layers made
// in code take `name` or get Keras' defaults.
import { readdirSync, readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import { describe, expect, it } from 'vitest';
import { Bidirectional, Dense, Flatten, formatInspection, gateStats, Gru, inspectModel, Lstm, LstmError, RepeatVector, Sequential } from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { decode, encode, readModelProto, writeModelProto } from '../lib/load/onnx-proto.generated.js';

const DIR = new URL('./fixtures/models/', import.meta.url).pathname;
const backend = 'js'; // names do not depend on the backend; the fastest to build
const keras = JSON.parse(readFileSync(`${DIR}keras/golden.json`, 'utf8')) as Record<string, { formats: string[] }>;

type Model = Awaited<ReturnType<typeof loadModel>>;

/** The error a call throws (null if none). */
function thrown(call: () => unknown): unknown {
  try {
    call();
    return null;
  } catch (error) {
    return error;
  }
}

/** model.layers carry `names`, getLayer finds each, and an unknown name is refused listing them. */
function expectNames(model: Model, names: string[]) {
  expect(model.layers.map((l) => l.name)).toEqual(names);
  model.layers.forEach((layer, k) => expect(model.getLayer(names[k]!)).toBe(layer));
  const error = thrown(() => model.getLayer('no_such_layer'));
  expect(error).toBeInstanceOf(LstmError);
  expect((error as LstmError).code).toBe('ERR_LSTM_CONFIG');
  expect((error as LstmError).message).toContain('"no_such_layer"');
  for (const name of names) expect((error as LstmError).message).toContain(`'${name}'`);
}

// Keras layers that run as no layer of their own: inference no-ops, the Masking a model reads its
// input with, and an Activation, which joins the Dense before it.
const NOT_LAYERS = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'Masking', 'Activation']);

/** The names of a Keras model config's layers that become layers. */
function kerasNames(modelConfig: { config: unknown }): string[] {
  const c = modelConfig.config as { layers?: unknown } | unknown[];
  const layers = (Array.isArray(c) ? c : (c as { layers: unknown[] }).layers) as { class_name: string; config: { name: string } }[];
  return layers.filter((l) => !NOT_LAYERS.has(l.class_name)).map((l) => l.config.name);
}

async function h5ModelConfig(path: string): Promise<{ config: unknown }> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'r');
  try {
    return JSON.parse(String(file.attrs['model_config']!.value));
  } finally {
    file.close();
  }
}

async function withModel(path: string, check: (model: Model) => void | Promise<void>) {
  const model = await loadModel(path, { backend });
  try {
    await check(model);
  } finally {
    model.dispose();
  }
}

describe('Keras files keep their layer names', () => {
  for (const [name, { formats }] of Object.entries(keras)) {
    if (formats.includes('.keras')) {
      it(`${name}.keras: config.json's names`, async () => {
        const path = `${DIR}keras/${name}.keras`;
        const config = JSON.parse(new TextDecoder().decode(unzipSync(new Uint8Array(readFileSync(path)))['config.json']!));
        await withModel(path, (model) => expectNames(model, kerasNames(config)));
      });
    }
    if (formats.includes('.h5')) {
      it(`${name}.h5: model_config's names`, async () => {
        const path = `${DIR}keras/${name}.h5`;
        const config = await h5ModelConfig(path);
        await withModel(path, (model) => expectNames(model, kerasNames(config)));
      });
    }
  }

  const tfjsFolders = readdirSync(`${DIR}keras`).filter((f) => /\.tfjs/.test(f)).map((f) => `keras/${f}`);
  it.each([...tfjsFolders, 'tfjs-saved'])('%s: the model.json topology\'s names', async (folder) => {
    const path = `${DIR}${folder}/model.json`;
    const topology = JSON.parse(readFileSync(path, 'utf8')).modelTopology;
    await withModel(path, (model) => expectNames(model, kerasNames(topology.model_config ?? topology)));
  });

  it('a Bidirectional\'s directions: forward_ and backward_ before the wrapped layer\'s name', async () => {
    const path = `${DIR}keras/bidirectional_dropout.h5`;
    const config = await h5ModelConfig(path);
    const layers = (config.config as { layers: { class_name: string; config: { name: string; layer: { config: { name: string } } } }[] }).layers;
    const wrapped = layers.find((l) => l.class_name === 'Bidirectional')!;
    await withModel(path, (model) => {
      const layer = model.getLayer(wrapped.config.name) as Bidirectional;
      expect(layer).toBeInstanceOf(Bidirectional);
      expect([layer.forwardLayer.name, layer.backwardLayer.name]).toEqual([`forward_${wrapped.config.layer.config.name}`, `backward_${wrapped.config.layer.config.name}`]);
    });
  });
});

describe('where the library prints layers', () => {
  it("inspect and gateStats name each layer by the file's name", async () => {
    const path = `${DIR}keras/bidirectional_dropout.keras`;
    const names = kerasNames(JSON.parse(new TextDecoder().decode(unzipSync(new Uint8Array(readFileSync(path)))['config.json']!)));
    await withModel(path, (model) => {
      const text = formatInspection(inspectModel(model, { steps: 4, seed: 1 }));
      names.forEach((name, k) => expect(text).toContain(`  ${k}. '${name}' `));
      const { trace } = model.forward(inspectModel(model, { steps: 4, seed: 1 }).input, { trace: true });
      const stats = gateStats(trace!, { model });
      expect(stats.length).toBeGreaterThan(0);
      for (const s of stats) expect(s.layerName).toBe(names[s.layer]);
      // Without the model there is no layer to name.
      expect(gateStats(trace!).every((s) => s.layerName === undefined)).toBe(true);
    });
  });
});

const RECURRENT_OPS = new Set(['LSTM', 'GRU']);
const nodeLabel = (node: { name: string; opType: string; output: string[] }) => node.name || `${node.opType} -> ${node.output[0]}`;

describe('ONNX layers are named by their nodes', () => {
  const files = readdirSync(`${DIR}onnx`).filter((f) => f.endsWith('.onnx'));

  it.each(files)('%s', async (file) => {
    const bytes = new Uint8Array(readFileSync(`${DIR}onnx/${file}`));
    const nodes = decode(bytes, readModelProto).graph!.node;
    await withModel(`${DIR}onnx/${file}`, (model) => {
      const names = model.layers.map((l) => l.name);
      // The recurrent layers are the file's LSTM/GRU nodes in order; every other layer is one node of
      // the graph (an unnamed node, as some in gru_reverse.onnx: '<op> -> <its first output>').
      const recurrent = model.layers.filter((l) => l instanceof Lstm || l instanceof Gru || l instanceof Bidirectional).map((l) => l.name);
      expect(recurrent).toEqual(nodes.filter((n) => RECURRENT_OPS.has(n.opType)).map(nodeLabel));
      for (const name of names) expect(nodes.map(nodeLabel)).toContain(name);
      expectNames(model, names);
    });
  });

  it('a node without a name: "<op> -> <its first output>"', async () => {
    const proto = decode(new Uint8Array(readFileSync(`${DIR}onnx/bilstm_dense.onnx`)), readModelProto);
    for (const node of proto.graph!.node) node.name = '';
    const expected = proto.graph!.node.filter((n) => RECURRENT_OPS.has(n.opType)).map(nodeLabel);
    expect(expected[0]).toMatch(/^LSTM -> ./);
    const model = await loadModel(encode(proto, writeModelProto), { backend });
    try {
      const labels = proto.graph!.node.map(nodeLabel);
      expect(model.layers.map((l) => l.name).filter((n) => n.startsWith('LSTM'))).toEqual(expected);
      for (const layer of model.layers) expect(labels).toContain(layer.name);
      expectNames(model, model.layers.map((l) => l.name));
    } finally {
      model.dispose();
    }
  });
});

describe('safetensors layers are named by their modules', () => {
  const golden = JSON.parse(readFileSync(`${DIR}torch/golden.json`, 'utf8')).cases as { file: string; config?: { layers: { module: string }[] } }[];

  it.each(golden)('$file', async ({ file, config }) => {
    const bytes = new Uint8Array(readFileSync(`${DIR}torch/${file}`));
    const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
    const modules = (config ?? JSON.parse(header.__metadata__.lstm_runtime)).layers.map((l: { module: string }) => l.module) as string[];
    // A stacked nn.LSTM / nn.GRU (weight_ih_l1, ...) is one layer per level: '<module>.l0', '<module>.l1', ...
    const names = modules.flatMap((m) => {
      const levels = Object.keys(header).filter((t) => new RegExp(`^${m.replace(/\./g, '\\.')}\\.weight_ih_l\\d+$`).test(t)).length;
      return levels > 1 ? Array.from({ length: levels }, (_, k) => `${m}.l${k}`) : [m];
    });
    const model = await loadModel(bytes, { backend, ...(config && { config }) });
    try {
      expectNames(model, names);
    } finally {
      model.dispose();
    }
  });
});

describe('layers made in code', () => {
  const weights = { kernel: { data: new Float32Array(8), shape: [2, 4] }, recurrentKernel: { data: new Float32Array(4), shape: [1, 4] }, bias: new Float32Array(4) };
  const dense = { kernel: { data: new Float32Array(2), shape: [1, 2] } };

  it('take options.name', async () => {
    const lstm = await Lstm.create({ name: 'encoder', weights, backend });
    const head = await Dense.create({ name: 'head', ...dense });
    const flat = await Flatten.create({ name: 'flat' });
    expect([lstm.name, head.name, flat.name]).toEqual(['encoder', 'head', 'flat']);
    const model = await Sequential.create([lstm, head]);
    try {
      expectNames(model, ['encoder', 'head']);
    } finally {
      model.dispose();
    }
  });

  it("get Keras' defaults: the kind, then counted ('lstm', 'lstm_1', ...)", async () => {
    const next = (name: string) => {
      const [, kind, n] = /^(.*?)(?:_(\d+))?$/.exec(name)!;
      return `${kind}_${n === undefined ? 1 : Number(n) + 1}`;
    };
    const a = await Lstm.create({ weights, backend });
    const b = await Lstm.create({ weights, backend });
    expect(a.name).toMatch(/^lstm(_\d+)?$/);
    expect(b.name).toBe(next(a.name));
    const d = await Dense.create(dense);
    expect(d.name).toMatch(/^dense(_\d+)?$/);
    expect((await RepeatVector.create({ n: 2 })).name).toMatch(/^repeat_vector(_\d+)?$/);
    const bi = await Bidirectional.create({ layer: { weights, type: 'lstm', backend }, backwardWeights: weights });
    expect(bi.name).toMatch(/^bidirectional(_\d+)?$/);
    // Its wrapped layer is counted as an LSTM, then named per direction, as in Keras.
    const inner = next(b.name);
    expect([bi.forwardLayer.name, bi.backwardLayer.name]).toEqual([`forward_${inner}`, `backward_${inner}`]);
    for (const l of [a, b, bi]) l.dispose();
  });

  it('a name that is not a non-empty string is refused', async () => {
    for (const name of ['', 7, {}]) {
      const error = await Dense.create({ ...dense, name: name as string }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LstmError);
      expect((error as LstmError).code).toBe('ERR_LSTM_CONFIG');
      expect((error as LstmError).message).toMatch(/^options\.name: expected a non-empty string/);
    }
  });

  it('a Sequential refuses two layers of one name, as Keras does', async () => {
    const first = await Dense.create({ name: 'twice', kernel: { data: new Float32Array(4), shape: [2, 2] } });
    const second = await Dense.create({ name: 'twice', kernel: { data: new Float32Array(4), shape: [2, 2] } });
    const error = await Sequential.create([first, second]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LstmError);
    expect((error as LstmError).code).toBe('ERR_LSTM_CONFIG');
    expect((error as LstmError).message).toBe("layers[1].name: expected a name no other layer of the model has, got 'twice', the name of layers[0] too");
  });
});
