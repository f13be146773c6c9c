// Graphs, not only chains: Keras 3 functional models with two inputs, every merge op, a layer's
// output taken by several layers, shared layers, two outputs, masks (Embedding, Masking) through
// merges, Bidirectional layers, an Activation joined to its Dense (scripts/gen-graph-fixtures.py:
// Keras 3's predictions), loaded from .keras, .h5 (Keras 3's config and Keras 2's) and TF.js
// model.json, on every backend; Model.create, custom layers, stream() and refusals; textgenrnn's
// whole model (examples/textgenrnn.mjs) against Keras.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Dense, Gru, loadModel, LstmError, Merge, Model, Sequential, type CustomLayer, type Tensor } from '../lib/index.js';
import { expectClose, implementations, SHARED, sharedFor, type Nested } from './helpers.js';

const DIR = new URL('./fixtures/graph/', import.meta.url).pathname;
interface GraphCase {
  inputs: Record<string, Nested>;
  input_order: string[];
  outputs: Record<string, Nested>;
  output_layers: string[];
}
const fixture = JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as { models: Record<string, GraphCase>; chains: Record<string, GraphCase>; custom: Record<string, GraphCase>; tolerance: { abs: number; rel: number } };
const TOL = fixture.tolerance; // 1e-5 abs + 1e-5 rel
const IMPLEMENTATIONS = await implementations();
const FORMATS = ['.keras', '.h5', '-keras2.h5', '.tfjs/model.json'];
const RECURRENT: Record<string, string[]> = { merges: ['lstm_a', 'gru_b', 'summary'], masked_ids: ['lstm', 'gru', 'last'], activation: ['gru'], bidirectional: ['bi_lstm', 'gru', 'bi_gru'], masking: ['lstm', 'gru', 'last'], siamese: ['encoder', 'encoder#1'] };

async function loadGraph(file: string, options: Parameters<typeof loadModel>[1] = {}): Promise<Model> {
  const model = await loadModel(file, options);
  expect(model).toBeInstanceOf(Model);
  return model as Model;
}

async function expectError(run: Promise<unknown> | (() => unknown), code: string, message: RegExp) {
  const error = typeof run === 'function' ? (() => { try { run(); return null; } catch (e) { return e; } })() : await run.then(() => null, (e: unknown) => e);
  expect(error, 'an LstmError').toBeInstanceOf(LstmError);
  expect((error as LstmError).code).toBe(code);
  expect((error as LstmError).message).toMatch(message);
}

/** A TF.js fixture's model.json to edit, loaded from bytes with its shards. */
function tfjs(name: string, edit: (layers: { class_name: string; name: string; config: Record<string, unknown>; inbound_nodes: unknown[][][] }[]) => void, options: Parameters<typeof loadModel>[1] = {}) {
  const folder = `${DIR}${name}.tfjs/`;
  const json = JSON.parse(readFileSync(`${folder}model.json`, 'utf8'));
  const files = Object.fromEntries(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => [p, new Uint8Array(readFileSync(folder + p))]));
  edit(json.modelTopology.config.layers);
  return loadModel(new TextEncoder().encode(JSON.stringify(json)), { files, ...options });
}

describe.each(IMPLEMENTATIONS)('graphs on %s', (backend) => {
  describe.each(Object.keys(fixture.models))('%s', (name) => {
    const c = fixture.models[name]!;
    it.each(FORMATS)(`from ${name}%s: outputs by name as Keras gives them, inputs by name or position`, async (format) => {
      const model = await loadGraph(`${DIR}${name}${format}`, { backend });
      try {
        expect(model.inputNames).toEqual(c.input_order);
        expect(model.outputNames).toEqual(c.output_layers);
        const byName = model.forward(c.inputs, { trace: true });
        for (const out of c.output_layers) expectClose(byName.outputs[out]!, c.outputs[out]!, TOL, `${format} ${out}`);
        expect(byName.output).toBe(byName.outputs[c.output_layers[0]!]);
        // One trace per recurrent layer, by its name.
        expect(Object.keys(byName.trace!).sort()).toEqual([...RECURRENT[name]!].sort());
        const byPosition = c.input_order.length === 1 ? model.forward(c.inputs[c.input_order[0]!]!) : model.forward(c.input_order.map((n) => c.inputs[n]!));
        const async = await model.forwardAsync(c.inputs);
        for (const out of c.output_layers) {
          expect(byPosition.outputs[out]!.data).toEqual(byName.outputs[out]!.data);
          expect(async.outputs[out]!.data).toEqual(byName.outputs[out]!.data);
        }
        for (const layer of RECURRENT[name]!) expect(model.getLayer(layer).name).toBe(layer.split('#')[0]); // a shared layer's later calls: 'encoder#1'
      } finally {
        model.dispose();
      }
    });
  });

  it.each(FORMATS)('a chain in Keras 3 functional form with its mask layers (masked_chain%s) still loads as a Sequential', async (format) => {
    const c = fixture.chains.masked_chain!;
    const model = await loadModel(`${DIR}masked_chain${format}`, { backend });
    try {
      expect(model).toBeInstanceOf(Sequential);
      expect((model as Sequential).layers.map((l) => l.name)).toEqual(['emb', 'lstm', 'out']);
      expectClose(model.forward(c.inputs.ids!).output, c.outputs.out!, TOL, format);
    } finally {
      model.dispose();
    }
  });

  it('streams a graph whose every path is causal, step by step as forward gives it', async () => {
    const c = fixture.models.merges!;
    const model = await loadGraph(`${DIR}merges.keras`, { backend });
    try {
      const whole = model.forward(c.inputs);
      const stream = model.stream(2);
      const [a, b] = [c.inputs.a as number[][][], c.inputs.b as number[][][]];
      const T = a[0]!.length;
      let last: Record<string, Tensor> = {};
      for (let t = 0; t < T; t++) {
        const { outputs } = stream.step({ a: a.map((row) => row[t]!), b: b.map((row) => row[t]!) });
        const perStep = whole.outputs.per_step!;
        const expected = [0, 1].flatMap((row) => Array.from(perStep.data.subarray((row * T + t) * 2, (row * T + t) * 2 + 2)));
        expectClose(outputs.per_step!.data, expected, { abs: 1e-6, rel: 1e-6 }, `per_step at step ${t}`);
        last = outputs;
      }
      expectClose(last.summary!.data, whole.outputs.summary!.data, { abs: 1e-6, rel: 1e-6 }, 'summary after the last step');
      stream.dispose();
    } finally {
      model.dispose();
    }
  });
});

describe('Model.create', () => {
  it('builds a graph from layers: a layer taken twice, a merge of an input, nodes in any order', async () => {
    const dense = await Dense.create({ name: 'd', kernel: { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] }, activation: 'linear' });
    const model = await Model.create({
      inputs: ['x'],
      outputs: ['sum', 'd'],
      nodes: [
        { layer: await Merge.create({ op: 'add', name: 'sum' }), inputs: ['x', 'd', 'd'] },
        { layer: dense, inputs: 'x' },
      ],
    });
    // d = x.K = [1*1 + 1*3, 1*2 + 1*4] = [4, 6]; sum = x + 2d.
    const r = model.forward({ x: [[1, 1]] });
    expect(Array.from(r.outputs.d!.data)).toEqual([4, 6]);
    expect(Array.from(r.output.data)).toEqual([9, 13]);
    expect(model.layers.map((l) => l.name)).toEqual(['d', 'sum']);
  });

  it("streams through a custom layer's step, and refuses one without it", async () => {
    const double: CustomLayer = {
      name: 'double',
      forward: (x) => ({ data: (x as Tensor).data.map((v) => 2 * v), shape: (x as Tensor).shape }),
      step: (x) => ({ data: (x as Tensor).data.map((v) => 2 * v), shape: (x as Tensor).shape }),
    };
    const gru = await Gru.create({ name: 'gru', weights: { kernel: { data: Float32Array.from([0.5, -0.3, 0.2]), shape: [1, 3] }, recurrentKernel: { data: Float32Array.from([0.1, 0.4, -0.2]), shape: [1, 3] } }, useBias: false, returnSequences: true, backend: 'js' });
    const graph = { inputs: ['x'], outputs: ['sum'], nodes: [{ layer: double, inputs: 'x' }, { layer: gru, inputs: 'double' }, { layer: await Merge.create({ op: 'add', name: 'sum' }), inputs: ['gru', 'double'] }] };
    const model = await Model.create(graph);
    const x = [[[1], [-2], [0.5]]];
    const whole = model.forward(x).output.data;
    const stream = model.stream(1);
    const steps = x[0]!.map((step) => stream.step([step]).output.data[0]!); // [batch 1, 1 feature]
    expectClose(Float32Array.from(steps), whole, { abs: 1e-6, rel: 1e-6 }, 'stepped');
    stream.dispose();
    const noStep = await Model.create({ ...graph, nodes: [{ layer: { name: 'double', forward: double.forward }, inputs: 'x' }, graph.nodes[1]!, graph.nodes[2]!] });
    await expectError(() => noStep.stream(), 'ERR_LSTM_UNSUPPORTED', /layer 'double' \(custom layer\) has no step\(input\)/);
    gru.dispose();
  });

  it('a concatenation along time joins the masks of its inputs, as Keras does', async () => {
    const gru = await Gru.create({ name: 'gru', weights: { kernel: { data: Float32Array.from([0.5, -0.3, 0.2]), shape: [1, 3] }, recurrentKernel: { data: Float32Array.from([0.1, 0.4, -0.2]), shape: [1, 3] } }, useBias: false, returnSequences: true, backend: 'js' });
    const model = await Model.create({ inputs: ['a', 'b'], outputs: ['gru'], nodes: [{ layer: await Merge.create({ op: 'concatenate', axis: 1, name: 'steps' }), inputs: ['a', 'b'] }, { layer: gru, inputs: 'steps' }] });
    const [a, b] = [[[[1], [2]]], [[[-1], [0.5]]]];
    const r = model.forward([a, b], { mask: [[1, 0]] });
    const direct = gru.forward([[[1], [2], [-1], [0.5]]], { mask: [[1, 0, 1, 0]] }).output;
    expect(Array.from(r.output.data)).toEqual(Array.from(direct.data));
    model.dispose();
  });

  it('computes every merge op as Keras does, a concatenation along any axis', async () => {
    const x = { data: Float32Array.from([1, -2, 3, 4]), shape: [1, 2, 2] };
    const y = { data: Float32Array.from([2, 5, -1, 0]), shape: [1, 2, 2] };
    const run = async (op: 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'concatenate', axis?: number) => Array.from((await Merge.create({ op, ...(axis !== undefined && { axis }) })).forward([x, y]).output.data);
    expect(await run('add')).toEqual([3, 3, 2, 4]);
    expect(await run('subtract')).toEqual([-1, -7, 4, 4]);
    expect(await run('multiply')).toEqual([2, -10, -3, 0]);
    expect(await run('average')).toEqual([1.5, 1.5, 1, 2]);
    expect(await run('maximum')).toEqual([2, 5, 3, 4]);
    expect(await run('concatenate')).toEqual([1, -2, 2, 5, 3, 4, -1, 0]);
    expect(await run('concatenate', 1)).toEqual([1, -2, 3, 4, 2, 5, -1, 0]);
    const merge = await Merge.create({ op: 'add', name: 'm' });
    expect(() => merge.forward([x, { data: new Float32Array(6), shape: [1, 2, 3] }])).toThrow(/m input 1: expected the shape of input 0, \[1, 2, 2\], got shape \[1, 2, 3\]/);
    await expectError(Merge.create({ op: 'divide' as never }), 'ERR_LSTM_CONFIG', /options\.op: expected 'concatenate'/);
  });

  it('refuses a cycle, an unknown name, a name used twice and the wrong number of inputs', async () => {
    const dense = () => Dense.create({ kernel: { data: new Float32Array(4), shape: [2, 2] } });
    const [a, b] = [await dense(), await dense()];
    await expectError(Model.create({ inputs: ['x'], outputs: ['a'], nodes: [{ layer: a, name: 'a', inputs: 'b' }, { layer: b, name: 'b', inputs: 'a' }] }), 'ERR_LSTM_CONFIG', /a cycle through 'a', 'b'/);
    await expectError(Model.create({ inputs: ['x'], outputs: ['a'], nodes: [{ layer: a, name: 'a', inputs: 'y' }] }), 'ERR_LSTM_CONFIG', /node 'a' inputs: expected names of inputs or nodes \('x', 'a'\), got 'y'/);
    await expectError(Model.create({ inputs: ['x'], outputs: ['x'], nodes: [{ layer: a, name: 'x', inputs: 'x' }] }), 'ERR_LSTM_CONFIG', /'x', the name of an input too/);
    await expectError(Model.create({ inputs: ['x'], outputs: ['a'], nodes: [{ layer: a, name: 'a', inputs: ['x', 'x'] }] }), 'ERR_LSTM_CONFIG', /expected one tensor for 'a' \(Dense\), got 2/);
    await expectError(Model.create({ inputs: ['x'], outputs: ['m'], nodes: [{ layer: await Merge.create({ op: 'subtract', name: 'm' }), inputs: ['x'] }] }), 'ERR_LSTM_CONFIG', /expected two tensors/);
    const stateful = await Gru.create({ name: 'g', units: 2, weights: { kernel: { data: new Float32Array(12), shape: [2, 6] }, recurrentKernel: { data: new Float32Array(12), shape: [2, 6] } }, useBias: false, stateful: true, backend: 'js' });
    await expectError(Model.create({ inputs: ['x'], outputs: ['g', 'h'], nodes: [{ layer: stateful, inputs: 'x' }, { layer: stateful, name: 'h', inputs: 'x' }] }), 'ERR_LSTM_CONFIG', /node 'h': expected a stateful layer in one node only/);
    stateful.dispose();
    const wide = await Dense.create({ name: 'wide', kernel: { data: new Float32Array(6), shape: [2, 3] } });
    await expectError(Model.create({ inputs: ['x'], outputs: ['b'], nodes: [{ layer: wide, inputs: 'x' }, { layer: b, name: 'b', inputs: 'wide' }] }), 'ERR_LSTM_CONFIG', /node 'b' \(Dense\): expected input size 2, got 'wide', which passes on 3 features per step/);
    await expectError(Model.create({ inputs: ['x'], outputs: ['m'], nodes: [{ layer: wide, inputs: 'x' }, { layer: a, name: 'a', inputs: 'x' }, { layer: await Merge.create({ op: 'add', name: 'm' }), inputs: ['a', 'wide'] }] }), 'ERR_LSTM_CONFIG', /node 'm' \(add\): expected inputs of one size, got sizes 2 \('a'\), 3 \('wide'\)/);
    await expectError(Model.create({ inputs: ['x'], outputs: ['c'], nodes: [{ layer: { forward: () => ({ data: new Float32Array(1), shape: [1] }) } as CustomLayer, inputs: 'x' }] }), 'ERR_LSTM_CONFIG', /name: expected a name/);
    a.dispose();
    b.dispose();
  });
});

describe('Model inputs and refusals', () => {
  it('refuses the wrong number of inputs, an unknown name, a missing one and a wrong shape, naming the layer', async () => {
    const c = fixture.models.merges!;
    const model = await loadGraph(`${DIR}merges.keras`, { backend: 'js' });
    try {
      await expectError(() => model.forward([c.inputs.a!]), 'ERR_LSTM_INPUT', /inputs: expected 2 tensors as an array \('a', 'b'\) or an object by those names, got 1 tensors/);
      await expectError(() => model.forward({ a: c.inputs.a!, c: c.inputs.b! }), 'ERR_LSTM_INPUT', /expected the model's input names \('a', 'b'\), got 'c'/);
      await expectError(() => model.forward({ a: c.inputs.a! }), 'ERR_LSTM_INPUT', /inputs\.b: expected a tensor, got nothing/);
      await expectError(() => model.forward({ a: c.inputs.b!, b: c.inputs.b! }), 'ERR_LSTM_SHAPE', /^layer 'lstm_a' \(Lstm\): .*input/);
      // Two batches that do not agree meet at the first merge.
      await expectError(() => model.forward({ a: c.inputs.a!, b: (c.inputs.b as Nested[]).slice(0, 1) }), 'ERR_LSTM_SHAPE', /^layer 'add' \(Merge\): add input 1: expected the shape of input 0, \[2, 5, 4\], got shape \[1, 5, 4\]/);
      await expectError(() => model.getLayer('nope'), 'ERR_LSTM_CONFIG', /getLayer\(name\): expected the name of one of the model's layers \('lstm_a', 'gru_b'/);
    } finally {
      model.dispose();
    }
  });

  it("takes a mask for every input: the ids' own mask given gives Keras' output, another mask another", async () => {
    const c = fixture.models.masked_ids!;
    const model = await loadGraph(`${DIR}masked_ids.keras`, { backend: 'js' });
    try {
      const ids = c.inputs.ids as number[][];
      const own = model.forward(c.inputs, { mask: ids.map((row) => row.map((id) => (id !== 0 ? 1 : 0))) });
      expectClose(own.output, c.outputs.probs!, TOL, 'mask of the ids');
      const none = model.forward(c.inputs, { mask: ids.map((row) => row.map(() => 1)) });
      expect(Math.max(...none.output.data.map((v, k) => Math.abs(v - own.output.data[k]!)))).toBeGreaterThan(1e-4);
      await expectError(() => model.forward(c.inputs, { mask: [[1]] }), 'ERR_LSTM_SHAPE', /^layer 'lstm' \(Lstm\): .*mask/);
    } finally {
      model.dispose();
    }
  });

  it('stream() refuses a path that needs the whole sequence or masks by value', async () => {
    const activation = await loadGraph(`${DIR}activation.keras`, { backend: 'js' });
    await expectError(() => activation.stream(), 'ERR_LSTM_UNSUPPORTED', /layer 'along_time' \(Merge\) joins along axis 1, not the features/);
    activation.dispose();
    const masked = await loadGraph(`${DIR}masked_ids.keras`, { backend: 'js' });
    await expectError(() => masked.stream(), 'ERR_LSTM_UNSUPPORTED', /layer 'emb' \(Embedding\) masks steps/);
    masked.dispose();
    const masking = await loadGraph(`${DIR}masking.keras`, { backend: 'js' });
    await expectError(() => masking.stream(), 'ERR_LSTM_UNSUPPORTED', /layer 'masking' \(Masking\) has no step\(input\)/);
    masking.dispose();
  });

  it('refuses a file with a cycle, a missing inbound layer or call, or an unknown class (ERR_LSTM_MODEL)', async () => {
    await expectError(tfjs('merges', (layers) => (layers.find((l) => l.name === 'lstm_a')!.inbound_nodes = [[['mix', 0, 0, {}]]])), 'ERR_LSTM_MODEL', /no cycles.*a cycle through 'lstm_a'/);
    await expectError(tfjs('merges', (layers) => (layers.find((l) => l.name === 'cat')!.inbound_nodes[0]![2] = ['gone', 0, 0, {}])), 'ERR_LSTM_MODEL', /layer 'cat': expected to be called on layers of the model, got inbound layer 'gone'/);
    await expectError(tfjs('merges', (layers) => (layers.find((l) => l.name === 'per_step')!.inbound_nodes = [[['mix', 1, 0, {}]]])), 'ERR_LSTM_MODEL', /layer 'per_step': expected calls the file has, got call 1 of 'mix', which is called 1 time\(s\)/);
    await expectError(tfjs('merges', (layers) => (layers.find((l) => l.name === 'max')!.class_name = 'MyMaximum')), 'ERR_LSTM_MODEL', /class 'MyMaximum' \(a layer of your own: loadModel\(file, \{ customLayers: \{ MyMaximum: \(config, weights\) => layer \} \}\)\)/);
    await expectError(tfjs('merges', (layers) => (layers.find((l) => l.name === 'max')!.class_name = 'MyMaximum'), { customLayers: { MyMaximum: () => ({}) as never } }), 'ERR_LSTM_CONFIG', /options\.customLayers\.MyMaximum: expected a layer with forward\(input\)/);
  });
});

describe('customLayers', () => {
  it("builds a layer of the user's own from its config and weights, by class name", async () => {
    const c = fixture.models.merges!;
    const seen: { config: Record<string, unknown>; shapes: number[][] }[] = [];
    const max: CustomLayer = {
      forward(input) {
        const [x, y] = input as Tensor[];
        return { data: x!.data.map((v, k) => Math.max(v, y!.data[k]!)), shape: x!.shape };
      },
    };
    const model = (await tfjs(
      'merges',
      (layers) => {
        layers.find((l) => l.name === 'max')!.class_name = 'MyMaximum';
        layers.find((l) => l.name === 'mix')!.class_name = 'MyDense';
      },
      {
        backend: 'js',
        customLayers: {
          MyMaximum: (config) => (seen.push({ config, shapes: [] }), max),
          // A factory may return a layer of the library, built from the weights it is given.
          MyDense: (config, weights) => {
            seen.push({ config, shapes: weights.map((w) => w.shape) });
            return Dense.create({ kernel: weights[0]!, bias: weights[1]!, activation: config.activation as 'tanh' });
          },
        },
      },
    )) as Model;
    try {
      expect(seen.map((s) => [s.config.name, s.shapes])).toEqual([['max', []], ['mix', [[23, 6], [6]]]]);
      const r = model.forward(c.inputs);
      for (const out of c.output_layers) expectClose(r.outputs[out]!, c.outputs[out]!, TOL, out);
      expect(model.getLayer('max')).toBe(max);
    } finally {
      model.dispose();
    }
  });

  it('a chain with a custom layer loads as a Model; a chain without stays a Sequential', async () => {
    const chain = await loadModel(new URL('./fixtures/models/keras/lstm_gru_dense.keras', import.meta.url).pathname, { backend: 'js' });
    expect(chain).toBeInstanceOf(Sequential);
    const input = JSON.parse(readFileSync(new URL('./fixtures/models/keras/golden.json', import.meta.url), 'utf8')).lstm_gru_dense;
    const expected = (chain as Sequential).forward(input.input).output;
    chain.dispose();
    const folder = new URL('./fixtures/models/keras/lstm_gru_dense.tfjs/', import.meta.url).pathname;
    const json = JSON.parse(readFileSync(`${folder}model.json`, 'utf8'));
    json.modelTopology.config.layers[1].class_name = 'MyGru';
    const files = Object.fromEntries(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => [p, new Uint8Array(readFileSync(folder + p))]));
    const custom = await loadModel(new TextEncoder().encode(JSON.stringify(json)), {
      files,
      backend: 'js',
      customLayers: { MyGru: (config, weights) => Gru.create({ weights: { kernel: weights[0]!, recurrentKernel: weights[1]!, bias: weights[2]! }, returnSequences: config.return_sequences as boolean, resetAfter: true, backend: 'js' }) },
    });
    expect(custom).toBeInstanceOf(Model);
    expectClose((custom as Model).forward(input.input).output, expected.data, TOL, 'custom GRU');
    custom.dispose();
  });
});

describe('textgenrnn, the whole model (examples/textgenrnn.mjs)', () => {
  it.each(FORMATS)("in small, saved by Keras with its AttentionWeightedAverage (textgenrnn%s): loadModel with the example's attention as a custom layer", async (format) => {
    // The example's own layer; it imports the built package, which this test does not need.
    const { attentionWeightedAverage } = (await import('../examples/textgenrnn.mjs' as string)) as { attentionWeightedAverage: (W: Tensor, name: string) => CustomLayer };
    const c = fixture.custom.textgenrnn!;
    for (const backend of IMPLEMENTATIONS) {
      const model = await loadGraph(`${DIR}textgenrnn${format}`, { backend, customLayers: { AttentionWeightedAverage: (config, [W]) => attentionWeightedAverage(W!, config.name as string) } });
      try {
        expectClose(model.forward(c.inputs.input!).output, c.outputs.output!, TOL, `${format} on ${backend}`);
        expect(Object.keys(model.forward(c.inputs.input!, { trace: true }).trace!)).toEqual(['rnn_1', 'rnn_2']);
      } finally {
        model.dispose();
      }
    }
  });

  const HAVE_WEIGHTS = sharedFor("the textgenrnn example (its weights are in ../shared's fixtures)");
  it.each(IMPLEMENTATIONS)('gives the next-character probabilities Keras gives (test/fixtures/textgenrnn.json) on %s', (backend) => {
    if (!HAVE_WEIGHTS) return;
    const cases = JSON.parse(readFileSync(new URL('./fixtures/textgenrnn.json', import.meta.url), 'utf8')).cases as { seed_text: string; input_ids: number[]; expected: { probabilities: number[] } }[];
    const folder = `${SHARED}fixtures/models/keras_textgenrnn_cudnnlstm_weights/`;
    const out = execFileSync(process.execPath, ['examples/textgenrnn.mjs', folder, '--backend', backend, '--json', ...cases.map((c) => c.seed_text)], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8' });
    const { backend: ran, results } = JSON.parse(out) as { backend: string; results: { ids: number[]; probabilities: number[] }[] };
    expect(ran).toBe(backend);
    cases.forEach((c, k) => {
      expect(results[k]!.ids).toEqual(c.input_ids);
      expectClose(Float32Array.from(results[k]!.probabilities), c.expected.probabilities, TOL, c.seed_text);
    });
  });
});
