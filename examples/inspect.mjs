// node examples/inspect.mjs <model file> [steps]
//
// Loads a trained model (TF.js model.json, Keras .keras/.h5, ONNX, or safetensors with its config
// in the file), runs it on a random input with every gate traced, and prints what each recurrent
// layer does: how open its gates are on average, how often they saturate, and the units that
// carry the most cell state at the last step.
import { Bidirectional, Dense, Embedding, Flatten, GlobalPooling1D, Gru, loadModel, Lstm, RepeatVector } from 'lstm-runtime';

const [file, stepsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node examples/inspect.mjs <model file> [steps]');
  process.exit(2);
}
const model = await loadModel(file);
// A Flatten fixes the number of steps: the Dense after it takes steps * features.
const flatten = model.layers.findIndex((l) => l instanceof Flatten);
const fixedSteps = flatten > 0 ? model.layers[flatten + 1].inputSize / (model.layers[flatten - 1].outputSize ?? model.layers[flatten - 1].units) : null;
const steps = fixedSteps ?? Number(stepsArg ?? 20);

let seed = 7;
const uniform = () => ((seed = (seed * 1664525 + 1013904223) >>> 0), seed / 2 ** 32);
const first = model.layers[0];
// A model of ids gets ids (0 is padding, so 1 up); any other features in [-1, 1]. One sequence:
// [1, steps, ...], or [steps, 1, ...] for a time-major model.
const step = () => (first instanceof Embedding ? 1 + Math.floor(uniform() * (first.inputDim - 1)) : Array.from({ length: first.inputSize }, () => 2 * uniform() - 1));
const sequence = Array.from({ length: steps }, step);
const input = model.timeMajor ? sequence.map((x) => [x]) : [sequence];

const describe = (layer) => {
  if (layer instanceof Embedding) return `Embedding ${layer.inputDim} ids -> ${layer.units}${layer.maskZero ? ', id 0 masked' : ''}`;
  if (layer instanceof Dense) return `Dense ${layer.inputSize} -> ${layer.units}`;
  if (layer instanceof Bidirectional) return `Bidirectional(${layer.forwardLayer.constructor.name} ${layer.forwardLayer.units}) ${layer.mergeMode}`;
  if (layer instanceof RepeatVector) return `RepeatVector ${layer.n} steps`;
  if (layer instanceof Flatten) return 'Flatten';
  if (layer instanceof GlobalPooling1D) return `Global ${layer.mode} pooling over the steps${layer.maskAware ? ' (masked steps left out)' : ''}`;
  return `${layer.constructor.name} ${layer.inputSize} -> ${layer.units} on ${layer.backend}${layer.returnSequences ? ', sequences' : ''}`;
};
const inputShape = [...(model.timeMajor ? [steps, 1] : [1, steps]), ...(first instanceof Embedding ? [] : [first.inputSize])];
console.log(`${file}: ${model.layers.length} layers, input ${JSON.stringify(inputShape)}${model.timeMajor ? ' (time-major)' : ''}`);
model.layers.forEach((layer, k) => console.log(`  ${k}. ${describe(layer)}`));

const { output, trace } = model.forward(input, { trace: true });
console.log(`output shape ${JSON.stringify(output.shape)}, first values ${Array.from(output.data.slice(0, 5), (v) => v.toFixed(4)).join(', ')}`);

// Per gate: mean activation, and the share of (step, unit) values that are nearly shut or open.
const GATES = { i: 'input gate', f: 'forget gate', o: 'output gate', z: 'update gate', r: 'reset gate' };
function summarize(name, t) {
  const lines = [];
  for (const [key, label] of Object.entries(GATES)) {
    const g = t[key];
    if (!g) continue;
    let sum = 0, shut = 0, open = 0;
    for (const v of g.data) {
      sum += v;
      if (v < 0.05) shut++;
      if (v > 0.95) open++;
    }
    const n = g.data.length;
    lines.push(`    ${label.padEnd(12)} mean ${(sum / n).toFixed(3)}   shut ${((100 * shut) / n).toFixed(1).padStart(5)}%   open ${((100 * open) / n).toFixed(1).padStart(5)}%`);
  }
  if (t.c) {
    // The units holding the most cell state at the last step: the network's long memory.
    const [, T, U] = t.c.shape;
    const last = Array.from(t.c.data.subarray((T - 1) * U, T * U), (v, u) => [u, v]).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
    lines.push(`    largest |c| at the last step: ${last.slice(0, 5).map(([u, v]) => `unit ${u} ${v.toFixed(3)}`).join(', ')}`);
  }
  console.log(`  ${name}\n${lines.join('\n')}`);
}

console.log('gates, over every step and unit:');
let r = 0;
model.layers.forEach((layer, k) => {
  if (!(layer instanceof Lstm || layer instanceof Gru || layer instanceof Bidirectional)) return; // no gates
  const t = trace[r++];
  if (layer instanceof Bidirectional) {
    summarize(`${k}. forward`, t.forward);
    summarize(`${k}. backward`, t.backward);
  } else {
    summarize(`${k}. ${layer.constructor.name}`, t);
  }
});
model.dispose();
