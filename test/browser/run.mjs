// lstm-runtime in headless Chromium, bundled by Vite, webpack 5 and esbuild: each build of the same
// app (app/) is served under `script-src 'self' 'wasm-unsafe-eval'` and run as a page and as a
// module Worker; its LSTM, GRU, ONNX and Keras outputs must match the native backend in Node and
// the fixtures' golden values; 'auto' runs the relaxed-SIMD build (Chromium >= 114), and asked for,
// the SIMD128 one. One line per check, then `browser: N passed, M failed`.
//
//   npm run build:ts && npm --prefix test/browser test     (or, at the root: npm run test:browser)
//   node run.mjs [vite|webpack|esbuild ...]                 (some bundlers only)
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenCases, makeCases, MODEL_KINDS, MODELS } from './app/cases.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const APP = join(HERE, 'app');
const OUT = join(HERE, 'out');
const FIXTURES = join(ROOT, 'test/fixtures');
const CSP = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";
const TOLERANCE = { abs: 1e-5, rel: 1e-5 };
const BUDGET_MS = 240_000; // the whole run
const BUILD_MS = 90_000; // one bundler
const PAGE_MS = 45_000; // one page, its worker included
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const started = performance.now();
let passed = 0;
let failed = 0;
const check = (ok, what, detail = '') => {
  ok ? passed++ : failed++;
  const line = String(detail).replace(/\s+/g, ' ').trim();
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${line ? `: ${line}` : ''}`);
  return ok;
};
const info = (line) => console.log(`     ${line}`);
const finish = () => {
  console.log(`browser: ${passed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(failed || !passed ? 1 : 0);
};
const watchdog = setTimeout(() => {
  check(false, `the whole run`, `not finished within ${BUDGET_MS / 1000} s`);
  finish();
}, BUDGET_MS);

/** `promise`, or a rejection after `ms`. */
function within(ms, what, promise) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}
const reasonOf = (e) => String(e?.message ?? e).split('\n').slice(0, 4).join(' | ').slice(0, 600);

if (!existsSync(join(HERE, 'node_modules/.package-lock.json'))) {
  check(false, 'test/browser dependencies', 'not installed: run `npm --prefix test/browser ci` (after `npm install` at the root)');
  finish();
}

// ---------------------------------------------------------------------------------------------
// The package as users get it: dist/ must be built, and not older than lib/.

const distEntry = join(ROOT, 'dist/browser.js');
if (!existsSync(distEntry)) {
  check(false, 'dist/browser.js', 'missing: run `npx tsc -p tsconfig.build.json` (npm run build:ts) at the root first');
  finish();
}
const newestLib = Math.max(...readdirSync(join(ROOT, 'lib'), { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(ROOT, 'lib', f)).mtimeMs));
if (newestLib > statSync(distEntry).mtimeMs) info('warning: lib/ is newer than dist/ (run npm run build:ts at the root): testing the older dist/');

// ---------------------------------------------------------------------------------------------
// Builds: the same app, with each bundler's own production build.

const BUNDLERS = {
  // Vite follows the package's `new URL('../wasm/dist/*.wasm', import.meta.url)` and emits the
  // files itself. Workers as ES modules: the default 'iife' worker format also works (Vite 8), but
  // inlines every lazily imported reader (h5wasm's 4.7 MB) into the worker script.
  async vite(outDir) {
    const { build } = await import('vite');
    await build({
      configFile: false,
      root: APP,
      base: './',
      logLevel: 'error',
      build: { outDir, emptyOutDir: true, reportCompressedSize: false, chunkSizeWarningLimit: 1e9 },
      worker: { format: 'es' },
    });
    return join(outDir, 'index.html');
  },
  // webpack 5 follows the same `new URL(..., import.meta.url)` (asset/resource). Its default
  // output turns `new Worker(url, { type: 'module' })` into a classic worker (type: undefined;
  // chunks by importScripts), which works too; ES module output keeps it a module worker.
  async webpack(outDir) {
    const { default: webpack } = await import('webpack');
    rmSync(outDir, { recursive: true, force: true });
    const compiler = webpack({
      mode: 'production',
      context: APP,
      entry: { main: './main.js' },
      output: { path: outDir, filename: '[name].js', chunkFilename: '[name].[contenthash:8].js', module: true },
      experiments: { outputModule: true },
      devtool: false,
      performance: { hints: false },
      infrastructureLogging: { level: 'error' },
    });
    const stats = await new Promise((res, rej) => compiler.run((err, s) => (err ? rej(err) : compiler.close(() => res(s)))));
    if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true, errorDetails: false }));
    writeFileSync(join(outDir, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>lstm-runtime browser test</title>\n<link rel="icon" href="data:,">\n<script type="module" src="./main.js"></script>\n');
    return join(outDir, 'index.html');
  },
  // esbuild leaves `new URL(..., import.meta.url)` alone: the .wasm files are imported with the
  // file loader and given to configureWasm (app/esbuild-wasm.js), and the workers are entry
  // points, written next to the page's: the app's where `new URL('./worker.js', import.meta.url)`
  // finds it, and the package's HDF5 worker (lstm-runtime/hdf5-worker) where the package's
  // `new URL('./hdf5-snapshot.js', import.meta.url)` does.
  // Splitting (ESM only) keeps the lazily imported model readers out of the entry: without it
  // h5wasm's 5.4 MB lands in both main.js and worker.js.
  async esbuild(outDir) {
    const esbuild = await import('esbuild');
    rmSync(outDir, { recursive: true, force: true });
    const result = await esbuild.build({
      entryPoints: { main: join(APP, 'esbuild-main.js'), worker: join(APP, 'esbuild-worker.js'), 'hdf5-snapshot': 'lstm-runtime/hdf5-worker' },
      bundle: true,
      format: 'esm',
      splitting: true,
      platform: 'browser',
      minify: true,
      outdir: outDir,
      loader: { '.wasm': 'file' },
      logLevel: 'silent',
    });
    if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join('; '));
    writeFileSync(join(outDir, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>lstm-runtime browser test</title>\n<link rel="icon" href="data:,">\n<script type="module" src="./main.js"></script>\n');
    return join(outDir, 'index.html');
  },
};

const kB = (n) => `${(n / 1024).toFixed(1)} kB`;

/** Bytes of each kind of file in a build, and of the scripts index.html loads. */
function sizes(outDir, html) {
  const files = readdirSync(outDir, { recursive: true }).map((f) => join(outDir, f)).filter((f) => statSync(f).isFile());
  const sum = (list) => list.reduce((n, f) => n + statSync(f).size, 0);
  const js = files.filter((f) => f.endsWith('.js'));
  const entry = [...readFileSync(html, 'utf8').matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => join(dirname(html), m[1]));
  const wasm = files.filter((f) => f.endsWith('.wasm'));
  const big = js.filter((f) => statSync(f).size > 1e6 && readFileSync(f, 'latin1').includes('hdf5'));
  return `JS ${kB(sum(js))} in ${js.length} files (index.html loads ${kB(sum(entry))}${big.length ? `; ${kB(sum(big))} is h5wasm, fetched only to read Keras files, in ${big.map((f) => relative(outDir, f)).join(', ')}` : ''}), .wasm ${wasm.map((f) => `${relative(outDir, f)} ${kB(statSync(f).size)}`).join(', ') || 'none'}`;
}

// ---------------------------------------------------------------------------------------------
// A static server with the CSP, on a free port.

const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

function serve(outDir, { blockWasm = false } = {}) {
  const missing = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [base, rest] = path.startsWith('/fixtures/') ? [FIXTURES, path.slice('/fixtures/'.length)] : [outDir, path.slice(1) || 'index.html'];
    const file = resolve(base, rest);
    const headers = { 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store' };
    if ((file === base || file.startsWith(base + sep)) && existsSync(file) && statSync(file).isFile() && !(blockWasm && file.endsWith('.wasm'))) {
      res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
    } else {
      missing.push(path);
      res.writeHead(404, headers);
      res.end('not found');
    }
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ server, port: server.address().port, missing })));
}

// ---------------------------------------------------------------------------------------------
// The reference: the same computations in Node, on the native backend.

async function reference() {
  const lib = await import('lstm-runtime');
  const cases = makeCases();
  const flat = (t) => Array.from(t.data);
  const lstm = await lib.Lstm.create({ weights: cases.lstm.weights, returnSequences: true, backend: 'native' });
  const gru = await lib.Gru.create({ weights: cases.gru.weights, returnSequences: true, backend: 'native' });
  const l = lstm.forward(cases.lstm.input);
  const g = gru.forward(cases.gru.input);
  const ref = { native: lstm.backend, lstm: { output: flat(l.output), h: flat(l.h), c: flat(l.c) }, gru: { output: flat(g.output), h: flat(g.h) } };
  for (const kind of MODEL_KINDS) {
    const { file, golden } = MODELS[kind];
    const goldens = goldenCases(kind, JSON.parse(readFileSync(join(FIXTURES, golden), 'utf8')));
    try {
      const model = await lib.loadModel(new Uint8Array(readFileSync(join(FIXTURES, file))), { backend: 'native' });
      ref[kind] = { outputs: goldens.map(({ input }) => flat(model.forward(input).output)), golden: goldens.map((c) => c.output.flat(Infinity)) };
    } catch (e) {
      ref[kind] = { error: `${e.code ?? ''} ${reasonOf(e)}`, golden: goldens.map((c) => c.output.flat(Infinity)) };
    }
  }
  return ref;
}

/** The largest |a - b| beyond the tolerance, or null when a matches b. */
function mismatch(got, want) {
  if (!Array.isArray(got) || got.length !== want.length) return `${got?.length ?? 'no'} values, expected ${want.length}`;
  let worst = 0;
  let where = -1;
  for (let k = 0; k < want.length; k++) {
    const excess = Math.abs(got[k] - want[k]) - (TOLERANCE.abs + TOLERANCE.rel * Math.abs(want[k]));
    if (!(excess <= 0) && (where < 0 || !(excess <= worst))) [worst, where] = [excess, k];
  }
  return where < 0 ? null : `[${where}] ${got[where]} vs ${want[where]}`;
}
const maxDiff = (got, want) => want.reduce((m, w, k) => Math.max(m, Math.abs(got[k] - w)), 0).toExponential(1);

// ---------------------------------------------------------------------------------------------
// Checking what a page (or its worker) reports.

// What 'auto' must run in the page and the worker: the relaxed-SIMD build where Chromium runs
// relaxed SIMD (from 114, by its version: set once Chromium has started).
let AUTO_BACKEND = 'wasm-simd';
const what = (kind) => (kind === 'simd' ? 'LSTM on wasm-simd' : kind.toUpperCase());

function checkSuite(label, r, ref) {
  if (!r || r.error) {
    check(false, `${label}: ran`, r?.error ?? 'no result');
    return null;
  }
  check(r.evalBlocked === true, `${label}: CSP enforced (new Function throws)`, r.evalBlocked ? '' : 'eval is allowed: the CSP header did not apply');
  const auto = Array.isArray(r.backends) && r.backends.find((b) => b.name === AUTO_BACKEND);
  const used = [r.firstForward?.backend, r.lstm?.backend, r.gru?.backend, ...MODEL_KINDS.flatMap((kind) => r[kind]?.backends ?? [])].filter(Boolean);
  check(
    auto?.available && used.length > 0 && used.every((b) => b === AUTO_BACKEND),
    `${label}: auto backend is ${AUTO_BACKEND}`,
    r.backends?.error ??
      (auto?.available
        ? `backends() ${r.backends.map((b) => `${b.name}${b.available ? '' : ' (unavailable)'}`).join(', ')}; layers on ${[...new Set(used)].join(', ') || 'nothing'}`
        : `${AUTO_BACKEND} unavailable: ${auto?.reason ?? 'not listed'}`),
  );
  check(r.simd?.backend === 'wasm-simd', `${label}: backend 'wasm-simd' runs the SIMD128 build`, r.simd?.error ?? `it runs ${r.simd?.backend}`);
  for (const kind of ['lstm', 'gru', 'simd']) {
    const got = r[kind];
    if (got?.error) {
      check(false, `${label}: ${what(kind)} = native`, got.error);
      continue;
    }
    const want = ref[kind === 'simd' ? 'lstm' : kind];
    const parts = kind === 'gru' ? ['output', 'h'] : ['output', 'h', 'c'];
    const bad = parts.map((p) => [p, mismatch(got?.[p]?.data, want[p])]).filter(([, m]) => m);
    check(bad.length === 0, `${label}: ${what(kind)} = native`, bad.length ? bad.map(([p, m]) => `${p} ${m}`).join('; ') : `max |diff| ${maxDiff(got.output.data, want.output)}`);
  }
  for (const kind of MODEL_KINDS) {
    const got = r[kind];
    const name = MODELS[kind].file.split('/').pop();
    if (got?.error) {
      check(false, `${label}: ${name} = native, golden`, got.error);
      continue;
    }
    const problems = [];
    got.outputs.forEach((o, k) => {
      const vsGolden = mismatch(o.data, ref[kind].golden[k]);
      if (vsGolden) problems.push(`case ${k} vs golden ${vsGolden}`);
      const vsNative = ref[kind].outputs ? mismatch(o.data, ref[kind].outputs[k]) : `native reference failed: ${ref[kind].error}`;
      if (vsNative) problems.push(`case ${k} vs native ${vsNative}`);
    });
    check(problems.length === 0, `${label}: ${name} = native, golden`, problems.length ? problems.slice(0, 2).join('; ') : `${got.outputs.length} case(s), max |diff| to golden ${maxDiff(got.outputs.flatMap((o) => o.data), ref[kind].golden.flat())}`);
  }
  return r;
}

/** Opens the page in a fresh context (a cold cache and renderer), until it says it is done. */
async function openPage(browser, url, onError, timeout = PAGE_MS, onWarning = () => {}) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => onError(`page error: ${reasonOf(e)}`));
    page.on('console', (m) => m.type() === 'error' && onError(`console: ${m.text().slice(0, 300)}`));
    page.on('console', (m) => m.type() === 'warning' && onWarning(m.text()));
    await page.goto(url, { timeout: 15_000 });
    await page.waitForFunction(() => document.title === 'done', null, { timeout, polling: 50 });
    return await page.evaluate(() => window.__result);
  } finally {
    await context.close().catch(() => {});
  }
}

/** The same build served without its .wasm files: 'auto' runs js, never silently. */
async function checkFallback(browser, name, port) {
  const { server, port: blockedPort } = await serve(join(OUT, name), { blockWasm: true });
  const warnings = [];
  try {
    const r = await openPage(browser, `http://127.0.0.1:${blockedPort}/index.html?fallback`, () => {}, 15_000, (w) => warnings.push(w));
    const ours = warnings.filter((w) => w.includes('lstm-runtime'));
    check(
      r?.backends?.every((b) => b === 'js') && ours.length === 1 && /backend 'auto' runs 'js'.*wasm-simd: .*HTTP 404/.test(ours[0]) && /HTTP 404/.test(r.simdReason ?? ''),
      `${name} page without its .wasm files: auto runs js with one console warning naming the cause`,
      `backends ${r?.backends?.join(', ')}; ${ours.length} warning(s): ${ours[0]?.slice(0, 160) ?? 'none'}; backends() says ${r?.simdReason?.slice(0, 100)}`,
    );
  } catch (e) {
    check(false, `${name} page without its .wasm files`, reasonOf(e));
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** An .h5 file on which HDF5 loops for ever: ERR_LSTM_MODEL after the 10 s budget, the page responsive throughout. */
async function checkH5Hang(browser, name, port) {
  try {
    const r = await openPage(browser, `http://127.0.0.1:${port}/index.html?h5hang`, () => {}, 30_000);
    const ms = r?.ms ?? NaN;
    check(
      r?.code === 'ERR_LSTM_MODEL' && /did not finish within 10(\.\d+)? s/.test(r.message) && ms < 15_000 && r.ticks >= (0.5 * ms) / 100,
      `${name} page: an .h5 file on which HDF5 loops for ever fails within its budget, off the main thread`,
      r?.error ?? `${r?.code ?? (r?.loaded ? 'loaded' : 'no error')} after ${(ms / 1000).toFixed(1)} s, ${r?.ticks} ticks of a 100 ms timer meanwhile: ${r?.message?.slice(0, 120) ?? ''}`,
    );
  } catch (e) {
    check(false, `${name} page: an .h5 file on which HDF5 loops for ever`, reasonOf(e));
  }
}

// Cold pages timed per bundler: the median of several, as other work on the machine makes single loads vary 2-3x.
const TIMING_RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runPage(browser, name, port, ref) {
  const errors = [];
  const url = `http://127.0.0.1:${port}/index.html`;
  let result;
  try {
    result = await openPage(browser, url, (e) => errors.push(e));
  } catch (e) {
    check(false, `${name}: page`, `${reasonOf(e)}${errors.length ? ` | ${errors.slice(0, 3).join(' | ')}` : ''}`);
    return;
  }
  if (errors.length) info(`${name} browser console: ${errors.slice(0, 3).join(' | ')}`);
  if (result.error) return check(false, `${name}: app`, result.error);
  checkSuite(`${name} page`, result.page, ref);
  const inWorker = checkSuite(`${name} worker`, result.worker, ref);

  // The first forward, timed on cold pages (the suite's own first page compiled the module for the
  // worker: the worker's time is with the module already compiled in the process).
  const cold = [];
  for (let k = 0; k < TIMING_RUNS; k++) {
    try {
      const t = await openPage(browser, `${url}?timing`, () => {}, 15_000);
      if (t?.totalMs !== undefined) cold.push(t);
    } catch {}
  }
  const f = (n) => n.toFixed(1);
  const at = (key) => f(median(cold.map((t) => t[key])));
  if (cold.length) {
    info(`${name} first forward (${cold[0].backend}), page (median of ${cold.length} cold loads): ${at('totalMs')} ms after import() (import ${at('importMs')}, create ${at('createMs')} of which .wasm fetched ${at('fetchedMs')}, first forward ${at('forwardMs')}; ${at('sinceStartMs')} ms after navigation; runs ${cold.map((t) => f(t.totalMs)).join(', ')})`);
    const l = cold[0].loaded;
    info(`${name} fetched for it: JS ${kB(l.js)} in ${l.jsFiles} files, wasm ${kB(l.wasm)} in ${l.wasmFiles}`);
  }
  await checkFallback(browser, name, port);
  await checkH5Hang(browser, name, port);
  const w = inWorker?.firstForward;
  if (w && !w.error) info(`${name} first forward (${w.backend}), worker (module already compiled in the process): ${f(w.totalMs)} ms after import() (import ${f(w.importMs)}, create ${f(w.createMs)}, forward ${f(w.forwardMs)}; ${f(w.sinceStartMs)} ms after new Worker)`);
}

// ---------------------------------------------------------------------------------------------

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(BUNDLERS);
for (const n of names) if (!BUNDLERS[n]) check(false, `bundler '${n}'`, `unknown: expected ${Object.keys(BUNDLERS).join(', ')}`);

let ref;
try {
  ref = await reference();
  info(`reference: Node, ${ref.native}${ref.onnx.error ? `; ONNX in Node failed: ${ref.onnx.error}` : ''}${ref.keras.error ? `; Keras in Node failed: ${ref.keras.error}` : ''}`);
} catch (e) {
  check(false, 'the native reference in Node', reasonOf(e));
  finish();
}

const { chromium } = await import('playwright-core');
let browser;
try {
  browser = await within(30_000, 'launching Chromium', chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }));
} catch (e) {
  check(false, `headless Chromium (${CHROMIUM})`, reasonOf(e));
  finish();
}

AUTO_BACKEND = Number(browser.version().split('.')[0]) >= 114 ? 'wasm-relaxed' : 'wasm-simd';
info(`Chromium ${browser.version()}: 'auto' must run ${AUTO_BACKEND}`);

for (const name of names.filter((n) => BUNDLERS[n])) {
  const outDir = join(OUT, name);
  const t = performance.now();
  let html;
  try {
    html = await within(BUILD_MS, `${name} build`, BUNDLERS[name](outDir));
    check(true, `${name}: build`, `${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    check(false, `${name}: build`, reasonOf(e));
    continue;
  }
  info(`${name} size: ${sizes(outDir, html)}`);
  const { server, port, missing } = await serve(outDir);
  try {
    await runPage(browser, name, port, ref);
    if (missing.length) info(`${name}: 404 for ${[...new Set(missing)].slice(0, 4).join(', ')}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

await browser.close().catch(() => {});
clearTimeout(watchdog);
finish();
