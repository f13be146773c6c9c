// weightPrecision 'int8' against 'f32' on real trained models with large cell states, on real text
// (the opening of Nietzsche's Beyond Good and Evil, the Nietzsche model's own training text):
// textgenrnn's two 128-unit CuDNN LSTMs (|c| up to ~20) and the Nietzsche model's 128-unit LSTM
// (hard_sigmoid). The bounds the README states, relative to the output's scale (max |f32 output|),
// are asserted for the outputs and the final h of each layer on every backend. All of the error is
// the weights' 8 bits: the same weights quantized and run with a float32 state differ as much.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel, Lstm, readKerasLayers, type KerasFileLayer, type LstmResult, type Tensor } from '../lib/index.js';
import { implementations, SHARED, sharedFor } from './helpers.js';

/**
 * What the README promises for int8, as fractions of the output's scale: every value (the worst
 * step measured here is 0.23, textgenrnn's rnn_2), and the mean error (2.3e-3 at worst here).
 */
const INT8_BOUND = { max: 0.25, mean: 5e-3 };

const TEXT =
  'SUPPOSING that Truth is a woman--what then? Is there not ground for suspecting that all philosophers, in so far as they have been dogmatists, ' +
  'have failed to understand women--that the terrible seriousness and clumsy importunity with which they have usually paid their addresses to ' +
  'Truth, have been unskilled and unseemly methods for winning a woman? Certainly she has never allowed herself to be won; and at present every ' +
  'kind of dogma stands with sad and discouraged mien--IF, indeed, it stands at all!';
const T = 40;
/** Windows of T characters, every 37th: 10 sequences of the text. */
const WINDOWS = Array.from({ length: 10 }, (_, k) => TEXT.slice(k * 37, k * 37 + T));

const MODELS = `${SHARED}fixtures/models/`;
const HAVE_MODELS = sharedFor("the int8 error bound on real models (textgenrnn's and the Nietzsche model's weights are in ../shared's fixtures)");
const IMPLEMENTATIONS = await implementations();

interface Difference {
  max: number;
  mean: number;
  scale: number;
}
/** The largest and the mean |int8 - f32|, and the f32 output's scale, max |f32|. */
function difference(f32: Tensor, int8: Tensor): Difference {
  const [a, b] = [f32.data, int8.data];
  let [max, sum, scale] = [0, 0, 0];
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k]! - b[k]!);
    max = Math.max(max, d);
    sum += d;
    scale = Math.max(scale, Math.abs(a[k]!));
  }
  return { max, mean: sum / a.length, scale };
}
const maxAbs = (t: Tensor | undefined) => t!.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function expectWithinBound(d: Difference, what: string) {
  const measured = `|int8 - f32| ${d.max.toExponential(2)} at most, ${d.mean.toExponential(2)} on average, against the output's scale ${d.scale.toFixed(3)}`;
  expect(d.max, `${what}: ${measured}`).toBeLessThanOrEqual(INT8_BOUND.max * d.scale);
  expect(d.mean, `${what}: ${measured}`).toBeLessThanOrEqual(INT8_BOUND.mean * d.scale);
}

describe.skipIf(!HAVE_MODELS).each(IMPLEMENTATIONS)("weightPrecision 'int8' on real models with large cell states, on %s", (backend) => {
  it("textgenrnn's CuDNN LSTMs (128 units, two stacked): outputs and final h within the bounds of their scale", async () => {
    const layers = await readKerasLayers(`${MODELS}keras_textgenrnn_cudnnlstm_weights/textgenrnn_weights.hdf5`);
    const vocab = JSON.parse(readFileSync(`${MODELS}keras_textgenrnn_cudnnlstm_weights/textgenrnn_vocab.json`, 'utf8')) as Record<string, number>;
    const find = <K extends KerasFileLayer['kind']>(name: string, kind: K) => layers.find((l) => l.name === name && l.kind === kind) as Extract<KerasFileLayer, { kind: K }>;
    const { embeddings } = find('embedding', 'embedding').weights;
    const E = embeddings.shape[1]!;
    const x = new Float32Array(WINDOWS.length * T * E);
    WINDOWS.forEach((w, b) => [...w].forEach((ch, t) => x.set(embeddings.data.subarray((vocab[ch] ?? 0) * E, ((vocab[ch] ?? 0) + 1) * E), (b * T + t) * E)));
    const run = async (weightPrecision: 'f32' | 'int8') => {
      const results: LstmResult[] = [];
      let input: Tensor = { data: x, shape: [WINDOWS.length, T, E] };
      for (const name of ['rnn_1', 'rnn_2']) {
        const { weights, options } = find(name, 'lstm');
        const lstm = await Lstm.create({ weights, ...options, returnSequences: true, backend, weightPrecision });
        results.push(lstm.forward(input));
        input = results.at(-1)!.output;
        lstm.dispose();
      }
      return results;
    };
    const [f32, int8] = [await run('f32'), await run('int8')];
    // The cell states that make int8 hard: far outside tanh's range.
    expect(maxAbs(f32[1]!.c)).toBeGreaterThan(5);
    for (const k of [0, 1]) {
      expectWithinBound(difference(f32[k]!.output, int8[k]!.output), `rnn_${k + 1} output`);
      expectWithinBound(difference(f32[k]!.h, int8[k]!.h), `rnn_${k + 1} final h`);
    }
  });

  it("the Nietzsche model (LSTM 128, hard_sigmoid, Dense softmax): probabilities and the LSTM's final h within the bounds of their scale", async () => {
    const dir = `${MODELS}tfjs_lstm_text_generation_nietzsche/`;
    const chars = JSON.parse(readFileSync(`${dir}char_indices.json`, 'utf8')) as Record<string, number>;
    const V = Object.keys(chars).length;
    const x = new Float32Array(WINDOWS.length * T * V);
    WINDOWS.forEach((w, b) => [...w.toLowerCase()].forEach((ch, t) => (x[(b * T + t) * V + (chars[ch] ?? chars[' ']!)] = 1)));
    const input: Tensor = { data: x, shape: [WINDOWS.length, T, V] };
    const run = async (weightPrecision: 'f32' | 'int8') => {
      const model = await loadModel(`${dir}model.json`, { backend, weightPrecision });
      try {
        const lstm = model.layers[0] as Lstm;
        return { probabilities: model.forward(input).output, lstm: lstm.forward(input) };
      } finally {
        model.dispose();
      }
    };
    const [f32, int8] = [await run('f32'), await run('int8')];
    expect(maxAbs(f32.lstm.c)).toBeGreaterThan(5);
    expectWithinBound(difference(f32.probabilities, int8.probabilities), 'probabilities');
    expectWithinBound(difference(f32.lstm.h, int8.lstm.h), 'LSTM final h');
  });
});
