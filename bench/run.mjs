#!/usr/bin/env node
// Benchmark harness: lstm-runtime backends vs onnxruntime-node, onnxruntime-web and TensorFlow.js
// on the standard LSTM configurations S1..S5, plus a GRU (G2, G3) and a bidirectional LSTM (B2, B3)
// at the sizes of S2 and S3 (see README.md). Usage:
//   node run.mjs [--quick] [--config S1,S3,G2] [--only native,ort-node-1t] [--out results]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Bench, medianAbsoluteDeviation } from 'tinybench';
import { Lstm, Gru, Bidirectional, backends as lstmBackends } from 'lstm-runtime';
import { buildLstmOnnx, buildGruOnnx } from './onnx-model.mjs';
import { rng, uniform } from './random.mjs';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const opts = { quick: false, configs: null, only: null, out: path.join(HERE, 'results') };
  for (let a = 0; a < argv.length; a++) {
    const arg = argv[a];
    const value = () => {
      const eq = arg.indexOf('=');
      if (eq >= 0) return arg.slice(eq + 1);
      if (a + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++a];
    };
    if (arg === '--quick') opts.quick = true;
    else if (arg.startsWith('--config')) opts.configs = value().split(',').map((s) => s.trim().toUpperCase());
    else if (arg.startsWith('--only')) opts.only = value().split(',').map((s) => s.trim());
    else if (arg.startsWith('--out')) opts.out = path.resolve(value());
    else if (arg.startsWith('--from')) opts.from = path.resolve(value());
    else if (arg === '--help' || arg === '-h') {
      console.log(`node run.mjs [--quick] [--config ${CONFIGS.map((c) => c.id).join(',')}] [--only ${RUNNERS.map((r) => r.id).join(',')}] [--out DIR]\n` + 'node run.mjs --from results/FILE.json [--out DIR]   (re-render latest.md / latest.svg)');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Configurations: S1..S5 from shared/bench/CONFIGS.md (LSTM); G2, G3 a GRU (Keras reset_after=true)
// and B2, B3 a bidirectional LSTM (merge 'concat', output [B,T,2U]) at the sizes of S2 and S3.
// kind: 'lstm' (default), 'gru' or 'bilstm'.

const CONFIGS = [
  { id: 'S1', name: 'stream', B: 1, T: 1, I: 40, U: 128, stream: true },
  { id: 'S2', name: 'seq-small', B: 1, T: 100, I: 32, U: 64 },
  { id: 'S3', name: 'seq-medium', B: 1, T: 100, I: 256, U: 256 },
  { id: 'S4', name: 'seq-large', B: 1, T: 50, I: 512, U: 1024 },
  { id: 'S5', name: 'batch', B: 64, T: 50, I: 128, U: 256 },
  { id: 'G2', name: 'gru-small', kind: 'gru', B: 1, T: 100, I: 32, U: 64 },
  { id: 'G3', name: 'gru-medium', kind: 'gru', B: 1, T: 100, I: 256, U: 256 },
  { id: 'B2', name: 'bilstm-small', kind: 'bilstm', B: 1, T: 100, I: 32, U: 64 },
  { id: 'B3', name: 'bilstm-medium', kind: 'bilstm', B: 1, T: 100, I: 256, U: 256 },
];
const kindOf = (cfg) => cfg.kind ?? 'lstm';
/** Features per step of the output: 2U for the concatenated bidirectional LSTM. */
const outWidth = (cfg) => (kindOf(cfg) === 'bilstm' ? 2 * cfg.U : cfg.U);

/** Matmul FLOPs per call: 4 gates for an LSTM, 3 for a GRU, twice an LSTM for the bidirectional one. */
const FLOPS_FORMULA = { lstm: '2*B*T*4U*(I+U)', gru: '2*B*T*3U*(I+U)', bilstm: '2 * 2*B*T*4U*(I+U)' };
function flopsPerCall(cfg) {
  const { B, T, I, U } = cfg;
  const kind = kindOf(cfg);
  const gates = kind === 'gru' ? 3 : 4;
  const directions = kind === 'bilstm' ? 2 : 1;
  return directions * 2 * B * T * gates * U * (I + U);
}

/** The report's tables: the LSTM configurations S1..S5, then the GRU / bidirectional ones. */
const TABLES = [
  { title: 'LSTM (S1..S5)', test: (cfg) => kindOf(cfg) === 'lstm' },
  { title: 'GRU (G2, G3) and bidirectional LSTM (B2, B3), at the sizes of S2 and S3', test: (cfg) => kindOf(cfg) !== 'lstm' },
];

// One stream of random numbers per configuration.
const SEED_BASE = { S: 0, G: 100, B: 200 };

function makeData(cfg, quick) {
  const { B, T, I, U } = cfg;
  const rand = rng(0x5eed + SEED_BASE[cfg.id[0]] + Number(cfg.id.slice(1)));
  const lstmWeights = () => {
    const G = 4 * U;
    return {
      kernel: uniform(rand, I * G, -0.1, 0.1), // [I][4U] Keras i,f,c,o
      recurrentKernel: uniform(rand, U * G, -0.1, 0.1), // [U][4U]
      bias: uniform(rand, G, -0.1, 0.1), // [4U]
    };
  };
  const data = {};
  if (kindOf(cfg) === 'gru') {
    const G = 3 * U;
    data.weights = {
      kernel: uniform(rand, I * G, -0.1, 0.1), // [I][3U] Keras z,r,h
      recurrentKernel: uniform(rand, U * G, -0.1, 0.1), // [U][3U]
      bias: uniform(rand, 2 * G, -0.1, 0.1), // [2][3U]: input row, recurrent row (reset_after)
    };
  } else {
    data.weights = lstmWeights();
    if (kindOf(cfg) === 'bilstm') data.backwardWeights = lstmWeights();
  }
  if (cfg.stream) {
    data.steps = quick ? 200 : 1000;
    data.xs = uniform(rand, data.steps * I, -1, 1); // one [1, I] input per step
  } else {
    data.x = uniform(rand, B * T * I, -1, 1); // [B, T, I]
    data.xTBI = toTimeMajor(data.x, B, T, I); // [T, B, I] for ONNX layout 0
  }
  return data;
}

function toTimeMajor(x, B, T, F) {
  if (B === 1) return x;
  const y = new Float32Array(x.length);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) y.set(x.subarray((b * T + t) * F, (b * T + t + 1) * F), (t * B + b) * F);
  return y;
}
const toBatchMajor = (y, B, T, F) => {
  if (B === 1) return y;
  const x = new Float32Array(y.length);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) x.set(y.subarray((t * B + b) * F, (t * B + b + 1) * F), (b * T + t) * F);
  return x;
};
/** ONNX Y [T,D,B,U] to Keras [B,T,D*U] (directions concatenated on the last axis). For B = 1 the two layouts coincide. */
function onnxYToKeras(y, T, D, B, U) {
  if (B === 1) return y;
  if (D === 1) return toBatchMajor(y, B, T, U);
  const x = new Float32Array(y.length);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) x.set(y.subarray(((t * D + d) * B + b) * U, ((t * D + d) * B + b + 1) * U), ((b * T + t) * D + d) * U);
  return x;
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k] - b[k]);
    if (!(d <= m)) m = d; // NaN propagates as Infinity-like mismatch
  }
  return Number.isNaN(m) ? Infinity : m;
}

// ---------------------------------------------------------------------------------------------
// Runners. applies(cfg): whether the row has a cell for this configuration (absent: every one).
// setup(cfg, data) resolves to
//   { impl, forward(): Float32Array [B,T,U] ([B,T,2U] for bilstm) (sequence configs), call(): one timed call,
//     stepRun(n): Float32Array [n,U] (stream configs, runs n steps from zero state),
//     dispose() }
// A timed call takes a Float32Array in and leaves a Float32Array of the output readable in JS.

const kerasWeights = ({ kernel, recurrentKernel, bias }, I, U) => ({
  kernel: { data: kernel, shape: [I, 4 * U] },
  recurrentKernel: { data: recurrentKernel, shape: [U, 4 * U] },
  bias,
});

const kerasGruWeights = ({ kernel, recurrentKernel, bias }, I, U) => ({
  kernel: { data: kernel, shape: [I, 3 * U] },
  recurrentKernel: { data: recurrentKernel, shape: [U, 3 * U] },
  bias: { data: bias, shape: [2, 3 * U] },
});

/** The lstm-runtime layer of a configuration: Lstm, Gru or Bidirectional(Lstm, 'concat'), full sequence. */
function createLayer(cfg, data, options) {
  const { I, U } = cfg;
  switch (kindOf(cfg)) {
    case 'gru':
      return Gru.create({ weights: kerasGruWeights(data.weights, I, U), returnSequences: true, ...options });
    case 'bilstm':
      return Bidirectional.create({
        layer: { weights: kerasWeights(data.weights, I, U), returnSequences: true, ...options },
        backwardWeights: kerasWeights(data.backwardWeights, I, U),
        mergeMode: 'concat',
      });
    default:
      return Lstm.create({ weights: kerasWeights(data.weights, I, U), returnSequences: true, ...options });
  }
}

const ALL_KINDS = ['lstm', 'gru', 'bilstm'];
/**
 * A row of lstm-runtime. `kinds`: the configuration kinds it runs on; `async`: time
 * `await layer.forwardAsync(x)` instead of `layer.forward(x)` (Bidirectional: both directions at once).
 */
function ours(id, label, options, { tol = 1e-4, kinds = ALL_KINDS, async = false } = {}) {
  return {
    id,
    label,
    group: 'lstm-runtime',
    tol,
    applies: (cfg) => kinds.includes(kindOf(cfg)),
    async setup(cfg, data) {
      const { B, T, I, U } = cfg;
      const layer = await createLayer(cfg, data, options);
      const impl =
        layer.backend +
        (options.threads ? `, threads: ${options.threads} requested` : '') +
        (options.weightPrecision ? `, ${options.weightPrecision} weights` : '') +
        (async ? ', forwardAsync' : '');
      if (cfg.stream) {
        const s = layer.stream(1);
        const steps = data.steps;
        const xs = Array.from({ length: steps }, (_, t) => data.xs.subarray(t * I, (t + 1) * I));
        return {
          impl,
          stepRun(n) {
            s.reset();
            const out = new Float32Array(n * U);
            for (let t = 0; t < n; t++) out.set(s.step(xs[t]).data, t * U);
            return out;
          },
          call() {
            s.reset();
            let sink = 0;
            for (let t = 0; t < steps; t++) sink += s.step(xs[t]).data[0];
            return sink;
          },
          dispose: () => layer.dispose(),
        };
      }
      const input = { data: data.x, shape: [B, T, I] };
      if (async) {
        const call = async () => (await layer.forwardAsync(input)).output.data;
        return { impl, forward: call, call, dispose: () => layer.dispose() };
      }
      return {
        impl,
        forward: () => layer.forward(input).output.data,
        call: () => layer.forward(input).output.data,
        dispose: () => layer.dispose(),
      };
    },
  };
}

async function ortSetup(ort, cfg, data, sessionOptions) {
  const { B, T, I, U } = cfg;
  const kind = kindOf(cfg);
  const D = kind === 'bilstm' ? 2 : 1;
  const bytes =
    kind === 'gru'
      ? buildGruOnnx(data.weights, { I, U, B, T })
      : buildLstmOnnx(data.weights, { I, U, B, T, withState: !!cfg.stream, backwardWeights: data.backwardWeights ?? null });
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  if (cfg.stream) {
    const steps = data.steps;
    const xs = Array.from({ length: steps }, (_, t) => data.xs.subarray(t * I, (t + 1) * I));
    const zeros = new Float32Array(B * U);
    const run = async (n, keep) => {
      const out = keep ? new Float32Array(n * U) : null;
      let h = new ort.Tensor('float32', zeros, [1, B, U]);
      let c = new ort.Tensor('float32', zeros, [1, B, U]);
      let sink = 0;
      for (let t = 0; t < n; t++) {
        const r = await session.run({ X: new ort.Tensor('float32', xs[t], [1, B, I]), initial_h: h, initial_c: c });
        h = r.Y_h;
        c = r.Y_c;
        const y = r.Y.data;
        if (out) out.set(y, t * U);
        else sink += y[0];
      }
      return out ?? sink;
    };
    return { impl: null, stepRun: (n) => run(n, true), call: () => run(steps, false), dispose: () => session.release?.() };
  }
  const feeds = () => ({ X: new ort.Tensor('float32', data.xTBI, [T, B, I]) });
  return {
    impl: null,
    forward: async () => onnxYToKeras((await session.run(feeds())).Y.data, T, D, B, U), // Y [T,D,B,U]
    call: async () => (await session.run(feeds())).Y.data,
    dispose: () => session.release?.(),
  };
}

let ortNode = null;
let ortWeb = null;
const loadOrtNode = async () => (ortNode ??= (await import('onnxruntime-node')).default);
const loadOrtWeb = async () => {
  if (!ortWeb) {
    ortWeb = await import('onnxruntime-web');
    ortWeb.env.wasm.numThreads = 1;
    ortWeb.env.wasm.proxy = false;
    ortWeb.env.logLevel = 'error';
  }
  return ortWeb;
};

function ortNodeRunner(threads) {
  return {
    id: `ort-node-${threads}t`,
    label: `onnxruntime-node, ${threads} thread${threads > 1 ? 's' : ''}`,
    group: 'peer',
    tol: 1e-4,
    async setup(cfg, data) {
      const ort = await loadOrtNode();
      const r = await ortSetup(ort, cfg, data, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      r.impl = `onnxruntime-node ${pkgVersion('onnxruntime-node')} cpu, intraOp ${threads}`;
      return r;
    },
  };
}

const ortWebRunner = {
  id: 'ort-web',
  label: 'onnxruntime-web (wasm, 1 thread)',
  group: 'peer',
  tol: 1e-4,
  async setup(cfg, data) {
    const ort = await loadOrtWeb();
    const r = await ortSetup(ort, cfg, data, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    r.impl = `onnxruntime-web ${pkgVersion('onnxruntime-web')} wasm, numThreads 1`;
    return r;
  },
};

let tf = null;
let tfWasm = null;
async function useTf(backend) {
  if (!tf) {
    // tfjs prints a banner suggesting tfjs-node on first use of the cpu backend; keep stdout clean.
    for (const k of ['log', 'warn']) {
      const orig = console[k];
      console[k] = (...a) => (String(a[0]).includes('tfjs-node') ? undefined : orig(...a));
    }
    tf = await import('@tensorflow/tfjs');
    tfWasm = await import('@tensorflow/tfjs-backend-wasm');
    tfWasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  return tf;
}

function tfRunner(backend) {
  return {
    id: `tfjs-${backend}`,
    label: `TF.js ${backend}`,
    group: 'peer',
    tol: 1e-4,
    applies: (cfg) => kindOf(cfg) === 'lstm', // tf.layers.gru has no reset_after; the G/B configurations leave TF.js out
    async setup(cfg, data) {
      const tf = await useTf(backend);
      const { B, T, I, U } = cfg;
      const G = 4 * U;
      // Zero initializers (the default orthogonal one takes minutes at U=256), then the real weights.
      // tfjs's LSTM defaults to hardSigmoid gates: ask for Keras-2 sigmoid.
      const common = {
        units: U,
        returnSequences: true,
        recurrentActivation: 'sigmoid',
        activation: 'tanh',
        kernelInitializer: 'zeros',
        recurrentInitializer: 'zeros',
        biasInitializer: 'zeros',
      };
      const layer = cfg.stream ? tf.layers.lstm({ ...common, stateful: true, batchInputShape: [1, 1, I] }) : tf.layers.lstm({ ...common, inputShape: [T, I] });
      const model = tf.sequential({ layers: [layer] });
      const wts = [tf.tensor2d(data.weights.kernel, [I, G]), tf.tensor2d(data.weights.recurrentKernel, [U, G]), tf.tensor1d(data.weights.bias)];
      layer.setWeights(wts);
      wts.forEach((w) => w.dispose());
      let impl = `tfjs ${pkgVersion('@tensorflow/tfjs')} ${tf.getBackend()}`;
      if (backend === 'wasm') impl += `, simd ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, threads ${tfWasm.getThreadsCount()}`;
      const dispose = () => {
        model.layers.forEach((l) => l.dispose?.());
      };
      // TF.js has one global backend, and the other TF.js row sets its own: take ours back before
      // each turn (the next call moves the weights back too; a warm-up call absorbs that).
      const activate = () => useTf(backend);
      if (cfg.stream) {
        const steps = data.steps;
        const xs = Array.from({ length: steps }, (_, t) => data.xs.subarray(t * I, (t + 1) * I));
        const run = (n, keep) => {
          layer.resetStates();
          const out = keep ? new Float32Array(n * U) : null;
          let sink = 0;
          for (let t = 0; t < n; t++) {
            const x = tf.tensor3d(xs[t], [1, 1, I]);
            const y = model.predict(x);
            const v = y.dataSync();
            x.dispose();
            y.dispose();
            if (out) out.set(v, t * U);
            else sink += v[0];
          }
          return out ?? sink;
        };
        return { impl: impl + ', stateful layer, model.predict per step', stepRun: (n) => run(n, true), call: () => run(steps, false), activate, dispose };
      }
      const call = () => {
        const x = tf.tensor3d(data.x, [B, T, I]);
        const y = model.predict(x);
        const v = y.dataSync();
        x.dispose();
        y.dispose();
        return v;
      };
      return { impl: impl + ', model.predict', forward: call, call, activate, dispose };
    },
  };
}

const RUNNERS = [
  ours('native', 'lstm-runtime native (1 thread)', { backend: 'native' }),
  ours('native-2t', 'lstm-runtime native, threads: 2', { backend: 'native', threads: 2 }),
  ours('native-async', 'lstm-runtime native, forwardAsync (2 directions in parallel)', { backend: 'native' }, { kinds: ['bilstm'], async: true }),
  ours('native-f16', "lstm-runtime native, weightPrecision: 'f16'", { backend: 'native', weightPrecision: 'f16' }, { tol: 1e-2, kinds: ['lstm'] }),
  ours('native-2t-f16', "lstm-runtime native, threads: 2, 'f16'", { backend: 'native', threads: 2, weightPrecision: 'f16' }, { tol: 1e-2, kinds: ['lstm'] }),
  ours('native-int8', "lstm-runtime native, weightPrecision: 'int8'", { backend: 'native', weightPrecision: 'int8' }, { tol: 1e-2, kinds: ['lstm'] }),
  ours('native-2t-int8', "lstm-runtime native, threads: 2, 'int8'", { backend: 'native', threads: 2, weightPrecision: 'int8' }, { tol: 1e-2, kinds: ['lstm'] }),
  ours('wasm-simd', 'lstm-runtime wasm-simd', { backend: 'wasm-simd' }),
  ours('wasm-simd-int8', "lstm-runtime wasm-simd, 'int8'", { backend: 'wasm-simd', weightPrecision: 'int8' }, { tol: 1e-2, kinds: ['lstm'] }),
  ours('wasm', 'lstm-runtime wasm (scalar)', { backend: 'wasm' }, { kinds: ['lstm'] }),
  ours('js', 'lstm-runtime js', { backend: 'js' }),
  ortNodeRunner(1),
  ortNodeRunner(2),
  ortWebRunner,
  tfRunner('wasm'),
  tfRunner('cpu'),
];
const BASELINE = 'ort-node-1t';

// ---------------------------------------------------------------------------------------------
// Environment

function pkgVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  } catch {
    try {
      // Packages whose exports map hides package.json.
      let dir = path.dirname(require.resolve(name));
      while (dir !== path.dirname(dir)) {
        const p = path.join(dir, 'package.json');
        if (fs.existsSync(p)) {
          const j = JSON.parse(fs.readFileSync(p, 'utf8'));
          if (j.name === name) return j.version;
        }
        dir = path.dirname(dir);
      }
    } catch {}
    return 'unknown';
  }
}

function cpuModel() {
  try {
    const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

function gitCommit() {
  try {
    const cwd = path.join(HERE, '..');
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'native', 'lib', 'wasm'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return sha + (dirty ? ' (+ uncommitted changes in native/lib/wasm)' : '');
  } catch {
    return 'unknown';
  }
}

async function machineInfo() {
  let backendStatus = [];
  try {
    backendStatus = (await lstmBackends()).map((b) => ({ name: b.name, available: b.available, implementation: b.implementation, reason: b.reason }));
  } catch (e) {
    backendStatus = [{ error: String(e?.message ?? e) }];
  }
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadavgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    packages: {
      'lstm-runtime': `${pkgVersion('lstm-runtime')} (git ${gitCommit()})`,
      'onnxruntime-node': pkgVersion('onnxruntime-node'),
      'onnxruntime-web': pkgVersion('onnxruntime-web'),
      '@tensorflow/tfjs': pkgVersion('@tensorflow/tfjs'),
      '@tensorflow/tfjs-backend-wasm': pkgVersion('@tensorflow/tfjs-backend-wasm'),
      tinybench: pkgVersion('tinybench'),
      protobufjs: pkgVersion('protobufjs'),
    },
    lstmRuntimeBackends: backendStatus,
    notAvailable: ['@tensorflow/tfjs-node: its install downloads libtensorflow from outside the npm registry, which this machine cannot reach'],
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement

const T0 = performance.now();
const progress = (msg) => process.stderr.write(`[${((performance.now() - T0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
const errMsg = (e) => (e?.code ? `${e.code}: ` : '') + String(e?.message ?? e).split('\n')[0];

async function timeOne(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

// Sets a runner up on a configuration and checks its output against ours first. Returns the cell
// and, when it is to be timed, the live runner `r` (timeRounds times it and disposes of it).
async function prepareCell(runner, cfg, data, ref, mode) {
  const cell = { status: 'ok' };
  let r;
  try {
    r = await runner.setup(cfg, data);
  } catch (e) {
    // The API accepts options (threads, weightPrecision) that a backend may refuse with ERR_LSTM_UNSUPPORTED.
    if (e?.code === 'ERR_LSTM_UNSUPPORTED') return { cell: { status: 'unsupported', note: `unsupported: ${String(e.message).split('\n')[0]}` } };
    return { cell: { status: 'error', note: `error in setup: ${errMsg(e)}` } };
  }
  let keep = false;
  try {
    cell.impl = r.impl;
    // Correctness against lstm-runtime native on the same weights and inputs.
    const checkSteps = cfg.stream ? Math.min(20, data.steps) : 0;
    const tCheck = performance.now();
    const out = cfg.stream ? await r.stepRun(checkSteps) : await r.forward();
    const checkMs = performance.now() - tCheck;
    const expected = cfg.stream ? ref.subarray(0, checkSteps * cfg.U) : ref;
    cell.maxAbsDiff = maxAbsDiff(out, expected);
    if (!(cell.maxAbsDiff < runner.tol)) {
      cell.status = 'mismatch';
      cell.note = `MISMATCH (max abs diff ${fmtDiff(cell.maxAbsDiff)} vs native, tolerance ${runner.tol})`;
      return { cell };
    }
    // Estimate one call (S1: one loop of all steps) and skip what would take minutes.
    const firstCallMs = cfg.stream ? (checkMs * data.steps) / checkSteps : checkMs;
    const oneCallMs = firstCallMs > 10 * mode.skipMs ? firstCallMs : await timeOne(r.call);
    if (oneCallMs > mode.skipMs) {
      cell.status = 'skipped';
      cell.note = `skipped (one call took ${(oneCallMs / 1000).toFixed(2)} s)`;
      return { cell };
    }
    keep = true;
    return { cell, r, samples: [] };
  } catch (e) {
    return { cell: { ...cell, status: 'error', note: `error: ${errMsg(e)}` } };
  } finally {
    if (!keep) dispose(r);
  }
}

function dispose(r) {
  try {
    r?.dispose?.();
  } catch {}
}

// Times one configuration's prepared runners in rounds: each round gives every runner in turn a
// share of the timed calls (warm-ups first), so the slow drifts of a shared machine fall on all of
// them alike rather than on whichever ran during a bad minute. Statistics are over all rounds.
async function timeRounds(prepared, cfg, data, mode) {
  const live = prepared.filter((p) => p.r);
  for (let round = 0; round < mode.rounds; round++) {
    for (const p of live) {
      if (!p.r) continue;
      await settle();
      try {
        await p.r.activate?.();
        const bench = new Bench({
          name: `${cfg.id} ${p.runner.id}`,
          iterations: Math.ceil(mode.iterations / mode.rounds),
          time: mode.timeMs / mode.rounds,
          warmup: true,
          warmupIterations: round === 0 ? mode.warmups : 1,
          warmupTime: 0,
          throws: true,
          retainSamples: true,
        });
        bench.add(p.runner.id, p.r.call);
        await bench.run();
        const res = bench.tasks[0].result;
        if (res.state !== 'completed') throw res.error ?? new Error(`tinybench: ${res.state}`);
        p.samples.push(...res.latency.samples);
      } catch (e) {
        p.cell = { ...p.cell, status: 'error', note: `error: ${errMsg(e)}` };
        dispose(p.r);
        p.r = null;
      }
    }
  }
  for (const p of live) {
    if (!p.r) continue;
    dispose(p.r);
    const perCall = cfg.stream ? data.steps : 1;
    const sorted = p.samples.sort((x, y) => x - y);
    const median = quantile(sorted, 0.5);
    const cell = p.cell;
    cell.samples = sorted.length;
    cell.medianUs = (median * 1000) / perCall;
    cell.meanUs = (sorted.reduce((sum, x) => sum + x, 0) / sorted.length / perCall) * 1000;
    cell.minUs = (sorted[0] * 1000) / perCall;
    cell.madUs = (medianAbsoluteDeviation(sorted) * 1000) / perCall;
    cell.gflops = flopsPerCall(cfg) / (cell.medianUs * 1e3);
  }
}

// Before each runner's turn: collect the garbage the previous one left (node --expose-gc), then
// let the collector's background threads finish, so they do not take a core from the next one.
async function settle() {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

// ---------------------------------------------------------------------------------------------
// Reports

const fmtDiff = (d) => (Number.isFinite(d) ? d.toExponential(1) : String(d));
function fmtUs(us) {
  if (us >= 1e5) return `${(us / 1e3).toFixed(0)} ms`;
  if (us >= 1e4) return `${(us / 1e3).toFixed(1)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  return `${us.toFixed(2)} µs`;
}
const fmtRatio = (x) => (x >= 10 ? x.toFixed(0) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)) + '×';

function addRatios(results, configs) {
  for (const cfg of configs) {
    const base = results[BASELINE]?.cells[cfg.id];
    for (const row of Object.values(results)) {
      const cell = row.cells[cfg.id];
      if (cell?.status === 'ok' && base?.status === 'ok') cell.vsOrtNode1t = base.medianUs / cell.medianUs;
    }
  }
}

function markdown(report) {
  const { configs, results, machine, mode } = report;
  const L = [];
  L.push(`# lstm-runtime benchmark (${mode.quick ? 'quick mode' : 'full run'}, ${report.date})`);
  L.push('');
  L.push(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; load average at start ${machine.loadavgAtStart.join(' ')}.`);
  L.push(
    `lstm-runtime ${machine.packages['lstm-runtime']}, onnxruntime-node ${machine.packages['onnxruntime-node']}, onnxruntime-web ${machine.packages['onnxruntime-web']}, TF.js ${machine.packages['@tensorflow/tfjs']}.`,
  );
  L.push('');
  L.push(
    `Each cell: median time per call (S1: per step, from ${report.mode.s1Steps}-step loops with state carried), GFLOP/s, and speedup vs onnxruntime-node 1 thread in this run (ORT time / this time, > 1× = faster than ORT). ` +
      `${mode.iterations}+ timed calls after ${mode.warmups} warm-ups per cell` +
      (mode.rounds > 1 ? `, in ${mode.rounds} rounds that take every backend of a configuration in turn (so drifts of the machine hit all alike)` : '') +
      `; cells whose single call took over ${mode.skipMs / 1000} s are skipped.`,
  );
  L.push('');
  L.push(
    `GFLOP/s counts the matrix products only: LSTM ${FLOPS_FORMULA.lstm}, GRU ${FLOPS_FORMULA.gru}, bidirectional LSTM ${FLOPS_FORMULA.bilstm} per call.`,
  );
  L.push('');
  const footnotes = []; // long notes (unsupported, errors) once, below the first table that uses them
  const noteRef = (note) => {
    let k = footnotes.indexOf(note);
    if (k < 0) k = footnotes.push(note) - 1;
    return `[${k + 1}]`;
  };
  const refs = Object.entries(report.reference ?? {}).filter(([, b]) => b !== 'native');
  const refNote = refs.length ? ` (native could not run for ${refs.map(([c, b]) => `${c}, compared with ${b} instead`).join('; ')})` : '';
  const groups = tableGroups(configs);
  for (const { title, configs: cfgs } of groups) {
    // Only the rows with a cell in these configurations (f16, int8, scalar wasm and TF.js run S1..S5 only).
    const rows = Object.values(results).filter((row) => cfgs.some((c) => row.cells[c.id]));
    if (groups.length > 1 || kindOf(cfgs[0]) !== 'lstm') L.push(`## ${title}`, '');
    L.push(`| backend | ${cfgs.map((c) => `${c.id} ${c.name} (B${c.B} T${c.T} I${c.I} U${c.U})`).join(' | ')} |`);
    L.push(`|---|${cfgs.map(() => '---').join('|')}|`);
    const notesBefore = footnotes.length;
    for (const row of rows) {
      const cells = cfgs.map((c) => {
        const cell = row.cells[c.id];
        if (!cell) return '–';
        if (cell.status === 'unsupported' || cell.status === 'error') return `${cell.status} ${noteRef(cell.note)}`;
        if (cell.status !== 'ok') return cell.note ?? cell.status;
        const ratio = cell.vsOrtNode1t !== undefined ? ` · **${fmtRatio(cell.vsOrtNode1t)}**` : '';
        return `${fmtUs(cell.medianUs)} · ${cell.gflops.toFixed(2)} GF/s${ratio}`;
      });
      L.push(`| ${row.label} | ${cells.join(' | ')} |`);
    }
    L.push('');
    if (footnotes.length > notesBefore) {
      footnotes.slice(notesBefore).forEach((n, k) => L.push(`[${notesBefore + k + 1}] ${n.replace(/\|/g, '\\|')}  `));
      L.push('');
    }
    const s1 = cfgs.some((c) => c.stream) ? ' (S1: over the first 20 steps)' : '';
    L.push(`Max abs difference of each output vs lstm-runtime native${refNote}, checked before timing${s1}:`);
    L.push('');
    L.push(`| backend | ${cfgs.map((c) => c.id).join(' | ')} |`);
    L.push(`|---|${cfgs.map(() => '---').join('|')}|`);
    for (const row of rows) {
      L.push(`| ${row.label} | ${cfgs.map((c) => (row.cells[c.id]?.maxAbsDiff !== undefined ? fmtDiff(row.cells[c.id].maxAbsDiff) : '–')).join(' | ')} |`);
    }
    L.push('');
  }
  const impls = Object.values(results)
    .map((row) => {
      const impls = [...new Set(configs.map((c) => row.cells[c.id]?.impl).filter(Boolean))];
      if (!impls.length) return null;
      if (impls.length === 1) return `- ${row.label}: ${impls[0]}`;
      const by = impls.map((impl) => `${configs.filter((c) => row.cells[c.id]?.impl === impl).map((c) => c.id).join(',')}: ${impl}`);
      return `- ${row.label}: ${by.join('; ')}`;
    })
    .filter(Boolean);
  if (impls.length) L.push('What ran:', '', ...impls, '');
  L.push(`Not benchmarked: ${machine.notAvailable.join('; ')}.`);
  L.push('');
  return L.join('\n');
}

/** The configurations split by TABLES, in order, empty groups left out. */
function tableGroups(configs) {
  return TABLES.map((t) => ({ title: t.title, configs: configs.filter(t.test) })).filter((g) => g.configs.length);
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bars of speedup vs onnxruntime-node 1 thread, log scale, one group per configuration. */
function svgChart(report) {
  const { configs, results } = report;
  const rows = Object.values(results);
  const ratios = [];
  for (const cfg of configs) for (const row of rows) if (row.cells[cfg.id]?.vsOrtNode1t) ratios.push(row.cells[cfg.id].vsOrtNode1t);
  let lo = Math.floor(Math.log10(Math.min(0.1, ...ratios)));
  let hi = Math.ceil(Math.log10(Math.max(10, ...ratios)));
  if (hi - lo < 2) hi = lo + 2;
  const W = 980, left = 350, right = 90, barH = 14, gap = 4, groupGap = 28, top = 56;
  const plotW = W - left - right;
  const x = (v) => left + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  // Per configuration, the rows that have a cell there (the G/B configurations have fewer rows).
  const rowsOf = (cfg) => rows.filter((row) => row.cells[cfg.id]);
  const groupTop = [];
  let y0 = top;
  for (const cfg of configs) {
    groupTop.push(y0);
    y0 += rowsOf(cfg).length * (barH + gap) + groupGap;
  }
  const H = y0 + 30;
  const color = (row) => (row.group === 'lstm-runtime' ? '#2563eb' : row.id === BASELINE ? '#6b7280' : '#f59e0b');
  const o = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Speedup vs onnxruntime-node (1 thread), log scale: &gt; 1× is faster (${esc(report.mode.quick ? 'quick mode' : 'full run')}, ${esc(report.date.slice(0, 10))})</text>`);
  o.push(`<text x="${W / 2}" y="36" text-anchor="middle" fill="#555">${esc(report.machine.cpu)}, Node ${esc(report.machine.node)}; blue = lstm-runtime, orange = peers, grey = baseline</text>`);
  const gridBottom = H - 30;
  for (let p = lo; p <= hi; p++) {
    const v = 10 ** p;
    const gx = x(v).toFixed(1);
    o.push(`<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${gridBottom}" stroke="${p === 0 ? '#111' : '#ddd'}" stroke-width="${p === 0 ? 1.5 : 1}"/>`);
    o.push(`<text x="${gx}" y="${gridBottom + 14}" text-anchor="middle" fill="#333">${v >= 1 ? v : v.toPrecision(1)}×</text>`);
  }
  configs.forEach((cfg, g) => {
    const gy = groupTop[g];
    const title = `${cfg.id} ${cfg.name}: ${kindOf(cfg) === 'gru' ? 'GRU, ' : kindOf(cfg) === 'bilstm' ? 'bidirectional LSTM (concat), ' : ''}B${cfg.B} T${cfg.T} I${cfg.I} U${cfg.U}`;
    o.push(`<text x="8" y="${gy + 2}" font-weight="bold" font-size="12">${esc(title)}</text>`);
    rowsOf(cfg).forEach((row, k) => {
      const y = gy + 8 + k * (barH + gap);
      const cell = row.cells[cfg.id];
      o.push(`<text x="${left - 6}" y="${y + barH - 3}" text-anchor="end">${esc(row.label)}</text>`);
      if (cell?.vsOrtNode1t) {
        const v = cell.vsOrtNode1t;
        const x0 = x(10 ** lo);
        const x1 = x(Math.max(v, 10 ** lo));
        o.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${barH}" fill="${color(row)}"/>`);
        o.push(`<text x="${(x1 + 4).toFixed(1)}" y="${y + barH - 3}">${esc(fmtRatio(v))} (${esc(fmtUs(cell.medianUs))})</text>`);
      } else {
        const why = !cell ? 'not run' : cell.status === 'ok' ? 'no baseline' : (cell.note ?? cell.status);
        o.push(`<text x="${x(10 ** lo) + 4}" y="${y + barH - 3}" fill="#999" font-style="italic">${esc(why.length > 80 ? why.slice(0, 77) + '...' : why)}</text>`);
      }
    });
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Main

function writeReports(report, out) {
  fs.writeFileSync(path.join(out, 'latest.md'), markdown(report));
  fs.writeFileSync(path.join(out, 'latest.svg'), svgChart(report));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.from) {
    // Re-render latest.md and latest.svg from a saved results JSON, without benchmarking.
    const report = JSON.parse(fs.readFileSync(opts.from, 'utf8'));
    fs.mkdirSync(opts.out, { recursive: true });
    writeReports(report, opts.out);
    process.stdout.write(markdown(report));
    return;
  }
  const configs = opts.configs ? CONFIGS.filter((c) => opts.configs.includes(c.id)) : CONFIGS;
  if (!configs.length) throw new Error(`no configuration matches ${opts.configs}`);
  const runners = opts.only ? RUNNERS.filter((r) => opts.only.includes(r.id)) : RUNNERS;
  if (!runners.length) throw new Error(`no backend matches ${opts.only}; known: ${RUNNERS.map((r) => r.id).join(', ')}`);
  const mode = opts.quick
    ? { quick: true, iterations: 5, warmups: 2, rounds: 1, timeMs: 150, skipMs: 500, s1Steps: 200 }
    : { quick: false, iterations: 20, warmups: 3, rounds: 5, timeMs: 1000, skipMs: 2000, s1Steps: 1000 };

  const machine = await machineInfo();
  progress(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadavgAtStart.join(' ')}; ${mode.quick ? 'quick' : 'full'} mode`);
  const results = {};
  for (const r of runners) results[r.id] = { id: r.id, label: r.label, group: r.group, cells: {} };

  const references = {};
  for (const cfg of configs) {
    const data = makeData(cfg, mode.quick);
    // Reference: lstm-runtime native, full sequence (for S1 the step inputs as one sequence);
    // the js backend if native cannot run (said in the report).
    let ref;
    for (const backend of ['native', 'js']) {
      const { I, B, T } = cfg;
      try {
        const layer = await createLayer(cfg, data, { backend });
        ref = cfg.stream ? layer.forward({ data: data.xs, shape: [1, data.steps, I] }).output.data.slice() : layer.forward({ data: data.x, shape: [B, T, I] }).output.data.slice();
        layer.dispose();
        references[cfg.id] = backend;
        break;
      } catch (e) {
        progress(`${cfg.id}: reference on ${backend} failed: ${errMsg(e)}`);
      }
    }
    if (!ref) throw new Error(`${cfg.id}: no lstm-runtime backend could compute the reference output`);
    const prepared = [];
    for (const runner of runners) {
      if (runner.applies && !runner.applies(cfg)) continue; // no cell: left out of that configuration's table
      progress(`${cfg.id} ${runner.id}: setting up and checking ...`);
      prepared.push({ runner, ...(await prepareCell(runner, cfg, data, ref, mode)) });
    }
    progress(`${cfg.id}: timing ${prepared.filter((p) => p.r).length} runners in ${mode.rounds} interleaved rounds ...`);
    await timeRounds(prepared, cfg, data, mode);
    for (const { runner, cell } of prepared) {
      results[runner.id].cells[cfg.id] = cell;
      const diff = cell.maxAbsDiff !== undefined ? `maxdiff ${fmtDiff(cell.maxAbsDiff)}` : '';
      progress(`${cfg.id} ${runner.id}: ${cell.status === 'ok' ? `${fmtUs(cell.medianUs)} (${cell.gflops.toFixed(2)} GFLOP/s, ${cell.samples} samples)` : cell.note} ${diff}`);
    }
  }
  addRatios(results, configs);

  const date = new Date().toISOString();
  const report = {
    date,
    mode: { ...mode, s1Timing: `${mode.s1Steps}-step loops with state carried (reset at loop start), median loop time / ${mode.s1Steps}` },
    flopsFormula: `per call, matmuls only: LSTM ${FLOPS_FORMULA.lstm}, GRU ${FLOPS_FORMULA.gru}, bidirectional LSTM ${FLOPS_FORMULA.bilstm}`,
    machine,
    configs,
    baseline: BASELINE,
    reference: references,
    results,
  };
  fs.mkdirSync(opts.out, { recursive: true });
  const stamp = date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const jsonPath = path.join(opts.out, `${stamp}${mode.quick ? '-quick' : ''}.json`);
  fs.writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  writeReports(report, opts.out);
  process.stdout.write(markdown(report));
  progress(`wrote ${path.relative(process.cwd(), jsonPath)}, latest.md, latest.svg`);
}

main().then(
  () => process.exit(0), // onnxruntime-web / tfjs keep handles open
  (e) => {
    console.error(e?.stack ?? e);
    process.exit(1);
  },
);
