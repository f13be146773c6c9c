// Tensors as JSON. In: nested arrays, or { data, shape } with data flat or nested. Out: named
// tensors as { shape, data } with data nested to the shape, names with '/' nested as objects,
// each number the shortest decimal that reads back as the same float32, one innermost row per line.
import { LstmError } from '../errors.js';
import { readTensor, shapeText, sizeOf, type Tensor } from '../tensor.js';

/** Reads a tensor from JSON text: nested arrays, or { data, shape }. `name` is for messages. */
export function decodeJsonTensor(text: string, name = 'the JSON data'): Tensor {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LstmError('ERR_LSTM_INPUT', `${name}: expected JSON, got text that does not parse (${(error as Error).message})`);
  }
  if (Array.isArray(value)) {
    const t = readTensor(value, name, 'ERR_LSTM_INPUT');
    return { data: t.data, shape: t.shape! };
  }
  if (typeof value === 'object' && value !== null && 'data' in value && 'shape' in value) {
    const { data, shape } = value as { data: unknown; shape: unknown };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new LstmError('ERR_LSTM_INPUT', `${name}.shape: expected an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const flat = readTensor(data, `${name}.data`, 'ERR_LSTM_INPUT').data;
    if (flat.length !== sizeOf(shape)) throw new LstmError('ERR_LSTM_INPUT', `${name}: expected ${sizeOf(shape)} values for shape ${shapeText(shape)}, got ${flat.length}`);
    return { data: flat, shape: [...shape] };
  }
  throw new LstmError('ERR_LSTM_INPUT', `${name}: expected nested arrays of numbers or { "data": [...], "shape": [...] }, got ${value === null ? 'null' : typeof value}`);
}

/** The shortest decimal (6 to 9 significant digits) that reads back as the same float32. */
export function shortFloat32(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let digits = 6; digits < 9; digits++) {
    const s = Number(v.toPrecision(digits));
    if (Math.fround(s) === v) return s;
  }
  return Number(v.toPrecision(9));
}

type Nested = number | Nested[];

/** A tensor's data nested to its shape (a scalar for shape []). */
function nest(data: ArrayLike<number>, shape: readonly number[], offset = 0, axis = 0): Nested {
  if (axis === shape.length) return shortFloat32(data[offset]!);
  const n = shape[axis]!;
  const stride = sizeOf(shape.slice(axis + 1));
  return Array.from({ length: n }, (_, k) => nest(data, shape, offset + k * stride, axis + 1));
}

/** JSON with objects indented and each array of numbers on one line. */
function print(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.every((v) => !Array.isArray(v))) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + print(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const inner = indent + '  ';
    const entries = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${print(v, inner)}`);
    return entries.length ? `{\n${entries.join(',\n')}\n${indent}}` : '{}';
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Named tensors as JSON text: { "output": { "shape": [...], "data": [[...]] }, "trace": { "0_lstm":
 * { "i": {...} } } } for the names 'output' and 'trace/0_lstm/i'. Non-finite values print as null.
 */
export function encodeJsonTensors(arrays: Readonly<Record<string, { data: ArrayLike<number>; shape: readonly number[] }>>): string {
  const root: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(arrays)) {
    const parts = name.split('/');
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = { shape: [...t.shape], data: nest(t.data, t.shape) };
  }
  return print(root, '') + '\n';
}
