// The operators an ONNX graph runs on data (lib/onnx-graph.ts), and each one specialised to the
// shapes it first ran with: a stream of same-sized chunks then runs plain loops over typed arrays,
// with every index, axis and parameter worked out once.
import { checkAllocation, shapeText, sizeOf, type Tensor } from './tensor.js';
import { axisOf, foldNode, intsOf, type Const } from './load/onnx-constants.js';
import { Attributes, DATA_TYPE, type Fail } from './load/onnx-decode.js';
import type { OnnxNode } from './load/onnx-schema.js';

const FLOAT = DATA_TYPE.FLOAT;

export const UNARY: Record<string, (x: number) => number> = {
  Relu: (x) => (x > 0 ? x : 0),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Tanh: Math.tanh,
  Sqrt: Math.sqrt,
  Exp: Math.exp,
  Abs: Math.abs,
  Neg: (x) => -x,
};

/**
 * A node's computation for the shapes it was specialised to. It writes into arrays of its own,
 * reused by every call: a value lives for one call of the graph (outputs leave as copies).
 */
export type Step = (inputs: readonly (Const | undefined)[]) => Const[];

/** The most values an index map may hold (a gather of that many values is no longer a small op). */
const MAX_MAP = 1 << 22;
/** Operators that only move values: specialised to a map of source indices. */
const MOVES = new Set(['Slice', 'Gather', 'Transpose', 'Expand', 'Pad']);
/** Operators that only relabel the shape: the output shares the input's values. */
const RESHAPES = new Set(['Identity', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten']);

/**
 * `node` as it ran on `inputs` (giving `outputs`), specialised to their shapes and to its other
 * inputs' values, which must be `fixed` (the same on every call of the signature); undefined when
 * the operator has no specialised form.
 */
export function specialize(node: OnnxNode, inputs: readonly (Const | undefined)[], outputs: readonly Const[], fixed: (c: Const) => boolean, opset: number, fail: Fail): Step | undefined {
  const op = node.opType;
  const x = inputs[0];
  if (!x) return undefined;
  const rest = inputs.slice(1).every((v) => v === undefined || fixed(v));
  const out = outputs[0]!;
  if (RESHAPES.has(op) && rest) {
    const shape = out.shape;
    return (ins) => [{ ...ins[0]!, shape }];
  }
  if (op === 'Cast' && x.data.constructor === out.data.constructor && (x.dtype === out.dtype || (FLOATS.has(x.dtype) && FLOATS.has(out.dtype)))) {
    const dtype = out.dtype;
    return (ins) => [{ ...ins[0]!, dtype }];
  }
  if (MOVES.has(op) && rest && x.data.length <= MAX_MAP) return moves(node, inputs, opset, fail);
  if (op in UNARY && x.dtype === FLOAT) return unary(op);
  if (BINARY.has(op) && inputs[1] && x.dtype === FLOAT && inputs[1].dtype === FLOAT) return binary(op, x, inputs[1], out, fixed);
  if (op === 'Concat' && inputs.every((v) => v && v.data.constructor === out.data.constructor)) return concat(node, inputs as Const[], out, fail);
  return undefined;
}

const FLOATS = new Set<number>([FLOAT, DATA_TYPE.FLOAT16, DATA_TYPE.BFLOAT16]);

/** Slice, Gather, Transpose, Expand, Pad: the op run once on the indices of its input gives where each output value comes from. */
function moves(node: OnnxNode, inputs: readonly (Const | undefined)[], opset: number, fail: Fail): Step {
  const x = inputs[0]!;
  const iota: Const = { kind: 'const', dtype: DATA_TYPE.INT64, shape: x.shape, data: Float64Array.from({ length: x.data.length }, (_, k) => k) };
  let fill = 0;
  let source: Const;
  if (node.opType === 'Pad') {
    const attrs = new Attributes(node, fail);
    fill = inputs[2]?.data[0] ?? attrs.float('value', 0);
    const minusOne: Const = { kind: 'const', dtype: DATA_TYPE.INT64, shape: [], data: Float64Array.of(-1) };
    source = pad(node, iota, [iota, inputs[1], minusOne, inputs[3]], opset, fail);
  } else {
    source = foldNode(node, [iota, ...inputs.slice(1)], opset, fail)[0]!;
  }
  const map = Int32Array.from(source.data);
  const shape = source.shape;
  // Most slices an exporter writes keep a whole tensor or one contiguous block of it: a view then.
  const start = map[0] ?? 0;
  if (map.every((m, k) => m === start + k)) return (ins) => [{ kind: 'const', dtype: ins[0]!.dtype, shape, data: ins[0]!.data.subarray(start, start + map.length) }];
  const Arrays = x.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor;
  const data = new Arrays(map.length);
  return (ins) => {
    const from = ins[0]!.data;
    for (let k = 0; k < map.length; k++) {
      const m = map[k]!;
      data[k] = m < 0 ? fill : from[m]!;
    }
    return [{ kind: 'const', dtype: ins[0]!.dtype, shape, data }];
  };
}

function unary(op: string): Step {
  const f = UNARY[op]!;
  const loop =
    op === 'Relu'
      ? (a: Float32Array, out: Float32Array) => {
          for (let k = 0; k < a.length; k++) out[k] = a[k]! > 0 ? a[k]! : 0;
        }
      : op === 'Sqrt'
        ? (a: Float32Array, out: Float32Array) => {
            for (let k = 0; k < a.length; k++) out[k] = Math.sqrt(a[k]!);
          }
        : (a: Float32Array, out: Float32Array) => {
            for (let k = 0; k < a.length; k++) out[k] = f(a[k]!);
          };
  let data: Float32Array | undefined;
  return (ins) => {
    const x = ins[0]!;
    data ??= new Float32Array(x.data.length);
    loop(x.data as Float32Array, data);
    return [{ kind: 'const', dtype: FLOAT, shape: x.shape, data }];
  };
}

const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);

/** A float Add/Sub/Mul/Div/Pow of same shapes or with one side a single value (x ** 2 as x * x). */
function binary(op: string, a: Const, b: Const, out: Const, fixed: (c: Const) => boolean): Step | undefined {
  const n = out.data.length;
  const stride = (c: Const) => (c.data.length === n ? 1 : c.data.length === 1 ? 0 : -1);
  const [sa, sb] = [stride(a), stride(b)];
  if (sa < 0 || sb < 0) return undefined;
  const shape = out.shape;
  if (op === 'Pow' && sb === 0 && fixed(b) && b.data[0] === 2) {
    const data = new Float32Array(n);
    return (ins) => {
      const x = ins[0]!.data;
      for (let k = 0; k < n; k++) data[k] = x[k * sa]! * x[k * sa]!;
      return [{ kind: 'const', dtype: FLOAT, shape, data }];
    };
  }
  const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q, Div: (p: number, q: number) => p / q, Pow: (p: number, q: number) => p ** q }[op]!;
  const data = new Float32Array(n);
  return (ins) => {
    const [x, y] = [ins[0]!.data, ins[1]!.data];
    for (let k = 0; k < n; k++) data[k] = f(x[k * sa]!, y[k * sb]!);
    return [{ kind: 'const', dtype: FLOAT, shape, data }];
  };
}

/** Concat: blocks of each input copied in turn. */
function concat(node: OnnxNode, inputs: readonly Const[], out: Const, fail: Fail): Step {
  const axis = axisOf(new Attributes(node, fail).int('axis', 0), out.shape.length, 'Concat axis', fail);
  const outer = sizeOf(out.shape.slice(0, axis));
  const blocks = inputs.map((c) => sizeOf(c.shape.slice(axis)));
  const shape = out.shape;
  const Arrays = out.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor;
  const dtype = out.dtype;
  const data = new Arrays(out.data.length);
  return (ins) => {
    let at = 0;
    for (let o = 0; o < outer; o++) {
      ins.forEach((c, k) => {
        data.set(c!.data.subarray(o * blocks[k]!, (o + 1) * blocks[k]!), at);
        at += blocks[k]!;
      });
    }
    return [{ kind: 'const', dtype, shape, data }];
  };
}

/** ONNX Pad (opset >= 11: pads as an input): constant, reflect or edge. */
export function pad(node: OnnxNode, x: Const, inputs: (Const | undefined)[], opset: number, fail: Fail): Const {
  const attrs = new Attributes(node, fail);
  const mode = attrs.string('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') fail(`expected mode constant, reflect or edge, got '${mode}'`);
  const rank = x.shape.length;
  const pads = opset < 11 ? (attrs.ints('pads') ?? fail('expected pads')) : intsOf(inputs[1] ?? fail('expected pads'), 'pads', fail);
  const value = inputs[2]?.data[0] ?? attrs.float('value', 0);
  if (inputs[3]) fail('Pad with axes is not run by lstm-runtime');
  if (pads.length !== 2 * rank) fail(`expected ${2 * rank} pads for a rank-${rank} input, got ${pads.length}`);
  const shape = x.shape.map((n, a) => n + pads[a]! + pads[a + rank]!);
  if (shape.some((n) => n < 0)) fail(`pads [${pads.join(', ')}] cut more than the input's shape ${shapeText(x.shape)}`);
  x.shape.forEach((n, a) => {
    if (mode === 'reflect' && (pads[a]! >= n || pads[a + rank]! >= n) && (pads[a]! > 0 || pads[a + rank]! > 0)) fail(`reflect pads of ${Math.max(pads[a]!, pads[a + rank]!)} on an axis of ${n}: at most ${n - 1}`);
    if (mode === 'edge' && n === 0 && pads[a]! + pads[a + rank]! > 0) fail('edge pads of an empty axis');
  });
  const count = checkAllocation(`Pad output of shape ${shapeText(shape)}`, sizeOf(shape), x.data instanceof Float32Array ? 4 : 8);
  const out = x.data instanceof Float32Array ? new Float32Array(count) : new Float64Array(count);
  const strides = x.shape.map((_, a) => sizeOf(x.shape.slice(a + 1)));
  const pos = new Array<number>(rank).fill(0);
  for (let k = 0; k < out.length; k++) {
    let src = 0;
    let inside = true;
    for (let a = 0; a < rank; a++) {
      let i = pos[a]! - pads[a]!;
      const n = x.shape[a]!;
      if (i < 0 || i >= n) {
        if (mode === 'constant') inside = false;
        else if (mode === 'edge') i = i < 0 ? 0 : n - 1;
        else i = i < 0 ? -i : 2 * (n - 1) - i;
      }
      src += i * strides[a]!;
    }
    out[k] = inside ? x.data[src]! : value;
    for (let a = rank - 1; a >= 0 && ++pos[a]! === shape[a]; a--) pos[a] = 0;
  }
  return { kind: 'const', dtype: x.dtype, shape, data: out };
}

/** ReduceMean / ReduceSum over the axes given (attribute before opset 18, input from 18). */
export function reduce(node: OnnxNode, x: Const, axesInput: Const | undefined, opset: number, fail: Fail): Const {
  const attrs = new Attributes(node, fail);
  const keep = attrs.int('keepdims', 1) === 1;
  const given = opset >= 18 || node.opType === 'ReduceSum' && opset >= 13 ? axesInput && intsOf(axesInput, 'axes', fail) : attrs.ints('axes');
  const rank = x.shape.length;
  const axes = new Set(given && given.length > 0 ? given.map((a) => axisOf(a, rank, `${node.opType} axes`, fail)) : attrs.int('noop_with_empty_axes', 0) ? [] : x.shape.map((_, a) => a));
  const outShape = x.shape.map((n, a) => (axes.has(a) ? 1 : n));
  const out = new Float64Array(sizeOf(outShape));
  const count = sizeOf(x.shape.filter((_, a) => axes.has(a)));
  const pos = new Array<number>(rank).fill(0);
  for (let k = 0; k < x.data.length; k++) {
    let dst = 0;
    for (let a = 0; a < rank; a++) dst = dst * outShape[a]! + (axes.has(a) ? 0 : pos[a]!);
    out[dst]! += x.data[k]!;
    for (let a = rank - 1; a >= 0 && ++pos[a]! === x.shape[a]; a--) pos[a] = 0;
  }
  if (node.opType === 'ReduceMean') for (let k = 0; k < out.length; k++) out[k]! /= count;
  const shape = keep ? outShape : x.shape.filter((_, a) => !axes.has(a));
  return { kind: 'const', dtype: x.dtype, shape, data: x.data instanceof Float32Array ? Float32Array.from(out) : out };
}

/** [N][R][S] -> [N][S][R]. */
export function transpose(from: Float32Array, to: Float32Array, N: number, R: number, S: number): void {
  for (let n = 0; n < N; n++) {
    const base = n * R * S;
    for (let r = 0; r < R; r++) for (let c = 0; c < S; c++) to[base + c * R + r] = from[base + r * S + c]!;
  }
}

/** What the graph asks of a layer node (Conv1D, pooling, normalisation, Dense). */
export interface LayerNode {
  forward(input: Tensor): { output: Tensor };
}

/**
 * A Conv, pooling, normalisation, Gemm or MatMul node on its layer. The layers run channels last,
 * ONNX's Conv, poolings and BatchNormalization channels first ([N, C, L]): their data is
 * transposed around them (a single channel or step needs no moving).
 */
export function layerNode(node: OnnxNode, layer: LayerNode, x: Const, fail: Fail): Const {
  const data = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
  const run = (shape: number[]) => layer.forward({ data, shape }).output;
  const out = (t: Tensor, shape = t.shape): Const => ({ kind: 'const', dtype: FLOAT, shape, data: t.data });
  const rank = x.shape.length;
  switch (node.opType) {
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool':
    case 'BatchNormalization': {
      if (node.opType === 'BatchNormalization' && rank === 2) return out(run(x.shape));
      if (rank !== 3) fail(`expected X of shape [N, C, L] (a 1-D ${node.opType}), got ${shapeText(x.shape)}`);
      const [N, C, L] = x.shape as [number, number, number];
      const last = C === 1 || L === 1 ? data : new Float32Array(data.length);
      if (last !== data) transpose(data, last, N, C, L);
      const y = layer.forward({ data: last, shape: [N, L, C] }).output;
      const [, Lout, M] = y.shape as [number, number, number];
      const first = M === 1 || Lout === 1 ? y.data : new Float32Array(y.data.length);
      if (first !== y.data) transpose(y.data, first, N, Lout, M);
      return { kind: 'const', dtype: FLOAT, shape: [N, M, Lout], data: first };
    }
    case 'LayerNormalization': {
      const axis = new Attributes(node, fail).int('axis', -1);
      if (axis !== -1 && axis !== rank - 1) fail(`expected LayerNormalization over the last axis (axis -1), got axis ${axis} of a rank-${rank} input`);
      return out(run(x.shape));
    }
    case 'Gemm':
      if (rank !== 2) fail(`expected A of shape [M, K], got ${shapeText(x.shape)}`);
      return out(run(x.shape));
    case 'MatMul': {
      if (rank < 2) fail(`expected A of rank 2 or more, got ${shapeText(x.shape)}`);
      // Rows of the last axis, whatever the leading axes.
      const K = x.shape[rank - 1]!;
      const y = run([data.length / K, K]);
      return out(y, [...x.shape.slice(0, -1), y.shape[1]!]);
    }
  }
  return fail(`not a layer node: ${node.opType}`);
}

/** Softmax over one axis (opset 13 on; before it, over every axis from `axis` on, as one). */
export function softmax(node: OnnxNode, x: Const, opset: number, fail: Fail): Const {
  const rank = x.shape.length;
  const axis = axisOf(new Attributes(node, fail).int('axis', opset >= 13 ? -1 : 1), rank, 'Softmax axis', fail);
  const [outer, size, inner] = opset >= 13 ? [sizeOf(x.shape.slice(0, axis)), x.shape[axis]!, sizeOf(x.shape.slice(axis + 1))] : [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis)), 1];
  const data = new Float32Array(x.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * size + k) * inner + i;
      let max = -Infinity;
      for (let k = 0; k < size; k++) max = Math.max(max, x.data[at(k)]!);
      let sum = 0;
      for (let k = 0; k < size; k++) sum += data[at(k)] = Math.exp(x.data[at(k)]! - max);
      for (let k = 0; k < size; k++) data[at(k)]! /= sum;
    }
  }
  return { kind: 'const', dtype: FLOAT, shape: x.shape, data };
}
