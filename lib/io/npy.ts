// NumPy's .npy (one array) and .npz (a zip of .npy files), as numpy.save / numpy.savez write them.
// Reading takes little-endian float32/float64 and integer arrays in C order into float32 (integer
// ids stay exact up to 2^24); writing writes float32 ('<f4'), version 1.0.
import { LstmError } from '../errors.js';
import { shapeText, sizeOf, type Tensor } from '../tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Element types read, by their descr without the byte-order character. */
const READERS: Record<string, { size: number; get: (view: DataView, offset: number) => number }> = {
  f4: { size: 4, get: (v, o) => v.getFloat32(o, true) },
  f8: { size: 8, get: (v, o) => v.getFloat64(o, true) },
  f2: { size: 2, get: (v, o) => halfToFloat(v.getUint16(o, true)) },
  i1: { size: 1, get: (v, o) => v.getInt8(o) },
  u1: { size: 1, get: (v, o) => v.getUint8(o) },
  b1: { size: 1, get: (v, o) => v.getUint8(o) },
  i2: { size: 2, get: (v, o) => v.getInt16(o, true) },
  u2: { size: 2, get: (v, o) => v.getUint16(o, true) },
  i4: { size: 4, get: (v, o) => v.getInt32(o, true) },
  u4: { size: 4, get: (v, o) => v.getUint32(o, true) },
  i8: { size: 8, get: (v, o) => Number(v.getBigInt64(o, true)) },
  u8: { size: 8, get: (v, o) => Number(v.getBigUint64(o, true)) },
};

function halfToFloat(h: number): number {
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

const inputError = (name: string, what: string): never => {
  throw new LstmError('ERR_LSTM_INPUT', `${name}: ${what}`);
};

/** True when the bytes start with the .npy magic string. */
export const isNpy = (bytes: Uint8Array): boolean => MAGIC.every((b, k) => bytes[k] === b);

/** Reads a .npy file into a float32 tensor. `name` is for messages. */
export function decodeNpy(bytes: Uint8Array, name = 'the .npy data'): Tensor {
  if (!isNpy(bytes) || bytes.length < 10) inputError(name, `expected a .npy file (starting with \\x93NUMPY), got ${bytes.length} bytes that do not start so`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  if (major < 1 || major > 3) inputError(name, `expected .npy format version 1, 2 or 3, got ${major}`);
  const headerLength = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : Infinity;
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) inputError(name, `the header claims ${headerLength} bytes, the file has ${bytes.length - headerStart} after its preamble`);
  const header = new TextDecoder().decode(bytes.subarray(headerStart, dataStart));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText_ = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText_ === undefined) inputError(name, `expected a header with 'descr', 'fortran_order' and 'shape', got ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') inputError(name, 'expected an array in C order, got fortran_order: True (save numpy.ascontiguousarray(a))');
  const order = descr![0];
  const type = descr!.slice(1);
  const reader = READERS[type];
  if (!reader || !(order === '<' || order === '|' || (order === '=' && reader.size === 1))) {
    inputError(name, `expected little-endian float16/32/64 or integer data ('<f4', '<f8', '<i4', '<i8', ...), got '${descr}'`);
  }
  const dims = shapeText_!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const shape = dims.map((d) => (/^\d+$/.test(d) ? Number(d) : inputError(name, `expected a shape of integers, got (${shapeText_})`)));
  const count = sizeOf(shape);
  const needed = count * reader!.size;
  if (bytes.length - dataStart < needed) inputError(name, `shape ${shapeText(shape)} of '${descr}' needs ${needed} bytes of data, the file has ${bytes.length - dataStart}`);
  const data = new Float32Array(count);
  for (let k = 0; k < count; k++) data[k] = reader!.get(view, dataStart + k * reader!.size);
  return { data, shape };
}

/** A float32 tensor as the bytes of a .npy file (version 1.0, '<f4', C order). */
export function encodeNpy(tensor: { data: ArrayLike<number>; shape: readonly number[] }): Uint8Array {
  const { shape } = tensor;
  if (tensor.data.length !== sizeOf(shape)) throw new LstmError('ERR_LSTM_SHAPE', `encodeNpy: expected ${sizeOf(shape)} values for shape ${shapeText(shape)}, got ${tensor.data.length}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // The preamble (10 bytes) and header, ended by '\n', fill a multiple of 64 bytes.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + 4 * tensor.data.length);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let k = 0; k < header.length; k++) out[10 + k] = header.charCodeAt(k);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let k = 0; k < tensor.data.length; k++) view.setFloat32(4 * k, tensor.data[k]!, true);
  return out;
}

/** Named float32 tensors as a .npz file (a zip of '<name>.npy', as numpy.savez writes). */
export async function encodeNpz(arrays: Readonly<Record<string, { data: ArrayLike<number>; shape: readonly number[] }>>): Promise<Uint8Array> {
  const { zipSync } = await import('fflate');
  const files: Record<string, Uint8Array> = {};
  for (const [name, tensor] of Object.entries(arrays)) files[`${name}.npy`] = encodeNpy(tensor);
  return zipSync(files, { level: 0 });
}

/** The arrays of a .npz file by name (without '.npy'), each as float32. */
export async function decodeNpz(bytes: Uint8Array, name = 'the .npz data'): Promise<Record<string, Tensor>> {
  const { unzipSync } = await import('fflate');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    return inputError(name, `expected a .npz (zip) file, got bytes that do not unzip (${(error as Error).message})`);
  }
  const arrays: Record<string, Tensor> = {};
  for (const [file, content] of Object.entries(files)) {
    if (file.endsWith('.npy')) arrays[file.slice(0, -4)] = decodeNpy(content, `${name}: ${file}`);
  }
  return arrays;
}
