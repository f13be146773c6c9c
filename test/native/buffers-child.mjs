// Scenarios of caller buffers that change under a running native forwardAsync, and of arrays over
// SharedArrayBuffer, for test/trust-native.test.ts. Run in a child process, since on an addon that
// does not own its async buffers they crash the process (SIGSEGV, or an abort):
//   node test/native/buffers-child.mjs <scenario>
// One line of JSON on stdout: { outcome: 'result' | 'error', code, message, worst } where worst is
// the largest difference of the results from the same call on plain arrays (or after the error,
// of a following call on the same layer), so a wrong answer shows as well as a crash.
import { Lstm } from '../../dist/index.js';

const scenario = process.argv[2];
const [I, U, T] = [64, 256, 120];
const fill = (n, scale, phase = 0) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.37 + phase) * scale);
const shared = (plain) => {
  const a = new Float32Array(new SharedArrayBuffer(plain.byteLength));
  a.set(plain);
  return a;
};
const weights = (wrap) => ({
  kernel: { data: wrap(fill(I * 4 * U, 0.1)), shape: [I, 4 * U] },
  recurrentKernel: { data: wrap(fill(U * 4 * U, 0.1, 1)), shape: [U, 4 * U] },
  bias: wrap(fill(4 * U, 0.1, 2)),
});
const plain = (a) => a;
const layer = await Lstm.create({ weights: weights(scenario === 'shared-weights' ? shared : plain), backend: 'native', returnSequences: true });
const input = () => ({ data: fill(T * I, 1, 3), shape: [1, T, I] });
const expected = layer.forward(input());
const worstOf = (r) => {
  let worst = 0;
  for (const [a, b] of [[r.output.data, expected.output.data], [r.h.data, expected.h.data], [r.c.data, expected.c.data]]) {
    if (a.length !== b.length) return Infinity;
    a.forEach((v, k) => (worst = Math.max(worst, Number.isNaN(v) ? Infinity : Math.abs(v - b[k]))));
  }
  return worst;
};
const transfer = (buffer) => structuredClone(buffer, { transfer: [buffer] });
// A fixed-length view of a resizable buffer: shrunk below it, its length reads 0.
const resizable = (n) => new Float32Array(new ArrayBuffer(4 * n, { maxByteLength: 8 * n }), 0, n);

/** Starts a call, then does `meddle` while it runs on the thread pool (the call takes milliseconds). */
async function run(x, options, meddle) {
  const call = layer.forwardAsync(x, options);
  meddle?.();
  return call;
}

const scenarios = {
  'transfer-input': () => {
    const x = input();
    return run(x, {}, () => transfer(x.data.buffer));
  },
  'shrink-input': () => {
    const x = input();
    const data = resizable(x.data.length);
    data.set(x.data);
    return run({ data, shape: x.shape }, {}, () => data.buffer.resize(0));
  },
  'transfer-out': () => {
    const output = new Float32Array(T * U);
    return run(input(), { out: { output } }, () => transfer(output.buffer));
  },
  'transfer-out-h': () => {
    const h = new Float32Array(U);
    return run(input(), { out: { h } }, () => transfer(h.buffer));
  },
  'shrink-out': () => {
    const output = resizable(T * U);
    return run(input(), { out: { output } }, () => output.buffer.resize(16));
  },
  'grow-out': () => {
    const output = resizable(T * U);
    return run(input(), { out: { output } }, () => output.buffer.resize(8 * T * U));
  },
  'shared-weights': () => run(input(), {}),
  'shared-input': () => {
    const x = input();
    return run({ data: shared(x.data), shape: x.shape }, {});
  },
  'shared-out': () => run(input(), { out: { output: shared(new Float32Array(T * U)), h: shared(new Float32Array(U)), c: shared(new Float32Array(U)) } }),
  'shared-sync': () => {
    const x = input();
    return layer.forward({ data: shared(x.data), shape: x.shape }, { out: { output: shared(new Float32Array(T * U)) } });
  },
};

let report;
try {
  const r = await scenarios[scenario]();
  report = { outcome: 'result', worst: worstOf(r), sharedOut: r.output.data.buffer instanceof SharedArrayBuffer };
} catch (e) {
  // The layer must still work after the error.
  report = { outcome: 'error', name: e?.name, code: e?.code, message: String(e?.message ?? e), worst: worstOf(await layer.forwardAsync(input())) };
}
console.log(JSON.stringify(report));
