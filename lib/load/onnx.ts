// ONNX models: the LSTM / GRU / Gemm / MatMul path from the graph's input to its first output becomes
// a Sequential (readOnnx; a Gather of integer ids from a constant table first is an Embedding), and
// every LSTM / GRU node anywhere in a model, subgraphs included, can be read with its folded weights
// (readOnnxRecurrent) for models that are more than a Sequential.
//
// Exporters never hand over a clean layer list: weights come out of small constant computations
// (Slice, Concat, Unsqueeze of initializers, even inside If branches), initial states out of
// Shape/ConstantOfShape/Expand chains, and the data is squeezed, transposed and reshaped between
// layers. The reader folds the constants and follows the data through that plumbing, tracking what
// each axis holds (batch, time, features, directions), and accepts a graph only when the Sequential
// it builds computes the same thing; otherwise it names what it cannot map. A graph whose first
// recurrent node takes the input as [time, batch, ...] is read again with the input time-major and
// becomes a timeMajor Sequential.
import type { Activation } from '../activations.js';
import type { BidirectionalOptions } from '../bidirectional.js';
import type { DenseOptions } from '../dense.js';
import { LstmError } from '../errors.js';
import { shapeText, sizeOf, type Tensor } from '../tensor.js';
import type { Int64, OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './onnx-schema.js';
import { bfloat16ToFloat, halfToFloat } from './binary.js';
import type { ModelFile } from './source.js';
import { modelError, type LayerSpec } from './spec.js';

// ------------------------------------------------------------------------------------------ API

/** ONNX LSTM/GRU weights of one direction or of all: W [D,G*U,I], R [D,G*U,U], B [D,2*G*U], P [D,3U] (LSTM). */
export interface OnnxWeightTensors {
  W: Tensor;
  R: Tensor;
  B?: Tensor;
  P?: Tensor;
}

/** A node's attributes as Lstm.create / Gru.create options (with weightLayout 'onnx'). */
export interface OnnxRecurrentOptions {
  weightLayout: 'onnx';
  units: number;
  /** ONNX's g (LSTM candidate c~, GRU h~). */
  activation: Activation;
  /** ONNX's f (the gates). */
  recurrentActivation: Activation;
  /** LSTM: ONNX's h (applied to c before the output gate). */
  cellActivation?: Activation;
  clip?: number;
  /** LSTM: input_forget. */
  inputForget?: boolean;
  /** GRU: linear_before_reset. */
  resetAfter?: boolean;
  /** direction 'reverse' (and the backward half of a bidirectional node). */
  goBackwards?: boolean;
}

/** An LSTM or GRU node of an ONNX model, its weights folded to constants. */
export interface OnnxRecurrentNode {
  /** The node's name (`<op> -> <first output>` when it has none). */
  name: string;
  opType: 'LSTM' | 'GRU';
  /** Where the node sits: [] in the main graph, else one `<node>.<attribute>` per subgraph level (e.g. an If's then_branch). */
  graph: string[];
  direction: 'forward' | 'reverse' | 'bidirectional';
  /** 0: X is [time, batch, features] (ONNX's default); 1: [batch, time, features]. */
  layout: 0 | 1;
  inputSize: number;
  hiddenSize: number;
  /** W, R, B, P as the node receives them (num_directions first). */
  weights: OnnxWeightTensors;
  /**
   * Options for `Lstm.create({ weights: node.weights, ...node.options })` (`Gru.create` for a GRU).
   * A bidirectional node has two directions: build it from `directions`.
   */
  options: OnnxRecurrentOptions;
  /** Per direction (forward first): its weights with num_directions 1 and its options (the backward one with goBackwards). */
  directions: { weights: OnnxWeightTensors; options: OnnxRecurrentOptions }[];
  /** The node's input names (X, W, R, B, sequence_lens, initial_h, initial_c, P) and output names as in the file; '' for absent ones. */
  inputs: string[];
  outputs: string[];
}

/** Reads a model's path from its input to its first output as Sequential layers. */
export async function readOnnx(file: ModelFile): Promise<LayerSpec[]> {
  const model = await decode(file.name, file.bytes);
  return guarded(file.name, () => {
    try {
      return new PathReader(file.name, model, false).layers();
    } catch (error) {
      if (!(error instanceof TimeMajorInput)) throw error;
      return new PathReader(file.name, model, true).layers();
    }
  });
}

/**
 * Every LSTM and GRU node of an ONNX model, subgraphs included, with its weights folded to
 * constants and its attributes as layer options: for models that are more than a Sequential
 * (convolutions before the recurrent layer, an If on the sample rate, a state fed back by the caller).
 */
export async function readOnnxRecurrent(bytes: Uint8Array | ArrayBuffer, name = 'the given bytes'): Promise<OnnxRecurrentNode[]> {
  if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
    throw new LstmError('ERR_LSTM_CONFIG', `readOnnxRecurrent: expected the model's bytes (a Uint8Array or ArrayBuffer), got ${bytes === null ? 'null' : typeof bytes}`);
  }
  const model = await decode(name, bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  return guarded(name, () => findRecurrentNodes(name, model));
}

// ------------------------------------------------------------------------------------ decoding

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const;

/** TensorProto.DataType values. */
const DATA_TYPE = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16,
} as const;

/** Whatever goes wrong inside (a protobuf error, a stack overflow on absurd nesting) is the file's fault. */
function guarded<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof LstmError) throw error;
    return modelError(file, `could not be read as an ONNX model (${(error as Error)?.message ?? String(error)})`, error);
  }
}

/** Decodes the ModelProto (the protobuf schema, and protobufjs, load with the first model read). */
async function decode(file: string, bytes: Uint8Array): Promise<OnnxModel> {
  const { decodeModelProto } = await import('./onnx-schema.js');
  let model: OnnxModel;
  try {
    model = decodeModelProto(bytes);
  } catch (error) {
    // protobufjs compiles its decoders with new Function(), which a Content-Security-Policy may forbid.
    if (error instanceof EvalError) throw new LstmError('ERR_LSTM_UNSUPPORTED', `${file}: reading ONNX needs protobufjs, which cannot compile its decoders here (${error.message})`, { cause: error });
    return modelError(file, `expected an ONNX model (a ModelProto), got ${bytes.length} bytes that are not one (${(error as Error).message})`, error);
  }
  if (!model.graph || model.graph.node.length === 0 || model.graph.output.length === 0) {
    modelError(file, `expected an ONNX model with a graph of nodes and outputs, got ${model.graph ? `a graph with ${model.graph.node.length} nodes and ${model.graph.output.length} outputs` : 'no graph'}`);
  }
  return model;
}

const int = (v: Int64): number => (typeof v === 'number' ? v : v.toNumber());
const utf8 = new TextDecoder();

/** The version of the default (ai.onnx) operator set the model imports. */
function defaultOpset(file: string, model: OnnxModel): number {
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!entry) modelError(file, `expected the model to import the default ONNX operator set, got ${model.opsetImport.length ? `only ${model.opsetImport.map((o) => `'${o.domain}'`).join(', ')}` : 'no operator set'}`);
  return int(entry.version);
}

const nodeLabel = (node: OnnxNode) => `'${node.name || `${node.opType} -> ${node.output[0] ?? '?'}`}' (${node.opType})`;
const isDefaultDomain = (node: OnnxNode) => node.domain === '' || node.domain === 'ai.onnx';

type Fail = (what: string) => never;

/** A node's attributes, type-checked as they are read. */
class Attributes {
  private readonly byName = new Map<string, OnnxAttribute>();

  constructor(node: OnnxNode, private readonly fail: Fail) {
    for (const a of node.attribute) this.byName.set(a.name, a);
  }

  private get(name: string, type: number, what: string): OnnxAttribute | undefined {
    const a = this.byName.get(name);
    if (a && a.type !== type && a.type !== 0) this.fail(`attribute '${name}': expected ${what}, got attribute type ${a.type}`);
    return a;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
  int(name: string, fallback: number): number {
    const a = this.get(name, ATTRIBUTE_TYPE.INT, 'an int');
    return a ? int(a.i) : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.get(name, ATTRIBUTE_TYPE.FLOAT, 'a float');
    return a ? a.f : fallback;
  }
  string(name: string, fallback: string): string {
    const a = this.get(name, ATTRIBUTE_TYPE.STRING, 'a string');
    return a ? utf8.decode(a.s) : fallback;
  }
  ints(name: string): number[] | undefined {
    return this.get(name, ATTRIBUTE_TYPE.INTS, 'ints')?.ints.map(int);
  }
  floats(name: string): number[] | undefined {
    return this.get(name, ATTRIBUTE_TYPE.FLOATS, 'floats')?.floats;
  }
  strings(name: string): string[] | undefined {
    return this.get(name, ATTRIBUTE_TYPE.STRINGS, 'strings')?.strings.map((s) => utf8.decode(s));
  }
  tensor(name: string): OnnxTensor | undefined {
    return this.get(name, ATTRIBUTE_TYPE.TENSOR, 'a tensor')?.t ?? undefined;
  }
  graph(name: string): OnnxGraph | undefined {
    return this.get(name, ATTRIBUTE_TYPE.GRAPH, 'a graph')?.g ?? undefined;
  }
}

// ------------------------------------------------------------------------------------- tensors

/** A constant: float types keep float32 values in a Float32Array (doubles a Float64Array), integers and booleans a Float64Array. */
interface Const {
  kind: 'const';
  dtype: number;
  shape: number[];
  data: Float32Array | Float64Array;
}

/** The most values one folded tensor may hold (a guard against shapes no real model has). */
const MAX_VALUES = 1 << 27;
const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };
const FLOAT_TYPES = new Set<number>([DATA_TYPE.FLOAT, DATA_TYPE.FLOAT16, DATA_TYPE.BFLOAT16, DATA_TYPE.DOUBLE]);

function arrayFor(dtype: number, n: number): Float32Array | Float64Array {
  return dtype === DATA_TYPE.FLOAT || dtype === DATA_TYPE.FLOAT16 || dtype === DATA_TYPE.BFLOAT16 ? new Float32Array(n) : new Float64Array(n);
}

function checkCount(count: number, what: string, fail: Fail): void {
  if (count > MAX_VALUES) fail(`${what} would hold ${count} values, more than the ${MAX_VALUES} a tensor may have here`);
}

/** A TensorProto's values, from raw_data (little-endian) or its typed field. */
function readTensorProto(t: OnnxTensor, what: string, fail: Fail): Const {
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    const location = t.externalData.find((e) => e.key === 'location')?.value;
    fail(`${what} keeps its data in an external file${location ? ` ('${location}')` : ''} (data_location EXTERNAL), which lstm-runtime does not read: save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))`);
  }
  if (t.segment) fail(`${what} is one segment of a larger tensor, which lstm-runtime does not read`);
  const shape = t.dims.map(int);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${what}: expected non-negative dimensions, got ${shapeText(shape)}`);
  const count = shape.reduce((a, b) => a * b, 1);
  checkCount(count, what, fail);
  const dtype = t.dataType;
  const size = BYTES[dtype];
  if (size === undefined) fail(`${what}: expected numeric data, got data type ${dtype}`);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== count * size) fail(`${what}: expected ${count * size} bytes of raw data for shape ${shapeText(shape)}, got ${raw.length}`);
    const data = arrayFor(dtype, count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const read: (k: number) => number = {
      [DATA_TYPE.FLOAT]: (k: number) => view.getFloat32(4 * k, true),
      [DATA_TYPE.UINT8]: (k: number) => view.getUint8(k),
      [DATA_TYPE.INT8]: (k: number) => view.getInt8(k),
      [DATA_TYPE.UINT16]: (k: number) => view.getUint16(2 * k, true),
      [DATA_TYPE.INT16]: (k: number) => view.getInt16(2 * k, true),
      [DATA_TYPE.INT32]: (k: number) => view.getInt32(4 * k, true),
      [DATA_TYPE.INT64]: (k: number) => Number(view.getBigInt64(8 * k, true)),
      [DATA_TYPE.BOOL]: (k: number) => (view.getUint8(k) ? 1 : 0),
      [DATA_TYPE.FLOAT16]: (k: number) => halfToFloat(view.getUint16(2 * k, true)),
      [DATA_TYPE.DOUBLE]: (k: number) => view.getFloat64(8 * k, true),
      [DATA_TYPE.UINT32]: (k: number) => view.getUint32(4 * k, true),
      [DATA_TYPE.UINT64]: (k: number) => Number(view.getBigUint64(8 * k, true)),
      [DATA_TYPE.BFLOAT16]: (k: number) => bfloat16ToFloat(view.getUint16(2 * k, true)),
    }[dtype]!;
    for (let k = 0; k < count; k++) data[k] = read(k);
    return { kind: 'const', dtype, shape, data };
  }
  let values: ArrayLike<number>;
  switch (dtype) {
    case DATA_TYPE.FLOAT:
      values = t.floatData;
      break;
    case DATA_TYPE.DOUBLE:
      values = t.doubleData;
      break;
    case DATA_TYPE.INT64:
      values = t.int64Data.map(int);
      break;
    case DATA_TYPE.UINT32:
    case DATA_TYPE.UINT64:
      values = t.uint64Data.map(int);
      break;
    case DATA_TYPE.FLOAT16:
      values = t.int32Data.map(halfToFloat);
      break;
    case DATA_TYPE.BFLOAT16:
      values = t.int32Data.map(bfloat16ToFloat);
      break;
    default:
      values = t.int32Data; // int32 and narrower, bool
  }
  if (values.length !== count) fail(`${what}: expected ${count} values for shape ${shapeText(shape)}, got ${values.length}`);
  const data = arrayFor(dtype, count);
  for (let k = 0; k < count; k++) data[k] = values[k]!;
  return { kind: 'const', dtype, shape, data };
}

/** A float constant as float32 weights. */
function floatTensor(c: Const, what: string, fail: Fail): Tensor {
  if (!FLOAT_TYPES.has(c.dtype)) fail(`${what}: expected float weights, got data type ${c.dtype}`);
  return { data: c.data instanceof Float32Array ? c.data : Float32Array.from(c.data), shape: [...c.shape] };
}

function intsOf(c: Const, what: string, fail: Fail): number[] {
  const values = Array.from(c.data);
  if (!values.every(Number.isInteger)) fail(`${what}: expected integers, got ${values.slice(0, 8).join(', ')}`);
  return values;
}

const stridesOf = (shape: readonly number[]) => {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a]!;
  }
  return strides;
};

/** Normalizes an axis of a rank-`rank` tensor (negative counts from the end). */
function axisOf(axis: number, rank: number, what: string, fail: Fail): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail(`${what}: expected an axis in [${-rank}, ${rank - 1}], got ${axis}`);
  return a;
}

/** out[i0, i1, ...] = c[lists[0][i0], lists[1][i1], ...]: slicing, gathering and broadcasting in one. */
function select(c: Const, lists: number[][], fail: Fail): Const {
  const shape = lists.map((l) => l.length);
  const n = sizeOf(shape);
  checkCount(n, 'a folded constant', fail);
  const out = arrayFor(c.dtype, n);
  const strides = stridesOf(c.shape);
  const pos = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = 0;
    for (let a = 0; a < shape.length; a++) src += lists[a]![pos[a]!]! * strides[a]!;
    out[k] = c.data[src]!;
    for (let a = shape.length - 1; a >= 0 && ++pos[a]! === shape[a]; a--) pos[a] = 0;
  }
  return { kind: 'const', dtype: c.dtype, shape, data: out };
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);

function transposeConst(c: Const, perm: number[]): Const {
  const shape = perm.map((p) => c.shape[p]!);
  const strides = stridesOf(c.shape);
  const n = c.data.length;
  const out = arrayFor(c.dtype, n);
  const pos = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = 0;
    for (let a = 0; a < shape.length; a++) src += pos[a]! * strides[perm[a]!]!;
    out[k] = c.data[src]!;
    for (let a = shape.length - 1; a >= 0 && ++pos[a]! === shape[a]; a--) pos[a] = 0;
  }
  return { kind: 'const', dtype: c.dtype, shape, data: out };
}

/** The indices ONNX Slice picks along one axis of size `size`. */
function sliceIndices(start: number, end: number, step: number, size: number): number[] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + size : start;
  let e = end < 0 ? end + size : end;
  const out: number[] = [];
  if (step > 0) {
    s = clamp(s, 0, size);
    e = clamp(e, 0, size);
    for (let i = s; i < e; i += step) out.push(i);
  } else {
    s = clamp(s, 0, size - 1);
    e = clamp(e, -1, size - 1);
    for (let i = s; i > e; i += step) out.push(i);
  }
  return out;
}

interface SliceSpec {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

/** Slice's parameters: inputs since opset 10, attributes before. */
function sliceSpec(inputs: (Value | undefined)[], attrs: Attributes, opset: number, rank: number, fail: Fail): SliceSpec {
  const list = (k: number, name: string): number[] | undefined => {
    if (opset < 10) return attrs.ints(name);
    const v = inputs[k];
    if (v === undefined) return undefined;
    if (v.kind !== 'const') fail(`expected Slice's ${name} to be constants, got ${describeValue(v)}`);
    return intsOf(v, `Slice ${name}`, fail);
  };
  const starts = list(1, 'starts') ?? fail('Slice without starts');
  const ends = list(2, 'ends') ?? fail('Slice without ends');
  const axes = (list(3, 'axes') ?? range(starts.length)).map((a) => axisOf(a, rank, 'Slice axes', fail));
  const steps = list(4, 'steps') ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length || steps.some((s) => s === 0)) {
    fail(`expected Slice's starts, ends, axes and steps of one length and steps not 0, got ${starts.length}, ${ends.length}, ${axes.length}, ${steps.length}`);
  }
  return { starts, ends, axes, steps };
}

function constAxes(v: Value | undefined, attrs: Attributes, opset: number, op: string, fail: Fail): number[] | undefined {
  if (opset < 13) return attrs.ints('axes');
  if (v === undefined) return undefined;
  if (v.kind !== 'const') fail(`expected ${op}'s axes to be constants, got ${describeValue(v)}`);
  return intsOf(v, `${op} axes`, fail);
}

/** Squeeze/Unsqueeze/Reshape/Flatten output shapes for constants. */
function reshapeTarget(input: readonly number[], target: number[], allowzero: boolean, fail: Fail): number[] {
  const out = target.map((d, i) => (d === 0 && !allowzero ? (input[i] ?? fail(`Reshape copies dimension ${i} of a rank-${input.length} tensor`)) : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(input);
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    if (out.lastIndexOf(-1) !== infer || known === 0 || total % known !== 0) fail(`cannot reshape ${shapeText(input)} to ${shapeText(target)}`);
    out[infer] = total / known;
  }
  if (sizeOf(out) !== total || out.some((d) => d < 0)) fail(`cannot reshape ${shapeText(input)} to ${shapeText(target)}`);
  return out;
}

/** The operators folded when all their inputs are constants. */
const FOLDABLE = new Set([
  'Constant', 'Identity', 'Cast', 'Shape', 'Size', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten', 'Transpose', 'Concat', 'Slice', 'Gather',
  'ConstantOfShape', 'Expand', 'Equal', 'Not',
]);

/** Computes a constant node (every input a constant). */
function foldNode(node: OnnxNode, inputs: (Const | undefined)[], opset: number, fail: Fail): Const[] {
  const attrs = new Attributes(node, fail);
  const x = inputs[0];
  const need = (c: Const | undefined, what: string): Const => c ?? fail(`expected input ${what}, got none`);
  const withShape = (c: Const, shape: number[]): Const => ({ ...c, shape });
  switch (node.opType) {
    case 'Constant': {
      const t = attrs.tensor('value');
      if (t) return [readTensorProto(t, `the value of Constant ${nodeLabel(node)}`, fail)];
      if (attrs.has('value_float')) return [{ kind: 'const', dtype: DATA_TYPE.FLOAT, shape: [], data: Float32Array.of(attrs.float('value_float', 0)) }];
      if (attrs.has('value_floats')) {
        const v = attrs.floats('value_floats')!;
        return [{ kind: 'const', dtype: DATA_TYPE.FLOAT, shape: [v.length], data: Float32Array.from(v) }];
      }
      if (attrs.has('value_int')) return [{ kind: 'const', dtype: DATA_TYPE.INT64, shape: [], data: Float64Array.of(attrs.int('value_int', 0)) }];
      if (attrs.has('value_ints')) {
        const v = attrs.ints('value_ints')!;
        return [{ kind: 'const', dtype: DATA_TYPE.INT64, shape: [v.length], data: Float64Array.from(v) }];
      }
      return fail(`expected a numeric Constant (value, value_float(s) or value_int(s)), got attributes ${node.attribute.map((a) => a.name).join(', ') || 'none'}`);
    }
    case 'Identity':
      return [need(x, 'x')];
    case 'Cast': {
      const c = need(x, 'x');
      const to = attrs.int('to', 0);
      if (BYTES[to] === undefined) fail(`expected a Cast to a numeric type, got type ${to}`);
      const data = arrayFor(to, c.data.length);
      const integer = !FLOAT_TYPES.has(to);
      for (let k = 0; k < data.length; k++) {
        const v = c.data[k]!;
        data[k] = to === DATA_TYPE.BOOL ? (v !== 0 ? 1 : 0) : integer ? Math.trunc(v) : v;
      }
      return [{ kind: 'const', dtype: to, shape: c.shape, data }];
    }
    case 'Shape': {
      const rank = need(x, 'x').shape.length;
      const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
      const dims = x!.shape.slice(clampAxis(attrs.int('start', 0)), clampAxis(attrs.int('end', rank)));
      return [{ kind: 'const', dtype: DATA_TYPE.INT64, shape: [dims.length], data: Float64Array.from(dims) }];
    }
    case 'Size':
      return [{ kind: 'const', dtype: DATA_TYPE.INT64, shape: [], data: Float64Array.of(need(x, 'x').data.length) }];
    case 'Unsqueeze': {
      const c = need(x, 'x');
      const axes = constAxes(inputs[1], attrs, opset, 'Unsqueeze', fail) ?? fail('Unsqueeze without axes');
      const rank = c.shape.length + axes.length;
      const at = new Set(axes.map((a) => axisOf(a, rank, 'Unsqueeze axes', fail)));
      const shape: number[] = [];
      let k = 0;
      for (let a = 0; a < rank; a++) shape.push(at.has(a) ? 1 : c.shape[k++]!);
      return [withShape(c, shape)];
    }
    case 'Squeeze': {
      const c = need(x, 'x');
      const axes = constAxes(inputs[1], attrs, opset, 'Squeeze', fail);
      const drop = new Set(axes ? axes.map((a) => axisOf(a, c.shape.length, 'Squeeze axes', fail)) : c.shape.flatMap((d, a) => (d === 1 ? [a] : [])));
      for (const a of drop) if (c.shape[a] !== 1) fail(`Squeeze of axis ${a} of size ${c.shape[a]}`);
      return [withShape(c, c.shape.filter((_, a) => !drop.has(a)))];
    }
    case 'Reshape': {
      const c = need(x, 'x');
      const target = intsOf(need(inputs[1], 'shape'), 'Reshape shape', fail);
      return [withShape(c, reshapeTarget(c.shape, target, attrs.int('allowzero', 0) === 1, fail))];
    }
    case 'Flatten': {
      const c = need(x, 'x');
      const axis = attrs.int('axis', 1);
      const at = axis < 0 ? axis + c.shape.length : axis;
      if (at < 0 || at > c.shape.length) fail(`Flatten axis ${axis} of a rank-${c.shape.length} tensor`);
      return [withShape(c, [sizeOf(c.shape.slice(0, at)), sizeOf(c.shape.slice(at))])];
    }
    case 'Transpose': {
      const c = need(x, 'x');
      const perm = attrs.ints('perm') ?? range(c.shape.length).reverse();
      checkPermutation(perm, c.shape.length, fail);
      return [transposeConst(c, perm)];
    }
    case 'Concat': {
      const parts = inputs.filter((c): c is Const => c !== undefined);
      const first = parts[0] ?? fail('Concat of nothing');
      const rank = first.shape.length;
      const axis = axisOf(attrs.int('axis', 0), rank, 'Concat axis', fail);
      for (const p of parts) {
        if (p.shape.length !== rank || p.shape.some((d, a) => a !== axis && d !== first.shape[a])) fail(`Concat of shapes ${parts.map((q) => shapeText(q.shape)).join(', ')} on axis ${axis}`);
      }
      const shape = [...first.shape];
      shape[axis] = parts.reduce((s, p) => s + p.shape[axis]!, 0);
      const data = arrayFor(first.dtype, sizeOf(shape));
      const outer = sizeOf(shape.slice(0, axis));
      let offset = 0;
      for (let o = 0; o < outer; o++) {
        for (const p of parts) {
          const block = sizeOf(p.shape.slice(axis));
          for (let k = 0; k < block; k++) data[offset++] = p.data[o * block + k]!;
        }
      }
      return [{ kind: 'const', dtype: first.dtype, shape, data }];
    }
    case 'Slice': {
      const c = need(x, 'x');
      const s = sliceSpec(inputs, attrs, opset, c.shape.length, fail);
      const lists = c.shape.map((d) => range(d));
      s.axes.forEach((a, k) => (lists[a] = sliceIndices(s.starts[k]!, s.ends[k]!, s.steps[k]!, c.shape[a]!)));
      return [select(c, lists, fail)];
    }
    case 'Gather': {
      const c = need(x, 'x');
      const indices = need(inputs[1], 'indices');
      const axis = axisOf(attrs.int('axis', 0), c.shape.length, 'Gather axis', fail);
      const size = c.shape[axis]!;
      const picked = intsOf(indices, 'Gather indices', fail).map((i) => {
        if (i < -size || i >= size) fail(`Gather index ${i} on an axis of size ${size}`);
        return i < 0 ? i + size : i;
      });
      const lists = c.shape.map((d) => range(d));
      lists[axis] = picked;
      const out = select(c, lists, fail);
      return [withShape(out, [...c.shape.slice(0, axis), ...indices.shape, ...c.shape.slice(axis + 1)])];
    }
    case 'ConstantOfShape': {
      const shape = intsOf(need(x, 'shape'), 'ConstantOfShape shape', fail);
      if (!shape.every((d) => d >= 0)) fail(`ConstantOfShape of shape ${shapeText(shape)}`);
      const value = attrs.tensor('value');
      const fill = value ? readTensorProto(value, 'the value of ConstantOfShape', fail) : { kind: 'const' as const, dtype: DATA_TYPE.FLOAT, shape: [1], data: Float32Array.of(0) };
      if (fill.data.length !== 1) fail(`expected a one-value ConstantOfShape value, got ${fill.data.length} values`);
      checkCount(sizeOf(shape), 'ConstantOfShape', fail);
      const data = arrayFor(fill.dtype, sizeOf(shape)).fill(fill.data[0]!);
      return [{ kind: 'const', dtype: fill.dtype, shape, data }];
    }
    case 'Equal': {
      const [a, b] = [need(x, 'A'), need(inputs[1], 'B')];
      const [big, small] = a.data.length >= b.data.length ? [a, b] : [b, a];
      if (small.data.length !== 1 && shapeText(a.shape) !== shapeText(b.shape)) fail(`Equal of shapes ${shapeText(a.shape)} and ${shapeText(b.shape)} (only equal shapes or a scalar are folded)`);
      const data = Float64Array.from(big.data, (v, k) => (v === small.data[small.data.length === 1 ? 0 : k] ? 1 : 0));
      return [{ kind: 'const', dtype: DATA_TYPE.BOOL, shape: big.shape, data }];
    }
    case 'Not':
      return [{ kind: 'const', dtype: DATA_TYPE.BOOL, shape: need(x, 'x').shape, data: Float64Array.from(x!.data, (v) => (v ? 0 : 1)) }];
    case 'Expand': {
      const c = need(x, 'x');
      const target = intsOf(need(inputs[1], 'shape'), 'Expand shape', fail);
      const rank = Math.max(c.shape.length, target.length);
      const from = [...new Array<number>(rank - c.shape.length).fill(1), ...c.shape];
      const to = [...new Array<number>(rank - target.length).fill(1), ...target];
      const shape = from.map((d, a) => {
        const t = to[a]!;
        if (d !== t && d !== 1 && t !== 1) fail(`Expand of ${shapeText(c.shape)} to ${shapeText(target)}`);
        return d === 1 ? t : d;
      });
      return [select(withShape(c, from), shape.map((d, a) => (from[a] === 1 ? new Array<number>(d).fill(0) : range(d))), fail)];
    }
  }
  return fail(`${node.opType} is not folded`);
}

function checkPermutation(perm: number[], rank: number, fail: Fail): void {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, k) => p !== k)) fail(`expected a Transpose perm of ${rank} axes, got [${perm.join(', ')}]`);
}

// ------------------------------------------------------------------------- recurrent nodes

interface RecurrentParts {
  cell: 'lstm' | 'gru';
  direction: 'forward' | 'reverse' | 'bidirectional';
  layout: 0 | 1;
  inputSize: number;
  hiddenSize: number;
  weights: OnnxWeightTensors;
  directions: { weights: OnnxWeightTensors; options: OnnxRecurrentOptions }[];
}

/**
 * ONNX activations as lstm-runtime activations. alpha and beta are taken in order by the
 * activations that use them, with ONNX's defaults when the list runs out (what onnxruntime does).
 */
function activationsOf(names: string[], alphas: number[], betas: number[], fail: Fail): Activation[] {
  let nextAlpha = 0;
  let nextBeta = 0;
  const alpha = (fallback: number) => alphas[nextAlpha++] ?? fallback;
  const beta = (fallback: number) => betas[nextBeta++] ?? fallback;
  return names.map((name) => {
    const lower = name.toLowerCase();
    const unsupported = (params: string): never =>
      fail(`activation '${name}'${params} is not one lstm-runtime runs: expected Sigmoid, Tanh, Relu, Softsign, HardSigmoid, Elu, or Affine/LeakyRelu/ThresholdedRelu/ScaledTanh with parameters that make them one of these`);
    switch (lower) {
      case 'sigmoid':
      case 'tanh':
      case 'relu':
      case 'softsign':
        return lower;
      case 'hardsigmoid':
        return { name: 'hard_sigmoid', alpha: alpha(0.2), beta: beta(0.5) };
      case 'elu':
        return { name: 'elu', alpha: alpha(1) };
      case 'affine': {
        const [a, b] = [alpha(0), beta(0)];
        return a === 1 && b === 0 ? 'linear' : unsupported(` (alpha ${a}, beta ${b})`);
      }
      case 'leakyrelu': {
        const a = alpha(0.01);
        return a === 0 ? 'relu' : unsupported(` (alpha ${a})`);
      }
      case 'thresholdedrelu': {
        const a = alpha(0);
        return a === 0 ? 'relu' : unsupported(` (alpha ${a})`);
      }
      case 'scaledtanh': {
        const [a, b] = [alpha(0), beta(0)];
        return a === 1 && b === 1 ? 'tanh' : unsupported(` (alpha ${a}, beta ${b})`);
      }
      default:
        return unsupported('');
    }
  });
}

/** An LSTM/GRU node's attributes and constant weights, checked, per direction. */
function recurrentParts(node: OnnxNode, inputs: { W: Const; R: Const; B?: Const; P?: Const }, fail: Fail): RecurrentParts {
  const cell = node.opType === 'LSTM' ? 'lstm' : 'gru';
  const attrs = new Attributes(node, fail);
  const direction = attrs.string('direction', 'forward');
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') fail(`expected direction forward, reverse or bidirectional, got '${direction}'`);
  const D = direction === 'bidirectional' ? 2 : 1;
  const G = cell === 'lstm' ? 4 : 3;
  const layout = attrs.int('layout', 0);
  if (layout !== 0 && layout !== 1) fail(`expected layout 0 or 1, got ${layout}`);

  const W = floatTensor(inputs.W, 'W', fail);
  const R = floatTensor(inputs.R, 'R', fail);
  if (W.shape.length !== 3 || W.shape[0] !== D || W.shape[1]! % G !== 0 || W.shape[1] === 0) fail(`expected W of shape [${D}, ${G}*hidden_size, input_size], got ${shapeText(W.shape)}`);
  const U = attrs.has('hidden_size') ? attrs.int('hidden_size', 0) : W.shape[1]! / G;
  const I = W.shape[2]!;
  if (U < 1 || W.shape[1] !== G * U) fail(`expected W of shape [${D}, ${G * U}, input_size] (hidden_size ${U}), got ${shapeText(W.shape)}`);
  if (I < 1) fail(`expected an input size >= 1, got W of shape ${shapeText(W.shape)}`);
  const expect = (t: Tensor | undefined, name: string, shape: number[]) => {
    if (t && shapeText(t.shape) !== shapeText(shape)) fail(`expected ${name} of shape ${shapeText(shape)}, got ${shapeText(t.shape)}`);
  };
  expect(R, 'R', [D, G * U, U]);
  const B = inputs.B && floatTensor(inputs.B, 'B', fail);
  expect(B, 'B', [D, 2 * G * U]);
  const P = inputs.P && floatTensor(inputs.P, 'P', fail);
  if (P && cell === 'gru') fail('a GRU has no peepholes');
  expect(P, 'P', [D, 3 * U]);

  const defaults = cell === 'lstm' ? ['Sigmoid', 'Tanh', 'Tanh'] : ['Sigmoid', 'Tanh'];
  let names = attrs.strings('activations') ?? [...defaults, ...(D === 2 ? defaults : [])];
  if (D === 2 && names.length === defaults.length) names = [...names, ...names]; // one set given for both directions
  if (names.length !== D * defaults.length) fail(`expected ${D * defaults.length} activations (${defaults.length} per direction), got ${names.length}: ${names.join(', ')}`);
  const activations = activationsOf(names, attrs.floats('activation_alpha') ?? [], attrs.floats('activation_beta') ?? [], fail);

  const clip = attrs.has('clip') ? attrs.float('clip', 0) : undefined;
  if (clip !== undefined && !(clip > 0 && Number.isFinite(clip))) fail(`expected clip > 0, got ${clip}`);
  const inputForget = attrs.int('input_forget', 0);
  const linearBeforeReset = attrs.int('linear_before_reset', 0);

  const part = (t: Tensor, d: number): Tensor => {
    const n = sizeOf(t.shape.slice(1));
    return { data: t.data.slice(d * n, (d + 1) * n), shape: [1, ...t.shape.slice(1)] };
  };
  const directions = range(D).map((d) => {
    const [f, g, h] = activations.slice(d * defaults.length, (d + 1) * defaults.length);
    const options: OnnxRecurrentOptions = { weightLayout: 'onnx', units: U, activation: g!, recurrentActivation: f! };
    if (cell === 'lstm') options.cellActivation = h!;
    if (clip !== undefined) options.clip = clip;
    if (cell === 'lstm' && inputForget) options.inputForget = true;
    if (cell === 'gru') options.resetAfter = linearBeforeReset !== 0;
    if (direction === 'reverse' || d === 1) options.goBackwards = true;
    const weights: OnnxWeightTensors = { W: part(W, d), R: part(R, d) };
    if (B) weights.B = part(B, d);
    if (P) weights.P = part(P, d);
    return { weights, options };
  });
  const weights: OnnxWeightTensors = { W, R };
  if (B) weights.B = B;
  if (P) weights.P = P;
  return { cell, direction, layout, inputSize: I, hiddenSize: U, weights, directions };
}

const RECURRENT_WEIGHT_INPUTS = { W: 1, R: 2, B: 3, P: 7 } as const;
const RECURRENT_OPS = new Set(['LSTM', 'GRU']);

// ---------------------------------------------------------------- readOnnxRecurrent: all nodes

type ScopeEntry = Const | { kind: 'unknown'; why: string };

/** Names visible in a graph: its own values, then its parent's (subgraphs see their outer graphs). */
class Scope {
  private readonly values = new Map<string, ScopeEntry>();
  private readonly initializers = new Map<string, OnnxTensor>();

  constructor(readonly parent: Scope | null, graph: OnnxGraph, private readonly fail: Fail) {
    for (const t of graph.initializer) this.initializers.set(t.name, t);
    for (const s of graph.sparseInitializer) if (s.values) this.values.set(s.values.name, { kind: 'unknown', why: `'${s.values.name}' is a sparse initializer, which lstm-runtime does not read` });
    for (const input of graph.input) if (!this.initializers.has(input.name)) this.values.set(input.name, { kind: 'unknown', why: `'${input.name}' is an input of the graph, given at run time` });
  }

  set(name: string, entry: ScopeEntry): void {
    this.values.set(name, entry);
  }

  get(name: string): ScopeEntry | undefined {
    const own = this.values.get(name);
    if (own) return own;
    const t = this.initializers.get(name);
    if (t) {
      const c = readTensorProto(t, `initializer '${name}'`, this.fail);
      this.values.set(name, c);
      return c;
    }
    return this.parent?.get(name);
  }
}

function findRecurrentNodes(file: string, model: OnnxModel): OnnxRecurrentNode[] {
  const opset = defaultOpset(file, model);
  const found: OnnxRecurrentNode[] = [];
  const walk = (graph: OnnxGraph, parent: Scope | null, path: string[]) => {
    const scope = new Scope(parent, graph, (what) => modelError(file, what));
    for (const node of graph.node) {
      const at = `${path.length ? `${path.join(' > ')} > ` : ''}node ${nodeLabel(node)}`;
      const fail: Fail = (what) => modelError(file, `${at}: ${what}`);
      for (const a of node.attribute) {
        if (a.g) walk(a.g, scope, [...path, `${node.name || node.opType}.${a.name}`]);
        a.graphs.forEach((g, k) => walk(g, scope, [...path, `${node.name || node.opType}.${a.name}[${k}]`]));
      }
      if (isDefaultDomain(node) && (node.opType === 'LSTM' || node.opType === 'GRU')) found.push(recurrentNode(node, scope, path, fail));
      const outputs = foldOutputs(node, scope, opset, at, fail);
      node.output.forEach((name, k) => name && scope.set(name, outputs[k] ?? { kind: 'unknown', why: `output ${k} of ${at}` }));
    }
  };
  walk(model.graph!, null, []);
  return found;
}

/** A node's outputs where it can be folded; otherwise (or where the fold fails) they are not constants here. */
function foldOutputs(node: OnnxNode, scope: Scope, opset: number, at: string, fail: Fail): ScopeEntry[] {
  const unknown = (why: string): ScopeEntry[] => node.output.map(() => ({ kind: 'unknown', why }));
  if (!isDefaultDomain(node) || !FOLDABLE.has(node.opType)) return unknown(`computed by ${at}`);
  try {
    const inputs: (Const | undefined)[] = [];
    for (const name of node.input) {
      const v = name === '' ? undefined : scope.get(name);
      if (name !== '' && v === undefined) return unknown(`'${name}' is not produced by any earlier node`);
      if (v?.kind === 'unknown') return unknown(v.why);
      inputs.push(v);
    }
    return foldNode(node, inputs, opset, fail);
  } catch (error) {
    if (!(error instanceof LstmError)) throw error;
    return unknown(error.message);
  }
}

function recurrentNode(node: OnnxNode, scope: Scope, path: string[], fail: Fail): OnnxRecurrentNode {
  const constant = (key: keyof typeof RECURRENT_WEIGHT_INPUTS, required: boolean): Const | undefined => {
    const name = node.input[RECURRENT_WEIGHT_INPUTS[key]] ?? '';
    if (name === '') return required ? fail(`expected input ${key}, got none`) : undefined;
    const v = scope.get(name);
    if (v === undefined) return fail(`input ${key} ('${name}') is not produced by any earlier node, initializer or outer graph`);
    if (v.kind !== 'const') return fail(`expected input ${key} ('${name}') to be a constant (folded from initializers), got one that is not: ${v.why}`);
    return v;
  };
  const W = constant('W', true)!;
  const R = constant('R', true)!;
  const B = constant('B', false);
  const P = node.opType === 'LSTM' ? constant('P', false) : undefined;
  const parts = recurrentParts(node, { W, R, ...(B && { B }), ...(P && { P }) }, fail);
  return {
    name: node.name || `${node.opType} -> ${node.output[0] ?? '?'}`,
    opType: node.opType as 'LSTM' | 'GRU',
    graph: path,
    direction: parts.direction,
    layout: parts.layout,
    inputSize: parts.inputSize,
    hiddenSize: parts.hiddenSize,
    weights: parts.weights,
    options: parts.directions[0]!.options,
    directions: parts.directions,
    inputs: [...node.input],
    outputs: [...node.output],
  };
}

// ------------------------------------------------------------------ readOnnx: the main path

/** What an axis of the data holds: batch, time, features (F, with its size), bidirectional directions (D), or a size-1 axis. */
type Role = 'B' | 'T' | 'F' | 'D' | '1';
interface Atom {
  role: Role;
  size: number | null;
}
/** One axis: usually one atom; a Reshape may merge batch and time into one axis. */
type Axis = Atom[];

/** The model's data on its way from the input: what its axes hold and the layers it has been through. */
interface Flow {
  kind: 'flow';
  /** The graph input it comes from. */
  source: string;
  axes: Axis[];
  layers: readonly LayerSpec[];
  /** The time axis is in the processing order of a reverse-direction layer: reversed against ONNX's Y. */
  reversed: boolean;
  /** One direction of a bidirectional node's output, picked by Gather/Slice on its directions axis. */
  half?: { of: Flow; direction: 0 | 1 };
}
/** Outputs of several layers stacked by a Concat (PyTorch's h_n); Gather/Slice pick one back out. */
interface Stack {
  kind: 'stack';
  axis: number;
  parts: Flow[];
}
/** A tensor known to be all zeros (an initial state made by ConstantOfShape or Expand). */
interface Zeros {
  kind: 'zeros';
}
/** A shape taken from the data at run time: each entry a number or the axis it measures. */
interface ShapeVector {
  kind: 'shape';
  dims: (number | Axis)[];
  scalar: boolean;
}
/** The graph's integer input [batch, time]: only an embedding (a Gather from a constant table) takes it. */
interface Ids {
  kind: 'ids';
  source: string;
  axes: Axis[];
}
/** Anything a Sequential cannot compute; why says what. */
interface Blocked {
  kind: 'blocked';
  why: string;
}
type Value = Const | Flow | Ids | Stack | Zeros | ShapeVector | Blocked;

const ONE: Atom = { role: '1', size: 1 };
const isSingleton = (a: Atom) => a.role === '1' || (a.role === 'D' && a.size === 1);
const sameAtom = (a: Atom, b: Atom) => a.role === b.role && (a.size === null || b.size === null || a.size === b.size);
const sameAxes = (a: Axis[], b: Axis[]) => a.length === b.length && a.every((x, k) => x.length === b[k]!.length && x.every((atom, j) => sameAtom(atom, b[k]![j]!)));
const ROLE_NAMES: Record<Role, string> = { B: 'batch', T: 'time', F: 'features', D: 'directions', '1': '1' };
const describeAtom = (a: Atom) => (a.role === 'F' || a.role === 'D' ? `${ROLE_NAMES[a.role]}(${a.size ?? '?'})` : ROLE_NAMES[a.role]);
const describeAxes = (axes: Axis[]) => `[${axes.map((axis) => axis.map(describeAtom).join('*')).join(', ')}]`;

function describeValue(v: Value | undefined): string {
  if (v === undefined) return 'nothing';
  switch (v.kind) {
    case 'const':
      return `a constant of shape ${shapeText(v.shape)}`;
    case 'flow':
      return v.layers.length === 0
        ? `the graph input '${v.source}'`
        : `data computed from the graph input '${v.source}' ${describeAxes(v.axes)}${v.half ? ` (direction ${v.half.direction} only)` : ''}`;
    case 'ids':
      return `the integer ids of the graph input '${v.source}' ${describeAxes(v.axes)}, which only an embedding (a Gather from a constant table on axis 0) takes`;
    case 'stack':
      return 'the outputs of several layers stacked by a Concat (a Sequential gives one layer\'s output)';
    case 'zeros':
      return 'zeros';
    case 'shape':
      return 'a shape computed at run time';
    case 'blocked':
      return v.why;
  }
}

const ACTIVATION_OPS: Record<string, (attrs: Attributes) => Activation | 'softmax'> = {
  Relu: () => 'relu',
  Sigmoid: () => 'sigmoid',
  Tanh: () => 'tanh',
  Softsign: () => 'softsign',
  Elu: (a) => ({ name: 'elu', alpha: a.float('alpha', 1) }),
  HardSigmoid: (a) => ({ name: 'hard_sigmoid', alpha: a.float('alpha', 0.2), beta: a.float('beta', 0.5) }),
  Softmax: () => 'softmax',
};

/** Ops the main path maps (beyond the constant ones, which are folded when all inputs are constants). */
const PATH_OPS = new Set([
  ...FOLDABLE, 'If', 'Dropout', 'LSTM', 'GRU', 'Gemm', 'MatMul', 'Add', 'Sub', ...Object.keys(ACTIVATION_OPS),
]);

/** A Slice along one axis, classified: the whole axis, one element, or anything else. */
type Pick = 'all' | { index: number } | 'other';
const TO_END = 2 ** 31 - 1;

function classifySlice(start: number, end: number, step: number, size: number | null): Pick {
  if (size !== null) {
    const picked = sliceIndices(start, end, step, size);
    if (picked.length === size && picked.every((p, k) => p === k)) return 'all';
    return picked.length === 1 ? { index: picked[0]! } : 'other';
  }
  if (step !== 1) return 'other';
  if (start === 0 && end >= TO_END) return 'all';
  if (start === -1 && end >= TO_END) return { index: -1 };
  if (end === start + 1 && (start >= 0 || end < 0)) return { index: start };
  return 'other';
}

/**
 * The input, read as [batch, time, ...], reaches the first recurrent node with batch and time
 * swapped: the model takes it time-major, and the path is read again that way.
 */
class TimeMajorInput extends Error {}

class PathReader {
  private readonly opset: number;
  private readonly graph: OnnxGraph;
  private readonly values = new Map<string, Value>();
  private readonly initializers = new Map<string, OnnxTensor>();
  private readonly unsupported = new Map<string, string[]>();

  /** timeMajor: the graph input is [time, batch, features] (ids [time, batch]). */
  constructor(private readonly file: string, model: OnnxModel, private readonly timeMajor: boolean) {
    this.opset = defaultOpset(file, model);
    this.graph = model.graph!;
  }

  private fail(what: string, node?: OnnxNode): never {
    return modelError(this.file, node ? `node ${nodeLabel(node)}: ${what}` : what);
  }

  layers(): LayerSpec[] {
    const graph = this.graph;
    const initialized = new Set(graph.initializer.map((t) => t.name));
    for (const input of graph.input) if (!initialized.has(input.name)) this.values.set(input.name, this.inputValue(input));
    const output = graph.output[0]!.name;
    this.evaluateGraph(graph, [output]);
    if (this.unsupported.size > 0) {
      const list = [...this.unsupported].map(([op, names]) => `${op} (${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''})`);
      this.fail(
        `expected a Sequential's operators between the input and the output '${output}' (LSTM, GRU, Gemm, MatMul, Add, Relu/Sigmoid/Tanh/Softmax and the Transpose/Squeeze/Reshape/Gather/Slice exporters put around them), got ${list.join(', ')}. ` +
          'For an LSTM or GRU inside a larger model, readOnnxRecurrent() gives its weights and options.',
      );
    }
    return this.finish(output, this.lookup(output));
  }

  /**
   * Graph inputs: the data (assumed [batch, time, features], [time, batch, features] when time-major,
   * or [batch, features]), integer ids (assumed [batch, time], or [time, batch]), or something the
   * path must not use.
   */
  private inputValue(input: OnnxGraph['input'][number]): Value {
    const tensor = input.type?.tensorType;
    const dims = tensor?.shape?.dim;
    if (!tensor || !dims) return { kind: 'blocked', why: `the graph input '${input.name}', whose shape the model does not give` };
    const sizes = dims.map((d) => (d.dimParam === '' && int(d.dimValue) > 0 ? int(d.dimValue) : null));
    if (tensor.elemType === DATA_TYPE.INT64 || tensor.elemType === DATA_TYPE.INT32) {
      if (sizes.length !== 2) return { kind: 'blocked', why: `the graph input '${input.name}' of integer ids of rank ${sizes.length} (a model of ids takes [batch, time])` };
      const roles: Role[] = this.timeMajor ? ['T', 'B'] : ['B', 'T'];
      return { kind: 'ids', source: input.name, axes: roles.map((role, k) => [{ role, size: sizes[k]! }]) };
    }
    if (tensor.elemType !== DATA_TYPE.FLOAT) return { kind: 'blocked', why: `the graph input '${input.name}' of data type ${tensor.elemType} (a Sequential's input is float32, or int64/int32 ids)` };
    const roles: Role[] | undefined = ({ 3: this.timeMajor ? ['T', 'B', 'F'] : ['B', 'T', 'F'], 2: ['B', 'F'] } as Record<number, Role[]>)[sizes.length];
    if (!roles) return { kind: 'blocked', why: `the graph input '${input.name}' of rank ${sizes.length} (a Sequential's input is [batch, time, features] or [batch, features])` };
    return { kind: 'flow', source: input.name, axes: roles.map((role, k) => [{ role, size: sizes[k]! }]), layers: [], reversed: false };
  }

  /** Evaluates the nodes of a graph (the main graph or a branch of an If) that its outputs depend on. */
  private evaluateGraph(graph: OnnxGraph, outputs: string[]): void {
    for (const t of graph.initializer) this.initializers.set(t.name, t);
    for (const s of graph.sparseInitializer) if (s.values) this.values.set(s.values.name, { kind: 'blocked', why: `the sparse initializer '${s.values.name}', which lstm-runtime does not read` });
    const needed = this.nodesNeededFor(graph, outputs);
    for (const node of graph.node) {
      if (!needed.has(node)) continue;
      const inputs = node.input.map((name) => (name === '' ? undefined : this.lookup(name, node)));
      const results = this.evaluate(node, inputs);
      node.output.forEach((name, k) => name && this.values.set(name, results[k] ?? { kind: 'blocked', why: `output ${k} of node ${nodeLabel(node)}` }));
    }
  }

  /** A graph's nodes its outputs depend on, through subgraphs' references to outer values too. */
  private nodesNeededFor(graph: OnnxGraph, outputs: string[]): Set<OnnxNode> {
    const producer = new Map<string, OnnxNode>();
    for (const node of graph.node) for (const o of node.output) if (o) producer.set(o, node);
    const needed = new Set<OnnxNode>();
    const pending = [...outputs];
    while (pending.length > 0) {
      const node = producer.get(pending.pop()!);
      if (!node || needed.has(node)) continue;
      needed.add(node);
      for (const name of node.input) if (name !== '') pending.push(name);
      for (const a of node.attribute) for (const g of [a.g, ...a.graphs]) if (g) for (const name of outerNames(g)) pending.push(name);
    }
    return needed;
  }

  private lookup(name: string, node?: OnnxNode): Value {
    const v = this.values.get(name);
    if (v) return v;
    const t = this.initializers.get(name);
    if (t) {
      const c = readTensorProto(t, `initializer '${name}'`, (what) => this.fail(what));
      this.values.set(name, c);
      return c;
    }
    return this.fail(`'${name}' is not produced by any earlier node, initializer or graph input`, node);
  }

  private noteUnsupported(op: string, node: OnnxNode): void {
    this.unsupported.set(op, [...(this.unsupported.get(op) ?? []), node.name || node.output[0] || '?']);
  }

  private evaluate(node: OnnxNode, inputs: (Value | undefined)[]): Value[] {
    const fail: Fail = (what) => this.fail(what, node);
    const blockedOutputs = (why: string): Value[] => node.output.map(() => ({ kind: 'blocked', why }));
    if (!isDefaultDomain(node) || !PATH_OPS.has(node.opType)) {
      this.noteUnsupported(isDefaultDomain(node) ? node.opType : `${node.domain}.${node.opType}`, node);
      return blockedOutputs(`the unsupported node ${nodeLabel(node)}`);
    }
    // An If whose condition is known now (PyTorch's squeeze of a size-1 axis) is its branch; otherwise it is not a Sequential.
    if (node.opType === 'If') {
      const condition = inputs[0];
      if (condition?.kind !== 'const' || condition.data.length !== 1) {
        this.noteUnsupported('If', node);
        return blockedOutputs(`the If ${nodeLabel(node)}, on a condition known only at run time`);
      }
      const branch = new Attributes(node, fail).graph(condition.data[0] ? 'then_branch' : 'else_branch') ?? fail('expected then_branch and else_branch');
      const outputs = branch.output.map((o) => o.name);
      this.evaluateGraph(branch, outputs);
      return outputs.map((name) => this.lookup(name, node));
    }
    // A recurrent node's state and length inputs get their own message (in recurrent()).
    const blocked = inputs.find((v, k): v is Blocked => v?.kind === 'blocked' && !(RECURRENT_OPS.has(node.opType) && k >= 4 && k <= 6));
    if (blocked) return node.output.map(() => blocked);
    if (node.opType === 'Equal') return [this.equal(inputs, fail)];
    if (inputs.every((v) => v === undefined || v.kind === 'const')) {
      if (FOLDABLE.has(node.opType)) return foldNode(node, inputs as (Const | undefined)[], this.opset, fail);
      this.noteUnsupported(`${node.opType} of constants`, node);
      return blockedOutputs(`the constant computation ${nodeLabel(node)}, which lstm-runtime does not fold`);
    }
    const attrs = new Attributes(node, fail);
    const x = inputs[0] ?? fail('expected a first input, got none');
    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        if (node.opType === 'Dropout' && inputs[2] && !(inputs[2].kind === 'const' && inputs[2].data.every((v) => v === 0))) fail('expected Dropout in inference mode (training_mode absent or false)');
        return [x, { kind: 'blocked', why: `the mask of Dropout ${nodeLabel(node)}` }];
      case 'Cast':
        if (x.kind === 'flow' && attrs.int('to', 0) !== DATA_TYPE.FLOAT) fail(`expected a Cast of the data to float32, got a Cast to type ${attrs.int('to', 0)}`);
        return [x];
      case 'Transpose':
        return [this.transpose(x, attrs, fail)];
      case 'Squeeze':
        return [this.squeeze(x, constAxes(inputs[1], attrs, this.opset, 'Squeeze', fail), fail)];
      case 'Unsqueeze':
        return [this.unsqueeze(x, constAxes(inputs[1], attrs, this.opset, 'Unsqueeze', fail) ?? fail('Unsqueeze without axes'), fail)];
      case 'Reshape':
        return [this.reshape(x, inputs[1], attrs.int('allowzero', 0) === 1, fail)];
      case 'Flatten':
        return [this.flatten(x, attrs.int('axis', 1), fail)];
      case 'Gather':
        return [this.gather(x, inputs[1], attrs.int('axis', 0), node, fail)];
      case 'Slice':
        return [this.slice(x, inputs, attrs, fail)];
      case 'Concat':
        return [this.concat(inputs.filter((v): v is Value => v !== undefined), attrs.int('axis', 0), fail)];
      case 'Shape':
        return [this.shape(x, attrs, fail)];
      case 'Size':
        return [{ kind: 'blocked', why: `Size ${nodeLabel(node)} of the data` }];
      case 'ConstantOfShape': {
        const value = attrs.tensor('value');
        const fill = value ? readTensorProto(value, 'the value of ConstantOfShape', fail) : undefined;
        if (fill && fill.data.some((v) => v !== 0)) return [{ kind: 'blocked', why: `a ConstantOfShape of value ${fill.data[0]} (${nodeLabel(node)})` }];
        return [{ kind: 'zeros' }];
      }
      case 'Expand':
        if (x.kind === 'zeros' || (x.kind === 'const' && x.data.every((v) => v === 0))) return [{ kind: 'zeros' }];
        return fail(`expected an Expand of zeros (an initial state), got an Expand of ${describeValue(x)}`);
      case 'LSTM':
      case 'GRU':
        return this.recurrent(node, inputs, fail);
      case 'Gemm':
        return [this.gemm(inputs, attrs, node, fail)];
      case 'MatMul':
        return [this.matmul(inputs, node, fail)];
      case 'Add':
      case 'Sub':
        return [this.addBias(inputs, node, fail)];
    }
    const activation = ACTIVATION_OPS[node.opType];
    if (activation) return [this.activate(x, activation(attrs), attrs, node, fail)];
    this.noteUnsupported(`${node.opType} of the data`, node); // an op folded on constants only (Not, Size...)
    return blockedOutputs(`the unsupported node ${nodeLabel(node)}`);
  }

  // -- plumbing

  private flowOf(v: Value | undefined, what: string, fail: Fail): Flow {
    if (v?.kind !== 'flow') fail(`expected ${what} to be the model's data, got ${describeValue(v)}`);
    return v;
  }

  private transpose(x: Value, attrs: Attributes, fail: Fail): Value {
    if (x.kind === 'zeros' || x.kind === 'shape') return x;
    const f = this.flowOf(x, 'the input of Transpose', fail);
    const perm = attrs.ints('perm') ?? range(f.axes.length).reverse();
    checkPermutation(perm, f.axes.length, fail);
    return { ...f, axes: perm.map((p) => f.axes[p]!) };
  }

  private squeeze(x: Value, axes: number[] | undefined, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (x.kind === 'shape') {
      if (x.dims.length !== 1) fail(`expected a Squeeze of a one-entry shape, got ${x.dims.length} entries`);
      return { ...x, scalar: true };
    }
    const f = this.flowOf(x, 'the input of Squeeze', fail);
    const rank = f.axes.length;
    const drop = axes
      ? new Set(axes.map((a) => axisOf(a, rank, 'Squeeze axes', fail)))
      : new Set(range(rank).filter((a) => f.axes[a]!.every(isSingleton)));
    for (let a = 0; a < rank; a++) {
      const axis = f.axes[a]!;
      if (drop.has(a) && !axis.every(isSingleton)) fail(`expected Squeeze to remove size-1 axes, got axis ${a}, the ${axis.map(describeAtom).join('*')} axis of ${describeAxes(f.axes)}`);
      if (!axes && !drop.has(a) && axis.some((atom) => atom.size === null || atom.size === 1)) {
        fail(`expected Squeeze to name its axes: without them it would also remove ${describeAtom(axis[0]!)} when its size is 1 (${describeAxes(f.axes)})`);
      }
    }
    return { ...f, axes: f.axes.filter((_, a) => !drop.has(a)) };
  }

  private unsqueeze(x: Value, axes: number[], fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (x.kind === 'shape') {
      if (!x.scalar || axes.length !== 1) fail('expected an Unsqueeze of one entry of a shape');
      return { ...x, scalar: false };
    }
    const f = this.flowOf(x, 'the input of Unsqueeze', fail);
    const rank = f.axes.length + axes.length;
    const at = new Set(axes.map((a) => axisOf(a, rank, 'Unsqueeze axes', fail)));
    const out: Axis[] = [];
    let k = 0;
    for (let a = 0; a < rank; a++) out.push(at.has(a) ? [ONE] : f.axes[k++]!);
    return { ...f, axes: out };
  }

  private flatten(x: Value, axis: number, fail: Fail): Value {
    const f = this.flowOf(x, 'the input of Flatten', fail);
    const at = axis < 0 ? axis + f.axes.length : axis;
    if (at < 0 || at > f.axes.length) fail(`Flatten axis ${axis} of ${describeAxes(f.axes)}`);
    const groups = [f.axes.slice(0, at).flat(), f.axes.slice(at).flat()];
    return { ...f, axes: groups.map((g) => this.mergeAxis(g, f, fail)) };
  }

  private reshape(x: Value, shape: Value | undefined, allowzero: boolean, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    const f = this.flowOf(x, 'the input of Reshape', fail);
    type Target = { n: number } | { atoms: Atom[] } | 'infer';
    let dims: (number | Axis)[];
    if (shape?.kind === 'const') dims = intsOf(shape, 'Reshape shape', fail);
    else if (shape?.kind === 'shape' && !shape.scalar) dims = shape.dims;
    else return fail(`expected Reshape's shape to be constant or taken from the data's shape, got ${describeValue(shape)}`);
    const targets: Target[] = dims.map((d, k) => {
      if (typeof d !== 'number') return { atoms: d };
      if (d > 0) return { n: d };
      if (d === -1) return 'infer';
      if (d === 0 && !allowzero) return { atoms: f.axes[k] ?? fail(`Reshape copies axis ${k} of ${describeAxes(f.axes)}`) };
      return fail(`expected Reshape dimensions > 0, 0 (copy) or -1, got ${d}`);
    });
    if (targets.filter((t) => t === 'infer').length > 1) fail('Reshape with more than one -1');
    const atoms = f.axes.flat();
    const describeTarget = () => `[${dims.map((d) => (typeof d === 'number' ? d : d.map(describeAtom).join('*'))).join(', ')}]`;
    const mismatch = (): never => fail(`cannot map Reshape of ${describeAxes(f.axes)} to ${describeTarget()} onto the model's axes`);

    // How many atoms (from `from`, in order) one target dimension takes.
    const take = (list: Atom[], from: number, t: Exclude<Target, 'infer'>): number => {
      if ('n' in t) {
        if (t.n === 1) return from < list.length && list[from]!.size === 1 ? 1 : 0;
        let product = 1;
        let k = from;
        while (product < t.n) {
          const a = list[k++];
          if (!a || a.size === null) return mismatch();
          product *= a.size;
        }
        return product === t.n ? k - from : mismatch();
      }
      const want = t.atoms.filter((a) => !isSingleton(a));
      if (want.length === 0) return take(list, from, { n: 1 });
      let k = from;
      while (k < list.length && isSingleton(list[k]!)) k++; // size-1 axes in between go with it
      for (const w of want) {
        if (k >= list.length || !sameAtom(list[k]!, w)) return mismatch();
        k++;
      }
      return k - from;
    };
    const inferAt = targets.indexOf('infer');
    const before = (inferAt < 0 ? targets : targets.slice(0, inferAt)) as Exclude<Target, 'infer'>[];
    const after = (inferAt < 0 ? [] : targets.slice(inferAt + 1)) as Exclude<Target, 'infer'>[];
    const groups: Atom[][] = [];
    let lo = 0;
    for (const t of before) {
      const n = take(atoms, lo, t);
      groups.push(atoms.slice(lo, lo + n));
      lo += n;
    }
    // Dimensions after the -1 are matched from the end (on the reversed lists).
    const reversedAtoms = [...atoms].reverse();
    const tail: Atom[][] = [];
    let fromEnd = 0;
    for (const t of [...after].reverse()) {
      const n = take(reversedAtoms, fromEnd, 'atoms' in t ? { atoms: [...t.atoms].reverse() } : t);
      tail.unshift(atoms.slice(atoms.length - fromEnd - n, atoms.length - fromEnd));
      fromEnd += n;
    }
    const hi = atoms.length - fromEnd;
    if (hi < lo) mismatch();
    const middle = atoms.slice(lo, hi);
    if (inferAt >= 0) groups.push(middle);
    else if (!middle.every(isSingleton)) mismatch();
    groups.push(...tail);
    return { ...f, axes: groups.map((g) => this.mergeAxis(g, f, fail)) };
  }

  /** Atoms a Reshape puts in one axis: size-1 atoms vanish; directions then features is the concat of a bidirectional output. */
  private mergeAxis(group: Atom[], f: Flow, fail: Fail): Axis {
    const real = group.filter((a) => !isSingleton(a));
    if (real.length === 0) return [group[0] ?? ONE];
    if (real.length === 1) return real;
    const [outer, inner] = real;
    if (real.length === 2 && outer!.role === 'D' && inner!.role === 'F' && inner!.size !== null) return [{ role: 'F', size: outer!.size! * inner!.size }];
    if (real.every((a) => a.role === 'B' || a.role === 'T')) return real;
    return fail(`expected a Reshape that keeps the features on their own axis (or joins a bidirectional output's directions, then features), got one merging ${real.map(describeAtom).join(' and ')} of ${describeAxes(f.axes)}`);
  }

  private gather(x: Value, indices: Value | undefined, axisAttr: number, node: OnnxNode, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (indices?.kind === 'ids') return this.embedding(x, indices, axisAttr, node, fail);
    if (indices?.kind !== 'const') return fail(`expected Gather indices to be constants, got ${describeValue(indices)}`);
    const picked = intsOf(indices, 'Gather indices', fail);
    if (x.kind === 'shape') {
      const dims = picked.map((i) => x.dims[i < 0 ? i + x.dims.length : i] ?? fail(`Gather index ${i} of a ${x.dims.length}-entry shape`));
      return { kind: 'shape', dims, scalar: indices.shape.length === 0 };
    }
    if (picked.length !== 1 || indices.shape.length > 1) fail(`expected Gather of one index on the model's data, got indices of shape ${shapeText(indices.shape)}`);
    const keep = indices.shape.length === 1;
    if (x.kind === 'stack') return this.pickFromStack(x, axisAttr, picked[0]!, keep, fail);
    const f = this.flowOf(x, 'the input of Gather', fail);
    return this.pick(f, axisOf(axisAttr, f.axes.length, 'Gather axis', fail), picked[0]!, keep, fail);
  }

  /** PyTorch's nn.Embedding: ids [batch, time] -> rows of a constant table [vocab, dim] -> [batch, time, dim], the model's first layer. */
  private embedding(table: Value, ids: Ids, axisAttr: number, node: OnnxNode, fail: Fail): Flow {
    if (table.kind !== 'const' || table.shape.length !== 2) return fail(`expected an embedding: Gather of the ids from a constant table [vocab, dim], got a Gather from ${describeValue(table)}`);
    if (axisOf(axisAttr, 2, 'Gather axis', fail) !== 0) fail(`expected an embedding: Gather of the ids on axis 0 of the table (its rows), got axis ${axisAttr}`);
    const embeddings = floatTensor(table, 'the embedding table', fail);
    // ONNX and PyTorch have no masking (padding_idx only keeps a row out of training).
    const spec: LayerSpec = { type: 'embedding', name: node.name || `Gather -> ${node.output[0]}`, options: { embeddings, maskZero: false } };
    return { kind: 'flow', source: ids.source, axes: [...ids.axes, [{ role: 'F', size: table.shape[1]! }]], layers: [spec], reversed: false };
  }

  /** One element of one axis of the data (Gather or Slice): the last timestep, one direction, or a size-1 axis. */
  private pick(f: Flow, axis: number, index: number, keep: boolean, fail: Fail): Flow {
    const atoms = f.axes[axis]!;
    const atom = atoms.length === 1 ? atoms[0]! : fail(`expected Gather/Slice on a single axis, got one on the ${atoms.map(describeAtom).join('*')} axis of ${describeAxes(f.axes)}`);
    const size = atom.size;
    const axes = keep ? f.axes.map((a, k) => (k === axis ? [ONE] : a)) : f.axes.filter((_, k) => k !== axis);
    if (size !== null && (index < -size || index >= size)) fail(`index ${index} on the ${describeAtom(atom)} axis of ${describeAxes(f.axes)}`);
    const normalized = size !== null && index < 0 ? index + size : index;
    switch (atom.role) {
      case 'T':
        return { ...f, axes, layers: this.endAtLastStep(f, normalized, size, fail), reversed: false };
      case 'D':
        if (size === 1) return { ...f, axes };
        if (f.half) fail('picks a direction twice');
        return { ...f, axes, half: { of: f, direction: normalized === 0 ? 0 : 1 } };
      case '1':
        return { ...f, axes };
      default:
        return fail(`expected Gather/Slice on the time or directions axis, got one on the ${describeAtom(atom)} axis of ${describeAxes(f.axes)} (index ${index}): a Sequential cannot select ${ROLE_NAMES[atom.role]}`);
    }
  }

  /** Taking the last timestep of a recurrent layer's sequence is that layer with returnSequences false. */
  private endAtLastStep(f: Flow, index: number, size: number | null, fail: Fail): LayerSpec[] {
    const last = f.reversed ? index === 0 || (size !== null && index === -size) : index === -1 || (size !== null && index === size - 1);
    if (!last) {
      fail(f.reversed
        ? `takes timestep ${index} of a reverse-direction Y, which ONNX keeps in input order: only index 0 (the reverse pass's last step) maps onto a layer with returnSequences false`
        : `takes timestep ${index}: only the last one (index -1) maps onto a layer with returnSequences false`);
    }
    const layers = [...f.layers];
    let r = layers.length - 1;
    while (r >= 0 && layers[r]!.type === 'dense') r--; // a Dense works per timestep, so it may sit after the step is taken
    const spec = layers[r];
    if (!spec || spec.type === 'embedding') return fail('takes the last timestep of the model input itself (or of its embedding); a Sequential can only end a recurrent layer there');
    if (spec.type === 'bidirectional') {
      fail(`takes the last timestep of bidirectional node '${spec.name}''s Y: there its backward direction has seen one step only, which is not what a Bidirectional layer with returnSequences false gives (the final state of both directions); export Y_h (h_n) instead`);
    }
    if (spec.type !== 'lstm' && spec.type !== 'gru') return fail('internal: no recurrent layer');
    layers[r] = { ...spec, options: { ...spec.options, returnSequences: false } } as LayerSpec;
    return layers;
  }

  private pickFromStack(s: Stack, axisAttr: number, index: number, keep: boolean, fail: Fail): Value {
    const rank = s.parts[0]!.axes.length;
    if (axisOf(axisAttr, rank, 'Gather/Slice axis', fail) !== s.axis) fail('expected Gather/Slice to pick from the axis a Concat stacked layers\' outputs on');
    const sizes = s.parts.map((p) => p.axes[s.axis]!.reduce((n, a) => (a.size === null || n === null ? null : n * a.size), 1 as number | null));
    if (sizes.some((n) => n === null)) fail('stacked outputs of unknown size');
    const total = (sizes as number[]).reduce((a, b) => a + b, 0);
    let i = index < 0 ? index + total : index;
    if (i < 0 || i >= total) fail(`index ${index} of ${total} stacked outputs`);
    for (const [k, part] of s.parts.entries()) {
      if (i < sizes[k]!) return this.pick(part, s.axis, i, keep, fail);
      i -= sizes[k]!;
    }
    return fail('internal: stack index');
  }

  private slice(x: Value, inputs: (Value | undefined)[], attrs: Attributes, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (x.kind === 'shape') {
      const s = sliceSpec(inputs, attrs, this.opset, 1, fail);
      return { ...x, dims: sliceIndices(s.starts[0]!, s.ends[0]!, s.steps[0]!, x.dims.length).map((k) => x.dims[k]!) };
    }
    const rank = x.kind === 'stack' ? x.parts[0]!.axes.length : this.flowOf(x, 'the input of Slice', fail).axes.length;
    const s = sliceSpec(inputs, attrs, this.opset, rank, fail);
    if (x.kind === 'stack') {
      const sizes = x.parts.map((p) => p.axes[x.axis]!.reduce((n, a) => n * (a.size ?? NaN), 1));
      const picked = s.axes.length === 1 && s.axes[0] === x.axis ? sliceIndices(s.starts[0]!, s.ends[0]!, s.steps[0]!, sizes.reduce((n, d) => n + d, 0)) : [];
      if (picked.length === 1) return this.pickFromStack(x, x.axis, picked[0]!, true, fail);
      // All of one layer's final states (PyTorch's h_n[-2:], both directions of the last layer).
      let start = 0;
      for (const [k, size] of sizes.entries()) {
        if (picked.length === size && picked.every((p, j) => p === start + j)) return x.parts[k]!;
        start += size;
      }
      return fail('expected a Slice that picks one of the layers\' outputs a Concat stacked, or one element of them');
    }
    let f = this.flowOf(x, 'the input of Slice', fail);
    s.axes.forEach((axis, k) => {
      const atoms = f.axes[axis]!;
      const size = atoms.reduce((n, a) => (a.size === null || n === null ? null : n * a.size), 1 as number | null);
      const pick = classifySlice(s.starts[k]!, s.ends[k]!, s.steps[k]!, size);
      if (pick === 'all') return;
      if (pick === 'other') fail(`expected a Slice of the whole axis or one element of the time or directions axis, got [${s.starts[k]}:${s.ends[k]}:${s.steps[k]}] of axis ${axis} of ${describeAxes(f.axes)}`);
      f = this.pick(f, axis, pick.index, true, fail);
    });
    return f;
  }

  private concat(parts: Value[], axisAttr: number, fail: Fail): Value {
    if (parts.every((p) => p.kind === 'zeros' || (p.kind === 'const' && p.data.every((v) => v === 0)))) return { kind: 'zeros' };
    if (parts.some((p) => p.kind === 'shape')) {
      const dims = parts.flatMap((p) => {
        if (p.kind === 'shape') return p.dims;
        if (p.kind === 'const' && p.shape.length === 1) return intsOf(p, 'a shape entry', fail);
        return fail(`expected a Concat of shape entries, got ${describeValue(p)}`);
      });
      return { kind: 'shape', dims, scalar: false };
    }
    const flows = parts.map((p) => this.flowOf(p, 'every input of Concat', fail));
    const rank = flows[0]!.axes.length;
    if (flows.some((f) => f.axes.length !== rank)) fail(`Concat of ${flows.map((f) => describeAxes(f.axes)).join(' and ')}`);
    const axis = axisOf(axisAttr, rank, 'Concat axis', fail);
    const [a, b] = flows;
    // The two directions of one bidirectional output put back side by side on the features: Bidirectional's concat.
    if (flows.length === 2 && a!.half && b!.half && a!.half.of === b!.half.of && a!.half.direction === 0 && b!.half.direction === 1 && a!.layers === b!.layers) {
      const feature = a!.axes[axis]!;
      if (sameAxes(a!.axes, b!.axes) && feature.length === 1 && feature[0]!.role === 'F' && feature[0]!.size !== null) {
        return { kind: 'flow', source: a!.source, axes: a!.axes.map((ax, k) => (k === axis ? [{ role: 'F', size: 2 * feature[0]!.size! }] : ax)), layers: a!.layers, reversed: false };
      }
    }
    if (flows.every((f) => !f.half && f.axes[axis]!.every((atom) => atom.role === 'D' || atom.role === '1'))) return { kind: 'stack', axis, parts: flows };
    return fail(`expected a Concat that joins a bidirectional output's two directions (direction 0 then 1) on the features, or stacks layers' final states, got one of ${flows.map((f) => describeValue(f)).join(' and ')} on axis ${axis}`);
  }

  /** Equal of one entry of the data's shape and a number: decided now where that size is known (a size-1 axis). */
  private equal(inputs: (Value | undefined)[], fail: Fail): Value {
    const [a, b] = inputs;
    const [entry, number] = a?.kind === 'shape' ? [a, b] : [b, a];
    if (entry?.kind !== 'shape' || entry.dims.length !== 1 || number?.kind !== 'const' || number.data.length !== 1) {
      return fail(`expected Equal of one entry of a shape and a constant, got ${describeValue(a)} and ${describeValue(b)}`);
    }
    const dim = entry.dims[0]!;
    const size = typeof dim === 'number' ? dim : dim.reduce((n, atom) => (n === null || atom.size === null ? null : n * atom.size), 1 as number | null);
    if (size === null) return { kind: 'blocked', why: `a comparison of the size of the ${(dim as Axis).map(describeAtom).join('*')} axis, known only at run time` };
    return { kind: 'const', dtype: DATA_TYPE.BOOL, shape: entry.scalar ? [] : [1], data: Float64Array.of(size === number.data[0] ? 1 : 0) };
  }

  private shape(x: Value, attrs: Attributes, fail: Fail): Value {
    const f = x.kind === 'ids' ? x : this.flowOf(x, 'the input of Shape', fail);
    const rank = f.axes.length;
    const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
    return { kind: 'shape', dims: f.axes.slice(clampAxis(attrs.int('start', 0)), clampAxis(attrs.int('end', rank))), scalar: false };
  }

  // -- layers

  private recurrent(node: OnnxNode, inputs: (Value | undefined)[], fail: Fail): Value[] {
    const input = (k: number) => inputs[k];
    const constant = (k: number, name: string): Const | undefined => {
      const v = input(k);
      if (v !== undefined && v.kind !== 'const') fail(`expected ${name} to be a constant, got ${describeValue(v)}`);
      return v;
    };
    const W = constant(1, 'W') ?? fail('expected input W, got none');
    const R = constant(2, 'R') ?? fail('expected input R, got none');
    const B = constant(3, 'B');
    const P = node.opType === 'LSTM' ? constant(7, 'P') : undefined;
    const parts = recurrentParts(node, { W, R, ...(B && { B }), ...(P && { P }) }, fail);
    const x = this.flowOf(input(0), 'X', fail);
    if (x.half || x.reversed) fail(`expected X to be a whole sequence in input order, got ${x.half ? 'one direction of a bidirectional output' : 'the Y of a reverse-direction node, which lstm-runtime keeps in processing order'}`);
    const [T, Bt, F] = parts.layout === 0 ? ['T', 'B', 'F'] : ['B', 'T', 'F'];
    const roles = x.axes.map((axis) => (axis.length === 1 ? axis[0]!.role : '?')).join(',');
    if (roles !== `${T},${Bt},${F}`) {
      // Only layers that work per step (an embedding, a Dense) before the first recurrent node: they fit either layout.
      if (!this.timeMajor && roles === `${Bt},${T},${F}` && x.layers.every((l) => l.type === 'embedding' || l.type === 'dense')) throw new TimeMajorInput();
      fail(`expected X to hold ${parts.layout === 0 ? '[time, batch, features] (layout 0)' : '[batch, time, features] (layout 1)'}, got ${describeAxes(x.axes)}`);
    }
    const feature = x.axes[2]![0]!;
    if (feature.size !== null && feature.size !== parts.inputSize) fail(`expected X with ${parts.inputSize} features (W's input size), got ${feature.size}`);
    if (input(4) !== undefined) fail('expected no sequence_lens: a Sequential runs whole sequences (give sequenceLengths to forward() instead)');
    for (const [k, name] of [[5, 'initial_h'], [6, 'initial_c']] as const) {
      const v = input(k);
      if (v !== undefined && v.kind !== 'zeros' && !(v.kind === 'const' && v.data.every((d) => d === 0))) {
        fail(`expected ${name} to be absent or zeros (a Sequential starts from a zero state), got ${describeValue(v)}; for a model fed its state, build the layer with readOnnxRecurrent() and pass forward(x, { initialState })`);
      }
    }
    const U = parts.hiddenSize;
    const spec = (returnSequences: boolean): LayerSpec => {
      const name = node.name || `${node.opType} -> ${node.output[0] ?? '?'}`;
      const [forward, backward] = parts.directions;
      if (!backward) return { type: parts.cell, name, options: { ...forward!.options, weights: forward!.weights, returnSequences } } as LayerSpec;
      const { goBackwards: _, ...backwardOptions } = backward.options;
      if (JSON.stringify(backwardOptions) !== JSON.stringify(forward!.options)) {
        fail('expected both directions to use the same activations: a Bidirectional layer runs one set');
      }
      const layer = { ...(parts.cell === 'gru' ? { type: 'gru' as const } : {}), ...forward!.options, weights: forward!.weights, returnSequences };
      const options = { layer, backwardWeights: backward.weights, mergeMode: 'concat' } as BidirectionalOptions;
      return { type: 'bidirectional', name, options };
    };
    const time = x.axes[parts.layout === 0 ? 0 : 1]!;
    const batch = x.axes[parts.layout === 0 ? 1 : 0]!;
    const directions: Axis = [{ role: 'D', size: parts.directions.length }];
    const features: Axis = [{ role: 'F', size: U }];
    const Y: Flow = {
      kind: 'flow',
      source: x.source,
      axes: parts.layout === 0 ? [time, directions, batch, features] : [batch, time, directions, features],
      layers: [...x.layers, spec(true)],
      reversed: parts.direction === 'reverse',
    };
    const Yh: Flow = { kind: 'flow', source: x.source, axes: parts.layout === 0 ? [directions, batch, features] : [batch, directions, features], layers: [...x.layers, spec(false)], reversed: false };
    return [Y, Yh, { kind: 'blocked', why: `the cell state Y_c of ${nodeLabel(node)} (a Sequential passes h on)` }];
  }

  /** The data as a Dense layer's input: whole (no single direction, no separate directions axis). */
  private denseInput(v: Value | undefined, what: string, fail: Fail): Flow {
    const f = this.flowOf(v, what, fail);
    if (f.half) fail(`expected ${what} to hold both directions of a bidirectional output, got direction ${f.half.direction} only`);
    if (f.axes.some((axis) => axis.some((a) => a.role === 'D' && a.size !== 1))) {
      fail(`expected ${what} to have a bidirectional output's directions joined (Transpose + Reshape or Concat), got ${describeAxes(f.axes)}`);
    }
    if (f.reversed) fail(`expected ${what} in input order, got the Y of a reverse-direction node, which lstm-runtime keeps in processing order`);
    return f;
  }

  private featureAxis(f: Flow, fail: Fail, mustBeLast: boolean): number {
    const k = f.axes.findIndex((axis) => axis.length === 1 && axis[0]!.role === 'F');
    if (k < 0 || (mustBeLast && k !== f.axes.length - 1)) fail(`expected the features on the last axis, got ${describeAxes(f.axes)}`);
    return k;
  }

  private addLayer(f: Flow, spec: LayerSpec, features: number, featureAxis: number): Flow {
    return { ...f, axes: f.axes.map((axis, k) => (k === featureAxis ? [{ role: 'F', size: features }] : axis)), layers: [...f.layers, spec] };
  }

  private gemm(inputs: (Value | undefined)[], attrs: Attributes, node: OnnxNode, fail: Fail): Value {
    const a = this.denseInput(inputs[0], 'Gemm\'s A', fail);
    if (a.axes.length !== 2) fail(`expected Gemm's A to be 2-D, got ${describeAxes(a.axes)}`);
    if (attrs.int('transA', 0) !== 0) fail('expected transA 0 (the data as rows)');
    const k = this.featureAxis(a, fail, true);
    const b = inputs[1];
    if (b?.kind !== 'const' || b.shape.length !== 2) return fail(`expected Gemm's B to be a 2-D constant, got ${describeValue(b)}`);
    let kernel = floatTensor(attrs.int('transB', 0) ? transposeConst(b, [1, 0]) : b, 'Gemm B', fail);
    const [K, N] = kernel.shape as [number, number];
    this.checkFeatures(a, k, K, 'Gemm', fail);
    const alpha = attrs.float('alpha', 1);
    if (alpha !== 1) kernel = { data: kernel.data.map((v) => v * alpha), shape: kernel.shape };
    const options: DenseOptions = { kernel };
    const c = inputs[2];
    if (c !== undefined) {
      if (c.kind !== 'const') return fail(`expected Gemm's C to be a constant, got ${describeValue(c)}`);
      const beta = attrs.float('beta', 1);
      const bias = this.biasVector(c, [[ONE], [{ role: 'F', size: N }]], 1, N, 'Gemm\'s C', fail);
      options.bias = { data: bias.map((v) => v * beta), shape: [N] };
    }
    return this.addLayer(a, { type: 'dense', name: node.name || `Gemm -> ${node.output[0]}`, options }, N, k);
  }

  private matmul(inputs: (Value | undefined)[], node: OnnxNode, fail: Fail): Value {
    const a = this.denseInput(inputs[0], 'MatMul\'s A', fail);
    const k = this.featureAxis(a, fail, true);
    const b = inputs[1];
    if (b?.kind !== 'const' || b.shape.length !== 2) return fail(`expected MatMul's B to be a 2-D constant [features, outputs], got ${describeValue(b)}`);
    const kernel = floatTensor(b, 'MatMul B', fail);
    const [K, N] = kernel.shape as [number, number];
    this.checkFeatures(a, k, K, 'MatMul', fail);
    return this.addLayer(a, { type: 'dense', name: node.name || `MatMul -> ${node.output[0]}`, options: { kernel } }, N, k);
  }

  private checkFeatures(f: Flow, axis: number, K: number, op: string, fail: Fail): void {
    const size = f.axes[axis]![0]!.size;
    if (size !== null && size !== K) fail(`expected ${op}'s weights for ${size} features, got [${K}, ...]`);
  }

  /** A constant that broadcasts along the features only, as a [features] vector. */
  private biasVector(c: Const, axes: Axis[], featureAxis: number, N: number, what: string, fail: Fail): Float32Array {
    const shape = c.shape;
    const offset = axes.length - shape.length;
    const ok = offset >= 0 && shape.every((d, j) => d === 1 || (j + offset === featureAxis && d === N));
    if (!ok) fail(`expected ${what} to broadcast along the features only (shape [${N}], [1, ${N}] or a scalar), got shape ${shapeText(shape)} against ${describeAxes(axes)}`);
    const values = floatTensor(c, what, fail).data;
    return values.length === N ? Float32Array.from(values) : new Float32Array(N).fill(values[0] ?? 0);
  }

  private addBias(inputs: (Value | undefined)[], node: OnnxNode, fail: Fail): Value {
    const [x, y] = inputs;
    const subtract = node.opType === 'Sub';
    const flowFirst = x?.kind === 'flow';
    if (subtract && !flowFirst) fail('expected Sub of a constant from the data');
    const f = this.denseInput(flowFirst ? x : y, `${node.opType}'s data`, fail);
    const c = flowFirst ? y : x;
    if (c?.kind !== 'const') return fail(`expected ${node.opType} of the data and a constant bias, got ${describeValue(c)}`);
    const k = this.featureAxis(f, fail, false);
    const N = f.axes[k]![0]!.size ?? fail('a bias on features of unknown size');
    const bias = this.biasVector(c, f.axes, k, N, `${node.opType}'s constant`, fail).map((v) => (subtract ? -v : v));
    const last = f.layers[f.layers.length - 1];
    if (last?.type === 'dense' && (last.options.activation === undefined || last.options.activation === 'linear')) {
      const old = last.options.bias as Tensor | undefined;
      const sum = old ? bias.map((v, j) => v + old.data[j]!) : bias;
      return { ...f, layers: [...f.layers.slice(0, -1), { ...last, options: { ...last.options, bias: { data: sum, shape: [N] } } }] };
    }
    return this.addLayer(f, { type: 'dense', name: node.name || `${node.opType} -> ${node.output[0]}`, options: { kernel: identity(N), bias: { data: bias, shape: [N] } } }, N, k);
  }

  private activate(x: Value, activation: Activation | 'softmax', attrs: Attributes, node: OnnxNode, fail: Fail): Value {
    const f = this.denseInput(x, `${node.opType}'s input`, fail);
    const k = this.featureAxis(f, fail, false);
    if (activation === 'softmax') {
      const rank = f.axes.length;
      const axis = axisOf(attrs.int('axis', this.opset >= 13 ? -1 : 1), rank, 'Softmax axis', fail);
      // Before opset 13, Softmax flattens from `axis` on: it is a softmax over the features only when that is the last axis.
      if (axis !== k || (this.opset < 13 && axis !== rank - 1)) fail(`expected Softmax over the features (axis ${k}), got axis ${attrs.int('axis', this.opset >= 13 ? -1 : 1)} of ${describeAxes(f.axes)}`);
    }
    const N = f.axes[k]![0]!.size ?? fail('an activation on features of unknown size');
    const last = f.layers[f.layers.length - 1];
    if (last?.type === 'dense' && (last.options.activation === undefined || last.options.activation === 'linear')) {
      return { ...f, layers: [...f.layers.slice(0, -1), { ...last, options: { ...last.options, activation } }] };
    }
    return this.addLayer(f, { type: 'dense', name: node.name || `${node.opType} -> ${node.output[0]}`, options: { kernel: identity(N), activation } }, N, k);
  }

  // -- the end

  private finish(output: string, v: Value): LayerSpec[] {
    if (v.kind === 'blocked') return this.fail(`expected the output '${output}' to be computed from the model's input by the layers of a Sequential, got one that depends on ${v.why}`);
    if (v.kind !== 'flow') return this.fail(`expected the output '${output}' to be computed from the model's input, got ${describeValue(v)}`);
    if (v.half) this.fail(`expected the output '${output}' to hold both directions of bidirectional node '${v.layers[v.layers.length - 1]?.name}', got direction ${v.half.direction} only`);
    if (v.layers.length === 0) this.fail(`expected LSTM, GRU, Gemm or MatMul nodes between the input and the output '${output}', got none`);
    const atoms = v.axes.flat().filter((a) => !isSingleton(a));
    const roles = atoms.map((a) => a.role).join(',');
    if (atoms.some((a) => a.role === 'D')) {
      this.fail(`expected the output '${output}' to join the two directions of bidirectional node '${v.layers[v.layers.length - 1]!.name}' (a Sequential concatenates them), got them on an axis of their own: ${describeAxes(v.axes)}`);
    }
    if (v.reversed && atoms.some((a) => a.role === 'T')) {
      this.fail(`expected the output '${output}' in input order, got the Y of a reverse-direction node: ONNX keeps it in input order, an lstm-runtime layer with goBackwards in processing order`);
    }
    const [sequence, swapped] = this.timeMajor ? ['T,B,F', 'B,T,F'] : ['B,T,F', 'T,B,F'];
    if (roles === swapped) {
      const [input, out] = this.timeMajor ? ['time-major', 'batch-major'] : ['batch-major', 'time-major'];
      this.fail(`expected the output '${output}' to be a sequence laid out as the input '${v.source}' is (${input}) or [batch, features], got ${describeAxes(v.axes)}: ` +
        `a ${input} input turned into a ${out} sequence, which no Sequential computes (its timeMajor option lays out both)`);
    }
    if (roles !== sequence && roles !== 'B,F') {
      this.fail(this.timeMajor
        ? `expected the output '${output}' to be [time, batch, features] or [batch, features] (a time-major Sequential's output), got ${describeAxes(v.axes)}`
        : `expected the output '${output}' to be [batch, time, features] or [batch, features] (a Sequential's output), got ${describeAxes(v.axes)}`);
    }
    return this.timeMajor ? [{ type: 'input', name: v.source, options: { timeMajor: true } }, ...v.layers] : [...v.layers];
  }
}

function identity(n: number): Tensor {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return { data, shape: [n, n] };
}

/** Names a subgraph uses from the graphs around it. */
function outerNames(graph: OnnxGraph): string[] {
  const own = new Set<string>([...graph.initializer.map((t) => t.name), ...graph.input.map((i) => i.name)]);
  const used: string[] = [];
  for (const node of graph.node) {
    for (const name of node.input) if (name !== '' && !own.has(name)) used.push(name);
    for (const a of node.attribute) for (const g of [a.g, ...a.graphs]) if (g) for (const name of outerNames(g)) if (!own.has(name)) used.push(name);
    for (const o of node.output) own.add(o);
  }
  return used;
}
