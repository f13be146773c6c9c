// npm start: the hand-checked Keras example with every gate, then a streaming run on the default
// backend with its per-step latency.
import { backends, Lstm, toNested } from 'lstm-runtime';

// The hand-checked case of the conformance suite: a Keras LSTM, units=3, activation=None and
// recurrent_activation=None, one step with input [1, 0].
const example = {
  about: 'z = x.kernel + bias = [5,2,1 | 1,1,0 | 0,2,1 | 2,1,0] for gates i | f | c | o; c = f*0 + i*c~ = [0,4,1]; h = o*c = [0,4,0]',
  config: { inputSize: 2, units: 3, activation: 'linear', recurrentActivation: 'linear' },
  weights: {
    kernel: [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]],
    recurrentKernel: [[1, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 0], [1, 1, 0, 0, 2, 1, 0, 1, 2, 2, 0, 0], [1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 1, 0]],
    bias: [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0],
  },
  input: [[[1, 0]]],
};

console.log('Backends on this machine:');
for (const b of await backends()) {
  console.log(`  ${b.name.padEnd(9)} ${b.available ? `ok (${b.implementations.join(', ')})` : `unavailable: ${b.reason}`}`);
}

// 1. One step of a Keras LSTM with linear activations: every number can be checked by hand.
const layer = await Lstm.create({ ...example.config, weights: example.weights });
const { h, c, trace } = layer.forward(example.input, { trace: true });
console.log(`\n1. The hand-checked Keras example (linear activations, 3 units, input [1, 0]) on ${layer.backend}:\n   ${example.about}`);
for (const [name, label] of [['i', 'input gate i'], ['f', 'forget gate f'], ['g', 'candidate c~'], ['o', 'output gate o'], ['c', 'cell c'], ['h', 'hidden h']]) {
  console.log(`   ${label.padEnd(14)} ${JSON.stringify(toNested(trace[name])[0][0])}`);
}
console.log(`   final h = ${JSON.stringify(toNested(h)[0])} (Keras: [0,4,0]), c = ${JSON.stringify(toNested(c)[0])} (Keras: [0,4,1])`);
layer.dispose();

// 2. Streaming one step at a time, state carried in the backend (40 features, 128 units).
const I = 40, U = 128, STEPS = 2000;
let seed = 42;
const uniform = (lo, hi) => ((seed = (seed * 1664525 + 1013904223) >>> 0), lo + ((hi - lo) * seed) / 2 ** 32);
const matrix = (rows, cols) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => uniform(-0.1, 0.1)));
const streaming = await Lstm.create({ weights: { kernel: matrix(I, 4 * U), recurrentKernel: matrix(U, 4 * U), bias: matrix(1, 4 * U)[0] } });
const stream = streaming.stream(1);
const frames = Array.from({ length: STEPS }, () => Float32Array.from({ length: I }, () => uniform(-1, 1)));
const micros = [];
for (let t = 0; t < STEPS; t++) {
  const start = process.hrtime.bigint();
  stream.step(frames[t]);
  micros.push(Number(process.hrtime.bigint() - start) / 1000);
}
const steady = micros.slice(100).sort((a, b) => a - b);
const median = steady[Math.floor(steady.length / 2)];
const p99 = steady[Math.floor(steady.length * 0.99)];
const h0 = stream.state.h.data;
console.log(`\n2. Streaming ${STEPS} steps, batch 1, ${I} inputs -> ${U} units on ${streaming.backend}`);
console.log(`   per step: median ${median.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs`);
console.log(`   h[0..4] after the last step: ${Array.from(h0.subarray(0, 4), (v) => v.toFixed(5)).join(', ')}`);
streaming.dispose();
