// TF.js' own predictions for the TF.js-format models the tests load: the models written by
// scripts/gen_keras_models.py and the real Nietzsche text generator in ../shared. TF.js is the
// oracle for its format (its hard_sigmoid is 0.2x + 0.5, Keras 3's is x/6 + 0.5).
//
//   npm --prefix bench install && node scripts/gen_tfjs_golden.mjs
//
// Writes test/fixtures/models/tfjs-golden.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'bench', 'package.json'));
const tf = require('@tensorflow/tfjs');
const { fromDisk } = await import(join(root, 'bench', 'tfjs-from-disk.mjs'));
await tf.setBackend('cpu');

async function predict(modelJson, input) {
  const model = await tf.loadLayersModel(fromDisk(modelJson));
  const y = model.predict(tf.tensor(input));
  return { shape: y.shape, output: Array.from(await y.data()) };
}

const out = { tfjs_version: tf.version.tfjs, models: {} };
const keras = join(root, 'test', 'fixtures', 'models', 'keras');
const golden = JSON.parse(readFileSync(join(keras, 'golden.json'), 'utf8'));
for (const [name, { input, formats }] of Object.entries(golden)) {
  if (formats && !formats.includes('.tfjs')) continue;
  try {
    out.models[`keras/${name}.tfjs/model.json`] = { input, ...(await predict(join(keras, `${name}.tfjs`, 'model.json'), input)) };
  } catch (error) {
    // TF.js refuses some valid models (a GRU with reset_after, Keras' default since 2.3): the
    // test then expects what Keras computes.
    out.models[`keras/${name}.tfjs/model.json`] = { refused: error.message };
  }
}

// Quantized weights: TF.js dequantizes them itself.
const quantized = `keras/options.tfjs-quantized/model.json`;
out.models[quantized] = { input: golden.options.input, ...(await predict(join(keras, 'options.tfjs-quantized', 'model.json'), golden.options.input)) };

// A model saved by TF.js itself (its own weight names and topology), masked through a
// Bidirectional: TF.js repeats the previous output at masked steps where Keras writes zeros.
{
  const L = tf.layers;
  const model = tf.sequential({
    layers: [
      L.masking({ maskValue: 0, inputShape: [6, 3] }),
      L.gru({ units: 3, returnSequences: true, goBackwards: true }),
      // Its masked steps' outputs reach the model's output through the Dense.
      L.bidirectional({ layer: L.lstm({ units: 4, returnSequences: true, recurrentActivation: 'hardSigmoid' }), mergeMode: 'concat' }),
      L.timeDistributed({ layer: L.dense({ units: 2, activation: 'softmax' }) }),
    ],
  });
  let seed = 11;
  const next = () => ((seed = (seed * 1664525 + 1013904223) >>> 0), seed / 2 ** 32);
  model.setWeights(model.getWeights().map((w) => tf.tensor(Array.from({ length: w.size }, () => 1.2 * next() - 0.6), w.shape)));
  const input = [0, 1].map((b) => Array.from({ length: 6 }, (_, t) => ((b === 0 && t >= 4) || (b === 1 && t === 2) ? [0, 0, 0] : [0, 1, 2].map(() => 3 * next() - 1.5))));
  const folder = join(root, 'test', 'fixtures', 'models', 'tfjs-saved');
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'weights.bin'), Buffer.from(artifacts.weightData));
    writeFileSync(join(folder, 'model.json'), JSON.stringify({ format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`, convertedBy: null,
      modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }));
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  const y = model.predict(tf.tensor(input));
  out.models['tfjs-saved/model.json'] = { input, shape: y.shape, output: Array.from(await y.data()) };
}

// The Nietzsche model: one-hot windows of 40 characters of real text.
const nietzsche = join(root, '..', 'shared', 'fixtures', 'models', 'tfjs_lstm_text_generation_nietzsche');
const chars = JSON.parse(readFileSync(join(nietzsche, 'char_indices.json'), 'utf8'));
const text = 'supposing that truth is a woman--what then? is there not ground for suspecting that all philosophers';
const windows = [0, 17, 51].map((start) => [...text.slice(start, start + 40)].map((ch) => {
  const row = new Array(Object.keys(chars).length).fill(0);
  row[chars[ch]] = 1;
  return row;
}));
out.models.nietzsche = { input: windows, ...(await predict(join(nietzsche, 'model.json'), windows)) };
writeFileSync(join(root, 'test', 'fixtures', 'models', 'tfjs-golden.json'), JSON.stringify(out));
console.log(Object.entries(out.models).map(([k, v]) => `${k} ${v.refused ?? JSON.stringify(v.shape)}`).join('\n'));
