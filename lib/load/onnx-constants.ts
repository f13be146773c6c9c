// Constants of an ONNX graph: TensorProto values as typed arrays, and the folding of the small constant
// computations (Slice, Concat, Unsqueeze, Shape...) that exporters build weights and shapes with.
import { shapeText, sizeOf, type Tensor } from '../tensor.js';
import { bfloat16ToFloat, halfToFloat } from './binary.js';
import { Attributes, DATA_TYPE, int, nodeLabel, type Fail } from './onnx-decode.js';
import type { OnnxNode, OnnxTensor } from './onnx-schema.js';
import { describeValue, type Value } from './onnx-values.js';

/** A constant: float types keep float32 values in a Float32Array (doubles a Float64Array), integers and booleans a Float64Array. */
export interface Const {
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
export function readTensorProto(t: OnnxTensor, what: string, fail: Fail): Const {
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    const location = t.externalData.find((e) => e.key === 'location')?.value;
    // Read by readExternalData before any tensor is: here only where no reader asked for it.
    fail(`${what} keeps its data in an external file${location ? ` ('${location}')` : ''} (data_location EXTERNAL) that was not read: load the model with loadModel (from its path, or with the file in options.files)`);
  }
  if (t.segment) fail(`${what} is one segment of a larger tensor, which lstm-runtime does not read`);
  const shape = t.dims.map(int);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${what}: expected non-negative dimensions, got ${shapeText(shape)}`);
  const count = sizeOf(shape);
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
export function floatTensor(c: Const, what: string, fail: Fail): Tensor {
  if (!FLOAT_TYPES.has(c.dtype)) fail(`${what}: expected float weights, got data type ${c.dtype}`);
  return { data: c.data instanceof Float32Array ? c.data : Float32Array.from(c.data), shape: [...c.shape] };
}

export function intsOf(c: Const, what: string, fail: Fail): number[] {
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
export function axisOf(axis: number, rank: number, what: string, fail: Fail): number {
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
  const rank = shape.length;
  if (rank === 0) {
    out[0] = c.data[0]!;
    return { kind: 'const', dtype: c.dtype, shape, data: out };
  }
  // Each axis' source offsets, so that the innermost axis is a plain loop (graphs run this on data).
  const strides = stridesOf(c.shape);
  const offsets = lists.map((l, a) => l.map((i) => i * strides[a]!));
  const inner = offsets[rank - 1]!;
  const width = inner.length;
  if (width === 0) return { kind: 'const', dtype: c.dtype, shape, data: out };
  // A run of the innermost axis (a slice of it with step 1) is one copy.
  const run = strides[rank - 1] === 1 && inner.every((o, j) => o === inner[0]! + j);
  const pos = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k += width) {
    let base = 0;
    for (let a = 0; a < rank - 1; a++) base += offsets[a]![pos[a]!]!;
    if (run) out.set(c.data.subarray(base + inner[0]!, base + inner[0]! + width), k);
    else for (let j = 0; j < width; j++) out[k + j] = c.data[base + inner[j]!]!;
    for (let a = rank - 2; a >= 0 && ++pos[a]! === shape[a]; a--) pos[a] = 0;
  }
  return { kind: 'const', dtype: c.dtype, shape, data: out };
}

export const range = (n: number) => Array.from({ length: n }, (_, k) => k);

export function transposeConst(c: Const, perm: number[]): Const {
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
export function sliceIndices(start: number, end: number, step: number, size: number): number[] {
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
export function sliceSpec(inputs: (Value | undefined)[], attrs: Attributes, opset: number, rank: number, fail: Fail): SliceSpec {
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

export function constAxes(v: Value | undefined, attrs: Attributes, opset: number, op: string, fail: Fail): number[] | undefined {
  if (opset < 13) return attrs.ints('axes');
  if (v === undefined) return undefined;
  if (v.kind !== 'const') fail(`expected ${op}'s axes to be constants, got ${describeValue(v)}`);
  return intsOf(v, `${op} axes`, fail);
}

/** Squeeze/Unsqueeze/Reshape/Flatten output shapes for constants. */
function reshapeTarget(input: readonly number[], target: number[], allowzero: boolean, fail: Fail): number[] {
  const out = target.map((d, i) => (d === 0 && !allowzero ? (input[i] ?? fail(`Reshape copies dimension ${i} of a rank-${input.length} tensor`)) : d));
  const known = sizeOf(out.filter((d) => d !== -1));
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
export const FOLDABLE = new Set([
  'Constant', 'Identity', 'Cast', 'Shape', 'Size', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten', 'Transpose', 'Concat', 'Slice', 'Gather',
  'ConstantOfShape', 'Expand', 'Equal', 'Not', 'Add', 'Sub', 'Mul', 'Div', 'Pow',
]);

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Pow: (a, b) => a ** b,
};

/** A shape both shapes broadcast to (numpy's rules, as ONNX's), with each padded to its rank. */
function broadcastShapes(a: readonly number[], b: readonly number[], what: string, fail: Fail): { shape: number[]; from: number[][] } {
  const rank = Math.max(a.length, b.length);
  const pad = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(a), pad(b)];
  const shape = pa.map((d, k) => {
    const e = pb[k]!;
    if (d !== e && d !== 1 && e !== 1) fail(`${what} of shapes ${shapeText(a)} and ${shapeText(b)}, which do not broadcast`);
    return d === 1 ? e : d;
  });
  return { shape, from: [pa, pb] };
}

/** Add, Sub, Mul, Div, Pow of two constants, broadcast; integer division truncates, as onnxruntime's. */
function foldArithmetic(op: string, a: Const, b: Const, fail: Fail): Const {
  const apply = ARITHMETIC[op]!;
  const integer = !FLOAT_TYPES.has(a.dtype);
  if (integer && op === 'Div' && b.data.some((v) => v === 0)) fail('an integer Div by zero');
  // Same shapes, or one side a single value: no broadcasting to do (the common case on data).
  const same = shapeText(a.shape) === shapeText(b.shape);
  const scalarB = b.data.length === 1 && b.shape.length <= a.shape.length;
  const scalarA = a.data.length === 1 && a.shape.length <= b.shape.length;
  let x: Const;
  let y: Const;
  let shape: number[];
  if (same || scalarA || scalarB) {
    [x, y] = [a, b];
    shape = same || scalarB ? a.shape : b.shape;
  } else {
    const broadcast = broadcastShapes(a.shape, b.shape, op, fail);
    shape = broadcast.shape;
    [x, y] = [a, b].map((c, k) => select({ ...c, shape: broadcast.from[k]! }, shape.map((d, axis) => (broadcast.from[k]![axis] === 1 ? new Array<number>(d).fill(0) : range(d))), fail)) as [Const, Const];
  }
  const n = sizeOf(shape);
  const data = arrayFor(a.dtype, n);
  const [xs, ys] = [x.data.length === 1 && n !== 1 ? 0 : 1, y.data.length === 1 && n !== 1 ? 0 : 1];
  for (let k = 0; k < n; k++) {
    const v = apply(x.data[k * xs]!, y.data[k * ys]!);
    data[k] = integer ? Math.trunc(v) : v;
  }
  return { kind: 'const', dtype: a.dtype, shape, data };
}

/** Computes a constant node (every input a constant). */
export function foldNode(node: OnnxNode, inputs: (Const | undefined)[], opset: number, fail: Fail): Const[] {
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
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Pow':
      return [foldArithmetic(node.opType, need(x, 'A'), need(inputs[1], 'B'), fail)];
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

export function checkPermutation(perm: number[], rank: number, fail: Fail): void {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, k) => p !== k)) fail(`expected a Transpose perm of ${rank} axes, got [${perm.join(', ')}]`);
}
