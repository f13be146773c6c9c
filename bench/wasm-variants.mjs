// The relaxed-SIMD WebAssembly build against the SIMD128 one on S2-S5 (shared/bench/CONFIGS.md),
// interleaved: each round times one call of each, in turn, so both see the same machine. Prints
// the median time per call, GFLOP/s and the ratio, after checking the two agree within 1e-5.
//
//   npm run build:ts && node --experimental-wasm-relaxed-simd bench/wasm-variants.mjs [rounds]
//   (Node >= 22 runs relaxed SIMD without the flag)
import { backends, Lstm } from '../dist/index.js';
import { interleavedMedians } from './interleave.mjs';

const CONFIGS = { S2: [1, 100, 32, 64], S3: [1, 100, 256, 256], S4: [1, 50, 512, 1024], S5: [64, 50, 128, 256] }; // B, T, I, U
const VARIANTS = ['wasm-relaxed', 'wasm-simd'];
// V8 runs a module's first calls on its baseline compiler while the optimizing one works in the
// background (slower on a busy machine): each layer warms up for at least this long.
const WARMUP_MS = 1000;
const rounds = Number(process.argv[2] ?? 41);

const relaxed = (await backends()).find((b) => b.name === 'wasm-relaxed');
if (!relaxed?.available) {
  console.error(`wasm-relaxed is unavailable: ${relaxed?.reason}${relaxed?.fix ? ` (${relaxed.fix})` : ''}`);
  process.exit(1);
}

// Weights uniform in [-0.1, 0.1] and inputs in [-1, 1] from a fixed seed, as CONFIGS.md says.
let seed = 1;
const uniform = (lo, hi) => lo + (hi - lo) * ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const matrix = (rows, cols, lo, hi) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => uniform(lo, hi)));

console.log(`${process.version}, ${rounds} interleaved rounds after ${WARMUP_MS} ms of warm-up calls per build`);
for (const [id, [B, T, I, U]] of Object.entries(CONFIGS)) {
  const weights = { kernel: matrix(I, 4 * U, -0.1, 0.1), recurrentKernel: matrix(U, 4 * U, -0.1, 0.1), bias: matrix(1, 4 * U, -0.1, 0.1)[0] };
  const input = Array.from({ length: B }, () => matrix(T, I, -1, 1));
  const layers = await Promise.all(VARIANTS.map((backend) => Lstm.create({ weights, returnSequences: true, backend })));
  const [a, b] = layers.map((l) => l.forward(input).output.data);
  const worst = a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k]) - 1e-5 * Math.abs(b[k])), 0);
  if (worst > 1e-5) throw new Error(`${id}: the two builds differ by ${worst} beyond 1e-5 relative`);
  const medians = interleavedMedians(layers.map((layer) => () => layer.forward(input)), { warmupMs: WARMUP_MS, rounds });
  const flops = 2 * B * T * 4 * U * (I + U);
  const [relaxedMs, simdMs] = medians;
  const cell = (name, ms) => `${name} ${(ms * 1000).toFixed(0)} µs, ${(flops / ms / 1e6).toFixed(1)} GF/s`;
  console.log(`${id} (B${B} T${T} I${I} U${U}): ${cell('wasm-relaxed', relaxedMs)}; ${cell('wasm-simd', simdMs)}; relaxed ${(simdMs / relaxedMs).toFixed(2)}x`);
  for (const layer of layers) layer.dispose();
}
