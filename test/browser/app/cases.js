// Fixed weights and inputs, computed the same way in the browser app and in the Node runner.
// No imports: the runner reads this file directly.

/** mulberry32: a small seeded generator, values in [-scale, scale). */
function random(seed, scale) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  };
}
const fill = (n, next) => Float32Array.from({ length: n }, next);

/** An LSTM (Keras layout, gates i f c o) and a GRU (Keras, reset_after) with their inputs. */
export function makeCases() {
  const r = random(20240607, 0.5);
  const B = 2, T = 5, I = 6, U = 16, G = 8;
  return {
    lstm: {
      weights: { kernel: { data: fill(I * 4 * U, r), shape: [I, 4 * U] }, recurrentKernel: { data: fill(U * 4 * U, r), shape: [U, 4 * U] }, bias: { data: fill(4 * U, r), shape: [4 * U] } },
      input: { data: fill(B * T * I, r), shape: [B, T, I] },
    },
    gru: {
      weights: { kernel: { data: fill(I * 3 * G, r), shape: [I, 3 * G] }, recurrentKernel: { data: fill(G * 3 * G, r), shape: [G, 3 * G] }, bias: { data: fill(2 * 3 * G, r), shape: [2, 3 * G] } },
      input: { data: fill(B * T * I, r), shape: [B, T, I] },
    },
  };
}

/**
 * The model fixtures (test/fixtures/, served under /fixtures/) and their golden files; `graph` is an
 * ONNX model loadModel runs whole (two inputs and three outputs, a Conv and an LSTM given its state).
 */
export const MODELS = {
  onnx: { file: 'models/onnx/lstm_last_softmax.onnx', golden: 'models/onnx/lstm_last_softmax.json' },
  keras: { file: 'models/keras/lstm_gru_dense.keras', golden: 'models/keras/golden.json', key: 'lstm_gru_dense' },
  graph: { file: 'onnx-graph/conv-lstm.onnx', golden: 'onnx-graph/conv-lstm.json', output: 'probability' },
};
export const MODEL_KINDS = Object.keys(MODELS);

/** The golden cases of a model as [{ input, output }], from its golden file's JSON. */
export function goldenCases(kind, json) {
  if (kind === 'onnx') return json.cases;
  if (kind === 'graph') {
    // Inputs by name; the golden output is the graph's first.
    return json.cases.map((c) => ({ input: Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, { data: v.data, shape: v.shape }])), output: c.outputs[MODELS.graph.output].data }));
  }
  const g = json[MODELS.keras.key];
  return [{ input: g.input, output: g.output }];
}
