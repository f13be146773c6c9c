// What every edge runtime runs (Deno, Bun, Node with --conditions=worker, workerd): the package's
// browser entry, given as `lib`, on the hand-checked LSTM case and one ONNX model. It returns
// plain JSON; scripts/test-edge.mjs judges it against the expected numbers.

// The hand-checked Keras case (test/package.test.ts): every gate and state a small integer.
export const HAND_CHECKED = {
  inputSize: 2,
  units: 3,
  activation: 'linear',
  recurrentActivation: 'linear',
  weights: {
    kernel: [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]],
    recurrentKernel: [[1, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 0], [1, 1, 0, 0, 2, 1, 0, 1, 2, 2, 0, 0], [1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 1, 0]],
    bias: [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0],
  },
};

/** The ONNX fixture every runtime loads, from test/fixtures/models/onnx/. */
export const ONNX_FIXTURE = 'lstm_last_softmax';

const errorText = (e) => (e && e.stack ? String(e.stack).split('\n').slice(0, 4).join(' | ') : String(e));

/** Runs the checks on the entry `lib` with the ONNX model's bytes and the golden inputs. */
export async function edgeChecks(lib, { model, inputs }) {
  const result = { backends: await lib.backends() };
  try {
    const layer = await lib.Lstm.create(HAND_CHECKED);
    const r = layer.forward([[[1, 0]]]);
    result.lstm = { backend: layer.backend, h: lib.toNested(r.h), c: lib.toNested(r.c) };
  } catch (e) {
    result.lstm = { error: errorText(e) };
  }
  try {
    const m = await lib.loadModel(model, { format: 'onnx' });
    result.onnx = {
      backends: m.layers.map((l) => l.backend).filter((b) => b !== undefined),
      outputs: inputs.map((input) => Array.from(m.forward(input).output.data)),
    };
  } catch (e) {
    result.onnx = { error: errorText(e) };
  }
  return result;
}
