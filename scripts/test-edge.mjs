#!/usr/bin/env node
// The browser entry in the runtimes beyond Node and browsers: `node --conditions=worker`, Deno,
// Bun and workerd (Cloudflare's Workers runtime). Installs deno, bun, workerd and esbuild into
// build/edge-tools (once: pinned versions, reused while they match), builds dist/, then for each
// runtime checks that backends() lists wasm-simd as available, that the hand-checked LSTM case
// runs on wasm-simd with its integer results, and that an ONNX fixture gives its golden outputs
// (within 1e-5) on wasm-simd. One line per check; the last line is "edge: N passed, M failed";
// the exit code is non-zero when any check failed. Every step is bounded in time.
//
//   node scripts/test-edge.mjs          (CI runs it as its own step)
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = join(ROOT, 'build/edge-tools');
const BIN = join(TOOLS, 'node_modules/.bin');
const PINS = { deno: '2.9.6', bun: '1.4.4', workerd: '1.20261123.1', esbuild: '0.28.2' };
const ONNX_FIXTURE = 'lstm_last_softmax'; // as test/edge/check.mjs
const TOLERANCE = 1e-5;
const started = Date.now();

// Whatever happens, the whole run ends: 10 minutes at most, children included.
const children = new Set();
const watchdog = setTimeout(() => {
  console.log('FAIL test-edge: did not finish within 10 minutes');
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}, 600_000);
watchdog.unref();

let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  ok ? passed++ : failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` -- ${detail}` : ''}`);
  return ok;
}

function run(command, args, { timeout = 120_000, cwd = ROOT, env = {} } = {}) {
  const r = spawnSync(command, args, { cwd, timeout, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1', ...env } });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal} (timeout ${timeout / 1000} s?)` : r.status !== 0 ? `exit ${r.status}` : '';
  return { ok: !why, why, stdout: r.stdout ?? '', output };
}
const tail = (text, n = 6) => text.trim().split('\n').slice(-n).join(' | ').slice(0, 1500);

// 1. The tools, pinned, in build/edge-tools (never in the package's own dependencies).
function installedVersion(name) {
  try {
    return JSON.parse(readFileSync(join(TOOLS, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}
function installTools() {
  const stale = Object.entries(PINS).filter(([name, version]) => installedVersion(name) !== version || !run(join(BIN, name), ['--version'], { timeout: 30_000 }).ok);
  if (stale.length === 0) return check(true, 'tools: deno, bun, workerd, esbuild already in build/edge-tools');
  mkdirSync(TOOLS, { recursive: true });
  writeFileSync(join(TOOLS, 'package.json'), `${JSON.stringify({ private: true, description: 'scripts/test-edge.mjs: the edge runtimes it tests with', dependencies: PINS }, null, 2)}\n`);
  // bun's install script puts its binary in place; deno, workerd and esbuild come in platform packages.
  const r = run('npm', ['install', '--prefix', TOOLS, '--no-audit', '--no-fund'], { timeout: 300_000, env: { npm_config_nodedir: '/usr' } });
  // Each package's install script puts the native binary where its bin is (bun has no other way
  // to run; the others would run through a node wrapper whose binary a timeout could orphan).
  // Where npm held the scripts back, run them.
  const runs = (name) => run(join(BIN, name), ['--version'], { timeout: 30_000 }).ok;
  for (const name of Object.keys(PINS)) {
    let head = '';
    try {
      head = readFileSync(join(BIN, name)).subarray(0, 2).toString();
    } catch {}
    const pkg = join(TOOLS, 'node_modules', name);
    const script = r.ok && JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts?.postinstall;
    if (script && (head === '#!' || !runs(name))) run('sh', ['-c', script], { cwd: pkg, timeout: 120_000 });
  }
  const missing = Object.entries(PINS).filter(([name, version]) => installedVersion(name) !== version || !runs(name));
  return check(r.ok && missing.length === 0, `tools: npm install ${Object.entries(PINS).map(([n, v]) => `${n}@${v}`).join(' ')} into build/edge-tools`, r.ok ? (missing.length ? `missing ${missing.map(([n]) => n).join(', ')}` : '') : `${r.why}: ${tail(r.output)}`);
}

// 2. dist/, as the package ships it.
function buildDist() {
  const r = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { timeout: 300_000 });
  return check(r.ok, 'build: tsc -p tsconfig.build.json', r.ok ? '' : `${r.why}: ${tail(r.output, 10)}`);
}

// 3. What each runtime printed, judged.
const golden = JSON.parse(readFileSync(join(ROOT, `test/fixtures/models/onnx/${ONNX_FIXTURE}.json`), 'utf8'));
const expectedOutputs = golden.cases.map((c) => c.output.flat(Infinity));

function judge(runtime, result) {
  const simd = result.backends?.find((b) => b.name === 'wasm-simd');
  const names = (result.backends ?? []).map((b) => b.name);
  // 'auto' runs the relaxed-SIMD build where the engine runs relaxed SIMD (V8: Deno, workerd), else SIMD128.
  const relaxed = result.backends?.find((b) => b.name === 'wasm-relaxed');
  const auto = relaxed?.available ? 'wasm-relaxed' : 'wasm-simd';
  if (relaxed && !relaxed.available) console.log(`     ${runtime}: wasm-relaxed unavailable: ${relaxed.reason}`);
  check(
    simd?.available === true && !names.includes('native'),
    `${runtime}: backends() of the browser entry lists wasm-simd available`,
    simd?.available ? (names.includes('native') ? `the Node entry was loaded (${names.join(', ')})` : '') : `wasm-simd: ${simd?.reason ?? `not listed (${names.join(', ')})`}`,
  );
  const lstm = result.lstm ?? { error: 'no result' };
  const lstmOk = lstm.backend === auto && JSON.stringify(lstm.h) === '[[0,4,0]]' && JSON.stringify(lstm.c) === '[[0,4,1]]';
  check(lstmOk, `${runtime}: hand-checked LSTM gives h [[0,4,0]], c [[0,4,1]] on ${auto}`, lstmOk ? '' : lstm.error ?? `backend ${lstm.backend}, h ${JSON.stringify(lstm.h)}, c ${JSON.stringify(lstm.c)}`);
  const onnx = result.onnx ?? { error: 'no result' };
  let worst = Infinity;
  if (!onnx.error) {
    worst = 0;
    expectedOutputs.forEach((expected, k) => {
      const got = onnx.outputs?.[k] ?? [];
      if (got.length !== expected.length) worst = Infinity;
      expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[i]))));
    });
  }
  const onAuto = onnx.backends?.length > 0 && onnx.backends.every((b) => b === auto);
  check(
    worst <= TOLERANCE && onAuto,
    `${runtime}: ONNX ${ONNX_FIXTURE} gives onnxruntime's outputs within 1e-5 on ${auto}`,
    onnx.error ?? (onAuto ? `largest difference ${worst.toExponential(1)}` : `ran on ${JSON.stringify(onnx.backends)}`),
  );
}

function lastJsonLine(stdout) {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return line ? JSON.parse(line) : null;
}

// Deno, Bun and Node run test/edge/run.mjs from inside the package, so 'lstm-runtime' resolves
// through its own exports map under the 'worker' condition (dist/browser.js).
function runScriptRuntime(runtime, command, args) {
  const r = run(command, [...args, 'test/edge/run.mjs'], { timeout: 90_000, env: { LSTM_RUNTIME_BACKEND: '' } });
  const result = r.ok ? lastJsonLine(r.stdout) : null;
  if (!result) return check(false, `${runtime}: runs test/edge/run.mjs`, `${r.why || 'no JSON printed'}: ${tail(r.output)}`);
  judge(runtime, result);
}

const version = (command, args = ['--version']) => run(command, args, { timeout: 30_000 }).stdout.trim().split('\n')[0] || '?';

// 4. workerd: the Worker bundled as wrangler would (esbuild, conditions workerd/worker/browser),
// the .wasm import resolved through the package's './wasm/*.wasm' export and given to workerd as
// a `wasm` module, served on a free loopback port, asked once, stopped.
async function bundleWorker(out) {
  const esbuild = createRequire(join(TOOLS, 'package.json'))('esbuild');
  const wasmFiles = new Map();
  await esbuild.build({
    entryPoints: [join(ROOT, 'test/edge/workerd/worker.js')],
    outfile: join(out, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    loader: { '.onnx': 'binary' },
    logLevel: 'error',
    plugins: [{
      name: 'wasm-modules',
      setup(build) {
        build.onResolve({ filter: /\.wasm$/ }, async (args) => {
          if (args.pluginData?.resolving) return undefined;
          const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { resolving: true } });
          if (r.errors.length) return { errors: r.errors };
          const name = r.path.split('/').pop();
          wasmFiles.set(name, r.path);
          return { path: `./${name}`, external: true };
        });
      },
    }],
  });
  for (const [name, path] of wasmFiles) copyFileSync(path, join(out, name));
  copyFileSync(join(ROOT, 'test/edge/workerd/config.capnp'), join(out, 'config.capnp'));
  return [...wasmFiles.values()];
}

const freePort = () =>
  new Promise((done, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });

async function runWorkerd(runtime) {
  const out = join(TOOLS, 'workerd');
  mkdirSync(out, { recursive: true });
  let wasm;
  try {
    wasm = await bundleWorker(out);
  } catch (e) {
    return check(false, `${runtime}: esbuild bundles test/edge/workerd/worker.js`, String(e.message).slice(0, 1500));
  }
  const modules = ['lstm-relaxed.wasm', 'lstm-simd.wasm'];
  check(
    wasm.length === modules.length && modules.every((m, k) => wasm[k] === join(ROOT, 'wasm/dist', m)),
    `${runtime}: 'lstm-runtime/wasm/${modules.join("' and '")}' resolve through the exports map to wasm/dist/`,
    wasm.join(', '),
  );

  const port = await freePort();
  // The binary itself (not a wrapper), so that killing it stops the server.
  const workerd = createRequire(join(TOOLS, 'package.json'))('workerd').default;
  const child = spawn(workerd, ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((done) => child.once('exit', (code, signal) => done(signal ?? code)));
  let result = null;
  let why = '';
  try {
    const deadline = Date.now() + 60_000;
    while (!result && Date.now() < deadline) {
      if (child.exitCode !== null) {
        why = `workerd exited (${child.exitCode})`;
        break;
      }
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(30_000) });
        const text = await response.text();
        if (!response.ok) {
          why = `HTTP ${response.status}: ${text.slice(0, 500)}`;
          break;
        }
        result = JSON.parse(text);
      } catch (e) {
        why = `${e.message}${e.cause ? `: ${e.cause.code ?? e.cause.message}` : ''}`;
        await new Promise((done) => setTimeout(done, 250)); // not listening yet
      }
    }
  } finally {
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited, new Promise((done) => setTimeout(() => done('still running'), 5000))]);
    if (stopped === 'still running') child.kill('SIGKILL');
    child.stdout.destroy();
    child.stderr.destroy();
    children.delete(child);
  }
  if (!check(result !== null, `${runtime}: serves the Worker on 127.0.0.1:${port} and answers`, result ? '' : `${why} | workerd: ${tail(log)}`)) return;
  // Importing the package did not throw though import.meta.url is no URL here; the defaults say why
  // they cannot load until configureWasm gives the module.
  const before = result.before?.find((b) => b.name === 'wasm-simd');
  check(before && (before.available || /configureWasm\(\{ simd/.test(before.reason)), `${runtime}: imports the package; before configureWasm, wasm-simd says how to give its module`, before?.reason ?? 'no backends() before');
  judge(runtime, result);
}

// The run.
console.log(`edge runtimes: node ${process.version}, deno ${PINS.deno}, bun ${PINS.bun}, workerd ${PINS.workerd} (npm), esbuild ${PINS.esbuild}`);
const toolsOk = installTools();
buildDist();
runScriptRuntime(`node ${process.version} --conditions=worker`, process.execPath, ['--conditions=worker']);
if (toolsOk) {
  // Deno: --allow-read for the package's files; no --allow-env (LSTM_RUNTIME_BACKEND is then unset).
  runScriptRuntime(`deno ${version(join(BIN, 'deno')).replace(/^deno /, '').split(' ')[0]}`, join(BIN, 'deno'), ['run', '--allow-read', '--conditions=worker']);
  runScriptRuntime(`bun ${version(join(BIN, 'bun'))}`, join(BIN, 'bun'), ['--conditions=worker']);
  await runWorkerd(`workerd ${version(join(BIN, 'workerd')).replace(/^workerd /, '')}`);
}
console.log(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`edge: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
