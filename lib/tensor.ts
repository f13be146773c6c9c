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
  const out = new Float32Array(sizeOf(shape));
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
    const shape = Array.from(value.shape);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) fail(code, `${what}.shape`, 'non-negative integers', describe(value.shape));
    const data = value.data instanceof Float32Array ? value.data : Float32Array.from(value.data as ArrayLike<number>);
    if (data.length !== sizeOf(shape)) {
      fail(code, what, `${sizeOf(shape)} values for shape ${shapeText(shape)}`, `${data.length} values`);
    }
    return { data, shape };
  }
  if (Array.isArray(value)) {
    const shape = nestedShape(value as NestedArray, what, code);
    return { data: flattenNested(value as NestedArray, shape, what, code), shape };
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
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
