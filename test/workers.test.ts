// The library in worker_threads: Workers created and terminated in the middle of calls, hundreds
// of times, on the native backend (threads 1 and 2) and wasm-simd, must not crash the process
// (worker.terminate() during a native forwardAsync aborted it in napi_throw), leave threads behind
// (each worker that ran threads: 2 left its helper thread running after Node unloaded the addon
// with the worker) or grow its memory; the layers of the main thread must still be right after.
// The workers run in a child process (test/native/worker-churn.mjs on dist/), so a crash is a
// failed test; npm run test:sanitize runs it with the ASan/UBSan addon.
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRun, ensureDist, runChild } from './native/child.js';
import { implementations } from './helpers.js';

const NATIVE = (await implementations()).some((b) => b.startsWith('native/'));
// A leak of a few hundred KiB per worker lifetime (a V8 isolate, a thread's stack) would exceed
// this over 150 lifetimes; what remains is the allocator keeping freed memory (measured: 1 to 7
// MiB per phase of 150).
// Under AddressSanitizer (npm run test:sanitize) freed memory waits in its quarantine, up to 256
// MiB by default, before it is reused.
const RSS_GROWTH_MIB = 48 + (process.env.LSTM_RUNTIME_SANITIZED ? 256 : 0);

interface Phase {
  name: string;
  lifetimes: number;
  seconds: number;
  before: { threads: number; rssMiB: number };
  after: { threads: number; rssMiB: number };
}
interface Churn {
  started: number;
  phases: Phase[];
  worstDifferenceFromJs: number;
}

describe.skipIf(!NATIVE)('worker_threads: workers terminated mid-call', () => {
  beforeAll(() => {
    expect(ensureDist(), 'dist/ is out of date (npx tsc -p tsconfig.build.json)').toEqual([]);
  }, 120_000);

  const churn = (options: object, what: string) => {
    const r = runChild<Churn>('worker-churn.mjs', [JSON.stringify(options)], 170_000);
    expect(r.status, `${what}: ${describeRun(r)}`).toBe(0);
    const report = r.report!;
    console.log(
      `${what}: ${report.phases.map((p) => `${p.name}: ${p.lifetimes} lifetimes in ${p.seconds} s, threads ${p.before.threads} -> ${p.after.threads}, RSS ${p.before.rssMiB.toFixed(0)} -> ${p.after.rssMiB.toFixed(0)} MiB`).join('; ')}`,
    );
    for (const p of report.phases) {
      expect(p.after.threads, `${p.name}: threads of the process`).toBeLessThanOrEqual(p.before.threads);
      expect(p.after.rssMiB - p.before.rssMiB, `${p.name}: RSS growth (MiB)`).toBeLessThan(RSS_GROWTH_MIB);
    }
    expect(report.worstDifferenceFromJs, 'the main thread\'s layers after the churn, against js').toBeLessThan(1e-5);
    return report;
  };

  it('300 lifetimes (native threads 1 and 2, wasm-simd), each terminated during a call: no crash, no thread or memory growth', () => {
    const report = churn({ lifetimes: 300, warmup: 10, concurrency: 3 }, 'terminated mid-call');
    expect(report.started).toBe(320);
  }, 180_000);

  it('60 lifetimes of threads: 2 terminated between calls: the helper threads go with the last worker', () => {
    // Each worker's call starts the helper team; with the main thread not using the addon, the last
    // worker's teardown must join it (it was left running, one thread per lifetime).
    const report = churn({ lifetimes: 60, warmup: 4, concurrency: 2, once: true, kinds: [['native', 2]] }, 'terminated between calls');
    expect(report.started).toBe(68);
  }, 180_000);
});
