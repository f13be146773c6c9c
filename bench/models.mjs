// A real trained model, one file, two runtimes: the Nietzsche text generator of ../shared (a
// TF.js model.json trained in Keras 2.1.5: LSTM(128, hard_sigmoid) -> Dense(57) -> softmax) loaded
// by lstm-runtime's loadModel and by TF.js' own loadLayersModel, checked to agree, then timed on
// the same one-hot windows of 40 characters, one window and a batch of 64.
//
//   node models.mjs            (after `npm install` here and a build at the root)
import path from 'node:path';
import { Bench } from 'tinybench';
import { loadModel } from 'lstm-runtime';
import { chars as vocabulary, loadTfjs, MODEL, requireModel } from './nietzsche.mjs';
import { fromDisk } from './tfjs-from-disk.mjs';

requireModel('models.mjs');
const tf = await loadTfjs();
const chars = vocabulary();
const V = Object.keys(chars).length;
const text = 'supposing that truth is a woman--what then? is there not ground for suspecting that all philosophers, in so far as they have been dogmatists, have failed to understand women';
/** B one-hot windows of 40 characters, as a flat [B, 40, V] Float32Array. */
function windows(B) {
  const x = new Float32Array(B * 40 * V);
  for (let b = 0; b < B; b++) for (let t = 0; t < 40; t++) x[(b * 40 + t) * V + chars[text[(b * 3 + t) % text.length]]] = 1;
  return x;
}

const rows = [];
for (const B of [1, 64]) {
  const x = windows(B);
  const shape = [B, 40, V];
  const results = {};
  let reference = null;
  const bench = new Bench({ time: 400, warmupIterations: 3, iterations: 20 });
  for (const backend of ['native', 'wasm-simd']) {
    const model = await loadModel(path.join(MODEL, 'model.json'), { backend });
    const run = () => model.forward({ data: x, shape }).output.data;
    reference ??= run();
    bench.add(`lstm-runtime ${model.layers[0].backend}`, run);
  }
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const model = await tf.loadLayersModel(fromDisk(path.join(MODEL, 'model.json')));
    const input = tf.tensor(x, shape);
    const out = model.predict(input).dataSync();
    const worst = out.reduce((w, v, k) => Math.max(w, Math.abs(v - reference[k])), 0);
    if (!(worst < 1e-4)) throw new Error(`TF.js ${backend} differs from lstm-runtime by ${worst}`);
    results[`tfjs-${backend}`] = worst;
    bench.add(`TF.js ${tf.version.tfjs} ${backend}`, () => model.predict(input).dataSync(), { beforeAll: async () => tf.setBackend(backend) });
  }
  await bench.run();
  const tfjsWasm = bench.tasks.find((t) => t.name.endsWith(' wasm') && t.name.startsWith('TF.js')).result.latency.p50;
  for (const task of bench.tasks) {
    const p50 = task.result.latency.p50;
    rows.push(`| ${B} | ${task.name} | ${(p50 * 1000).toFixed(0)} µs | ${(tfjsWasm / p50).toFixed(tfjsWasm / p50 < 1 ? 2 : 1)}× |`);
  }
  console.error(`batch ${B}: TF.js agrees with lstm-runtime within ${Math.max(...Object.values(results)).toExponential(1)}`);
}
console.log('| batch | runtime | median per predict | vs TF.js wasm |\n|---|---|---|---|\n' + rows.join('\n'));
process.exit(0); // tfjs' wasm backend keeps handles open
