// Where a model's bytes come from: a path (Node), a URL (fetch), or bytes the caller already has.
// A model may span files (TF.js weight shards, a config beside the weights), so a reader gets the
// main file and a way to its siblings.
import { LstmError } from '../errors.js';
import { modelError } from './spec.js';

export type ModelSource = string | URL | Uint8Array | ArrayBuffer;

/** The main file of a model, and the files next to it. */
export interface ModelFile {
  /** A name for messages: the path or URL, or 'the given bytes'. */
  name: string;
  bytes: Uint8Array;
  /** A file named relative to this one (a TF.js weight shard). */
  sibling(relative: string): Promise<Uint8Array>;
}

type FileReader = (path: string | URL) => Promise<Uint8Array>;
let readPath: FileReader | null = null;

/** The Node entry reads paths with node:fs; elsewhere a string is a URL. */
export function setPathReader(reader: FileReader): void {
  readPath = reader;
}

async function fetchBytes(url: URL): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    return modelError(url.href, `could not be fetched (${(error as Error).message})`, error);
  }
  if (!response.ok) modelError(url.href, `could not be fetched: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A path, or a file: URL, where there is a file system; any other URL is fetched. */
async function readNamed(name: string | URL): Promise<Uint8Array> {
  const isUrl = name instanceof URL || /^[a-z][a-z0-9+.-]*:\/\//i.test(name);
  if (readPath && (!isUrl || String(name).startsWith('file:'))) {
    try {
      return await readPath(isUrl ? new URL(name) : name);
    } catch (error) {
      return modelError(String(name), `could not be read (${(error as Error).message})`, error);
    }
  }
  return fetchBytes(new URL(name, typeof location === 'undefined' ? undefined : location.href));
}

function parentOf(name: string): string {
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  return slash < 0 ? '' : name.slice(0, slash + 1);
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
        return given(relative) ?? modelError('the given bytes', `needs the file '${relative}': pass it in options.files, or load from a path or URL`);
      },
    };
  }
  if (source instanceof URL) {
    return {
      name: source.href,
      bytes: await readNamed(source),
      async sibling(relative) {
        return given(relative) ?? readNamed(new URL(relative, source));
      },
    };
  }
  if (typeof source !== 'string' || source === '') {
    throw new LstmError('ERR_LSTM_CONFIG', `loadModel: expected a path, URL, Uint8Array or ArrayBuffer, got ${source === '' ? 'an empty string' : typeof source}`);
  }
  const dir = parentOf(source);
  return {
    name: source,
    bytes: await readNamed(source),
    async sibling(relative) {
      return given(relative) ?? readNamed(dir + relative);
    },
  };
}
