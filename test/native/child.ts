// Helpers of test/trust-native.test.ts and test/workers.test.ts: scenarios that crashed the
// process run in a child process on the built package (dist/), so a crash is a failed test and
// not the end of the test run. Under npm run test:sanitize the child inherits the sanitizer
// runtime and LSTM_RUNTIME_ADDON, so it runs the ASan/UBSan addon too.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The .ts files of lib/ whose built .js in dist/ is missing or older. */
function staleOutputs(dir = join(ROOT, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return staleOutputs(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) return [];
    const built = join(ROOT, 'dist', relative(join(ROOT, 'lib'), path)).replace(/\.ts$/, '.js');
    return existsSync(built) && statSync(built).mtimeMs >= statSync(path).mtimeMs ? [] : [path];
  });
}

/**
 * Builds dist/ as `npm run build:ts` does (tsc, then the Node entry's bundle) when lib/ changed
 * since; the stale files, if any remain.
 */
export function ensureDist(): string[] {
  if (staleOutputs().length === 0) return [];
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // A type error elsewhere still emits; what matters is that dist/ is current.
  }
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs')], { cwd: ROOT, stdio: 'pipe' });
  return staleOutputs().map((f) => relative(ROOT, f));
}

export interface ChildRun<T> {
  /** The child's JSON report (its last line of stdout), or null when it printed none. */
  report: T | null;
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs `node test/native/<script> ...args` and reads its one line of JSON. */
export function runChild<T>(script: string, args: string[], timeoutMs = 60_000): ChildRun<T> {
  const r = spawnSync(process.execPath, [join(ROOT, 'test/native', script), ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let report: T | null = null;
  try {
    report = JSON.parse(last) as T;
  } catch {
    report = null;
  }
  return { report, status: r.status, signal: r.signal, stderr: r.stderr.slice(-4000) };
}

/** What a child run ended with, for failure messages. */
export const describeRun = (r: ChildRun<unknown>) => `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${r.stderr.trim().split('\n').slice(0, 12).join('\n')}`;
