// What the benchmarks on the Nietzsche model of ../shared share: where it is (or exit 2 saying
// where it was looked for), TF.js with its wasm backend, and the model's vocabulary.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'fixtures', 'models', 'tfjs_lstm_text_generation_nietzsche');

/** Exits 2 when the model is not beside the checkout; `script` names the benchmark in the message. */
export function requireModel(script) {
  if (!fs.existsSync(path.join(MODEL, 'model.json'))) {
    console.error(`${script}: the Nietzsche model is not at ${MODEL}`);
    process.exit(2);
  }
}

/** TF.js and its wasm backend; tfjs prints a banner suggesting tfjs-node on first use, kept off stdout. */
export async function loadTfjs() {
  const log = console.log;
  console.log = (...a) => (String(a[0]).includes('tfjs-node') ? undefined : log(...a));
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  console.log = log;
  return tf;
}

/** The model's vocabulary { char: index }. */
export const chars = () => JSON.parse(fs.readFileSync(path.join(MODEL, 'char_indices.json'), 'utf8'));
