// Where the WebAssembly modules come from: each entry names its defaults (lazily: a runtime
// without import.meta.url must be able to import the package), and configureWasm() lets the
// application give the files itself, as onnxruntime-web's env.wasm.wasmPaths does. No Node
// built-ins are imported here: file: URLs are read through process.getBuiltinModule where the
// runtime has it (Node >= 20.16, Bun, Deno), and fetched otherwise.
import { describe, fail } from '../errors.js';
import { registerBackend } from '../registry.js';
import { checkOptions } from '../recurrent.js';
import { loadWasmBackend, type WasmSource } from './wasm.js';

/**
 * One WebAssembly module as the application has it: a URL (a string or URL; fetched, or read from
 * disk for `file:` URLs), its bytes, the compiled module (a Cloudflare Worker's
 * `import simd from './lstm-simd.wasm'`), a fetch `Response`, or a promise of any of these.
 */
export type WasmInput =
  | string
  | URL
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module
  | Response
  | PromiseLike<string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module | Response>;

export interface WasmOptions {
  /** The relaxed-SIMD module (`lstm-relaxed.wasm`), for the `wasm-relaxed` backend. */
  relaxed?: WasmInput;
  /** The SIMD128 module (`lstm-simd.wasm`), for the `wasm-simd` backend. */
  simd?: WasmInput;
  /** The scalar module (`lstm.wasm`), for the `wasm` backend. */
  scalar?: WasmInput;
  /** A folder holding `lstm-relaxed.wasm`, `lstm-simd.wasm` and `lstm.wasm`, for the modules not given above. */
  baseUrl?: string | URL;
}

/** What an entry reads when the application says nothing: thunks, evaluated only on load. */
export interface WasmDefaults {
  relaxed: () => URL;
  simd: () => URL;
  scalar: () => URL;
  /** How this entry reads a file: URL (the Node entry's fs); without it, see readFileUrl. */
  readFile?: (url: URL) => Promise<Uint8Array>;
}

const FILES = { relaxed: 'lstm-relaxed.wasm', simd: 'lstm-simd.wasm', scalar: 'lstm.wasm' } as const;
type Variant = keyof typeof FILES;

let defaults: WasmDefaults | null = null;
let configured: { [V in Variant]?: WasmInput } & { baseUrl?: URL } = {};

const EXPECTED_INPUT = 'a URL (string or URL), bytes (ArrayBuffer or typed array), a WebAssembly.Module, a Response, or a promise of one';

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
const isResponse = (v: unknown): v is Response => typeof Response !== 'undefined' && v instanceof Response;

function checkInput(value: unknown, what: string): void {
  const ok =
    (typeof value === 'string' && value !== '') ||
    value instanceof URL ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    value instanceof WebAssembly.Module ||
    isResponse(value) ||
    isThenable(value);
  if (!ok) fail('ERR_LSTM_CONFIG', what, EXPECTED_INPUT, value === '' ? 'an empty string' : describe(value));
}

/** The page (or worker script) a relative URL is read against, where there is one. */
function pageUrl(): string | undefined {
  const location = (globalThis as { location?: { href?: string } }).location;
  return typeof location?.href === 'string' ? location.href : undefined;
}

interface NodeLike {
  getBuiltinModule?: (id: string) => unknown;
}
const builtin = <T>(id: string): T | undefined =>
  (globalThis as { process?: NodeLike }).process?.getBuiltinModule?.(id) as T | undefined;

/**
 * A string as a URL: absolute, or relative to the page; where there is no page (Node, Deno, Bun),
 * a string that is not a URL is a file path.
 */
function toUrl(value: string | URL, what: string): URL {
  if (value instanceof URL) return value;
  // One-letter "schemes" are Windows drive letters: paths.
  if (/^[a-z][a-z0-9+.-]+:/i.test(value)) {
    try {
      return new URL(value);
    } catch {
      fail('ERR_LSTM_CONFIG', what, 'a valid URL or path', describe(value));
    }
  }
  const page = pageUrl();
  if (page) return new URL(value, page);
  const url = builtin<{ pathToFileURL(path: string): URL }>('node:url');
  if (url) return url.pathToFileURL(value);
  return fail('ERR_LSTM_CONFIG', what, 'an absolute URL (there is no page to resolve a relative one against)', describe(value));
}

/** A folder's URL, ending in '/' so that file names resolve inside it. */
function toFolder(value: unknown, what: string): URL {
  if (!(value instanceof URL) && (typeof value !== 'string' || value === '')) fail('ERR_LSTM_CONFIG', what, 'a folder URL (string or URL)', value === '' ? 'an empty string' : describe(value));
  const url = new URL(toUrl(value as string | URL, what).href);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/**
 * Tells lstm-runtime where its WebAssembly modules are, as onnxruntime-web's `env.wasm.wasmPaths`:
 * `relaxed`, `simd` and `scalar` give each module as a URL, bytes, a compiled `WebAssembly.Module`
 * (in a Cloudflare Worker, `import simd from 'lstm-runtime/wasm/lstm-simd.wasm'`), a `Response` or
 * a promise of one; `baseUrl` is a folder holding `lstm-relaxed.wasm`, `lstm-simd.wasm` and
 * `lstm.wasm`, for the modules not given. Without it the modules are read next to the package
 * (`wasm/dist/`). The relaxed-SIMD module is only read where the engine runs relaxed SIMD.
 *
 * Call it before the first WebAssembly layer is created. Each call replaces the previous
 * configuration (`configureWasm({})` restores the defaults) and re-registers the `wasm-relaxed`,
 * `wasm-simd` and `wasm` backends: a module already loaded is dropped, layers created afterwards
 * load from the new source, and layers created before keep the module they run on. A source that
 * cannot be read or is not the module makes that backend unavailable, with the URL and the reason
 * in `backends()` (and in the `ERR_LSTM_BACKEND` of an explicit `backend: 'wasm-simd'`).
 */
export function configureWasm(options: WasmOptions): void {
  checkOptions(options, ['relaxed', 'simd', 'scalar', 'baseUrl'], 'configureWasm');
  const next: typeof configured = {};
  for (const variant of ['relaxed', 'simd', 'scalar'] as const) {
    const value = options[variant];
    if (value === undefined) continue;
    checkInput(value, `configureWasm.${variant}`);
    if (isThenable(value)) {
      // Awaited when the backend loads; handled now, so a rejection is not reported as unhandled before.
      const promise = Promise.resolve(value);
      promise.catch(() => {});
      next[variant] = promise;
    } else next[variant] = typeof value === 'string' ? toUrl(value, `configureWasm.${variant}`) : value;
  }
  if (options.baseUrl !== undefined) next.baseUrl = toFolder(options.baseUrl, 'configureWasm.baseUrl');
  configured = next;
  register();
}

/** Called once by each entry with where its modules are by default. */
export function registerWasmBackends(entryDefaults: WasmDefaults): void {
  defaults = entryDefaults;
  register();
}

/**
 * The smallest module using relaxed SIMD: one function returning f32x4.relaxed_madd of its three
 * v128 parameters. An engine that validates it runs lstm-relaxed.wasm, which is then fetched;
 * elsewhere it is not.
 */
// prettier-ignore
const RELAXED_MADD_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, // code: local.get 0, 1, 2
  0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd (0xfd 0x105), end
]);

/** Whether this engine runs relaxed SIMD: Chromium >= 114, Node >= 22, Node 20 with a flag. */
export const runsRelaxedSimd = (): boolean => WebAssembly.validate(RELAXED_MADD_MODULE);

function noRelaxedSimd(): Error {
  const error = new Error('this JavaScript engine does not run WebAssembly relaxed SIMD (it runs in Chromium >= 114 and Node >= 22)');
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  // Nothing the application did: 'auto' moves on to wasm-simd without a fallback warning.
  return Object.assign(error, { expectedFallback: true }, node && { fix: 'run Node >= 22, or Node 20 with --experimental-wasm-relaxed-simd' });
}

function register(): void {
  registerBackend('wasm-relaxed', 35, () => {
    if (!runsRelaxedSimd()) throw noRelaxedSimd();
    return loadWasmBackend('wasm-relaxed', sourceOf('relaxed'));
  });
  registerBackend('wasm-simd', 30, () => loadWasmBackend('wasm-simd', sourceOf('simd')));
  registerBackend('wasm', 20, () => loadWasmBackend('wasm', sourceOf('scalar')));
}

function defaultUrl(variant: Variant): URL {
  const file = FILES[variant];
  let url: URL | undefined;
  try {
    url = defaults?.[variant]();
  } catch (e) {
    // workerd and other runtimes without import.meta.url: nothing to resolve the default against.
    throw new Error(`the default location of ${file} (beside the package, from import.meta.url) cannot be resolved here (${(e as Error).message}): give the module with configureWasm({ ${variant}: ... })`);
  }
  if (!url) throw new Error(`no default location for ${file}: give the module with configureWasm({ ${variant}: ... })`);
  return url;
}

/** The source one backend loads from, resolved when it loads (not when it is configured). */
function sourceOf(variant: Variant): WasmSource {
  const given = configured[variant];
  const baseUrl = configured.baseUrl;
  return async () => {
    if (given !== undefined) return readInput(given, FILES[variant]);
    return readUrl(baseUrl ? new URL(FILES[variant], baseUrl) : defaultUrl(variant));
  };
}

type Resolved = Awaited<ReturnType<WasmSource>>;

async function readInput(input: WasmInput, file: string): Promise<Resolved> {
  let value: unknown = input;
  if (isThenable(value)) {
    try {
      value = await value;
    } catch (e) {
      throw new Error(`the promise given for ${file} was rejected (${reasonOf(e)})`);
    }
  }
  if (typeof value === 'string' || value instanceof URL) return readUrl(toUrl(value, file));
  if (value instanceof WebAssembly.Module) return { module: value, name: `the WebAssembly.Module given for ${file}` };
  if (value instanceof ArrayBuffer) return { bytes: value, name: `the bytes given for ${file}` };
  if (ArrayBuffer.isView(value)) return { bytes: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) as Uint8Array<ArrayBuffer>, name: `the bytes given for ${file}` };
  if (isResponse(value)) return readResponse(value, value.url || `the Response given for ${file}`);
  throw new Error(`the promise given for ${file} resolved to ${describe(value)}; expected ${EXPECTED_INPUT.replace(', or a promise of one', '')}`);
}

const reasonOf = (e: unknown) => {
  const error = e as { message?: string; cause?: { message?: string; code?: string } };
  const message = error?.message ?? String(e);
  // Node's fetch says only "fetch failed"; the cause says why.
  const cause = error?.cause?.code ?? error?.cause?.message;
  return cause && !message.includes(cause) ? `${message}: ${cause}` : message;
};

async function readResponse(response: Response, name: string): Promise<Resolved> {
  if (!response.ok) throw new Error(`fetching ${name} failed: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  // Served as application/wasm, the module compiles while it downloads; otherwise from its bytes,
  // which also lets compile() say what the bytes are when they are not a module.
  if (typeof WebAssembly.compileStreaming === 'function' && response.headers.get('content-type')?.split(';')[0]?.trim() === 'application/wasm') {
    try {
      return { module: await WebAssembly.compileStreaming(response), name };
    } catch (e) {
      throw new Error(`${name} is not a WebAssembly module (${reasonOf(e)})`);
    }
  }
  return { bytes: await response.arrayBuffer(), name };
}

/**
 * A file: URL is read from disk: by the entry's reader (Node), else through the runtime's
 * fs/promises (process.getBuiltinModule: Node >= 20.16, Bun, Deno), else fetched (Deno and
 * browsers can fetch some file: URLs; Node's fetch cannot). Any other URL is fetched.
 */
async function readUrl(url: URL): Promise<Resolved> {
  if (url.protocol === 'file:') {
    const read = defaults?.readFile ?? builtin<{ readFile(url: URL): Promise<Uint8Array> }>('node:fs/promises')?.readFile;
    if (read) {
      try {
        return { bytes: (await read(url)) as Uint8Array<ArrayBuffer>, name: url.href };
      } catch (e) {
        throw new Error(`reading ${url.href} failed (${reasonOf(e)})`);
      }
    }
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`fetching ${url.href} failed (${reasonOf(e)})`);
  }
  return readResponse(response, url.href);
}
