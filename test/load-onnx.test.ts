// ONNX models: small models exported by PyTorch or written with onnx.helper (scripts/gen_onnx_models.py),
// and from today's exporters (scripts/gen_onnx_exporters.py: torch's dynamo exporter, its weights in a
// .onnx.data file beside the model and its reshape targets computed from the input's shape at run time;
// the older exporter at opsets 18 to 20), load into a Sequential that gives onnxruntime's outputs, on
// every backend, from a path and from bytes with the external data in options.files; the LSTM of the real
// Silero VAD model (../shared) is found inside its If branches with the weights onnxruntime folds
// from the model's constants, and runs as onnxruntime runs it; time-major graphs (batch_first=False)
// load as timeMajor models fed the graph's own [time, batch, ...]; every model loadModel cannot map,
// and every file that is not a model, is refused with ERR_LSTM_MODEL saying why.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Bidirectional, Dense, Embedding, Gru, Lstm, LstmError, loadModel as loadAny, loadOnnxGraph, type OnnxGraph, type Sequential, type Tensor } from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { readOnnx, readOnnxRecurrent } from '../lib/load/onnx.js';
import { PbfWriter } from 'pbf';
import { decode, encode, readAttributeProto, readTensorProto, writeModelProto, writeTensorProto } from '../lib/load/onnx-proto.generated.js';
import { decodeModelProto } from '../lib/load/onnx-schema.js';
import { expectClose, implementations, rng, SHARED, sharedFor, type Nested } from './helpers.js';

/** SPEC's bound for every backend, here against onnxruntime: |ours - ort| <= 1e-5 + 1e-5 * |ort|. */
const TOLERANCE = { abs: 1e-5, rel: 1e-5 };
const DIR = new URL('./fixtures/models/onnx/', import.meta.url).pathname;
const SILERO_PATH = `${SHARED}fixtures/models/onnx_silero_vad_16k_op15/silero_vad_16k_op15.onnx`;
const IMPLEMENTATIONS = await implementations();

interface Golden {
  model: string;
  layers: string[];
  /** The graph takes [time, batch, ...] (and the cases are laid out so). */
  time_major?: boolean;
  /** The file beside the model holding its external data (torch's dynamo exporter). */
  external_data?: string;
  cases: { input: Nested; output: Nested }[];
}
const GOLDEN = readdirSync(DIR)
  .filter((f) => f.endsWith('.onnx'))
  .map((f) => [f.replace(/\.onnx$/, ''), JSON.parse(readFileSync(`${DIR}${f.replace(/\.onnx$/, '.json')}`, 'utf8')) as Golden] as const);

/** onnxruntime's outputs of an ONNX model's twin that gives every recurrent node sequence_lens. */
interface LengthsGolden {
  model: string;
  cases: { input: Nested; sequence_lens: number[]; output: Nested }[];
}
const LENGTHS_GOLDEN = readdirSync(DIR)
  .filter((f) => f.endsWith('.lengths.json'))
  .map((f) => [f.replace(/\.lengths\.json$/, ''), JSON.parse(readFileSync(`${DIR}${f}`, 'utf8')) as LengthsGolden] as const);

interface SileroGolden {
  nodes: { name: string; graph: string; hidden_size: number }[];
  weights: Record<'W' | 'R' | 'B', { shape: number[]; sha256: string; samples: [number, number][] }>;
  cases: { input: Nested; initialState: { h: Nested; c: Nested }; expected: { output: Nested; h: Nested; c: Nested } }[];
}
const SILERO = JSON.parse(readFileSync(`${DIR}silero_lstm.json`, 'utf8')) as SileroGolden;
const HAVE_SILERO = sharedFor('the tests on the real Silero VAD model (in ../shared/fixtures)');
const sileroBytes = () => new Uint8Array(readFileSync(SILERO_PATH));

const kindOf = (layer: Sequential['layers'][number]) =>
  layer instanceof Bidirectional ? 'bidirectional' : layer instanceof Lstm ? 'lstm' : layer instanceof Gru ? 'gru' : layer instanceof Dense ? 'dense' : layer instanceof Embedding ? 'embedding' : 'other';

async function refusal(promise: Promise<unknown>): Promise<LstmError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, 'an LstmError').toBeInstanceOf(LstmError);
  expect((error as LstmError).code, (error as Error).message).toBe('ERR_LSTM_MODEL');
  return error as LstmError;
}

describe("torch's dynamo exporter's fixtures", () => {
  // What makes them today's files, so the tests above cannot pass on easier ones.
  it.each(GOLDEN.filter(([name]) => name.startsWith('dynamo_')))('%s keeps weights in its .onnx.data file and sizes its zero states from the input at run time', (_, golden) => {
    const graph = decodeModelProto(new Uint8Array(readFileSync(`${DIR}${golden.model}`))).graph!;
    const external = graph.initializer.filter((t) => t.dataLocation === 1);
    expect(external.length).toBeGreaterThan(0);
    expect(external.every((t) => t.externalData.some((e) => e.key === 'location' && e.value === golden.external_data))).toBe(true);
    const ops = new Set(graph.node.map((n) => n.opType));
    for (const op of ['Shape', 'Concat', 'Expand']) expect(ops, op).toContain(op);
  });

  it('all but the one ending in Gemm on h_n reshape their outputs to targets computed at run time (Shape -> Slice -> Mul -> Concat -> Reshape)', () => {
    const withMul = GOLDEN.filter(([name, golden]) => name.startsWith('dynamo_') && decodeModelProto(new Uint8Array(readFileSync(`${DIR}${golden.model}`))).graph!.node.some((n) => n.opType === 'Mul'));
    expect(withMul.map(([name]) => name)).toEqual(['dynamo_bilstm_dense', 'dynamo_gru2_dense', 'dynamo_lstm2_hn_relu', 'dynamo_lstm_last_softmax']);
  });
});

describe.each(IMPLEMENTATIONS)('ONNX models on %s', (backend) => {
  it.each(GOLDEN)('%s gives onnxruntime\'s outputs', async (name, golden) => {
    const model = await loadModel(`${DIR}${golden.model}`, { backend });
    try {
      expect(model.layers.map(kindOf)).toEqual(golden.layers);
      expect(model.timeMajor).toBe(golden.time_major === true);
      golden.cases.forEach((c, k) => expectClose(model.forward(c.input).output, c.output, TOLERANCE, `${name} case ${k}`));
    } finally {
      model.dispose();
    }
  });

  it.each(LENGTHS_GOLDEN)("%s with sequenceLengths gives onnxruntime's outputs with sequence_lens on every node", async (name, golden) => {
    expect(golden.cases.flatMap((c) => c.sequence_lens)).toContain(0);
    const model = await loadModel(`${DIR}${golden.model}`, { backend });
    try {
      golden.cases.forEach((c, k) => expectClose(model.forward(c.input, { sequenceLengths: c.sequence_lens }).output, c.output, TOLERANCE, `${name} lengths case ${k}`));
    } finally {
      model.dispose();
    }
  });

  it.each(GOLDEN.filter(([, g]) => g.external_data))('%s from its bytes, its external data given in options.files', async (name, golden) => {
    const file = golden.external_data!;
    const data = new Uint8Array(readFileSync(`${DIR}${file}`));
    const model = await loadModel(new Uint8Array(readFileSync(`${DIR}${golden.model}`)), { backend, files: { [file]: data.slice().buffer } });
    try {
      expect(model.layers.map(kindOf)).toEqual(golden.layers);
      golden.cases.forEach((c, k) => expectClose(model.forward(c.input).output, c.output, TOLERANCE, `${name} case ${k}`));
    } finally {
      model.dispose();
    }
  });

  it('embedding_lstm (a Gather of int64 ids) refuses ids its table has no row for with ERR_LSTM_INPUT', async () => {
    const model = await loadModel(`${DIR}embedding_lstm.onnx`, { backend });
    try {
      const vocab = (model.layers[0] as Embedding).inputDim;
      expect(vocab).toBe(30);
      expect(model.forward([[0, vocab - 1]]).output.shape).toEqual([1, 3]);
      for (const id of [vocab, -1, 2.5, NaN]) expect(() => model.forward([[0, id]]), `id ${id}`).toThrow(expect.objectContaining({ code: 'ERR_LSTM_INPUT' }));
    } finally {
      model.dispose();
    }
  });

  it.skipIf(!HAVE_SILERO)("Silero VAD's LSTM, built from readOnnxRecurrent, runs as onnxruntime runs it from nonzero states", async () => {
    const [node] = await readOnnxRecurrent(sileroBytes());
    const layer = await Lstm.create({ weights: node!.weights, ...node!.options, returnSequences: true, backend });
    try {
      SILERO.cases.forEach((c, k) => {
        const r = layer.forward(c.input, { initialState: c.initialState as never });
        expectClose(r.output, c.expected.output, TOLERANCE, `case ${k} Y`);
        expectClose(r.h, c.expected.h, TOLERANCE, `case ${k} Y_h`);
        expectClose(r.c, c.expected.c, TOLERANCE, `case ${k} Y_c`);
      });
    } finally {
      layer.dispose();
    }
  });
});

describe('readOnnxRecurrent', () => {
  it.skipIf(!HAVE_SILERO)("finds Silero VAD's LSTM in both If branches with the weights onnxruntime folds from its constants", async () => {
    const nodes = await readOnnxRecurrent(sileroBytes());
    expect(nodes.map((n) => [n.name, n.graph.join(' > '), n.hiddenSize])).toEqual(SILERO.nodes.map((n) => [n.name, n.graph, n.hidden_size]));
    for (const node of nodes) {
      expect(node).toMatchObject({ opType: 'LSTM', direction: 'forward', layout: 0, inputSize: 128 });
      expect(node.options).toEqual({ weightLayout: 'onnx', units: 128, activation: 'tanh', recurrentActivation: 'sigmoid', cellActivation: 'tanh' });
      for (const key of ['W', 'R', 'B'] as const) {
        const t = node.weights[key]!;
        const expected = SILERO.weights[key];
        expect(t.shape, key).toEqual(expected.shape);
        for (const [k, v] of expected.samples) expect(t.data[k], `${key}[${k}]`).toBe(Math.fround(v));
        expect(createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex'), `${key} sha256`).toBe(expected.sha256);
      }
      expect(node.weights.P).toBeUndefined();
      expect(node.directions).toHaveLength(1);
    }
  });

  it('gives each direction of a bidirectional node, and the options of reverse, peephole and GRU nodes', async () => {
    const read = (name: string) => readOnnxRecurrent(new Uint8Array(readFileSync(`${DIR}${name}.onnx`)));
    const [bi] = await read('bilstm_dense');
    expect(bi).toMatchObject({ direction: 'bidirectional', inputSize: 3, hiddenSize: 4 });
    expect(bi!.weights.W.shape).toEqual([2, 16, 3]);
    expect(bi!.directions.map((d) => [d.weights.W.shape, d.weights.R.shape, d.weights.B!.shape, d.options.goBackwards, d.options.outputOrder])).toEqual([
      [[1, 16, 3], [1, 16, 4], [1, 32], undefined, undefined],
      [[1, 16, 3], [1, 16, 4], [1, 32], true, 'input'],
    ]);
    expect(bi!.directions[1]!.weights.W.data).toEqual(bi!.weights.W.data.subarray(48));

    const [peephole] = await read('lstm_peepholes');
    expect(peephole!.options).toEqual({
      weightLayout: 'onnx', units: 5, clip: 1.5, inputForget: true, recurrentActivation: { name: 'hard_sigmoid', alpha: Math.fround(0.25), beta: Math.fround(0.45) },
      activation: 'softsign', cellActivation: { name: 'elu', alpha: Math.fround(0.9) },
    });
    expect(peephole!.weights.P!.shape).toEqual([1, 15]);

    const [gru] = await read('gru_reverse');
    expect(gru).toMatchObject({ opType: 'GRU', direction: 'reverse' });
    expect(gru!.options).toMatchObject({ resetAfter: false, goBackwards: true, outputOrder: 'input' });
    const [layout1] = await read('lstm_layout1');
    expect(layout1!.layout).toBe(1);
  });

  it("reads external data given in files: the dynamo exporter's weights, as loadModel reads them beside the file", async () => {
    const name = 'dynamo_bigru_hn';
    const bytes = new Uint8Array(readFileSync(`${DIR}${name}.onnx`));
    const data = new Uint8Array(readFileSync(`${DIR}${name}.onnx.data`));
    const external = decodeModelProto(bytes).graph!.initializer.filter((t) => t.dataLocation === 1).map((t) => t.name);
    expect(external.length, 'initializers in the .onnx.data file').toBeGreaterThan(0);
    const [node] = await readOnnxRecurrent(bytes, name, { [`${name}.onnx.data`]: data });
    expect(node).toMatchObject({ opType: 'GRU', direction: 'bidirectional', inputSize: 3, hiddenSize: 6 });
    const model = await loadModel(`${DIR}${name}.onnx`);
    try {
      const bi = model.layers[0] as Bidirectional;
      expect(bi).toBeInstanceOf(Bidirectional);
      expect(node!.name).toBe(bi.name);
    } finally {
      model.dispose();
    }
    const error = await refusal(readOnnxRecurrent(bytes, name));
    expect(error.message).toMatch(new RegExp(`initializer '${external[0]}' keeps its data in an external file .*'${name}\\.onnx\\.data' could not be read .*: needs the file .*options\\.files`));
    const wrongType = await readOnnxRecurrent(bytes, name, { [`${name}.onnx.data`]: 'bytes' as never }).then(() => null, (e: unknown) => e);
    expect((wrongType as LstmError).code).toBe('ERR_LSTM_CONFIG');
  });

  it('reads a Uint8Array or an ArrayBuffer, and refuses anything else with ERR_LSTM_CONFIG', async () => {
    const bytes = new Uint8Array(readFileSync(`${DIR}gru2_sequences.onnx`));
    expect(await readOnnxRecurrent(bytes.slice().buffer)).toHaveLength(2);
    const error = await readOnnxRecurrent('model.onnx' as never).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(LstmError);
    expect((error as LstmError).code).toBe('ERR_LSTM_CONFIG');
  });
});

// ---------------------------------------------------------------- models built here, to be refused

type Attribute = { name: string; i?: number; f?: number; s?: string; ints?: number[]; floats?: number[]; strings?: string[] };
interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Attribute[];
}
interface ModelSpec {
  /** type: the ONNX data type (default 1, float; 7 int64, 6 int32). */
  inputs?: { name: string; shape: (number | string)[]; type?: number }[];
  output?: string;
  nodes: NodeSpec[];
  initializers?: Record<string, Tensor | { ints: number[]; shape: number[] }>;
  external?: string;
}

const encoder = new TextEncoder();
function attribute(a: Attribute) {
  if (a.s !== undefined) return { name: a.name, type: 3, s: encoder.encode(a.s) };
  if (a.strings !== undefined) return { name: a.name, type: 8, strings: a.strings.map((s) => encoder.encode(s)) };
  if (a.floats !== undefined) return { name: a.name, type: 6, floats: a.floats };
  if (a.ints !== undefined) return { name: a.name, type: 7, ints: a.ints };
  if (a.f !== undefined) return { name: a.name, type: 1, f: a.f };
  return { name: a.name, type: 2, i: a.i };
}

/** An ONNX model's bytes, encoded with the reader's own schema (opset 17). */
function onnxModel(spec: ModelSpec): Uint8Array {
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const initializer = Object.entries(spec.initializers ?? {}).map(([name, t]) => {
    if ('ints' in t) return { name, dims: t.shape, dataType: 7, int64Data: t.ints };
    const tensor = { name, dims: t.shape, dataType: 1, floatData: Array.from(t.data) };
    return name === spec.external ? { name, dims: t.shape, dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }] } : tensor;
  });
  const graph = {
    name: 'g',
    node: spec.nodes.map((n, k) => ({ opType: n.op, input: n.inputs, output: n.outputs, name: n.name ?? `${n.op}_${k}`, attribute: (n.attributes ?? []).map(attribute) })),
    initializer,
    input: (spec.inputs ?? [{ name: 'x', shape: ['batch', 'time', 3] }]).map((i) => ({ name: i.name, type: { tensorType: { elemType: i.type ?? 1, shape: { dim: i.shape.map(dim) } } } })),
    output: [{ name: spec.output ?? 'y', type: { tensorType: { elemType: 1 } } }],
  };
  return encode({ irVersion: 8, producerName: 'load-onnx.test.ts', opsetImport: [{ domain: '', version: 17 }], graph }, writeModelProto);
}

const random = rng(20261123);
const tensor = (shape: number[]): Tensor => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random.uniform(-0.5, 0.5)), shape });
const ints = (values: number[], shape = [values.length]) => ({ ints: values, shape });

/** An LSTM (3 inputs, 4 units) between the usual transposes: x [B,T,3] -> Y [T,D,B,4]. */
function lstmGraph(options: { direction?: string; activations?: string[]; alphas?: number[]; extra?: Partial<Record<'initial_h', string>> } = {}) {
  const D = options.direction === 'bidirectional' ? 2 : 1;
  const attributes: Attribute[] = [{ name: 'hidden_size', i: 4 }];
  if (options.direction) attributes.push({ name: 'direction', s: options.direction });
  if (options.activations) attributes.push({ name: 'activations', strings: options.activations });
  if (options.alphas) attributes.push({ name: 'activation_alpha', floats: options.alphas });
  return {
    initializers: { W: tensor([D, 16, 3]), R: tensor([D, 16, 4]), first_axis: ints([0]), axis1: ints([1]), last: ints([-1], []), first: ints([0], []) },
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['x_tbf'], attributes: [{ name: 'perm', ints: [1, 0, 2] }] },
      { op: 'LSTM', name: 'the_lstm', inputs: ['x_tbf', 'W', 'R', '', '', options.extra?.initial_h ?? ''], outputs: ['Y', 'Y_h'], attributes },
    ] as NodeSpec[],
  };
}

/** lstmGraph behind an embedding: ids [B,T] -> Gather from a [10, 3] table -> x [B,T,3]; Y_h squeezed to y. */
function embeddingGraph(options: { type?: number; ids?: (number | string)[]; axis?: number; table?: string } = {}) {
  const { initializers, nodes } = lstmGraph();
  return {
    inputs: [{ name: 'ids', shape: options.ids ?? ['batch', 'time'], type: options.type ?? 7 }],
    initializers: { ...initializers, table: tensor([10, 3]) },
    nodes: [
      { op: 'Gather', name: 'the_embedding', inputs: [options.table ?? 'table', 'ids'], outputs: ['x'], attributes: [{ name: 'axis', i: options.axis ?? 0 }] },
      ...nodes,
      { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] },
    ] as NodeSpec[],
  };
}

describe('constant arithmetic exporters weights and shapes with', () => {
  it('folds Add, Sub, Mul and Div of constants, broadcast as onnxruntime does: W = (W0 * 2 - b) / [4] + 0 gives the model of W itself', async () => {
    const { initializers, nodes } = lstmGraph();
    const { W, ...others } = initializers;
    // W0 = (W * 4 + b) / 2, with b broadcast from [16, 1]: undone below with the other three ops.
    const b = tensor([16, 1]);
    const W0 = { data: W.data.map((v, k) => (v * 4 + b.data[Math.floor(k / 3) % 16]!) / 2), shape: W.shape };
    const folded = onnxModel({
      initializers: { ...others, W0, b, two: { data: Float32Array.of(2), shape: [] }, four: { data: Float32Array.of(4), shape: [1] }, zero: { data: Float32Array.of(0), shape: [1, 1, 1] } },
      nodes: [
        { op: 'Mul', inputs: ['W0', 'two'], outputs: ['m'] },
        { op: 'Sub', inputs: ['m', 'b'], outputs: ['s'] },
        { op: 'Div', inputs: ['s', 'four'], outputs: ['d'] },
        { op: 'Add', inputs: ['d', 'zero'], outputs: ['W'] },
        ...nodes,
        { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] },
      ],
    });
    const direct = onnxModel({ initializers, nodes: [...nodes, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] }] });
    const [a, b2] = await Promise.all([loadModel(folded, { backend: 'js' }), loadModel(direct, { backend: 'js' })]);
    try {
      const x = [[[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]]];
      expectClose(a.forward(x).output, b2.forward(x).output.data, { abs: 1e-6, rel: 1e-6 }, 'folded W against W');
    } finally {
      a.dispose();
      b2.dispose();
    }
  });
});

describe('loadModel refuses, with ERR_LSTM_MODEL, ONNX models a Sequential cannot compute', () => {
  it.skipIf(!HAVE_SILERO)('Silero VAD (convolutions, If on the sample rate, then an LSTM) is more than a Sequential: loadModel runs it whole, as a graph', async () => {
    // The Sequential reader names what it cannot map; loadModel then reads the model as a graph.
    const error = await refusal(readOnnx({ name: SILERO_PATH, bytes: new Uint8Array(readFileSync(SILERO_PATH)) } as never));
    expect(error.message).toMatch(/\bIf \(/);
    expect(error.message).toMatch(/\bPad \(/);
    const graph = (await loadAny(SILERO_PATH)) as OnnxGraph;
    expect(graph.inputNames).toEqual(['input', 'state', 'sr']);
    expect(graph.outputNames).toEqual(['output', 'stateN']);
    graph.dispose();
  });

  it('an activation lstm-runtime does not run (LeakyRelu with alpha 0.1), in loadModel and in readOnnxRecurrent', async () => {
    const { initializers, nodes } = lstmGraph({ activations: ['Sigmoid', 'LeakyRelu', 'Tanh'], alphas: [0.1] });
    const bytes = onnxModel({ initializers, nodes: [...nodes, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] }] });
    const error = await refusal(loadModel(bytes));
    expect(error.message).toMatch(/'the_lstm' \(LSTM\).*activation 'LeakyRelu' \(alpha 0\.1/);
    expect((await refusal(readOnnxRecurrent(bytes))).message).toMatch(/activation 'LeakyRelu'/);
  });

  it('an initial state given as a graph input, and sequence_lens', async () => {
    const { initializers, nodes } = lstmGraph({ extra: { initial_h: 'h0' } });
    const bytes = onnxModel({
      inputs: [{ name: 'x', shape: ['batch', 'time', 3] }, { name: 'h0', shape: [1, 'batch', 4] }],
      initializers,
      nodes: [...nodes, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] }],
    });
    expect((await refusal(loadModel(bytes))).message).toMatch(/initial_h to be absent or zeros.*graph input 'h0'/);
    const lens = onnxModel({ inputs: [{ name: 'x', shape: ['batch', 'time', 3] }, { name: 'lens', shape: ['batch'] }], initializers, nodes: [{ ...nodes[0]! }, { ...nodes[1]!, inputs: ['x_tbf', 'W', 'R', '', 'lens'] }, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] }] });
    expect((await refusal(loadModel(lens))).message).toMatch(/sequence_lens/);
  });

  it("a reverse LSTM's Y at its last index (ONNX keeps reverse Y in input order: its last step is at index 0)", async () => {
    const { initializers, nodes } = lstmGraph({ direction: 'reverse' });
    const lastIndex = [...nodes, { op: 'Gather', inputs: ['Y', 'last'], outputs: ['y_1bu'], attributes: [{ name: 'axis', i: 0 }] }, { op: 'Squeeze', inputs: ['y_1bu', 'first_axis'], outputs: ['y'] }];
    expect((await refusal(loadModel(onnxModel({ initializers, nodes: lastIndex })))).message).toMatch(/timestep -1 of a reverse-direction Y.*only index 0/);
  });

  it("a forward LSTM's first timestep, and a bidirectional LSTM's last timestep (not its final state)", async () => {
    const forward = lstmGraph();
    const first = [...forward.nodes, { op: 'Gather', inputs: ['Y', 'first'], outputs: ['y_1bu'], attributes: [{ name: 'axis', i: 0 }] }, { op: 'Squeeze', inputs: ['y_1bu', 'first_axis'], outputs: ['y'] }];
    expect((await refusal(loadModel(onnxModel({ initializers: forward.initializers, nodes: first })))).message).toMatch(/timestep 0: only the last one/);
    const bi = lstmGraph({ direction: 'bidirectional' });
    const last = [
      ...bi.nodes,
      { op: 'Transpose', inputs: ['Y'], outputs: ['y_tbdu'], attributes: [{ name: 'perm', ints: [0, 2, 1, 3] }] },
      { op: 'Reshape', inputs: ['y_tbdu', 'shape'], outputs: ['y_tbf'] },
      { op: 'Gather', inputs: ['y_tbf', 'last'], outputs: ['y'], attributes: [{ name: 'axis', i: 0 }] },
    ];
    const initializers = { ...bi.initializers, shape: ints([0, 0, -1]) };
    expect((await refusal(loadModel(onnxModel({ initializers, nodes: last })))).message).toMatch(/last timestep of bidirectional node 'the_lstm'/);
    // Without the Transpose the Reshape would interleave batch and directions: refused too.
    const interleaved = [...bi.nodes, { op: 'Reshape', inputs: ['Y', 'shape'], outputs: ['y'] }];
    expect((await refusal(loadModel(onnxModel({ initializers, nodes: interleaved })))).message).toMatch(/Reshape/);
  });

  it('an operator outside a Sequential on the path (Mul of the data): the Sequential reader names it, and loadModel runs the graph whole', async () => {
    const { initializers, nodes } = lstmGraph();
    const chain = [...nodes, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['h'] }];
    const bytes = onnxModel({ initializers: { ...initializers, two: { data: Float32Array.of(2), shape: [] } }, nodes: [...chain, { op: 'Mul', name: 'scale', inputs: ['h', 'two'], outputs: ['y'] }] });
    expect((await refusal(readOnnx({ name: 'mul.onnx', bytes } as never))).message).toMatch(/got Mul \(scale\)/);
    const graph = (await loadAny(bytes)) as OnnxGraph;
    const plain = await loadModel(onnxModel({ initializers, nodes: [...nodes, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] }] }));
    const x = { data: Float32Array.from({ length: 2 * 5 * 3 }, (_, k) => Math.sin(k)), shape: [2, 5, 3] };
    const doubled = Array.from(plain.forward(x).output.data, (v) => 2 * v);
    expectClose(graph.forward(x).outputs.y!.data, doubled, { abs: 1e-6, rel: 1e-6 }, 'y = 2 h');
    graph.dispose();
    plain.dispose();
  });

  it('a Pad asking for more than a buffer may hold is an LstmError on the graph and the Sequential path alike, never a crash or a long loop', async () => {
    // Zeros on the time axis are the Sequential path's ZeroPadding1D, which refuses such padding at load.
    const expected: Record<string, Record<string, string>> = { edge: { loadModel: 'ERR_LSTM_RESOURCES', loadOnnxGraph: 'ERR_LSTM_RESOURCES' }, constant: { loadModel: 'ERR_LSTM_MODEL', loadOnnxGraph: 'ERR_LSTM_RESOURCES' } };
    const x = { data: new Float32Array(2 * 5 * 3), shape: [2, 5, 3] };
    for (const mode of ['edge', 'constant']) {
      const bytes = onnxModel({ initializers: { pads: ints([0, 0, 0, 0, 600_000_000, 0]) }, nodes: [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'], attributes: [{ name: 'mode', s: mode }] }] });
      for (const load of [loadAny, loadOnnxGraph]) {
        const error = await Promise.resolve()
          .then(async () => {
            const model = await load(bytes);
            try {
              model.forward(x as never);
            } finally {
              model.dispose();
            }
          })
          .then(() => null, (e: unknown) => e);
        expect(error, `${mode}, ${load.name}`).toBeInstanceOf(LstmError);
        expect((error as LstmError).code, `${mode}, ${load.name}: ${(error as Error).message}`).toBe(expected[mode]![load.name]);
      }
    }
  });

  it('weights kept in an external file not given (from bytes), or not holding what the model says', async () => {
    const { initializers, nodes } = lstmGraph();
    const bytes = onnxModel({ initializers, external: 'W', nodes: [...nodes, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] }] });
    const missing = /initializer 'W' keeps its data in an external file \(data_location EXTERNAL\): 'weights\.bin' could not be read \(it belongs beside the model under that name, or in options\.files\): needs the file 'weights\.bin': pass it in options\.files/;
    expect((await refusal(loadModel(bytes))).message).toMatch(missing);
    expect((await refusal(readOnnxRecurrent(bytes))).message).toMatch(missing);
    // Given, it loads; the file must hold W's bytes (no offset or length: the whole file).
    const W = initializers.W.data;
    const model = await loadModel(bytes, { files: { 'weights.bin': new Uint8Array(W.buffer, W.byteOffset, W.byteLength) } });
    expect((model.layers[0] as Lstm).units).toBe(4);
    model.dispose();
    const short = await refusal(loadModel(bytes, { files: { 'weights.bin': new Uint8Array(W.byteLength - 4) } }));
    expect(short.message).toMatch(/initializer 'W': expected 192 bytes of raw data for shape \[1, 16, 3\], got 188/);
  });

  it("a Reshape to the example's fixed time where the input's time is dynamic (torch's dynamo exporter, batch_first=False), naming the node and the way out", async () => {
    const { initializers, nodes } = lstmGraph();
    const error = await refusal(loadModel(onnxModel({
      initializers: { ...initializers, fixed: ints([6, -1, 4]) },
      nodes: [...nodes, { op: 'Reshape', name: 'node_Reshape_144', inputs: ['Y', 'fixed'], outputs: ['y'] }],
    })));
    expect(error.message).toMatch(/node 'node_Reshape_144' \(Reshape\): Reshape of \[time, directions\(1\), batch, features\(4\)\] to \[6, -1, 4\] puts a fixed 6 where the data has time, whose size the graph's input leaves open/);
    expect(error.message).toMatch(/batch_first=True, or dynamo=False with dynamic_axes/);
  });

  it('a reshape target computed from the data\'s shape that no axis holds (batch + 1), naming the node', async () => {
    const { initializers, nodes } = lstmGraph();
    const error = await refusal(loadModel(onnxModel({
      initializers: { ...initializers, one: ints([1], []), rest: ints([-1]) },
      nodes: [
        ...nodes,
        { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['h'] },
        { op: 'Shape', inputs: ['x'], outputs: ['x_shape'] },
        { op: 'Gather', inputs: ['x_shape', 'first'], outputs: ['batch'] },
        { op: 'Add', name: 'grow', inputs: ['batch', 'one'], outputs: ['batch_1'] },
        { op: 'Unsqueeze', inputs: ['batch_1', 'first_axis'], outputs: ['batch_1v'] },
        { op: 'Concat', inputs: ['batch_1v', 'rest'], outputs: ['target'], attributes: [{ name: 'axis', i: 0 }] },
        { op: 'Reshape', inputs: ['h', 'target'], outputs: ['y'] },
      ],
    })));
    expect(error.message).toMatch(/node 'grow' \(Add\): computes batch \+ 1 from the data's shape, a size known only at run time/);
  });

  it('an embedding it cannot map: a Gather on axis 1 of the table, from a table that is not a constant, of the ids for anything else', async () => {
    expect((await refusal(loadModel(onnxModel(embeddingGraph({ axis: 1 }))))).message).toMatch(/'the_embedding' \(Gather\).*on axis 0 of the table.*got axis 1/);
    const fromInput = embeddingGraph({ table: 'table_in' });
    fromInput.inputs.push({ name: 'table_in', shape: [10, 3], type: 1 });
    expect((await refusal(loadModel(onnxModel(fromInput)))).message).toMatch(/constant table \[vocab, dim\], got a Gather from the graph input 'table_in'/);
    // The last id taken before the lookup: Gather of the ids themselves.
    const lastId = embeddingGraph();
    lastId.nodes.unshift({ op: 'Gather', inputs: ['ids_all', 'last'], outputs: ['ids'], attributes: [{ name: 'axis', i: 1 }] });
    lastId.inputs[0]!.name = 'ids_all';
    expect((await refusal(loadModel(onnxModel(lastId)))).message).toMatch(/integer ids of the graph input 'ids_all' \[batch, time\], which only an embedding/);
    expect((await refusal(loadModel(onnxModel(embeddingGraph({ ids: ['batch', 'time', 1] }))))).message).toMatch(/'ids' of integer ids of rank 3 \(a model of ids takes \[batch, time\]\)/);
    expect((await refusal(loadModel(onnxModel(embeddingGraph({ type: 9 }))))).message).toMatch(/'ids' of data type 9/);
  });

  it('the last step of the embedding itself', async () => {
    const lastStep = embeddingGraph();
    lastStep.nodes = [lastStep.nodes[0]!, { op: 'Gather', inputs: ['x', 'last'], outputs: ['y'], attributes: [{ name: 'axis', i: 1 }] }];
    expect((await refusal(loadModel(onnxModel(lastStep)))).message).toMatch(/last timestep of the model input itself \(or of its embedding\)/);
  });

  it('a model built here that it can map loads (the refusals above are about what they change)', async () => {
    const { initializers, nodes } = lstmGraph();
    const model = await loadModel(onnxModel({ initializers, nodes: [...nodes, { op: 'Squeeze', inputs: ['Y_h', 'first_axis'], outputs: ['y'] }] }));
    expect(model.layers.map(kindOf)).toEqual(['lstm']);
    expect(model.forward({ data: new Float32Array(2 * 5 * 3), shape: [2, 5, 3] }).output.shape).toEqual([2, 4]);
    model.dispose();
    for (const type of [7, 6]) {
      const ids = await loadModel(onnxModel(embeddingGraph({ type })));
      expect(ids.layers.map(kindOf)).toEqual(['embedding', 'lstm']);
      expect(ids.forward([[1, 9, 0], [4, 4, 2]]).output.shape).toEqual([2, 4]);
      ids.dispose();
    }
  });
});

/** [A, B, ...rest] -> [B, A, ...rest], written out here (between time-major and batch-major). */
function swapLeading(t: Tensor): Tensor {
  const [A, B] = t.shape as [number, number];
  const inner = t.shape.slice(2).reduce((a, b) => a * b, 1);
  const data = new Float32Array(t.data.length);
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) data.set(t.data.subarray((a * B + b) * inner, (a * B + b + 1) * inner), (b * A + a) * inner);
  return { data, shape: [B, A, ...t.shape.slice(2)] };
}

describe('time-major ONNX graphs (the input [time, batch, ...], as batch_first=False exports)', () => {
  const squeeze = (from: string, axes: string, to: string): NodeSpec => ({ op: 'Squeeze', inputs: [from, axes], outputs: [to] });
  const transpose = (from: string, to: string): NodeSpec => ({ op: 'Transpose', inputs: [from], outputs: [to], attributes: [{ name: 'perm', ints: [1, 0, 2] }] });
  const TIME_MAJOR_X = [{ name: 'x', shape: ['time', 'batch', 3] }];

  it('every time-major fixture is in the goldens above', () => {
    expect(GOLDEN.filter(([, g]) => g.time_major).map(([name]) => name).sort()).toEqual(['bigru_time_major', 'embedding_time_major', 'lstm2_time_major']);
  });

  it("an LSTM taking the input itself loads as timeMajor and computes what the same LSTM between transposes does, for Y and Y_h", async () => {
    const { initializers, nodes } = lstmGraph();
    const [, lstm] = nodes as [NodeSpec, NodeSpec];
    const direct = { ...lstm, inputs: ['x', 'W', 'R'] };
    const pairs = [
      // [time-major graph, the batch-major graph of the same weights, how its output is laid out against the time-major one's]
      [[direct, squeeze('Y', 'axis1', 'y')], [...nodes, squeeze('Y', 'axis1', 'y_tbu'), transpose('y_tbu', 'y')], swapLeading],
      [[direct, squeeze('Y_h', 'first_axis', 'y')], [...nodes, squeeze('Y_h', 'first_axis', 'y')], (t: Tensor) => t],
    ] as const;
    const x = tensor([5, 2, 3]);
    for (const [timeMajorNodes, batchMajorNodes, layout] of pairs) {
      const timeMajor = await loadModel(onnxModel({ inputs: TIME_MAJOR_X, initializers, nodes: [...timeMajorNodes] }));
      const batchMajor = await loadModel(onnxModel({ initializers, nodes: [...batchMajorNodes] }));
      try {
        expect([timeMajor.timeMajor, batchMajor.timeMajor]).toEqual([true, false]);
        expect(timeMajor.layers.map(kindOf)).toEqual(['lstm']);
        const got = timeMajor.forward(x).output;
        expect(got.shape).toEqual(layout === swapLeading ? [5, 2, 4] : [2, 4]);
        expectClose(got, layout(batchMajor.forward(swapLeading(x)).output).data, TOLERANCE, 'time-major against batch-major');
      } finally {
        timeMajor.dispose();
        batchMajor.dispose();
      }
    }
  });

  it('an embedding of ids [time, batch] fed straight to its LSTM loads as timeMajor, computing what the batch-major graph does', async () => {
    const batchMajorGraph = embeddingGraph();
    const timeMajorGraph = { ...batchMajorGraph, nodes: batchMajorGraph.nodes.filter((n) => n.op !== 'Transpose').map((n) => (n.op === 'LSTM' ? { ...n, inputs: ['x', 'W', 'R'] } : n)) };
    const [timeMajor, batchMajor] = [await loadModel(onnxModel(timeMajorGraph)), await loadModel(onnxModel(batchMajorGraph))];
    try {
      expect([timeMajor.timeMajor, batchMajor.timeMajor]).toEqual([true, false]);
      expect(timeMajor.layers.map(kindOf)).toEqual(['embedding', 'lstm']);
      const got = timeMajor.forward([[1, 4], [9, 4], [0, 2]]).output;
      expect(got.shape).toEqual([2, 4]);
      expectClose(got, batchMajor.forward([[1, 9, 0], [4, 4, 2]]).output.data, TOLERANCE, 'time-major ids against batch-major ids');
    } finally {
      timeMajor.dispose();
      batchMajor.dispose();
    }
  });

  it('refuses a time-major input turned into a batch-major sequence, and the reverse, naming what it found', async () => {
    const { initializers, nodes } = lstmGraph();
    const [transposeIn, lstm] = nodes as [NodeSpec, NodeSpec];
    const toBatchMajor = onnxModel({ inputs: TIME_MAJOR_X, initializers, nodes: [{ ...lstm, inputs: ['x', 'W', 'R'] }, squeeze('Y', 'axis1', 'y_tbu'), transpose('y_tbu', 'y')] });
    expect((await refusal(loadModel(toBatchMajor))).message).toMatch(/output 'y' to be a sequence laid out as the input 'x' is \(time-major\) or \[batch, features\], got \[batch, time, features\(4\)\]: a time-major input turned into a batch-major sequence/);
    const toTimeMajor = onnxModel({ initializers, nodes: [transposeIn, lstm, squeeze('Y', 'axis1', 'y')] });
    expect((await refusal(loadModel(toTimeMajor))).message).toMatch(/output 'y' to be a sequence laid out as the input 'x' is \(batch-major\) or \[batch, features\], got \[time, batch, features\(4\)\]: a batch-major input turned into a time-major sequence/);
  });

  it("refuses a second LSTM taking the first one's sequence with batch and time swapped, naming it, whichever way the input is laid out", async () => {
    const { initializers, nodes } = lstmGraph();
    const [transposeIn, lstm] = nodes as [NodeSpec, NodeSpec];
    const second: NodeSpec = { op: 'LSTM', name: 'second_lstm', inputs: ['y_swapped', 'W2', 'R2'], outputs: ['Y2', 'Y2_h'], attributes: [{ name: 'hidden_size', i: 4 }] };
    const rest = [squeeze('Y', 'axis1', 'y_tbu'), transpose('y_tbu', 'y_swapped'), second, squeeze('Y2_h', 'first_axis', 'y')];
    const both = { ...initializers, W2: tensor([1, 16, 4]), R2: tensor([1, 16, 4]) };
    const timeMajor = onnxModel({ inputs: TIME_MAJOR_X, initializers: both, nodes: [{ ...lstm, inputs: ['x', 'W', 'R'] }, ...rest] });
    const batchMajor = onnxModel({ initializers: both, nodes: [transposeIn, lstm, ...rest] });
    for (const bytes of [timeMajor, batchMajor]) {
      expect((await refusal(loadModel(bytes))).message).toMatch(/'second_lstm' \(LSTM\): expected X to hold \[time, batch, features\] \(layout 0\), got \[batch, time, features\(4\)\]$/);
    }
  });
});

describe('ONNX files that are not models', () => {
  const both = async (bytes: Uint8Array) => [await refusal(loadModel(bytes, { format: 'onnx' })), await refusal(readOnnxRecurrent(bytes))];

  it('random bytes', async () => {
    const r = rng(7);
    for (const length of [0, 1, 2, 7, 64, 1000, 4096]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(r.next() * 256));
      if (length > 0) bytes[0] = 0x08; // what an ONNX file starts with
      for (const error of await both(bytes)) expect(error.message).toMatch(/ONNX model/);
    }
  });

  it('every fixture model cut short', async () => {
    for (const [, golden] of GOLDEN) {
      const bytes = new Uint8Array(readFileSync(`${DIR}${golden.model}`));
      for (let k = 1; k <= 24; k++) {
        const cut = Math.floor((bytes.length * k) / 25);
        await both(bytes.subarray(0, cut));
      }
    }
  });

  it('a protobuf message that is not a ModelProto, and a model without a graph', async () => {
    const notAModel = encode({ dims: [2], dataType: 1, floatData: [1, 2], name: 'w' }, writeTensorProto);
    await both(notAModel);
    const noGraph = encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }] }, writeModelProto);
    for (const error of await both(noGraph)) expect(error.message).toMatch(/expected an ONNX model with a graph.*got no graph/);
  });

  it('lengths past the end, field number 0, a group, an 11-byte varint: refused at once, saying what', async () => {
    const ir = [0x08, 0x08]; // ir_version 8
    const cases: [string, number[], RegExp][] = [
      ['a graph of 2^31 bytes', [...ir, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x08, 0x0a, 0x00], /a field of 2147483648 bytes at byte 3 runs past the end of its message \(byte 10\)/],
      ['a producer name longer than the file', [...ir, 0x12, 0x40, 0x61, 0x62], /runs past the end of its message \(byte 6\) to byte 68/],
      ['a raw_data longer than its tensor', [...ir, 0x3a, 0x06, 0x2a, 0x04, 0x4a, 0x10, 0x00, 0x00], /a field runs past the end of its message \(byte 10\) to byte 24/],
      ['field number 0', [...ir, 0x00, 0x01], /invalid field number 0 at byte 3/],
      ['a group (wire type 3)', [...ir, 0x0b, 0x0c], /Unimplemented type: 3/],
      ['an 11-byte varint', [0x08, ...new Array<number>(10).fill(0xff), 0x01], /Expected varint not more than 10 bytes/],
    ];
    for (const [what, bytes, message] of cases) {
      for (const error of await both(Uint8Array.from(bytes))) {
        expect(error.message, what).toMatch(/expected an ONNX model \(a ModelProto\), got \d+ bytes that are not one/);
        expect(error.message, what).toMatch(message);
      }
    }
  });

  it('a graph attribute nested 100000 deep (past the stack) is refused, 1000 deep is read (and its If refused): no crash', async () => {
    const started = performance.now();
    for (const error of await both(nestedGraphs(100_000))) expect(error.message).toMatch(/got \d+ bytes that are not one \(Maximum call stack size exceeded\)/);
    const bytes = nestedGraphs(1000);
    expect((await refusal(loadModel(bytes))).message).toMatch(/\bIf\b/);
    expect(await readOnnxRecurrent(bytes)).toEqual([]); // every branch walked: no LSTM or GRU in any
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('reading a model leaves its bytes unchanged, and the model keeps no view of them', async () => {
    const golden = GOLDEN.find(([name]) => name === 'lstm_last_softmax')![1];
    const bytes = new Uint8Array(readFileSync(`${DIR}${golden.model}`));
    const hash = createHash('sha256').update(bytes).digest('hex');
    const model = await loadModel(bytes);
    try {
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(hash);
      const before = model.forward(golden.cases[0]!.input).output;
      bytes.fill(0); // the raw_data the weights came from
      expect(model.forward(golden.cases[0]!.input).output.data).toEqual(before.data);
    } finally {
      model.dispose();
    }
  });
});

/**
 * A model whose graph holds an If node whose then_branch holds an If node ... `depth` graphs deep,
 * written outside in (each length is known before its bytes: the sizes are summed inside out first).
 */
function nestedGraphs(depth: number): Uint8Array {
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
    out.push(n);
    return out;
  };
  const attributeHead = [0x0a, 0x0b, ...new TextEncoder().encode('then_branch'), 0xa0, 0x01, 5]; // name, type GRAPH
  const nodeHead = [0x22, 2, 0x49, 0x66, 0x12, 1, 0x79]; // op_type 'If', output 'y'
  const sizes = [{ graph: 0, node: 0, attribute: 0 }]; // the innermost graph is empty
  for (let k = 1; k <= depth; k++) {
    const inner = sizes[k - 1]!.graph;
    const attribute = attributeHead.length + 1 + varint(inner).length + inner;
    const node = nodeHead.length + 1 + varint(attribute).length + attribute;
    sizes.push({ graph: 1 + varint(node).length + node, node, attribute });
  }
  const output = [0x62, 3, 0x0a, 1, 0x79]; // the outer graph's output 'y'
  const out: number[] = [0x08, 0x08, 0x42, 2, 0x10, 17, 0x3a, ...varint(sizes[depth]!.graph + output.length)]; // ir_version, opset 17, graph
  for (let k = depth; k >= 1; k--) {
    const { node, attribute } = sizes[k]!;
    out.push(0x0a, ...varint(node), ...nodeHead, 0x2a, ...varint(attribute), ...attributeHead, 0x32, ...varint(sizes[k - 1]!.graph));
  }
  out.push(...output);
  return Uint8Array.from(out);
}

describe('the ONNX decoder (lib/load/onnx-proto.generated.ts)', () => {
  it('is what scripts/gen-onnx-decoder.mjs generates from lib/load/onnx.proto (after editing either: npm run gen:onnx)', () => {
    const generated = execFileSync(process.execPath, ['scripts/gen-onnx-decoder.mjs', '--stdout'], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    expect(generated).toBe(readFileSync(new URL('../lib/load/onnx-proto.generated.ts', import.meta.url), 'utf8'));
  });

  it('reads every repeated number packed or one field per value, whichever onnx.proto declares', () => {
    const values = { dims: [2, 300], floatData: [1.5, -2.25], int32Data: [-7, 70000], int64Data: [-1, 2 ** 40], doubleData: [Math.PI, -0.5], uint64Data: [0, 2 ** 52 + 1] };
    type Field = keyof typeof values;
    const fields: [Field, number, 'Varint' | 'Float' | 'Double'][] = [['dims', 1, 'Varint'], ['floatData', 4, 'Float'], ['int32Data', 5, 'Varint'], ['int64Data', 7, 'Varint'], ['doubleData', 10, 'Double'], ['uint64Data', 11, 'Varint']];
    for (const packed of [true, false]) {
      const pbf = new PbfWriter();
      for (const [name, tag, type] of fields) {
        if (packed) pbf[`writePacked${type}`](tag, values[name]);
        else for (const v of values[name]) pbf[`write${type}Field`](tag, v);
      }
      pbf.writeVarintField(2, 1);
      const tensor = decode(pbf.finish(), readTensorProto);
      expect(tensor, packed ? 'packed' : 'unpacked').toMatchObject({ ...values, dataType: 1, floatData: values.floatData, rawData: new Uint8Array(0), segment: null, name: '' });
      // An attribute's ints (a perm, axes) and floats (activation_alpha) likewise.
      const attribute = new PbfWriter();
      if (packed) {
        attribute.writePackedVarint(8, [1, 0, -1]);
        attribute.writePackedFloat(7, [0.5, 2]);
      } else {
        for (const v of [1, 0, -1]) attribute.writeVarintField(8, v);
        for (const v of [0.5, 2]) attribute.writeFloatField(7, v);
      }
      expect(decode(attribute.finish(), readAttributeProto)).toMatchObject({ ints: [1, 0, -1], floats: [0.5, 2], t: null, g: null, s: new Uint8Array(0) });
    }
  });

  it("gives absent fields protobuf's defaults, skips fields it does not know, and reads a field of the wrong wire type as unknown", () => {
    const empty = decodeModelProto(new Uint8Array(0));
    expect(empty).toEqual({ irVersion: 0, opsetImport: [], producerName: '', producerVersion: '', graph: null });
    const pbf = new PbfWriter();
    pbf.writeVarintField(1, 9); // ir_version
    pbf.writeStringField(4, 'ai.example'); // domain, not in the subset
    pbf.writeVarintField(5, 3); // model_version, not in the subset
    pbf.writeVarintField(7, 12); // graph as a varint: not a GraphProto
    pbf.writeFloatField(2, 1); // producer_name as a float: not a string
    pbf.writeStringField(2, 'exporter'); // producer_name
    pbf.writeDoubleField(14, 1); // metadata_props, not in the subset, as a double
    expect(decodeModelProto(pbf.finish())).toEqual({ irVersion: 9, opsetImport: [], producerName: 'exporter', producerVersion: '', graph: null });
  });
});
