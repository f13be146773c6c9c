import { describe, fail, type LstmErrorCode } from './errors.js';

/** A float32 tensor in row-major order. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** Nested arrays of numbers, e.g. [[[0.1, 0.2]]] for shape [1, 1, 2]. */
export type NestedArray = number | boolean | readonly NestedArray[];

/** What the library accepts wherever a tensor goes. */
export type TensorLike = Tensor | { data: ArrayLike<number>; shape: readonly number[] } | NestedArray | Float32Array;

export const shapeText = (shape: readonly (number | string)[]): string => `[${shape.join(', ')}]`;
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The most bytes the facade allocates for one request (a call's results, a stream's buffers, a
 * converted weight, a layer's output): 2 GiB, 2^29 float32 values. Past it a request is refused with
 * ERR_LSTM_RESOURCES before anything is allocated, instead of a RangeError or an exhausted heap.
 */
export const MAX_BUFFER_BYTES = 2 ** 31;

/**
 * Throws ERR_LSTM_RESOURCES unless `count` values of `bytesPer` bytes (float32 by default) are a
 * safe integer count within MAX_BUFFER_BYTES; returns `count`. `what` names the request.
 */
export function checkAllocation(what: string, count: number, bytesPer = 4): number {
  if (!Number.isSafeInteger(count) || count < 0 || count * bytesPer > MAX_BUFFER_BYTES) {
    const bytes = Number.isFinite(count) ? `${count * bytesPer} bytes` : 'an unbounded number of bytes';
    fail('ERR_LSTM_RESOURCES', what, `at most ${MAX_BUFFER_BYTES} bytes (2 GiB) of buffers`, `a request for ${Number.isSafeInteger(count) ? count : String(count)} values of ${bytesPer} bytes (${bytes})`);
  }
  return count;
}

/**
 * Checks a shape given by the caller: every dimension an integer >= 1 and their product a safe
 * integer (the number of values). Returns the shape as a plain array.
 */
export function checkShape(shape: unknown, what: string, code: LstmErrorCode): number[] {
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) fail(code, what, 'an array of dimensions (integers >= 1)', describe(shape));
  const dims = Array.from(shape as ArrayLike<unknown>);
  if (!dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)) fail(code, what, 'dimensions that are integers >= 1', describe(dims));
  if (!Number.isSafeInteger(sizeOf(dims as number[]))) fail(code, what, `dimensions whose product (the number of values) is at most ${Number.MAX_SAFE_INTEGER}`, shapeText(dims as number[]));
  return dims as number[];
}

function isTensorObject(value: unknown): value is { data: ArrayLike<number>; shape: readonly number[] } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && 'data' in value && 'shape' in value;
}

function nestedShape(value: NestedArray, what: string, code: LstmErrorCode): number[] {
  const shape: number[] = [];
  let level: NestedArray = value;
  while (Array.isArray(level)) {
    if (level.length === 0) fail(code, what, 'a non-empty array at every level', 'an empty array');
    shape.push(level.length);
    level = level[0] as NestedArray;
  }
  return shape;
}

function flattenNested(value: NestedArray, shape: number[], what: string, code: LstmErrorCode): Float32Array {
  const out = new Float32Array(checkAllocation(what, sizeOf(shape)));
  let n = 0;
  const walk = (node: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node === 'number') out[n++] = node;
      else if (typeof node === 'boolean') out[n++] = node ? 1 : 0;
      else fail(code, `${what}${path}`, 'a number', describe(node));
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      fail(code, `${what}${path}`, `an array of length ${shape[depth]} (the tensor is not rectangular)`, describe(node));
    }
    for (let i = 0; i < node.length; i++) walk(node[i] as NestedArray, depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, '');
  return out;
}

/**
 * Reads any TensorLike into a Float32Array and a shape. A bare Float32Array or flat typed data has
 * no shape of its own: `shape` is null then and the caller decides what it must be.
 */
export function readTensor(value: unknown, what: string, code: LstmErrorCode = 'ERR_LSTM_SHAPE'): { data: Float32Array; shape: number[] | null } {
  if (value instanceof Float32Array) return { data: value, shape: null };
  if (isTensorObject(value)) {
    const shape = checkShape(value.shape, `${what}.shape`, code);
    const given = value.data as unknown;
    const length = typeof given === 'object' && given !== null ? (given as { length?: unknown }).length : undefined;
    if (typeof length !== 'number' || !(Array.isArray(given) || ArrayBuffer.isView(given)) || given instanceof DataView) {
      fail(code, `${what}.data`, 'a Float32Array, another typed array or an array of numbers', describe(given));
    }
    // The length is checked before anything is copied: a shape that the data does not hold is refused without allocating.
    if (length !== sizeOf(shape)) fail(code, what, `${sizeOf(shape)} values for shape ${shapeText(shape)}`, `${length} values`);
    const data = given instanceof Float32Array ? given : Float32Array.from(given as ArrayLike<number>);
    return { data, shape };
  }
  if (Array.isArray(value)) {
    const shape = nestedShape(value as NestedArray, what, code);
    return { data: flattenNested(value as NestedArray, shape, what, code), shape };
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    checkAllocation(what, (value as unknown as ArrayLike<number>).length);
    return { data: Float32Array.from(value as unknown as ArrayLike<number>), shape: null };
  }
  return fail(code, what, 'a tensor ({ data, shape }), nested arrays or a Float32Array', describe(value));
}

/** Reads a tensor that must have exactly `shape` (a flat value only needs the right length). */
export function readShaped(value: unknown, what: string, shape: readonly number[], code: LstmErrorCode = 'ERR_LSTM_SHAPE'): Float32Array {
  const t = readTensor(value, what, code);
  if (t.shape === null) {
    if (t.data.length !== sizeOf(shape)) fail(code, what, `${sizeOf(shape)} values (shape ${shapeText(shape)})`, `${t.data.length} values`);
  } else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    fail(code, what, `shape ${shapeText(shape)}`, `shape ${shapeText(t.shape)}`);
  }
  return t.data;
}

/** Index of the first NaN or infinity, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Throws `code` naming the first NaN or infinity in `data`. */
export function checkFinite(data: Float32Array, what: string, code: LstmErrorCode = 'ERR_LSTM_WEIGHTS'): void {
  const bad = firstNonFinite(data);
  if (bad >= 0) fail(code, what, 'finite values', `${data[bad]} at flat index ${bad}`);
}

/**
 * checkFinite for arrays checked once, when a layer is built (weights). Early in a process the JS
 * loop still runs in the interpreter, 1-2 ms for the 25k weights of a small LSTM; the engine's own
 * TypedArray.includes (SameValueZero: it finds NaN) scans them three times in under 0.3 ms. In a
 * loop called again and again (inputs) the single JS pass is the faster one.
 */
export function checkFiniteWeights(data: Float32Array, what: string): void {
  if (data.includes(NaN) || data.includes(Infinity) || data.includes(-Infinity)) checkFinite(data, what);
}

export function tensor(data: Float32Array, shape: number[]): Tensor {
  return { data, shape };
}

/** Nested arrays of a tensor's values, for printing and comparing. */
export function toNested(t: Tensor): NestedArray {
  const build = (offset: number, depth: number): NestedArray => {
    if (depth === t.shape.length) return t.data[offset]!;
    const stride = sizeOf(t.shape.slice(depth + 1));
    return Array.from({ length: t.shape[depth]! }, (_, i) => build(offset + i * stride, depth + 1));
  };
  return build(0, 0);
}
