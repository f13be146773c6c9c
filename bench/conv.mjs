// The 1-D convolution (native/kernel/conv1d.inl) on every backend at CNN-front-end sizes, after
// checking each agrees with the js backend within 1e-5: the median time per call over interleaved
// rounds, and GFLOP/s. No peers: it imports the repository's dist/.
//
//   npm run build:ts && node bench/conv.mjs [rounds]
import { backends, Conv1D } from '../dist/index.js';
import { interleavedMedians } from './interleave.mjs';

// name: [batch, steps, C_in, C_out, kernel, strides, dilation, groups, padding]
const CONFIGS = {
  'C1 audio front end': [1, 1000, 64, 64, 5, 1, 1, 1, 'same'],
  'C2 causal dilated': [1, 1000, 64, 64, 3, 1, 4, 1, 'causal'],
  'C3 strided, wide': [8, 400, 40, 128, 8, 4, 1, 1, 'valid'],
  'C4 depthwise': [1, 1000, 128, 128, 5, 1, 1, 128, 'same'],
};
const WARMUP_MS = 500;
const rounds = Number(process.argv[2] ?? 21);
const runnable = (await backends()).filter((b) => b.available && !(b.name === 'wasm-relaxed' && !process.execArgv.includes('--experimental-wasm-relaxed-simd') && Number(process.versions.node.split('.')[0]) < 22));
const names = runnable.map((b) => b.name);

let seed = 1;
const uniform = (lo, hi) => lo + (hi - lo) * ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

console.log(`${process.version}, ${rounds} interleaved rounds, backends ${names.join(', ')}`);
for (const [id, [B, T, I, O, K, strides, dilationRate, groups, padding]] of Object.entries(CONFIGS)) {
  const kernel = { data: Float32Array.from({ length: K * (I / groups) * O }, () => uniform(-0.1, 0.1)), shape: [K, I / groups, O] };
  const bias = Float32Array.from({ length: O }, () => uniform(-0.1, 0.1));
  const input = { data: Float32Array.from({ length: B * T * I }, () => uniform(-1, 1)), shape: [B, T, I] };
  const layers = await Promise.all(names.map((backend) => Conv1D.create({ kernel, bias, strides, dilationRate, groups, padding, activation: 'relu', backend })));
  const outputs = layers.map((l) => l.forward(input).output.data);
  const reference = outputs[names.indexOf('js')];
  outputs.forEach((out, k) => {
    const worst = out.reduce((m, v, j) => Math.max(m, Math.abs(v - reference[j]) - 1e-5 * Math.abs(reference[j])), 0);
    if (worst > 1e-5) throw new Error(`${id}: ${names[k]} differs from js by ${worst}`);
  });
  const medians = interleavedMedians(layers.map((layer) => () => layer.forward(input)), { warmupMs: WARMUP_MS, rounds });
  const To = layers[0].outputSteps(T);
  const flops = 2 * B * To * O * K * (I / groups);
  const cells = layers.map((l, k) => `${l.backend} ${medians[k].toFixed(3)} ms (${(flops / medians[k] / 1e6).toFixed(1)} GF/s)`);
  console.log(`${id} (B${B} T${T} ${I}->${O} K${K} s${strides} d${dilationRate} g${groups} ${padding}): ${cells.join('; ')}`);
  for (const layer of layers) layer.dispose();
}
