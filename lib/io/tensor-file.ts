// Tensor files by format: JSON, CSV and .npy in; JSON, .npy and .npz out. The format comes from a
// file name's extension, or is told from the bytes (stdin).
import { LstmError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { decodeCsv } from './csv.js';
import { decodeJsonTensor, encodeJsonTensors } from './json.js';
import { decodeNpy, encodeNpy, encodeNpz, isNpy } from './npy.js';

export type TensorFormat = 'json' | 'csv' | 'npy' | 'npz';
export const TENSOR_FORMATS: readonly TensorFormat[] = ['json', 'csv', 'npy', 'npz'];

/** The format a file name's extension names, or null. */
export function tensorFormatOf(fileName: string): TensorFormat | null {
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  return TENSOR_FORMATS.includes(ext as TensorFormat) ? (ext as TensorFormat) : null;
}

/** The format of input bytes: .npy by its magic string, JSON by a first '[' or '{', else CSV. */
export function sniffTensorFormat(bytes: Uint8Array): 'json' | 'csv' | 'npy' {
  if (isNpy(bytes)) return 'npy';
  let k = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (k < bytes.length && (bytes[k] === 0x20 || bytes[k] === 0x09 || bytes[k] === 0x0a || bytes[k] === 0x0d)) k++;
  return bytes[k] === 0x5b || bytes[k] === 0x7b ? 'json' : 'csv';
}

/**
 * One tensor from the bytes of a JSON (nested arrays or { data, shape }), CSV ([steps, features])
 * or .npy file. `format` defaults to the one told by `name`'s extension, else by the bytes.
 */
export function decodeTensor(bytes: Uint8Array, options: { format?: TensorFormat; name?: string } = {}): Tensor {
  const name = options.name ?? 'the input';
  const format = options.format ?? (options.name ? tensorFormatOf(options.name) : null) ?? sniffTensorFormat(bytes);
  switch (format) {
    case 'npy':
      return decodeNpy(bytes, name);
    case 'json':
      return decodeJsonTensor(new TextDecoder().decode(bytes), name);
    case 'csv':
      return decodeCsv(new TextDecoder().decode(bytes), name);
    default:
      throw new LstmError('ERR_LSTM_INPUT', `${name}: expected a tensor in JSON, CSV or .npy, got format '${format}' (a .npz holds several; take one array from it)`);
  }
}

/**
 * Named tensors as file bytes: JSON (every tensor, names with '/' nested), .npz (every tensor,
 * '<name>.npy' each) or .npy (exactly one tensor).
 */
export async function encodeTensors(arrays: Readonly<Record<string, Tensor>>, format: Exclude<TensorFormat, 'csv'>): Promise<Uint8Array> {
  switch (format) {
    case 'json':
      return new TextEncoder().encode(encodeJsonTensors(arrays));
    case 'npz':
      return encodeNpz(arrays);
    case 'npy': {
      const names = Object.keys(arrays);
      if (names.length !== 1) throw new LstmError('ERR_LSTM_CONFIG', `format 'npy': expected exactly one tensor, got ${names.length} (${names.join(', ')}); write .npz or .json for several`);
      return encodeNpy(arrays[names[0]!]!);
    }
    default:
      throw new LstmError('ERR_LSTM_CONFIG', `format: expected 'json', 'npy' or 'npz', got ${JSON.stringify(format)}`);
  }
}
