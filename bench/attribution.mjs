// Integrated gradients (50 Gauss-Legendre steps) on the Nietzsche model of ../shared, one window of
// 40 characters: lstm-runtime's attribute() on each backend against the same method computed with
// TF.js' own gradients (tf.grad over the model's apply, all 50 interpolations in one batch), on
// TF.js' cpu and wasm backends. The scores are checked to agree before anything is timed.
//
//   node attribution.mjs       (after `npm install` here and a build at the root)
import path from 'node:path';
import { Bench } from 'tinybench';
import { attribute, loadModel } from 'lstm-runtime';
// The quadrature attribute() uses, for TF.js to integrate on the same nodes.
import { gaussLegendre } from '../dist/explain/attribute.js';
import { chars as vocabulary, loadTfjs, MODEL, requireModel } from './nietzsche.mjs';
import { fromDisk } from './tfjs-from-disk.mjs';

requireModel('attribution.mjs');
const tf = await loadTfjs();

const STEPS = 50;
const chars = vocabulary();
const V = Object.keys(chars).length;
const text = 'supposing that truth is a woman--what then? is there not groun';
const x = new Float32Array(40 * V);
for (let t = 0; t < 40; t++) x[t * V + chars[text[t]]] = 1;
const input = { data: x, shape: [1, 40, V] };

const target = 0;
const ours = {};
const bench = new Bench({ time: 1000, warmupIterations: 3, iterations: 10 });
for (const backend of ['native', 'wasm-simd', 'js']) {
  const model = await loadModel(path.join(MODEL, 'model.json'), { backend });
  const run = () => attribute(model, input, { method: 'integrated-gradients', target, steps: STEPS });
  ours[backend] = (await run()).scores.data;
  bench.add(`lstm-runtime ${model.layers[0].backend}`, run);
}

const { nodes, weights } = gaussLegendre(STEPS);
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  const model = await tf.loadLayersModel(fromDisk(path.join(MODEL, 'model.json')));
  const xs = tf.tensor(x, [1, 40, V]);
  const alphas = tf.tensor(Array.from(nodes), [STEPS, 1, 1]);
  const w = tf.tensor(Array.from(weights), [STEPS, 1, 1]);
  const grad = tf.grad((path) => model.apply(path).slice([0, target], [STEPS, 1]).sum());
  const ig = () => tf.tidy(() => xs.mul(grad(alphas.mul(xs)).mul(w).sum(0, true))).dataSync();
  const scores = ig();
  const worst = scores.reduce((m, v, k) => Math.max(m, Math.abs(v - ours.native[k]) - 1e-2 * Math.abs(v)), 0);
  if (!(worst < 1e-3)) throw new Error(`TF.js ${backend} integrated gradients differ from lstm-runtime's by ${worst} beyond 1e-2 rel`);
  console.error(`TF.js ${backend} agrees with lstm-runtime within 1e-3 + 1e-2 rel`);
  bench.add(`TF.js ${tf.version.tfjs} ${backend} (tf.grad)`, ig, { beforeAll: async () => tf.setBackend(backend) });
}
await bench.run();
const median = (name) => bench.tasks.find((t) => t.name.startsWith(name)).result.latency.p50;
const fastestTf = Math.min(median('TF.js') , ...bench.tasks.filter((t) => t.name.startsWith('TF.js')).map((t) => t.result.latency.p50));
console.log(`Integrated gradients, ${STEPS} steps, Nietzsche model, one 40-character window\n`);
console.log('| runtime | median | vs fastest TF.js |\n|---|---|---|');
for (const task of bench.tasks) {
  const p50 = task.result.latency.p50;
  console.log(`| ${task.name} | ${p50.toFixed(1)} ms | ${(fastestTf / p50).toFixed(fastestTf / p50 < 1 ? 2 : 1)}× |`);
}
process.exit(0); // tfjs' wasm backend keeps handles open
