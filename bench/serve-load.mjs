// Load generator (issue 16): an S3-size LSTM (T100 I256 U256, full sequences) served over loopback
// HTTP three ways, each in its own child process so that this generator does not share its thread:
//
// - batcher:       examples/serve.mjs, lstm-runtime with createBatcher (maxBatch 64, maxDelayMs 2)
// - forward-async: examples/serve.mjs --per-request, lstm-runtime with one forwardAsync per request
// - onnxruntime:   bench/serve-load-ort.mjs, onnxruntime-node with one session.run per request
//
// All on one thread per call (lstm-runtime's default threads: 1; onnxruntime's intraOpNumThreads 1).
// CLIENTS concurrent clients (keep-alive connections) send REQUESTS requests to each server, in
// interleaved blocks so that drift on a shared machine hits all three, in each case: a body format
// (raw float32 `bytes` or `json`) and the servers' UV_THREADPOOL_SIZE. forwardAsync and the batcher's
// batched calls run on libuv's pool: at 1 thread each lstm-runtime server computes on one core; at 4
// (the default) one forwardAsync per request may use both cores of a 2-core machine, while the
// batcher runs one batched call at a time. onnxruntime-node 1.30's run is synchronous on the server's
// JS thread (its promise only defers the call), so that server computes one request at a time,
// whatever the pool. Reports requests/s and the p50/p99 latency a client sees, with the ratios, as
// Markdown on stdout and JSON in bench/results/. Before timing, the servers must agree within 1e-4.
//
//   node bench/serve-load.mjs [--clients 64] [--requests 2000] [--blocks 2] [--cases bytes:4,bytes:1,json:4] [--max-seconds 150]
//   (after `npm run build` at the root and `npm install` in bench/)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { buildLstmOnnx } from './onnx-model.mjs';
import { rng, uniform } from './random.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '64' },
    requests: { type: 'string', default: '2000' },
    blocks: { type: 'string', default: '2' },
    cases: { type: 'string', default: 'bytes:4,bytes:1,json:4' },
    'max-seconds': { type: 'string', default: '150' },
    out: { type: 'string', default: path.join(HERE, 'results') },
  },
});
const CLIENTS = Number(values.clients);
const REQUESTS = Number(values.requests);
const BLOCKS = Number(values.blocks);
const CASES = values.cases.split(',').map((c) => {
  const [format, pool] = c.split(':');
  return { name: `${format}, UV_THREADPOOL_SIZE ${pool}`, format, pool };
});
const POOLS = [...new Set(CASES.map((c) => c.pool))];
const LOAD_AT_START = loadavg().map((l) => +l.toFixed(2));
const T = 100, I = 256, U = 256, G = 4 * U;
const TOLERANCE = 1e-4;

// ---- the model: S3's weights as bench/run.mjs makes them (same seed, same order), then distinct inputs
const rand = rng(0x5eed + 3);
const weights = { kernel: uniform(rand, I * G, -0.1, 0.1), recurrentKernel: uniform(rand, U * G, -0.1, 0.1), bias: uniform(rand, G, -0.1, 0.1) };
const inputs = Array.from({ length: 16 }, () => uniform(rand, T * I, -1, 1));
const dir = mkdtempSync(path.join(tmpdir(), 'serve-load-'));
// lstm-runtime batches batch-major models only; onnxruntime's CPU LSTM runs time-major (layout 0) only.
const batchMajor = path.join(dir, 's3-batch-major.onnx');
const timeMajor = path.join(dir, 's3-time-major.onnx');
writeFileSync(batchMajor, buildLstmOnnx(weights, { I, U, B: 1, T, batchFirst: true }));
writeFileSync(timeMajor, buildLstmOnnx(weights, { I, U, B: 1, T }));

const EXAMPLE = path.join(HERE, '../examples/serve.mjs');
const SERVERS = [
  { id: 'batcher', label: 'lstm-runtime, createBatcher (examples/serve.mjs)', args: [EXAMPLE, batchMajor] },
  { id: 'forward-async', label: 'lstm-runtime, one forwardAsync per request (examples/serve.mjs --per-request)', args: [EXAMPLE, batchMajor, '--per-request'] },
  { id: 'onnxruntime', label: 'onnxruntime-node, one session.run per request (bench/serve-load-ort.mjs)', args: [path.join(HERE, 'serve-load-ort.mjs'), timeMajor] },
];

async function freePort() {
  const probe = http.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
/** Starts a server's process with libuv's pool at `pool` threads; resolves with it once it listens. */
async function start(server, pool) {
  const port = await freePort();
  const env = { ...process.env, UV_THREADPOOL_SIZE: pool };
  const child = spawn(process.execPath, [...server.args, String(port)], { cwd: HERE, env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let said = '';
  for await (const chunk of child.stdout) if ((said += chunk).includes('http://localhost:')) break;
  if (!said.includes('http://localhost:')) throw new Error(`${server.id} did not start (exit code ${child.exitCode})`);
  child.stdout.resume();
  return { ...server, port };
}
const children = [];

// ---- the client side ----------------------------------------------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
const nested = (x) => [Array.from({ length: T }, (_, t) => Array.from(x.subarray(t * I, (t + 1) * I)))];
const BODIES = {
  bytes: { headers: { 'content-type': 'application/octet-stream', 'x-shape': `1,${T},${I}` }, bodies: inputs.map((x) => Buffer.from(x.buffer)) },
  json: { headers: { 'content-type': 'application/json' }, bodies: inputs.map((x) => Buffer.from(JSON.stringify({ input: nested(x) }))) },
};
/** POSTs body k in `format`; resolves with the response's bytes. */
function post(port, format, k) {
  const { headers, bodies } = BODIES[format];
  const body = bodies[k % bodies.length];
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: '/forward', method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${response.statusCode}: ${Buffer.concat(chunks)}`))));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}
/** The output a response holds, as a flat Float32Array. */
function decode(format, bytes) {
  if (format === 'bytes') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return Float32Array.from(JSON.parse(bytes).output.flat(2));
}
/** `count` requests from CLIENTS concurrent clients (stopping at `deadline`): each one's latency and the wall time. */
async function drive(server, format, count, deadline) {
  const latencies = [];
  let sent = 0;
  const client = async () => {
    while (sent < count && performance.now() < deadline) {
      const k = sent++;
      const begin = performance.now();
      await post(server.port, format, k);
      latencies.push(performance.now() - begin);
    }
  };
  const begin = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return { latencies, ms: performance.now() - begin };
}

// ---- the run ------------------------------------------------------------------------------------
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const results = {};
try {
  const running = Object.fromEntries(await Promise.all(POOLS.map(async (pool) => [pool, await Promise.all(SERVERS.map((s) => start(s, pool)))])));
  for (const { name, format, pool } of CASES) {
    const servers = running[pool];
    // The same 16 requests, concurrently (so that the batcher batches them), must get the same answers.
    const answers = await Promise.all(servers.map((s) => Promise.all(inputs.map((_, k) => post(s.port, format, k).then((b) => decode(format, b))))));
    const reference = answers[servers.findIndex((s) => s.id === 'onnxruntime')];
    results[name] = {};
    for (const [j, server] of servers.entries()) {
      let worst = 0;
      answers[j].forEach((y, k) => {
        if (y.length !== T * U) throw new Error(`${server.id} (${name}) answered ${y.length} numbers, expected ${T * U}`);
        y.forEach((v, i) => {
          const d = Math.abs(v - reference[k][i]);
          worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
        });
      });
      if (!(worst <= TOLERANCE)) throw new Error(`${server.id} (${name}) differs from onnxruntime by ${worst}`);
      results[name][server.id] = { label: server.label, maxAbsDiffFromOnnxruntime: worst, latencies: [], ms: 0, blocks: [] };
    }
    for (const server of servers) await drive(server, format, 2 * CLIENTS, Infinity); // warm-up
  }
  // Interleaved: every block runs every case on every server, each with a share of the time budget.
  const budgetMs = (Number(values['max-seconds']) * 1000) / (BLOCKS * CASES.length * SERVERS.length);
  for (let b = 0; b < BLOCKS; b++) {
    for (const { name, format, pool } of CASES) {
      for (const server of running[pool]) {
        const { latencies, ms } = await drive(server, format, Math.ceil(REQUESTS / BLOCKS), performance.now() + budgetMs);
        const r = results[name][server.id];
        r.latencies.push(...latencies);
        r.ms += ms;
        r.blocks.push({ requests: latencies.length, perSecond: Math.round(latencies.length / (ms / 1000)) });
        console.error(`block ${b + 1}/${BLOCKS} ${name} ${server.id}: ${latencies.length} requests, ${Math.round(latencies.length / (ms / 1000))}/s`);
      }
    }
  }
} finally {
  agent.destroy();
  for (const child of children) child.kill('SIGINT');
  await Promise.all(children.map((child) => child.exitCode === null && once(child, 'exit')));
  rmSync(dir, { recursive: true, force: true });
}

// ---- the report ---------------------------------------------------------------------------------
for (const { name } of CASES) {
  for (const r of Object.values(results[name])) {
    const sorted = [...r.latencies].sort((a, b) => a - b);
    Object.assign(r, { requests: sorted.length, seconds: +(r.ms / 1000).toFixed(2), perSecond: +(sorted.length / (r.ms / 1000)).toFixed(1), p50_ms: +percentile(sorted, 0.5).toFixed(1), p99_ms: +percentile(sorted, 0.99).toFixed(1) });
    delete r.latencies;
    delete r.ms;
  }
}
const ratio = (format, a, b) => +(results[format][a].perSecond / results[format][b].perSecond).toFixed(2);
const require = createRequire(import.meta.url);
const report = {
  date: new Date().toISOString(),
  model: `LSTM T${T} I${I} U${U}, returnSequences (S3), one sequence a request`,
  clients: CLIENTS,
  requestsPerServer: REQUESTS,
  blocks: BLOCKS,
  cpus: cpus().length,
  loadAverageAtStart: LOAD_AT_START,
  loadAverageAtEnd: loadavg().map((l) => +l.toFixed(2)),
  node: process.version,
  onnxruntimeNode: require('onnxruntime-node/package.json').version,
  results,
  ratios: Object.fromEntries(CASES.map(({ name: f }) => [f, { 'batcher / forward-async': ratio(f, 'batcher', 'forward-async'), 'batcher / onnxruntime': ratio(f, 'batcher', 'onnxruntime'), 'forward-async / onnxruntime': ratio(f, 'forward-async', 'onnxruntime') }])),
};
const md = [
  `${CLIENTS} concurrent clients, ${report.model}, over loopback HTTP; ${report.date.slice(0, 16)}Z, ${report.cpus} cores, load average ${LOAD_AT_START.join(' ')} at start.`,
  '',
  '| body, libuv pool | server | requests/s | p50 ms | p99 ms | requests/s vs onnxruntime-node |',
  '|---|---|---|---|---|---|',
  ...CASES.flatMap(({ name: f }) => SERVERS.map((s) => {
    const r = results[f][s.id];
    return `| ${f} | ${s.label} | ${r.perSecond} | ${r.p50_ms} | ${r.p99_ms} | ${ratio(f, s.id, 'onnxruntime')}x |`;
  })),
  '',
  ...CASES.map(({ name: f }) => `${f}: batcher / one forwardAsync per request = ${report.ratios[f]['batcher / forward-async']}x.`),
].join('\n');
mkdirSync(values.out, { recursive: true });
const stem = path.join(values.out, `serve-load-${report.date.slice(0, 16).replace(':', '-')}Z`);
writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`${stem}.md`, `${md}\n`);
console.log(md);
