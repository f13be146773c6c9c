#!/usr/bin/env node
// Self-test of onnx-model.mjs: small random LSTMs through onnxruntime-node vs lstm-runtime native,
// with batch > 1 (layout transposes) and with initial state inputs (the S1 streaming model); then
// GRUs (linear_before_reset = 1 vs Keras reset_after) and bidirectional LSTMs (concat merge).
import ort from 'onnxruntime-node';
import { Lstm, Gru, Bidirectional } from 'lstm-runtime';
import { buildLstmOnnx, buildGruOnnx } from './onnx-model.mjs';

let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const arr = (n, s = 1) => Float32Array.from({ length: n }, () => s * rand());
let failed = 0;
for (const [B, T, I, U] of [[1, 1, 3, 2], [3, 5, 4, 6], [2, 7, 9, 5]]) {
  const G = 4 * U;
  const w = { kernel: arr(I * G, 0.5), recurrentKernel: arr(U * G, 0.5), bias: arr(G, 0.5) };
  const x = arr(B * T * I); // [B,T,I]
  const h0 = arr(B * U, 0.5), c0 = arr(B * U, 0.5);
  const weights = { kernel: { data: w.kernel, shape: [I, G] }, recurrentKernel: { data: w.recurrentKernel, shape: [U, G] }, bias: w.bias };
  let layer;
  try {
    layer = await Lstm.create({ weights, returnSequences: true, backend: 'native' });
    layer.forward({ data: x, shape: [B, T, I] });
  } catch (e) {
    console.log(`(native backend failed: ${String(e?.message ?? e).split('\n')[0]}; comparing with the js backend)`);
    layer = await Lstm.create({ weights, returnSequences: true, backend: 'js' });
  }
  const xt = new Float32Array(T * B * I);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let i = 0; i < I; i++) xt[(t * B + b) * I + i] = x[(b * T + t) * I + i];
  for (const withState of [false, true]) {
    const session = await ort.InferenceSession.create(buildLstmOnnx(w, { I, U, B, T, withState }), { intraOpNumThreads: 1 });
    const feeds = { X: new ort.Tensor('float32', xt, [T, B, I]) };
    if (withState) Object.assign(feeds, { initial_h: new ort.Tensor('float32', h0, [1, B, U]), initial_c: new ort.Tensor('float32', c0, [1, B, U]) });
    const r = await session.run(feeds);
    const ours = layer.forward({ data: x, shape: [B, T, I] }, withState ? { initialState: { h: { data: h0, shape: [B, U] }, c: { data: c0, shape: [B, U] } } } : {});
    let d = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let u = 0; u < U; u++) d = Math.max(d, Math.abs(ours.output.data[(b * T + t) * U + u] - r.Y.data[(t * B + b) * U + u]));
    for (let k = 0; k < B * U; k++) d = Math.max(d, Math.abs(ours.h.data[k] - r.Y_h.data[k]), Math.abs(ours.c.data[k] - r.Y_c.data[k]));
    const ok = d < 1e-5 && r.Y.dims.join() === [T, 1, B, U].join();
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} B${B} T${T} I${I} U${U}${withState ? ' +initial state' : ''}: max abs diff ${d.toExponential(1)}, Y ${r.Y.dims.join('x')}`);
  }
  layer.dispose();
}

// Our layer on native, or on js if native cannot run.
async function create(make) {
  try {
    return await make('native');
  } catch (e) {
    console.log(`(native backend failed: ${String(e?.message ?? e).split('\n')[0]}; comparing with the js backend)`);
    return make('js');
  }
}
const timeMajor = (x, B, T, F) => {
  const y = new Float32Array(T * B * F);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) y[(t * B + b) * F + f] = x[(b * T + t) * F + f];
  return y;
};
for (const [B, T, I, U] of [[1, 1, 3, 2], [3, 5, 4, 6], [2, 7, 9, 5]]) {
  const x = arr(B * T * I);
  const xt = timeMajor(x, B, T, I);
  // GRU, reset_after: bias [2, 3U].
  {
    const G = 3 * U;
    const w = { kernel: arr(I * G, 0.5), recurrentKernel: arr(U * G, 0.5), bias: arr(2 * G, 0.5) };
    const weights = { kernel: { data: w.kernel, shape: [I, G] }, recurrentKernel: { data: w.recurrentKernel, shape: [U, G] }, bias: { data: w.bias, shape: [2, G] } };
    const layer = await create(async (backend) => {
      const l = await Gru.create({ weights, returnSequences: true, backend });
      l.forward({ data: x, shape: [B, T, I] });
      return l;
    });
    const session = await ort.InferenceSession.create(buildGruOnnx(w, { I, U, B, T }), { intraOpNumThreads: 1 });
    const r = await session.run({ X: new ort.Tensor('float32', xt, [T, B, I]) });
    const ours = layer.forward({ data: x, shape: [B, T, I] });
    let d = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let u = 0; u < U; u++) d = Math.max(d, Math.abs(ours.output.data[(b * T + t) * U + u] - r.Y.data[(t * B + b) * U + u]));
    for (let k = 0; k < B * U; k++) d = Math.max(d, Math.abs(ours.h.data[k] - r.Y_h.data[k]));
    const ok = d < 1e-5 && r.Y.dims.join() === [T, 1, B, U].join();
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} GRU B${B} T${T} I${I} U${U}: max abs diff ${d.toExponential(1)}, Y ${r.Y.dims.join('x')}`);
    layer.dispose();
  }
  // Bidirectional LSTM, concat: Y [T,2,B,U] vs output [B,T,2U].
  {
    const G = 4 * U;
    const mk = () => ({ kernel: arr(I * G, 0.5), recurrentKernel: arr(U * G, 0.5), bias: arr(G, 0.5) });
    const fw = mk(), bw = mk();
    const keras = (w) => ({ kernel: { data: w.kernel, shape: [I, G] }, recurrentKernel: { data: w.recurrentKernel, shape: [U, G] }, bias: w.bias });
    const layer = await create(async (backend) => {
      const l = await Bidirectional.create({ layer: { weights: keras(fw), returnSequences: true, backend }, backwardWeights: keras(bw), mergeMode: 'concat' });
      l.forward({ data: x, shape: [B, T, I] });
      return l;
    });
    const session = await ort.InferenceSession.create(buildLstmOnnx(fw, { I, U, B, T, backwardWeights: bw }), { intraOpNumThreads: 1 });
    const r = await session.run({ X: new ort.Tensor('float32', xt, [T, B, I]) });
    const ours = layer.forward({ data: x, shape: [B, T, I] });
    let d = 0;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let dir = 0; dir < 2; dir++)
          for (let u = 0; u < U; u++) d = Math.max(d, Math.abs(ours.output.data[((b * T + t) * 2 + dir) * U + u] - r.Y.data[((t * 2 + dir) * B + b) * U + u]));
    for (const [dir, st] of [[0, ours.states.forward], [1, ours.states.backward]])
      for (let k = 0; k < B * U; k++) d = Math.max(d, Math.abs(st.h.data[k] - r.Y_h.data[dir * B * U + k]), Math.abs(st.c.data[k] - r.Y_c.data[dir * B * U + k]));
    const ok = d < 1e-5 && r.Y.dims.join() === [T, 2, B, U].join() && ours.output.shape.join() === [B, T, 2 * U].join();
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} bidirectional LSTM B${B} T${T} I${I} U${U}: max abs diff ${d.toExponential(1)}, Y ${r.Y.dims.join('x')}`);
    layer.dispose();
  }
}
console.log(failed ? `${failed} failed` : 'onnx-model.mjs: all agree with lstm-runtime');
process.exit(failed ? 1 : 0);
