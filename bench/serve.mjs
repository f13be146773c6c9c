// Serving many: a stream pool against stepping each stream on its own, and the request batcher
// against one forwardAsync per request, on the native backend with one thread per call.
//
//   node bench/serve.mjs [--rounds N] [--backend native]      (after `npm run build` at the root)
//
// - pool:    256 concurrent S1-size streams (LSTM I40 U128): one round steps every stream once, as
//            256 layer.stream(1).step() calls in turn, or as 256 session.step() calls that run as one
//            batched step. Reports aggregate steps/s and the p50/p99 time of a round (a tick).
// - batcher: 64 concurrent S3-size requests (LSTM T100 I256 U256, full sequences, batch 1 each): one
//            round is 64 concurrent forwardAsync calls, or 64 batcher.forward calls. Reports
//            requests/s and p50/p99 round latency. forwardAsync runs on libuv's pool
//            (UV_THREADPOOL_SIZE, default 4), so the per-request side may use several cores.
// - each also times the kernel alone on the stacked rows (one stream(256).step(), one forwardAsync
//   of [64, 100, 256]): the most batching could give at these sizes, the library's bookkeeping aside.
//
// The two sides alternate in blocks (interleaved), so that drift on a shared machine hits both.
// It compares the library with itself, so it imports the repository's dist/ (no peers needed).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' }, backend: { type: 'string', default: 'native' }, blocks: { type: 'string', default: '5' } } });
const { Lstm, createBatcher, createStreamPool } = await import(new URL('../dist/index.js', import.meta.url).href);
const LOAD_AT_START = loadavg().map((l) => +l.toFixed(2));
const ROUNDS = Number(values.rounds);
const BLOCKS = Number(values.blocks);
const backend = values.backend;

/** Deterministic uniform numbers in [lo, hi) (mulberry32), as in the test helpers. */
function uniform(seed) {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  };
}
const random = (n, seed, lo, hi) => {
  const u = uniform(seed);
  return Float32Array.from({ length: n }, () => u(lo, hi));
};
const lstm = (I, U, options = {}) =>
  Lstm.create({ weights: { kernel: { data: random(I * 4 * U, 1, -0.1, 0.1), shape: [I, 4 * U] }, recurrentKernel: { data: random(U * 4 * U, 2, -0.1, 0.1), shape: [U, 4 * U] }, bias: random(4 * U, 3, -0.1, 0.1) }, backend, threads: 1, ...options });

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
/** Runs `round` `count` times, returning each round's milliseconds. */
async function time(round, count) {
  const ms = [];
  for (let k = 0; k < count; k++) {
    const start = performance.now();
    await round(k);
    ms.push(performance.now() - start);
  }
  return ms;
}
/** Interleaved blocks of `rounds` rounds of each side after a warm-up; per side the round times of every block. */
async function interleaved(sides, rounds) {
  for (const round of Object.values(sides)) await time(round, Math.max(2, Math.round(rounds / 10)));
  const ms = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (let b = 0; b < BLOCKS; b++) for (const [name, round] of Object.entries(sides)) ms[name].push(...(await time(round, rounds)));
  return ms;
}
function summary(ms, perRound, unit) {
  const sorted = [...ms].sort((a, b) => a - b);
  const total = ms.reduce((a, b) => a + b, 0);
  return { [`${unit}/s`]: Math.round((perRound * ms.length) / (total / 1000)), p50_ms: +percentile(sorted, 0.5).toFixed(3), p99_ms: +percentile(sorted, 0.99).toFixed(3), rounds: ms.length };
}

// ---- pool: 256 S1 streams -------------------------------------------------------------------
const STREAMS = 256;
const S1 = await lstm(40, 128);
const xs = Array.from({ length: STREAMS }, (_, k) => ({ data: random(40, 100 + k, -1, 1), shape: [1, 40] }));
const own = Array.from({ length: STREAMS }, () => S1.stream(1));
const pool = createStreamPool(S1, { capacity: STREAMS });
const sessions = Array.from({ length: STREAMS }, () => pool.open());
// Both sides step the same inputs from the same (zero) state: their outputs must agree.
const check = await Promise.all(sessions.map((s, k) => s.step(xs[k])));
let worst = 0;
own.forEach((s, k) => s.step(xs[k]).data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - check[k].data[i])))));
if (!(worst <= 1e-5)) throw new Error(`the pool's outputs differ from the streams' by ${worst}`);
// The kernel alone at batch 256: the most a pool could give, its own bookkeeping aside.
const batched = S1.stream(STREAMS);
const stacked = { data: new Float32Array(STREAMS * 40), shape: [STREAMS, 40] };
xs.forEach((x, k) => stacked.data.set(x.data, k * 40));
const poolMs = await interleaved({
  'stream().step() one by one': () => {
    for (let k = 0; k < STREAMS; k++) own[k].step(xs[k]);
  },
  'stream pool': () => Promise.all(sessions.map((s, k) => s.step(xs[k]))),
  'kernel alone: stream(256).step()': () => batched.step(stacked),
}, ROUNDS);
await pool.close();

// ---- batcher: 64 S3 requests ------------------------------------------------------------------
const REQUESTS = 64;
const S3 = await lstm(256, 256, { returnSequences: true });
const requests = Array.from({ length: REQUESTS }, (_, k) => ({ data: random(100 * 256, 500 + k, -1, 1), shape: [1, 100, 256] }));
const batcher = createBatcher(S3, { maxBatch: REQUESTS });
const a = await Promise.all(requests.map((x) => batcher.forward(x)));
const b = await Promise.all(requests.map((x) => S3.forwardAsync(x)));
const diff = a.reduce((w, r, k) => r.output.data.reduce((v, x, i) => Math.max(v, Math.abs(x - b[k].output.data[i])), w), 0);
if (!(diff <= 1e-5)) throw new Error(`the batcher's outputs differ from forwardAsync's by ${diff}`);
// An S3 round is about 25,000 times an S1 step's work: a twentieth of the rounds.
// The kernel alone on the 64 requests stacked: the most a batcher could give.
const all = { data: new Float32Array(REQUESTS * 100 * 256), shape: [REQUESTS, 100, 256] };
requests.forEach((x, k) => all.data.set(x.data, k * 100 * 256));
const batchMs = await interleaved({
  'one forwardAsync per request': () => Promise.all(requests.map((x) => S3.forwardAsync(x))),
  batcher: () => Promise.all(requests.map((x) => batcher.forward(x))),
  'kernel alone: one forwardAsync of [64, 100, 256]': () => S3.forwardAsync(all),
}, Math.max(2, Math.round(ROUNDS / 20)));
await batcher.close();

const report = {
  date: new Date().toISOString(),
  loadAverageAtStart: LOAD_AT_START,
  loadAverageAtEnd: loadavg().map((l) => +l.toFixed(2)),
  backend: S1.backend,
  uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
  pool: Object.fromEntries(Object.entries(poolMs).map(([k, ms]) => [k, summary(ms, STREAMS, 'steps')])),
  batcher: Object.fromEntries(Object.entries(batchMs).map(([k, ms]) => [k, summary(ms, REQUESTS, 'requests')])),
};
const ratio = (side, a, b, unit) => report[side][a][`${unit}/s`] / report[side][b][`${unit}/s`];
report.poolSpeedup = +ratio('pool', 'stream pool', 'stream().step() one by one', 'steps').toFixed(2);
report.batcherSpeedup = +ratio('batcher', 'batcher', 'one forwardAsync per request', 'requests').toFixed(2);
report.poolCeiling = +ratio('pool', 'kernel alone: stream(256).step()', 'stream().step() one by one', 'steps').toFixed(2);
report.batcherCeiling = +ratio('batcher', 'kernel alone: one forwardAsync of [64, 100, 256]', 'one forwardAsync per request', 'requests').toFixed(2);
console.log(JSON.stringify(report, null, 2));
