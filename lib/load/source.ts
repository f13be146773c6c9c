// Where a model's bytes come from: a path (Node), a URL (fetch), or bytes the caller already has.
// A model may span files (TF.js weight shards, a config beside the weights), so a reader gets the
// main file and a way to its siblings, which are confined to the main file's folder: a model file
// names its siblings, and a hostile one must not reach any other file with them.
import { describe, fail, LstmError } from '../errors.js';
import { MAX_BUFFER_BYTES } from '../tensor.js';
import { modelError } from './spec.js';

export type ModelSource = string | URL | Uint8Array | ArrayBuffer;

/** The main file of a model, and the files next to it. */
export interface ModelFile {
  /** A name for messages: the path or URL, or 'the given bytes'. */
  name: string;
  bytes: Uint8Array;
  /**
   * A file named relative to this one (a TF.js weight shard; ONNX external data), at most
   * `maxBytes` long. The name must stay inside this file's folder (see confinedName): no `..`
   * segment, no absolute path or URL, and on disk no link leading out; only regular files are read.
   */
  sibling(relative: string, maxBytes?: number): Promise<Uint8Array>;
}

type FileReader = (path: string | URL) => Promise<Uint8Array>;
let readPath: FileReader | null = null;

/** The Node entry reads paths with node:fs; elsewhere a string is a URL. */
export function setPathReader(reader: FileReader): void {
  readPath = reader;
}

/** The parts of node:fs/promises and node:path used to confine siblings on disk. */
interface NodeFs {
  realpath(path: string): Promise<string>;
  stat(path: string): Promise<{ isFile(): boolean; size: number }>;
  open(path: string, flags: number): Promise<{ stat(): Promise<{ isFile(): boolean; size: number }>; readFile(): Promise<Uint8Array>; close(): Promise<void> }>;
  constants: { O_RDONLY: number; O_NOFOLLOW?: number; O_NONBLOCK?: number };
}
interface NodePath {
  sep: string;
  resolve(...paths: string[]): string;
  dirname(path: string): string;
}

/**
 * node:fs/promises, node:path and node:url where the runtime has them (process.getBuiltinModule:
 * Node >= 20.16, Deno, Bun), without an import the browser entry would carry.
 */
function nodeModules(): { fs: NodeFs; path: NodePath; toPath: (url: URL) => string } | null {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (!get) return null;
  const fs = get('node:fs/promises') as NodeFs | undefined;
  const path = get('node:path') as NodePath | undefined;
  const url = get('node:url') as { fileURLToPath?: (url: URL) => string } | undefined;
  return fs?.realpath && path && url?.fileURLToPath ? { fs, path, toPath: url.fileURLToPath } : null;
}

/**
 * Checks a file name a model gives for one of its siblings, and returns it: a relative path that
 * stays in the model's folder. Refused (ERR_LSTM_MODEL, naming the model and the name): an absolute
 * path ('/etc/passwd', 'C:\\x', '\\\\server\\share'), a URL or any 'scheme:', a '..' segment (also
 * percent-encoded, which URLs resolve), an empty name, control characters. The one check for every
 * sibling a reader asks for: TF.js weight shards now, ONNX external data later.
 */
export function confinedName(model: string, relative: unknown, what = 'a file beside it'): string {
  const refuse = (why: string): never => modelError(model, `names ${what} as ${JSON.stringify(relative)}: expected a path inside the model's folder, got ${why}`);
  if (typeof relative !== 'string' || relative === '') return refuse('no file name');
  if (relative.length > 4096) return refuse('a name longer than 4096 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(relative)) return refuse('a name with control characters');
  if (/^[/\\]/.test(relative)) return refuse('an absolute path');
  if (/^[a-z][a-z0-9+.-]*:/i.test(relative)) return refuse('an absolute URL or drive (another origin or folder)');
  for (const segment of relative.split(/[/\\]/)) {
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // Not percent-encoded text: the segment as it is.
    }
    if (segment === '..' || decoded === '..' || decoded.trim() === '..') return refuse("a '..' segment, which climbs out of the model's folder");
  }
  return relative;
}

/** Reads `url` with fetch, refusing a body past `maxBytes` (an endless or oversized response) as soon as it gets there. */
async function fetchBytes(url: URL, maxBytes: number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    return modelError(url.href, `could not be fetched (${(error as Error).message})`, error);
  }
  if (!response.ok) modelError(url.href, `could not be fetched: HTTP ${response.status}`);
  const tooLarge = (got: string): never => modelError(url.href, `expected at most ${maxBytes} bytes, got ${got} (refused before reading further)`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    void response.body?.cancel();
    tooLarge(`a Content-Length of ${declared}`);
  }
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxBytes) {
      void reader.cancel();
      tooLarge('more');
    }
    chunks.push(value);
  }
  const out = new Uint8Array(length);
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}

/**
 * Reads a file from disk: a regular file only (a device such as /dev/zero never ends, a FIFO may
 * block), at most `maxBytes`, and, given `folder`, only if its real path (links followed) is inside
 * the real path of `folder`. Where node:fs is not at hand, the injected reader reads it unchecked.
 */
async function readFromDisk(name: string, file: string | URL, maxBytes: number, folder: string | URL | null): Promise<Uint8Array> {
  const node = nodeModules();
  try {
    if (!node) return await readPath!(file);
    const { fs, path, toPath } = node;
    const real = await fs.realpath(typeof file === 'string' ? file : toPath(file));
    if (folder !== null) {
      const root = await fs.realpath(typeof folder !== 'string' ? toPath(folder) : folder === '' ? '.' : folder);
      if (!real.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
        return modelError(name, `expected a file inside the model's folder ${root}, got a link leading out of it to ${real}`);
      }
    }
    const check = (stat: { isFile(): boolean; size: number }) => {
      if (!stat.isFile()) modelError(name, 'expected a regular file, got a device, FIFO, socket or directory');
      if (stat.size > maxBytes) modelError(name, `expected at most ${maxBytes} bytes, got a file of ${stat.size} (refused before reading it)`);
    };
    // Checked before it is opened (opening a FIFO waits for a writer), and again once open, no link
    // followed and without waiting, in case it was swapped in between.
    check(await fs.stat(real));
    const { O_RDONLY, O_NOFOLLOW = 0, O_NONBLOCK = 0 } = fs.constants;
    const handle = await fs.open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      check(await handle.stat());
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof LstmError) throw error;
    return modelError(name, `could not be read (${(error as Error).message})`, error);
  }
}

const isUrlText = (name: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(name);

/** A path, or a file: URL, where there is a file system; any other URL is fetched. */
async function readNamed(name: string | URL, maxBytes: number, folder: string | URL | null = null): Promise<Uint8Array> {
  const isUrl = name instanceof URL || isUrlText(name);
  if (readPath && (!isUrl || String(name).startsWith('file:'))) return readFromDisk(String(name), isUrl ? new URL(name) : name, maxBytes, folder);
  return fetchBytes(new URL(name, typeof location === 'undefined' ? undefined : location.href), maxBytes);
}

function parentOf(name: string): string {
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  return slash < 0 ? '' : name.slice(0, slash + 1);
}

/** A sibling's URL, checked to stay on the model's origin and under its folder (after the name passed confinedName). */
function siblingUrl(model: URL, relative: string): URL {
  const url = new URL(relative, model);
  const folder = new URL('.', model);
  if (url.protocol !== folder.protocol || url.host !== folder.host || !url.pathname.startsWith(folder.pathname)) {
    modelError(model.href, `names a file beside it as ${JSON.stringify(relative)}: expected a URL under ${folder.href}, got ${url.href}`);
  }
  return url;
}

/** The files a model names beside it, given as bytes: an object of file names to Uint8Array or ArrayBuffer. */
export function checkFiles(files: unknown, what: string): void {
  if (files === undefined) return;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) fail('ERR_LSTM_CONFIG', what, 'an object of file names to bytes', describe(files));
  for (const [name, bytes] of Object.entries(files)) {
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) fail('ERR_LSTM_CONFIG', `${what}['${name}']`, 'a Uint8Array or ArrayBuffer', describe(bytes));
  }
}

export async function openModel(source: ModelSource, files?: Readonly<Record<string, Uint8Array | ArrayBuffer>>): Promise<ModelFile> {
  const given = (relative: string): Uint8Array | null => {
    const bytes = files?.[relative];
    return bytes === undefined ? null : bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  };
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    return {
      name: 'the given bytes',
      bytes: source instanceof Uint8Array ? source : new Uint8Array(source),
      async sibling(relative) {
        confinedName('the given bytes', relative);
        return given(relative) ?? modelError('the given bytes', `needs the file '${relative}': pass it in options.files, or load from a path or URL`);
      },
    };
  }
  const url = source instanceof URL ? source : typeof source === 'string' && isUrlText(source) ? new URL(source) : null;
  if (url) {
    const folder = url.protocol === 'file:' ? new URL('.', url) : null;
    return {
      name: url.href,
      bytes: await readNamed(url, MAX_BUFFER_BYTES),
      async sibling(relative, maxBytes = MAX_BUFFER_BYTES) {
        confinedName(url.href, relative);
        return given(relative) ?? readNamed(siblingUrl(url, relative), maxBytes, folder);
      },
    };
  }
  if (typeof source !== 'string' || source === '') {
    throw new LstmError('ERR_LSTM_CONFIG', `loadModel: expected a path, URL, Uint8Array or ArrayBuffer, got ${source === '' ? 'an empty string' : typeof source}`);
  }
  const dir = parentOf(source);
  return {
    name: source,
    bytes: await readNamed(source, MAX_BUFFER_BYTES),
    async sibling(relative, maxBytes = MAX_BUFFER_BYTES) {
      confinedName(source, relative);
      return given(relative) ?? readNamed(dir + relative, maxBytes, readPath ? dir : null);
    },
  };
}
