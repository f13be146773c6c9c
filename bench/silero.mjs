// Silero VAD (the 16 kHz ONNX model of ../shared), one 512-sample chunk with its state per call, as
// a voice-activity detector streams it: lstm-runtime's backends against onnxruntime-node and
// onnxruntime-web (wasm, one thread) in the same run, interleaved. Every runtime first streams the
// 12 s test audio of test/fixtures/silero and must agree with onnxruntime's probabilities (1e-4);
// then each round times one call of each, in turn. Last, what a browser downloads for each: the
// WebAssembly and the JavaScript that runs it, raw and gzipped.
//
//   npm run build:ts && node bench/silero.mjs [rounds]      (after `npm install` in bench/)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { loadOnnxGraph } from '../dist/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..');
const MODEL = path.join(ROOT, '..', 'shared', 'fixtures', 'models', 'onnx_silero_vad_16k_op15', 'silero_vad_16k_op15.onnx');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'silero');
if (!fs.existsSync(MODEL)) {
  console.error(`silero.mjs: the Silero model is not at ${MODEL}`);
  process.exit(2);
}
const rounds = Number(process.argv[2] ?? 3000);
const WARMUP_CALLS = 500;
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8'));
const pcm = fs.readFileSync(path.join(FIXTURE, 'speech-noise-16k.pcm'));
const samples = Float32Array.from({ length: pcm.length / 2 }, (_, k) => pcm.readInt16LE(2 * k) / 32768);
const { chunk: CHUNK, context: CONTEXT, rate: RATE } = expected;
const chunks = expected.probabilities.length;
/** The k-th call's input: the chunk behind the previous chunk's last 64 samples (wrapping around the audio). */
const inputs = Array.from({ length: chunks }, (_, k) => {
  const x = new Float32Array(CONTEXT + CHUNK);
  if (k > 0) x.set(samples.subarray(k * CHUNK - CONTEXT, k * CHUNK));
  x.set(samples.subarray(k * CHUNK, (k + 1) * CHUNK), CONTEXT);
  return x;
});

/** A runtime: `reset()` zeroes its state, `step(x)` runs one chunk and returns the probability. */
async function lstmRuntime(backend) {
  const model = await loadOnnxGraph(MODEL, { backend });
  let state;
  return {
    label: `lstm-runtime ${model.layers[0].backend}`,
    reset: () => (state = { data: new Float32Array(256), shape: [2, 1, 128] }),
    step: (x) => {
      const { outputs } = model.forward({ input: { data: x, shape: [1, x.length] }, state, sr: RATE });
      state = outputs.stateN;
      return outputs.output.data[0];
    },
  };
}

async function onnxruntime(ort, label, options) {
  const session = await ort.InferenceSession.create(MODEL, options);
  const sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(RATE)), []);
  let state;
  return {
    label,
    reset: () => (state = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128])),
    step: async (x) => {
      const r = await session.run({ input: new ort.Tensor('float32', x, [1, x.length]), state, sr });
      state = r.stateN;
      return r.output.data[0];
    },
  };
}

const version = (name) => JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
const ortNode = (await import('onnxruntime-node')).default;
const ortWeb = await import('onnxruntime-web');
ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;
ortWeb.env.logLevel = 'error';

const runtimes = [
  await lstmRuntime('native'),
  await lstmRuntime('wasm-simd'),
  await onnxruntime(ortNode, `onnxruntime-node ${version('onnxruntime-node')} (cpu, 1 thread)`, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' }),
  await onnxruntime(ortWeb, `onnxruntime-web ${version('onnxruntime-web')} (wasm, 1 thread)`, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }),
];

// Agreement first: the whole audio, chunk by chunk, against onnxruntime's probabilities from Python.
for (const r of runtimes) {
  r.reset();
  let worst = 0;
  for (let k = 0; k < chunks; k++) worst = Math.max(worst, Math.abs((await r.step(inputs[k])) - expected.probabilities[k]));
  if (!(worst <= 1e-4)) throw new Error(`${r.label} differs from onnxruntime by ${worst} on the test audio`);
  r.worst = worst;
}

// Then time: warm-up calls, then rounds in which each runtime runs one call in turn.
const times = runtimes.map(() => []);
for (const r of runtimes) {
  r.reset();
  for (let k = 0; k < WARMUP_CALLS; k++) await r.step(inputs[k % chunks]);
}
for (let round = 0; round < rounds; round++) {
  const x = inputs[round % chunks];
  for (const [j, r] of runtimes.entries()) {
    const t0 = performance.now();
    await r.step(x);
    times[j].push(performance.now() - t0);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const medians = times.map(median);
const [ortNodeMs, ortWebMs] = [medians[2], medians[3]];
console.log(`Silero VAD v5 16 kHz, one 512-sample chunk with state per call; median of ${rounds} interleaved calls after ${WARMUP_CALLS} warm-up calls each\n`);
console.log('| runtime | median per chunk | vs onnxruntime-node | vs onnxruntime-web | max |p - onnxruntime| on the test audio |');
console.log('|---|---:|---:|---:|---:|');
runtimes.forEach((r, j) => {
  const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
  console.log(`| ${r.label} | ${us(medians[j])} | ${(ortNodeMs / medians[j]).toFixed(2)}x | ${(ortWebMs / medians[j]).toFixed(2)}x | ${r.worst.toExponential(1)} |`);
});

// What a page downloads to run the model: our browser entry bundled with what loadOnnxGraph loads
// (esbuild, minified, every lazy chunk counted) and one WebAssembly module, against onnxruntime-web's
// ESM entry, its glue and its SIMD module. The model file itself is the same for both.
const tmp = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'silero-bench-'));
try {
  fs.writeFileSync(path.join(tmp, 'page.mjs'), `import { loadOnnxGraph } from ${JSON.stringify(path.join(ROOT, 'dist', 'browser.js'))};\nglobalThis.run = loadOnnxGraph;\n`);
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'esbuild'), [path.join(tmp, 'page.mjs'), '--bundle', '--minify', '--splitting', '--format=esm', '--platform=browser', `--outdir=${path.join(tmp, 'out')}`, '--external:h5wasm', '--log-level=error']);
  const ours = [...fs.readdirSync(path.join(tmp, 'out')).map((f) => path.join(tmp, 'out', f)), path.join(ROOT, 'wasm', 'dist', 'lstm-simd.wasm')];
  const ortDist = path.join(HERE, 'node_modules', 'onnxruntime-web', 'dist');
  const theirs = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].map((f) => path.join(ortDist, f));
  const size = (files) => files.reduce((s, f) => ({ raw: s.raw + fs.statSync(f).size, gzip: s.gzip + gzipSync(fs.readFileSync(f), { level: 9 }).length }), { raw: 0, gzip: 0 });
  const [a, b] = [size(ours), size(theirs)];
  const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
  console.log('\n| download | raw | gzip | files |');
  console.log('|---|---:|---:|---|');
  console.log(`| lstm-runtime (browser entry + lstm-simd.wasm) | ${mb(a.raw)} | ${mb(a.gzip)} | ${ours.length} |`);
  console.log(`| onnxruntime-web (ort.wasm.min.mjs + glue + SIMD wasm) | ${mb(b.raw)} | ${mb(b.gzip)} | ${theirs.map((f) => path.basename(f)).join(', ')} |`);
  console.log(`\nlstm-runtime downloads ${((100 * a.raw) / b.raw).toFixed(1)}% of onnxruntime-web's bytes (${((100 * a.gzip) / b.gzip).toFixed(1)}% gzipped).`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`\n${process.version}, ${process.arch}`);
process.exit(0); // onnxruntime-web keeps handles open
