// What this machine and this copy of lstm-runtime can run: the package version, the CPU, every
// backend with what it runs (or why it cannot load, and the fix), and the threads available.
// No Node built-in is imported (the browser entry exports this too): under Node the facts come
// from process.getBuiltinModule (Node >= 20.16), elsewhere from navigator where it says them.
import { defaultBackendRequest, backends, type BackendStatus } from '../registry.js';
import { packageRoot } from '../package-root.js';

/** A backend's status with the fields the native backend may add (origin, path, fix). */
export type BackendReport = BackendStatus & { origin?: string; path?: string; fix?: string };

export interface SystemInfo {
  /** lstm-runtime's version (from its package.json), or null where no file system is at hand. */
  version: string | null;
  /** e.g. 'Node v20.20.2 linux x64', or the browser's user agent. */
  runtime: string;
  cpu: {
    /** e.g. 'AMD EPYC 7B13', or null where the runtime does not say. */
    model: string | null;
    /** What the native backend can run here, the one 'auto' picks first (e.g. native/avx2, native/scalar); [] without it. */
    nativeImplementations: string[];
  };
  /** Threads this process may use: os.availableParallelism() or navigator.hardwareConcurrency. */
  threads: number | null;
  /** What backend 'auto' means here: LSTM_RUNTIME_BACKEND, or 'auto'. */
  defaultBackend: string;
  /** Every registered backend, in the order 'auto' tries them. */
  backends: BackendReport[];
}

/** A backend's implementations, the one 'auto' picks (the best here) first. */
export const bestFirst = (implementation: string, implementations: readonly string[] = []): string[] => [implementation, ...implementations.filter((i) => i !== implementation)];

interface NodeLike {
  versions?: { node?: string };
  platform?: string;
  arch?: string;
  getBuiltinModule?: (name: string) => unknown;
}

const nodeProcess = () => (globalThis as { process?: NodeLike }).process;
const builtin = <T>(name: string): T | undefined => nodeProcess()?.getBuiltinModule?.(name) as T | undefined;

/** lstm-runtime's version from its package.json. */
export function packageVersion(): string | null {
  const fs = builtin<{ readFileSync(path: URL, encoding: 'utf8'): string }>('node:fs');
  const root = packageRoot();
  if (!fs || !root) return null;
  try {
    return (JSON.parse(fs.readFileSync(new URL('package.json', root), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** Everything `lstm-runtime info` prints. Loads every backend (see backends()). */
export async function systemInfo(): Promise<SystemInfo> {
  const process = nodeProcess();
  const os = builtin<{ cpus(): { model: string }[]; availableParallelism?(): number }>('node:os');
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number; userAgent?: string } }).navigator;
  const statuses = (await backends()) as BackendReport[];
  const native = statuses.find((b) => b.name === 'native' && b.available);
  return {
    version: packageVersion(),
    runtime: process?.versions?.node ? `Node v${process.versions.node} ${process.platform} ${process.arch}` : (nav?.userAgent ?? 'unknown'),
    cpu: { model: os?.cpus()[0]?.model.trim() ?? null, nativeImplementations: native ? bestFirst(native.implementation!, native.implementations) : [] },
    threads: os ? (os.availableParallelism?.() ?? os.cpus().length) : (nav?.hardwareConcurrency ?? null),
    defaultBackend: defaultBackendRequest(),
    backends: statuses,
  };
}

/** systemInfo() as the text `lstm-runtime info` prints. */
export function formatSystemInfo(info: SystemInfo): string {
  const L = [`lstm-runtime ${info.version ?? '(version unknown)'} on ${info.runtime}`];
  L.push(`CPU: ${info.cpu.model ?? 'unknown'}, ${info.threads ?? 'unknown'} threads available`);
  L.push(`  native implementations: ${info.cpu.nativeImplementations.length ? info.cpu.nativeImplementations.join(', ') : 'none (the native backend did not load)'}`);
  L.push(`backends (default '${info.defaultBackend}'${info.defaultBackend === 'auto' ? ': the first available, in this order' : ', from LSTM_RUNTIME_BACKEND'}):`);
  const width = Math.max(...info.backends.map((b) => b.name.length));
  for (const b of info.backends) {
    if (b.available) {
      const others = (b.implementations ?? []).filter((i) => i !== b.implementation);
      L.push(`  ${b.name.padEnd(width)}  available: runs ${b.implementation}${others.length ? ` (also ${others.join(', ')})` : ''}${b.path ? `; loaded from ${b.path}` : ''}${b.origin ? ` (${b.origin})` : ''}`);
    } else {
      L.push(`  ${b.name.padEnd(width)}  unavailable: ${b.reason}`);
      if (b.fix) L.push(`  ${' '.repeat(width)}  fix: ${b.fix}`);
    }
  }
  return L.join('\n') + '\n';
}
