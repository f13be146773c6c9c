// HDF5 files are parsed by h5wasm (the HDF5 library compiled to WebAssembly), which one changed byte
// of a file can send into a loop that never returns from a synchronous call. So the parse runs in a
// worker with a deadline: past it the worker is terminated, the load fails with ERR_LSTM_MODEL and
// the process (or page) goes on. In Node (and runtimes with node:worker_threads) a worker thread; in
// browsers a module Web Worker, which Vite and webpack bundle from the literal `new Worker(new
// URL(...))` below. Where no worker can start (edge runtimes, a bundle without the worker's file)
// the parse runs inline: load models from untrusted sources in a worker of your own there.
import { LstmError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { Hdf5Node, Hdf5Snapshot } from './hdf5-snapshot.js';
import { modelError } from './spec.js';

type WorkerThreads = typeof import('node:worker_threads');
type NodeWorker = InstanceType<WorkerThreads['Worker']>;

/** Not a literal in `new URL(...)`: bundlers would copy the file for a browser build that never starts it. */
const WORKER_FILE = 'hdf5-snapshot.js';
/** How long an idle worker is kept for the next file before it is terminated. */
const IDLE_MS = 10_000;

let budgetOverride: number | null = null;

/** The time an HDF5 file of `bytes` bytes may take to parse: 10 s, and 1 s more per 50 MB. */
export function hdf5TimeBudget(bytes: number): number {
  return budgetOverride ?? 10_000 + Math.ceil(bytes / 50_000);
}

/** @internal Tests shorten the budget (null restores it). */
export function setHdf5TimeBudget(ms: number | null): void {
  budgetOverride = ms;
}

const threadsModule = (): WorkerThreads | undefined =>
  (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;

/** What a worker posts: its first message, then one answer per request. */
type Answer = Hdf5Snapshot | { error: string };
type Posted = ({ id: number } & Answer) | { ready: true };

/** A Node worker thread or a Web Worker, as the parse drives it. */
interface ParseWorker {
  post(request: { id: number; bytes: Uint8Array; valuesUnder: readonly string[] }, transfer: ArrayBuffer[]): void;
  /**
   * Listens until the returned function is called; `exited` only where workers report their exit
   * (Node). No `message` while idle: a Node worker listened to for messages holds the process.
   */
  listen(handlers: { message?(posted: Posted): void; error(error: Error & { code?: string }): void; exited(code: number): void }): () => void;
  terminate(): void;
  /** Whether the worker keeps the process alive (Node: ref/unref; a no-op elsewhere). */
  hold(held: boolean): void;
}

/**
 * The process's Node options, less those a worker refuses (--input-type, --eval and --print
 * belong to the main script): --conditions and the like carry over.
 */
function workerExecArgv(): string[] {
  const argv = (globalThis as { process?: { execArgv?: string[] } }).process?.execArgv ?? [];
  const out: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k]!;
    if (/^--(input-type|eval|print)=/.test(arg)) continue;
    if (/^(--input-type|--eval|--print|-e|-p|-pe)$/.test(arg)) {
      if (arg === '--input-type' || arg === '--eval' || arg === '-e' || arg === '--print' || arg === '-p' || arg === '-pe') k++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/**
 * The worker script: dist/load/ in the package, whose Node entry is bundled (this code may run from
 * a chunk in dist/chunks/); beside this module in the sources (lib/load/, under the tests).
 */
function workerUrl(): URL {
  const root = packageRoot();
  if (root && import.meta.url.startsWith(new URL('dist/', root).href)) return new URL(`dist/load/${WORKER_FILE}`, root);
  return new URL(WORKER_FILE, import.meta.url);
}

function nodeWorker(threads: WorkerThreads): ParseWorker {
  const url = workerUrl();
  const workerData = { lstmRuntimeHdf5: 1 };
  let worker: NodeWorker;
  try {
    worker = new threads.Worker(url, { workerData, execArgv: workerExecArgv() });
  } catch (error) {
    // An option a worker does not take: start it without the process's options.
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    worker = new threads.Worker(url, { workerData, execArgv: [] });
  }
  return {
    post: (request, transfer) => worker.postMessage(request, transfer),
    listen({ message, error, exited }) {
      if (message) worker.on('message', message);
      worker.on('error', error).on('exit', exited);
      return () => {
        if (message) worker.off('message', message);
        worker.off('error', error).off('exit', exited);
      };
    },
    terminate: () => void worker.terminate(),
    hold: (held) => void (held ? worker.ref() : worker.unref()),
  };
}

function webWorker(name: string): ParseWorker {
  // Literal, for the bundlers: they build hdf5-snapshot.js (and h5wasm) as the worker's own chunk.
  const worker = new Worker(new URL('./hdf5-snapshot.js', import.meta.url), { type: 'module', name });
  return {
    post: (request, transfer) => worker.postMessage(request, transfer),
    listen({ message, error }) {
      const onMessage = (event: MessageEvent<Posted>) => message?.(event.data);
      // A script that fails to load or throws: an ErrorEvent, with a message where there is one.
      const onError = (event: Event) => {
        event.preventDefault();
        error(new Error((event as ErrorEvent).message || 'the HDF5 worker failed to start'));
      };
      worker.addEventListener('message', onMessage);
      worker.addEventListener('error', onError);
      return () => {
        worker.removeEventListener('message', onMessage);
        worker.removeEventListener('error', onError);
      };
    },
    terminate: () => worker.terminate(),
    hold: () => {},
  };
}

/** Starts a worker, or says there is none here. */
type StartWorker = () => ParseWorker;

/** How workers start here, found once: undefined where none can (or none did). */
let starter: Promise<StartWorker | undefined> | undefined;
async function workerStarter(): Promise<StartWorker | undefined> {
  const threads = threadsModule();
  if (threads?.Worker) return () => nodeWorker(threads);
  if (typeof Worker === 'function' && typeof location !== 'undefined') {
    const { WEB_WORKER_NAME } = await import('./hdf5-snapshot.js');
    return () => webWorker(WEB_WORKER_NAME);
  }
  return undefined;
}

let idle: { worker: ParseWorker; timer: ReturnType<typeof setTimeout>; stopListening: () => void } | null = null;
let requests = 0;

/** A worker ready to start on a file: the idle one, or a new one (not yet known to run). */
function takeWorker(start: StartWorker): { worker: ParseWorker; fresh: boolean } {
  if (idle) {
    const { worker, timer, stopListening } = idle;
    idle = null;
    clearTimeout(timer);
    stopListening();
    worker.hold(true);
    return { worker, fresh: false };
  }
  return { worker: start(), fresh: true };
}

/** Keeps a worker that finished cleanly for the next file (one at most, not holding the process, for IDLE_MS). */
function release(worker: ParseWorker): void {
  if (idle) {
    worker.terminate();
    return;
  }
  worker.hold(false);
  const timer = setTimeout(() => {
    if (idle?.worker !== worker) return;
    idle = null;
    stopListening();
    worker.terminate();
  }, IDLE_MS);
  (timer as { unref?: () => void }).unref?.();
  // A worker that dies while idle is not handed the next file.
  const dead = () => {
    if (idle?.worker !== worker) return;
    clearTimeout(idle.timer);
    idle = null;
    stopListening();
  };
  const stopListening = worker.listen({ error: dead, exited: dead });
  idle = { worker, timer, stopListening };
}

function inWorker(start: StartWorker, file: string, bytes: Uint8Array, valuesUnder: readonly string[]): Promise<Answer | 'unavailable'> {
  const { worker, fresh } = takeWorker(start);
  const id = ++requests;
  const budget = hdf5TimeBudget(bytes.length);
  return new Promise((resolve, reject) => {
    let answered = false;
    let started = !fresh;
    const finish = () => {
      answered = true;
      clearTimeout(timer);
      stopListening();
    };
    const message = (posted: Posted) => {
      if ('ready' in posted) {
        started = true;
        return;
      }
      if (posted.id !== id) return;
      finish();
      const { id: _, ...answer } = posted;
      // A worker whose HDF5 threw may hold a damaged heap: it is not kept.
      if ('error' in answer) worker.terminate();
      else release(worker);
      resolve(answer);
    };
    const error = (error: Error & { code?: string }) => {
      finish();
      worker.terminate();
      // A worker that failed before it ran (its file missing from a bundle, an option it refuses):
      // the file was never looked at, and is parsed inline instead.
      if (!started) return resolve('unavailable');
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        return reject(new LstmError('ERR_LSTM_RESOURCES', `${file}: parsing its HDF5 ran out of memory (${error.message})`, { cause: error }));
      }
      reject(new LstmError('ERR_LSTM_MODEL', `${file}: could not be read as HDF5 (${error.message})`, { cause: error }));
    };
    const exited = (code: number) => {
      if (answered) return;
      finish();
      reject(new LstmError('ERR_LSTM_MODEL', `${file}: could not be read as HDF5 (the worker parsing it stopped with exit code ${code})`));
    };
    const timer = setTimeout(() => {
      finish();
      worker.terminate();
      reject(new LstmError('ERR_LSTM_MODEL', `${file}: HDF5 parsing did not finish within ${budget / 1000} s (a damaged file can make the HDF5 library loop for ever); the worker parsing it was stopped`));
    }, budget);
    const stopListening = worker.listen({ message, error, exited });
    const copy = bytes.slice(); // the caller keeps its bytes; the copy moves to the worker
    worker.post({ id, bytes: copy, valuesUnder }, [copy.buffer]);
  });
}

/**
 * The HDF5 file in `bytes` as plain data (see hdf5-snapshot.js): values are read for the datasets
 * under `valuesUnder` only. A file the HDF5 library cannot open is ERR_LSTM_MODEL.
 */
export async function readHdf5(file: string, bytes: Uint8Array, valuesUnder: readonly string[]): Promise<Hdf5Node> {
  let answer: Answer | 'unavailable' = 'unavailable';
  const start = await (starter ??= workerStarter());
  if (start) {
    try {
      answer = await inWorker(start, file, bytes, valuesUnder);
    } catch (error) {
      if (error instanceof LstmError) throw error;
      answer = 'unavailable'; // the Worker constructor itself failed
    }
    // Set once a worker failed to start here (a bundle without hdf5-snapshot.js): inline from then on.
    if (answer === 'unavailable') starter = Promise.resolve(undefined);
  }
  if (answer === 'unavailable') {
    const { snapshotHdf5 } = await import('./hdf5-snapshot.js');
    try {
      answer = await snapshotHdf5(bytes, valuesUnder);
    } catch (error) {
      answer = { error: error instanceof Error ? error.message : String(error) };
    }
  }
  if ('error' in answer) return modelError(file, `could not be read as HDF5 (${answer.error})`);
  if (answer.openError !== undefined) {
    return modelError(file, 'expected an HDF5 file, got one the HDF5 library cannot open (damaged or truncated; its report is the cause)', new Error(answer.openError));
  }
  return answer.root;
}
