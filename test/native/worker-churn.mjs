// Creates and terminates worker_threads Workers mid-call, many times, and reports what the process
// looks like before and after: its threads (/proc/self/task) and RSS. Run by test/workers.test.ts
// in a child process (a crash there is a result, not the end of the test run):
//   node test/native/worker-churn.mjs '{"lifetimes":300}'
// Two phases: first the main thread has not loaded the native addon (so Node unloads it with the
// last worker using it), then it has (and keeps it loaded). Each phase starts with warm-up
// lifetimes (libuv's thread pool and V8's threads start with the first ones), then measures.
// Finally the main thread runs layers on every backend and checks them against js. One line of
// JSON on stdout.
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const options = { lifetimes: 300, warmup: 20, concurrency: 2, I: 32, U: 256, T: 60, ...JSON.parse(process.argv[2] ?? '{}') };
const KINDS = (options.kinds ?? [['native', 1], ['native', 2], ['wasm-simd', 1]]).map(([backend, threads]) => ({ backend, threads }));
const WORKER = new URL('./churn-worker.mjs', import.meta.url);

const threads = () => readdirSync('/proc/self/task').length;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let started = 0;
/** One worker: started, terminated while it runs calls (after 0-15 ms), and gone. */
async function lifetime(kind) {
  const worker = new Worker(WORKER, { workerData: { ...kind, I: options.I, U: options.U, T: options.T, once: options.once } });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const failed = new Promise((_, reject) => worker.once('error', reject));
  await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed, exited]);
  started++;
  await sleep(Math.random() * 15);
  await worker.terminate();
  await exited;
}

async function churn(count, offset) {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const k = offset + next++;
      await lifetime(KINDS[k % KINDS.length]);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  await sleep(50); // threads that were exiting are gone
}

async function phase(name, count) {
  await churn(options.warmup, 0);
  const before = { threads: threads(), rssMiB: rssMiB() };
  const t0 = Date.now();
  await churn(count, options.warmup);
  return { name, lifetimes: count, seconds: (Date.now() - t0) / 1000, before, after: { threads: threads(), rssMiB: rssMiB() } };
}

const half = Math.floor(options.lifetimes / 2);
const phases = [await phase('addon not loaded by the main thread', half)];
const lib = await import('../../dist/index.js');
// The main thread loads the addon and starts the helper team, then churns again.
const check = await (async () => {
  const { Lstm } = lib;
  const fill = (n, scale) => Float32Array.from({ length: n }, (_, k) => Math.cos(k * 0.21) * scale);
  const I = 12, U = 40, T = 30;
  const weights = { kernel: { data: fill(I * 4 * U, 0.2), shape: [I, 4 * U] }, recurrentKernel: { data: fill(U * 4 * U, 0.2), shape: [U, 4 * U] }, bias: fill(4 * U, 0.1) };
  const input = { data: fill(T * I, 1), shape: [1, T, I] };
  const reference = (await Lstm.create({ weights, backend: 'js', returnSequences: true })).forward(input).output.data;
  return async () => {
    let worst = 0;
    for (const [backend, t] of [['native', 1], ['native', 2], ['wasm-simd', 1]]) {
      const layer = await Lstm.create({ weights, backend, threads: t, returnSequences: true });
      for (const r of [layer.forward(input), await layer.forwardAsync(input)]) r.output.data.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - reference[k]))));
      layer.dispose();
    }
    return worst;
  };
})();
await check();
phases.push(await phase('addon loaded by the main thread', options.lifetimes - half));
console.log(JSON.stringify({ started, phases, worstDifferenceFromJs: await check() }));
