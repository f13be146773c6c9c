// HDF5 files are parsed by h5wasm (the HDF5 library compiled to WebAssembly), which one changed byte
// of a file can send into a loop that never returns from a synchronous call. In Node (and runtimes
// with node:worker_threads) the parse therefore runs in a worker thread with a deadline: past it the
// worker is terminated and the load fails with ERR_LSTM_MODEL, and the process goes on. Elsewhere
// (browsers, edge runtimes) it runs inline; load models from untrusted sources in a Web Worker there.
import { LstmError } from '../errors.js';
import type { Hdf5Node, Hdf5Snapshot } from './hdf5-snapshot.js';
import { modelError } from './spec.js';

type WorkerThreads = typeof import('node:worker_threads');
type Worker = InstanceType<WorkerThreads['Worker']>;

/** Not a literal in `new URL(...)`: bundlers would copy the file for a browser build that never starts it. */
const WORKER_FILE = './hdf5-snapshot.js';
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

/** Set once a worker failed to start here (a bundle without hdf5-snapshot.js): parse inline from then on. */
let workersUnavailable = false;
let idle: { worker: Worker; timer: ReturnType<typeof setTimeout>; onExit: () => void } | null = null;
let requests = 0;

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

function newWorker(threads: WorkerThreads): Worker {
  const url = new URL(WORKER_FILE, import.meta.url);
  const workerData = { lstmRuntimeHdf5: 1 };
  try {
    return new threads.Worker(url, { workerData, execArgv: workerExecArgv() });
  } catch (error) {
    // An option a worker does not take: start it without the process's options.
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new threads.Worker(url, { workerData, execArgv: [] });
  }
}

/** A worker ready to start on a file: the idle one, or a new one (not yet known to run). */
function takeWorker(threads: WorkerThreads): { worker: Worker; fresh: boolean } {
  if (idle) {
    const { worker, timer, onExit } = idle;
    idle = null;
    clearTimeout(timer);
    worker.off('exit', onExit);
    worker.ref();
    return { worker, fresh: false };
  }
  return { worker: newWorker(threads), fresh: true };
}

/** Keeps a worker that finished cleanly for the next file (one at most, unreferenced, for IDLE_MS). */
function release(worker: Worker): void {
  if (idle) {
    void worker.terminate();
    return;
  }
  worker.unref();
  const timer = setTimeout(() => {
    if (idle?.worker !== worker) return;
    idle = null;
    void worker.terminate();
  }, IDLE_MS);
  (timer as { unref?: () => void }).unref?.();
  // A worker that dies while idle is not handed the next file.
  const onExit = () => {
    if (idle?.worker !== worker) return;
    clearTimeout(idle.timer);
    idle = null;
  };
  worker.once('exit', onExit);
  idle = { worker, timer, onExit };
}

type Answer = Hdf5Snapshot | { error: string };

function inWorker(threads: WorkerThreads, file: string, bytes: Uint8Array, valuesUnder: readonly string[]): Promise<Answer | 'unavailable'> {
  const { worker, fresh } = takeWorker(threads);
  const id = ++requests;
  const budget = hdf5TimeBudget(bytes.length);
  return new Promise((resolve, reject) => {
    let answered = false;
    let started = !fresh;
    const finish = () => {
      answered = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: ({ id: number } & Answer) | { ready: true }) => {
      if ('ready' in message) {
        started = true;
        return;
      }
      if (message.id !== id) return;
      finish();
      const { id: _, ...answer } = message;
      // A worker whose HDF5 threw may hold a damaged heap: it is not kept.
      if ('error' in answer) void worker.terminate();
      else release(worker);
      resolve(answer);
    };
    const onError = (error: Error & { code?: string }) => {
      finish();
      void worker.terminate();
      // A worker that failed before it ran (its file missing from a bundle, an option it refuses):
      // the file was never looked at, and is parsed inline instead.
      if (!started) return resolve('unavailable');
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        return reject(new LstmError('ERR_LSTM_RESOURCES', `${file}: parsing its HDF5 ran out of memory (${error.message})`, { cause: error }));
      }
      reject(new LstmError('ERR_LSTM_MODEL', `${file}: could not be read as HDF5 (${error.message})`, { cause: error }));
    };
    const onExit = (code: number) => {
      if (answered) return;
      finish();
      reject(new LstmError('ERR_LSTM_MODEL', `${file}: could not be read as HDF5 (the worker parsing it stopped with exit code ${code})`));
    };
    const timer = setTimeout(() => {
      finish();
      void worker.terminate();
      reject(new LstmError('ERR_LSTM_MODEL', `${file}: HDF5 parsing did not finish within ${budget / 1000} s (a damaged file can make the HDF5 library loop for ever); the worker parsing it was stopped`));
    }, budget);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    const copy = bytes.slice(); // the caller keeps its bytes; the copy moves to the worker
    worker.postMessage({ id, bytes: copy, valuesUnder }, [copy.buffer]);
  });
}

/**
 * The HDF5 file in `bytes` as plain data (see hdf5-snapshot.js): values are read for the datasets
 * under `valuesUnder` only. A file the HDF5 library cannot open is ERR_LSTM_MODEL.
 */
export async function readHdf5(file: string, bytes: Uint8Array, valuesUnder: readonly string[]): Promise<Hdf5Node> {
  let answer: Answer | 'unavailable' = 'unavailable';
  const threads = workersUnavailable ? undefined : threadsModule();
  if (threads?.Worker) {
    try {
      answer = await inWorker(threads, file, bytes, valuesUnder);
    } catch (error) {
      if (error instanceof LstmError) throw error;
      answer = 'unavailable'; // the Worker constructor itself failed
    }
    if (answer === 'unavailable') workersUnavailable = true;
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
