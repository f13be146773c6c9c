// textgenrnn's whole model (github.com/minimaxir/textgenrnn, MIT) as a graph: its pretrained
// weights file holds weights only (Keras 2.1.5 save_weights of CuDNNLSTM layers), so the graph is
// built here as textgenrnn's model.py builds it, from the layers readKerasLayers reads, with its
// AttentionWeightedAverage written as a custom layer:
//
//   input (40 ids) -> embedding -> rnn_1 (LSTM) -> rnn_2 (LSTM)
//   concatenate [embedding, rnn_1, rnn_2] -> attention -> output (Dense softmax over 465 chars)
//
// node examples/textgenrnn.mjs [weights folder] [--prompt text] [--chars n] [--temperature t] [--backend b]
// node examples/textgenrnn.mjs [weights folder] --json prompt... (next-char probabilities, for the tests)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dense, Embedding, Lstm, Merge, Model, readKerasLayers } from 'lstm-runtime';

const MAX_LENGTH = 40; // textgenrnn's max_length: the last 40 characters, left-padded with id 0

/**
 * textgenrnn's AttentionWeightedAverage: a weight per step, softmax(x_t . W) over the steps (masked
 * steps left out), and the weighted average of the steps. [batch, steps, F] -> [batch, F].
 */
export function attentionWeightedAverage(W, name = 'attention') {
  return {
    name,
    forward(x, { mask } = {}) {
      const [B, T, F] = x.shape;
      const out = new Float32Array(B * F);
      for (let b = 0; b < B; b++) {
        const logits = new Float64Array(T);
        for (let t = 0; t < T; t++) {
          let s = 0;
          for (let f = 0; f < F; f++) s += x.data[(b * T + t) * F + f] * W.data[f];
          logits[t] = s;
        }
        const max = Math.max(...logits);
        const a = logits.map((l, t) => (mask && !mask[b * T + t] ? 0 : Math.exp(l - max)));
        const sum = a.reduce((s, v) => s + v, 0) + 1e-7; // Keras' epsilon, as textgenrnn adds it
        for (let t = 0; t < T; t++) {
          for (let f = 0; f < F; f++) out[b * F + f] += (a[t] / sum) * x.data[(b * T + t) * F + f];
        }
      }
      return { data: out, shape: [B, F] };
    },
  };
}

/** The model from textgenrnn_weights.hdf5, every layer by the name the file gives it. */
export async function textgenrnn(weightsFile, backend) {
  const layers = new Map((await readKerasLayers(weightsFile)).map((l) => [l.name, l]));
  const get = (name) => layers.get(name) ?? (() => { throw new Error(`${weightsFile}: no layer '${name}'`); })();
  // Weights only: what the file cannot say (sequences returned, the softmax) is model.py's.
  const lstm = (name) => Lstm.create({ weights: get(name).weights, ...get(name).options, returnSequences: true, ...(backend && { backend }) });
  const { weights: embeddings, options: embeddingOptions } = get('embedding');
  const output = get('output');
  return Model.create({
    inputs: ['input'],
    nodes: [
      { layer: await Embedding.create({ ...embeddings, ...embeddingOptions }), inputs: 'input' },
      { layer: await lstm('rnn_1'), inputs: 'embedding' },
      { layer: await lstm('rnn_2'), inputs: 'rnn_1' },
      { layer: await Merge.create({ op: 'concatenate', name: 'rnn_concat' }), inputs: ['embedding', 'rnn_1', 'rnn_2'] },
      { layer: attentionWeightedAverage(get('attention').weights[0]), inputs: 'rnn_concat' },
      { layer: await Dense.create({ ...output.weights, ...output.options, activation: 'softmax' }), inputs: 'attention' },
    ],
    outputs: ['output'],
  });
}

/** textgenrnn_encode_sequence: ids of the last 40 characters (unknown ones 0), left-padded with 0. */
export function encode(text, vocabulary) {
  const ids = [...text].slice(-MAX_LENGTH).map((ch) => vocabulary[ch] ?? 0);
  return [...new Array(MAX_LENGTH - ids.length).fill(0), ...ids];
}

/** Deterministic uniform numbers in [0, 1) (mulberry32), for sampling. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const args = process.argv.slice(2);
  const option = (flag, fallback) => {
    const k = args.indexOf(flag);
    return k < 0 ? fallback : args.splice(k, 2)[1];
  };
  const json = args.indexOf('--json');
  const prompts = json < 0 ? null : args.splice(json).slice(1);
  const backend = option('--backend', undefined);
  const prompt = option('--prompt', 'The best way to learn ');
  const chars = Number(option('--chars', '60'));
  const temperature = Number(option('--temperature', '0.5'));
  const folder = args[0] ?? new URL('../../shared/fixtures/models/keras_textgenrnn_cudnnlstm_weights/', import.meta.url).pathname;
  const vocabulary = JSON.parse(readFileSync(join(folder, 'textgenrnn_vocab.json'), 'utf8'));
  const byIndex = Object.fromEntries(Object.entries(vocabulary).map(([ch, k]) => [k, ch]));
  const model = await textgenrnn(join(folder, 'textgenrnn_weights.hdf5'), backend);
  try {
    if (prompts) {
      const results = prompts.map((p) => {
        const ids = encode(p, vocabulary);
        return { prompt: p, ids, probabilities: Array.from(model.forward([ids]).output.data) };
      });
      console.log(JSON.stringify({ backend: model.getLayer('rnn_1').backend, results }));
      return;
    }
    // Sampling as textgenrnn does: probabilities ** (1 / temperature), renormalised, one draw.
    const next = random(2018);
    let text = prompt;
    for (let k = 0; k < chars; k++) {
      const p = model.forward([encode(text, vocabulary)]).output.data;
      const weights = Array.from(p, (v, j) => (j === 0 ? 0 : Math.exp(Math.log(v) / temperature)));
      let r = next() * weights.reduce((s, v) => s + v, 0);
      let j = 1;
      while (j < weights.length - 1 && (r -= weights[j]) > 0) j++;
      if (byIndex[j] === '<s>') break; // the end-of-text token
      text += byIndex[j];
    }
    console.log(text);
  } finally {
    model.dispose();
  }
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) await main();
