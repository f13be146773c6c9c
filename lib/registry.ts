import type { Backend, BackendName } from './backend.js';
import { describe, LstmError } from './errors.js';

/**
 * Backends register themselves with a priority; nothing loads until a layer asks. Loading is
 * shared by concurrent callers and a failure is remembered with its reason, so 'auto' can say why
 * each faster backend was skipped.
 */
interface Registration {
  name: BackendName;
  priority: number;
  load: () => Backend | Promise<Backend>;
}

export interface BackendStatus {
  name: BackendName;
  priority: number;
  available: boolean;
  /** What 'auto' would run within it, e.g. 'native/avx2'. */
  implementation?: string;
  implementations?: readonly string[];
  /** Where its code came from: 'prebuilt' (shipped in the package) or 'compiled' for the native addon. */
  origin?: string;
  /** The file it loaded from. */
  path?: string;
  /** Why it cannot load. */
  reason?: string;
  /** What would make it load on this machine. */
  fix?: string;
}

const BACKEND_NAMES: readonly BackendName[] = ['native', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js'];
const registrations = new Map<BackendName, Registration>();
const loads = new Map<BackendName, Promise<Backend>>();

export function registerBackend(name: BackendName, priority: number, load: Registration['load']): void {
  registrations.set(name, { name, priority, load });
  loads.delete(name);
}

const byPriority = () => [...registrations.values()].sort((a, b) => b.priority - a.priority);
const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e));
const fixOf = (e: unknown) => (e as { fix?: string } | null)?.fix;

let warnedFallback = false;
/**
 * 'auto' passed over a faster backend that could not load: said once per process, never silently
 * (Node: a process warning, which --no-warnings silences; elsewhere the console).
 */
function warnFallback(ran: BackendName, passed: { name: BackendName; error: unknown }[]): void {
  // A backend the runtime cannot run by design (wasm-relaxed where the engine has no relaxed SIMD)
  // is no surprise and nothing to fix: it goes unmentioned.
  const skipped = passed.filter(({ error }) => !(error as { expectedFallback?: boolean } | null)?.expectedFallback);
  if (warnedFallback || skipped.length === 0) return;
  warnedFallback = true;
  const why = skipped.map(({ name, error }) => `${name}: ${reasonOf(error)}${fixOf(error) ? ` (fix: ${fixOf(error)})` : ''}`).join('; ');
  const message = `lstm-runtime: backend 'auto' runs '${ran}', slower than the backends it passed over: ${why}`;
  const process = (globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } }).process;
  if (process?.emitWarning) process.emitWarning(message, { code: 'LSTM_RUNTIME_FALLBACK' });
  else console.warn(message);
}

function load(reg: Registration): Promise<Backend> {
  let p = loads.get(reg.name);
  if (!p) {
    p = Promise.resolve().then(reg.load);
    loads.set(reg.name, p);
  }
  return p;
}

const unknownBackend = (request: unknown) =>
  new LstmError('ERR_LSTM_CONFIG', `backend: expected 'auto', ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')} or e.g. 'native/scalar', got ${describe(request)}`);

/** The environment's default (LSTM_RUNTIME_BACKEND), read without touching Node built-ins. */
export function defaultBackendRequest(): string {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    return env?.LSTM_RUNTIME_BACKEND || 'auto';
  } catch {
    return 'auto'; // Deno without --allow-env throws on reading the environment
  }
}

/**
 * Resolves 'auto', a backend name, or a forced implementation such as 'native/scalar' to a
 * loaded backend. Throws ERR_LSTM_BACKEND with every reason when nothing can run.
 */
export async function resolveBackend(request: unknown): Promise<{ backend: Backend; implementation?: string }> {
  if (typeof request !== 'string') {
    throw unknownBackend(request);
  }
  if (request === 'auto') {
    const skipped: { name: BackendName; error: unknown }[] = [];
    for (const reg of byPriority()) {
      try {
        const backend = await load(reg);
        warnFallback(reg.name, skipped);
        return { backend };
      } catch (error) {
        skipped.push({ name: reg.name, error });
      }
    }
    throw new LstmError('ERR_LSTM_BACKEND', `no backend could load:\n  ${skipped.map(({ name, error }) => `${name}: ${reasonOf(error)}`).join('\n  ')}`);
  }
  const base = request.split('/')[0] as BackendName;
  if (!BACKEND_NAMES.includes(base)) {
    throw unknownBackend(request);
  }
  const reg = registrations.get(base);
  if (!reg) throw new LstmError('ERR_LSTM_BACKEND', `backend '${base}' is not part of this build of lstm-runtime (browser/worker entry: use 'wasm-relaxed', 'wasm-simd', 'wasm' or 'js')`);
  let backend: Backend;
  try {
    backend = await load(reg);
  } catch (e) {
    throw new LstmError('ERR_LSTM_BACKEND', `backend '${base}' cannot load: ${reasonOf(e)}`, { cause: e });
  }
  if (request === base) return { backend };
  if (!backend.implementations.includes(request)) {
    throw new LstmError('ERR_LSTM_BACKEND', `backend '${request}' is not available here: this machine can run ${backend.implementations.map((n) => `'${n}'`).join(', ')}`);
  }
  return { backend, implementation: request };
}

/** Every registered backend, loaded if it can be, with what it runs or why it cannot. */
export async function backends(): Promise<BackendStatus[]> {
  return Promise.all(
    byPriority().map(async (reg): Promise<BackendStatus> => {
      try {
        const b = await load(reg);
        return { name: reg.name, priority: reg.priority, available: true, implementation: b.implementation, implementations: b.implementations, ...(b.origin && { origin: b.origin }), ...(b.path && { path: b.path }) };
      } catch (e) {
        return { name: reg.name, priority: reg.priority, available: false, reason: reasonOf(e), ...(fixOf(e) && { fix: fixOf(e) }) };
      }
    }),
  );
}
