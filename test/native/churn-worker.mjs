// The body of one short-lived worker of worker-churn.mjs: creates a layer on workerData.backend
// with workerData.threads, says so, then runs forwardAsync (and now and then forward) until it is
// terminated, which its parent does at a random point of a call. With workerData.once it runs one
// forward and then waits, to be terminated between calls.
import { parentPort, workerData } from 'node:worker_threads';
import { Lstm } from '../../dist/index.js';

const { backend, threads, I, U, T, once } = workerData;
const fill = (n, scale) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.37) * scale);
const layer = await Lstm.create({
  weights: { kernel: { data: fill(I * 4 * U, 0.1), shape: [I, 4 * U] }, recurrentKernel: { data: fill(U * 4 * U, 0.1), shape: [U, 4 * U] }, bias: fill(4 * U, 0.1) },
  backend,
  threads,
});
const input = { data: fill(T * I, 1), shape: [1, T, I] };
if (once) {
  layer.forward(input);
  parentPort.postMessage('running');
  setInterval(() => {}, 1000);
} else parentPort.postMessage('running');
for (let k = 0; !once; k++) {
  if (k % 4 === 3) layer.forward(input);
  else await layer.forwardAsync(input);
}
