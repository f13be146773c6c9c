// The few files a .keras archive holds, read with bounds: each entry's sizes come from the zip's
// central directory before anything is inflated, an entry declared larger than its bound is refused
// unread, and inflating stops as soon as an entry gives more bytes than it declared (a lying
// header) instead of inflating a zip bomb to its end.
import { LstmError } from '../errors.js';
import { modelError } from './spec.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  compression: number;
  flags: number;
  compressedSize: number;
  size: number;
  /** Where the entry's local header starts. */
  localHeader: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Compressed bytes handed to the inflater at a time: at DEFLATE's ~1032:1 at most ~16 MB out per push. */
const CHUNK = 16 * 1024;

/** The central directory's entries (the archive's own list, with every size), checked against the bytes present. */
export function zipEntries(file: string, bytes: Uint8Array): ZipEntry[] {
  const bad = (what: string): never => modelError(file, `expected a .keras zip archive, got one whose ${what}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? bad(`sizes or offsets exceed 2^53`) : Number(v);
  };
  // The end-of-central-directory record: the last 22 bytes, or further back past a comment of up to 64 KiB.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) bad('end-of-central-directory record is missing (not a zip, or cut short)');
  let count = u16(eocd + 10);
  let size = u32(eocd + 12);
  let offset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === ZIP64_LOCATOR) {
    const at = u64(eocd - 12);
    if (at + 56 > bytes.length || u32(at) !== ZIP64_EOCD) bad('zip64 end-of-central-directory record is missing');
    count = u64(at + 32);
    size = u64(at + 40);
    offset = u64(at + 48);
  }
  if (offset + size > bytes.length) bad(`central directory [${offset}, ${offset + size}) reaches past the ${bytes.length} bytes of the file`);
  if (count > size / 46) bad(`central directory claims ${count} entries in ${size} bytes`);

  const entries: ZipEntry[] = [];
  let at = offset;
  for (let k = 0; k < count; k++) {
    if (at + 46 > offset + size || u32(at) !== CENTRAL) bad(`central directory entry ${k} is damaged`);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > offset + size) bad(`central directory entry ${k} reaches past the directory`);
    const entry: ZipEntry = {
      name: new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      flags: u16(at + 8),
      compression: u16(at + 10),
      compressedSize: u32(at + 20),
      size: u32(at + 24),
      localHeader: u32(at + 42),
    };
    // Zip64: the sizes and offset that do not fit 32 bits are in the extra field 0x0001, in this order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength; ) {
      const id = u16(e);
      const length = u16(e + 2);
      if (id === 1) {
        let p = e + 4;
        const take = (): number => (p + 8 <= e + 4 + length ? ((p += 8), u64(p - 8)) : bad(`zip64 field of '${entry.name}' is cut short`));
        if (entry.size === 0xffffffff) entry.size = take();
        if (entry.compressedSize === 0xffffffff) entry.compressedSize = take();
        if (entry.localHeader === 0xffffffff) entry.localHeader = take();
      }
      e += 4 + length;
    }
    entries.push(entry);
    at = next;
  }
  return entries;
}

/**
 * The bytes of one entry, at most `limit` of them: an entry declared larger is refused before it is
 * read, and one that inflates to more (or fewer) bytes than declared is refused as soon as it does.
 */
export function readZipEntry(file: string, bytes: Uint8Array, entry: ZipEntry, limit: number, inflater: new (ondata: (chunk: Uint8Array) => void) => { push(chunk: Uint8Array, final?: boolean): void }): Uint8Array {
  const where = `entry '${entry.name}' of the .keras archive`;
  if (entry.size > limit) modelError(file, `${where}: expected at most ${limit} bytes, its header declares ${entry.size} (refused before inflating it)`);
  if (entry.flags & 1) modelError(file, `${where}: expected an unencrypted entry, got an encrypted one`);
  const local = entry.localHeader;
  if (local + 30 > bytes.length || new DataView(bytes.buffer, bytes.byteOffset + local, 30).getUint32(0, true) !== LOCAL) {
    modelError(file, `${where}: its local header at ${local} is missing or damaged`);
  }
  const head = new DataView(bytes.buffer, bytes.byteOffset + local, 30);
  const start = local + 30 + head.getUint16(26, true) + head.getUint16(28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) modelError(file, `${where}: its ${entry.compressedSize} compressed bytes at ${start} reach past the ${bytes.length} bytes of the file`);
  const data = bytes.subarray(start, end);
  if (entry.compression === 0) {
    if (entry.compressedSize !== entry.size) modelError(file, `${where}: a stored entry of ${entry.size} bytes holds ${entry.compressedSize}`);
    return data;
  }
  if (entry.compression !== 8) modelError(file, `${where}: expected stored or deflated data, got compression method ${entry.compression}`);
  const out = new Uint8Array(entry.size);
  let length = 0;
  const inflate = new inflater((chunk) => {
    if (length + chunk.length > entry.size) {
      modelError(file, `${where}: inflates past the ${entry.size} bytes its header declares (a damaged or malicious archive; inflating stopped there)`);
    }
    out.set(chunk, length);
    length += chunk.length;
  });
  try {
    for (let at = 0; at < data.length || at === 0; at += CHUNK) inflate.push(data.subarray(at, Math.min(at + CHUNK, data.length)), at + CHUNK >= data.length);
  } catch (error) {
    if (error instanceof LstmError) throw error;
    return modelError(file, `${where}: could not be inflated (${(error as Error).message})`, error);
  }
  if (length !== entry.size) modelError(file, `${where}: inflates to ${length} bytes, its header declares ${entry.size}`);
  return out;
}
