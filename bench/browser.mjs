// The WebAssembly builds where most of their users run them: headless Chromium (Debian's), one
// thread. On S2-S5 (shared/bench/CONFIGS.md: one LSTM call per sequence; S5 a batch of 64), the
// relaxed-SIMD build, the SIMD128 build and onnxruntime-web (wasm, numThreads 1) run the same
// weights in one page, after agreeing within 1e-4 on each configuration's output; then rounds in
// which each runs one call in turn. Prints the median per call and the ratios.
//
//   npm run build:ts && node bench/browser.mjs [rounds]     (after `npm install` in bench/ and test/browser/)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLstmOnnx } from './onnx-model.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..');
const rounds = Number(process.argv[2] ?? 21);
const CONFIGS = { S2: [1, 100, 32, 64], S3: [1, 100, 256, 256], S4: [1, 50, 512, 1024], S5: [64, 50, 128, 256] }; // B, T, I, U
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const { chromium } = createRequire(path.join(ROOT, 'test', 'browser', 'package.json'))('playwright-core');

// Weights uniform in [-0.1, 0.1] and inputs in [-1, 1] from a fixed seed, as CONFIGS.md says.
let seed = 1;
const uniform = (n, lo, hi) => Float32Array.from({ length: n }, () => lo + (hi - lo) * ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31));
const files = new Map(); // path -> bytes or text the page fetches
const cases = Object.entries(CONFIGS).map(([id, [B, T, I, U]]) => {
  const weights = { kernel: uniform(I * 4 * U, -0.1, 0.1), recurrentKernel: uniform(U * 4 * U, -0.1, 0.1), bias: uniform(4 * U, -0.1, 0.1) };
  const x = uniform(B * T * I, -1, 1); // [B, T, I]
  files.set(`/${id}.onnx`, Buffer.from(buildLstmOnnx(weights, { I, U, B, T })));
  for (const [name, data] of Object.entries({ ...weights, x })) files.set(`/${id}.${name}.bin`, Buffer.from(data.buffer));
  return { id, B, T, I, U };
});

// The page: lstm-runtime's browser entry and onnxruntime-web, bundled by esbuild.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-browser-bench-'));
fs.writeFileSync(
  path.join(tmp, 'page.mjs'),
  `import { Lstm, configureWasm } from ${JSON.stringify(path.join(ROOT, 'dist', 'browser.js'))};
import * as ort from ${JSON.stringify(path.join(HERE, 'node_modules', 'onnxruntime-web', 'dist', 'ort.wasm.min.mjs'))};
configureWasm({ relaxed: '/lstm-relaxed.wasm', simd: '/lstm-simd.wasm', scalar: '/lstm.wasm' });
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = '/ort/';
const floats = async (url) => new Float32Array(await (await fetch(url)).arrayBuffer());
globalThis.bench = async ({ id, B, T, I, U }, rounds) => {
  const [kernel, recurrentKernel, bias, x] = await Promise.all(['kernel', 'recurrentKernel', 'bias', 'x'].map((n) => floats('/' + id + '.' + n + '.bin')));
  const weights = { kernel: { data: kernel, shape: [I, 4 * U] }, recurrentKernel: { data: recurrentKernel, shape: [U, 4 * U] }, bias: { data: bias, shape: [4 * U] } };
  const input = { data: x, shape: [B, T, I] };
  const xTBI = new Float32Array(B * T * I);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) xTBI.set(x.subarray((b * T + t) * I, (b * T + t + 1) * I), (t * B + b) * I);
  const session = await ort.InferenceSession.create(new Uint8Array(await (await fetch('/' + id + '.onnx')).arrayBuffer()), { executionProviders: ['wasm'] });
  const runners = [];
  for (const backend of ['wasm-relaxed', 'wasm-simd']) {
    const layer = await Lstm.create({ weights, backend });
    runners.push({ name: layer.backend, run: async () => layer.forward(input).output.data });
  }
  runners.push({ name: 'onnxruntime-web ' + ort.env.versions.web + ' (wasm, 1 thread)', run: async () => {
    const r = await session.run({ X: new ort.Tensor('float32', xTBI, [T, B, I]) });
    return r.Y_h.data;
  } });
  // Agreement first: the last h of every row.
  const outs = await Promise.all(runners.map((r) => r.run()));
  let worst = 0;
  for (const out of outs.slice(1)) for (let k = 0; k < out.length; k++) worst = Math.max(worst, Math.abs(out[k] - outs[0][k]));
  if (!(worst <= 1e-4)) throw new Error(id + ': the runtimes differ by ' + worst);
  const times = runners.map(() => []);
  const warm = performance.now();
  let calls = 0;
  while (performance.now() - warm < 1000) for (const r of runners) await r.run(), calls++;
  // A page's clock ticks in 0.1 ms steps: each sample times enough calls to last some 20 ms.
  const repeat = Math.max(1, Math.ceil((20 * calls) / (performance.now() - warm)));
  for (let k = 0; k < rounds; k++) {
    for (const [j, r] of runners.entries()) {
      const t0 = performance.now();
      for (let n = 0; n < repeat; n++) await r.run();
      times[j].push((performance.now() - t0) / repeat);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  return { names: runners.map((r) => r.name), medians: times.map(median), worst, userAgent: navigator.userAgent };
};
`,
);
execFileSync(path.join(ROOT, 'node_modules', '.bin', 'esbuild'), [path.join(tmp, 'page.mjs'), '--bundle', '--format=esm', '--platform=browser', `--outfile=${path.join(tmp, 'page.js')}`, '--external:h5wasm', '--log-level=error']);
files.set('/page.js', fs.readFileSync(path.join(tmp, 'page.js')));
files.set('/', '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
for (const f of ['lstm-relaxed.wasm', 'lstm-simd.wasm', 'lstm.wasm']) files.set(`/${f}`, fs.readFileSync(path.join(ROOT, 'wasm', 'dist', f)));
const ortDist = path.join(HERE, 'node_modules', 'onnxruntime-web', 'dist');
for (const f of fs.readdirSync(ortDist).filter((f) => /^ort-wasm-simd-threaded\.(mjs|wasm)$/.test(f))) files.set(`/ort/${f}`, fs.readFileSync(path.join(ortDist, f)));

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream' };
const server = createServer((req, res) => {
  const body = files.get(req.url.split('?')[0]);
  if (body === undefined) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[path.extname(req.url)] ?? 'text/html' }).end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => typeof globalThis.bench === 'function', null, { timeout: 30_000 });
  console.log(`S2-S5 in headless Chromium, one thread; median of ${rounds} interleaved calls after 1 s of warm-up calls each\n`);
  console.log('| config | B T I U | lstm-runtime wasm-relaxed | lstm-runtime wasm-simd | onnxruntime-web | relaxed vs simd | relaxed vs onnxruntime-web | simd vs onnxruntime-web |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  let agent = '';
  for (const c of cases) {
    const r = await page.evaluate(([cfg, n]) => globalThis.bench(cfg, n), [c, rounds]);
    agent = r.userAgent;
    const [relaxed, simd, ortWeb] = r.medians;
    const ms = (v) => `${v.toFixed(3)} ms`;
    console.log(`| ${c.id} | ${c.B} ${c.T} ${c.I} ${c.U} | ${ms(relaxed)} | ${ms(simd)} | ${ms(ortWeb)} | ${(simd / relaxed).toFixed(2)}x | ${(ortWeb / relaxed).toFixed(2)}x | ${(ortWeb / simd).toFixed(2)}x |`);
  }
  console.log(`\n${agent.match(/Chrome\/[\d.]+/)?.[0] ?? agent}; ${os.cpus()[0].model}`);
} finally {
  await browser.close();
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
