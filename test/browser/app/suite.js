// What the app runs, in the page and in the worker: every result goes back as plain arrays.
import { goldenCases, makeCases, MODEL_KINDS, MODELS } from './cases.js';

const plain = (t) => ({ data: Array.from(t.data), shape: t.shape });
const message = (e) => `${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(e)}`.slice(0, 400);

/** True when the Content-Security-Policy forbids eval (as it must here). */
export function evalBlocked() {
  try {
    new Function('');
    return false;
  } catch {
    return true;
  }
}

async function fetchBytes(path) {
  const response = await fetch(new URL(`/fixtures/${path}`, location.href));
  if (!response.ok) throw new Error(`GET /fixtures/${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * An .h5 file on which the HDF5 library loops for ever (test/load-hostile.test.ts: one byte of
 * options.h5 changed): the load must fail with ERR_LSTM_MODEL once its time budget (10 s) is over,
 * and the page must stay responsive meanwhile (the parse runs in a Web Worker): `ticks` counts a
 * 100 ms interval timer while the load runs.
 */
export async function h5Hang(lib) {
  const bytes = await fetchBytes('models/keras/options.h5');
  if (bytes[5792] !== 34) return { error: `byte 5792 of keras/options.h5 is ${bytes[5792]}, not 34: the fixture changed` };
  bytes[5792] = 222;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 100);
  const start = performance.now();
  try {
    (await lib.loadModel(bytes, { format: 'h5' })).dispose();
    return { loaded: true, ms: performance.now() - start, ticks };
  } catch (e) {
    return { code: e?.code, message: String(e?.message ?? e).slice(0, 300), ms: performance.now() - start, ticks };
  } finally {
    clearInterval(timer);
  }
}

/** Only the first forward, timed (the runner loads the page with ?timing a few times, cold). */
export async function firstForward(lib, times) {
  const { lstm } = makeCases();
  const created = performance.now();
  const layer = await lib.Lstm.create({ weights: lstm.weights, returnSequences: true });
  const ready = performance.now();
  layer.forward(lstm.input);
  const now = performance.now();
  // Of create: until the .wasm file had arrived, and the compile and instantiation after it.
  const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm') && e.startTime >= created);
  const fetchedMs = wasm ? wasm.responseEnd - created : NaN;
  const result = { backend: layer.backend, totalMs: now - times.start, importMs: times.imported - times.start, createMs: ready - created, fetchedMs, forwardMs: now - ready, sinceStartMs: now };
  layer.dispose();
  return result;
}

/**
 * Runs every computation. `times.start` is when the app started importing lstm-runtime,
 * `times.imported` when the import resolved.
 */
export async function runSuite(lib, times) {
  const { Lstm, Gru, loadModel, backends } = lib;
  const cases = makeCases();
  const out = { evalBlocked: evalBlocked() };
  const step = async (name, fn) => {
    try {
      out[name] = await fn();
    } catch (e) {
      out[name] = { error: message(e) };
    }
  };

  // The first thing to touch WebAssembly: timed from the import to the forward's end
  // (sinceStartMs: since navigation in the page, since new Worker in the worker).
  await step('firstForward', () => firstForward(lib, times));
  await step('lstm', async () => {
    const layer = await Lstm.create({ weights: cases.lstm.weights, returnSequences: true });
    const { output, h, c } = layer.forward(cases.lstm.input);
    const result = { backend: layer.backend, output: plain(output), h: plain(h), c: plain(c) };
    layer.dispose();
    return result;
  });
  await step('gru', async () => {
    const layer = await Gru.create({ weights: cases.gru.weights, returnSequences: true });
    const { output, h } = layer.forward(cases.gru.input);
    const result = { backend: layer.backend, output: plain(output), h: plain(h) };
    layer.dispose();
    return result;
  });
  // The SIMD128 build, asked for by name where 'auto' picks the relaxed one: both must agree with native.
  await step('simd', async () => {
    const layer = await Lstm.create({ weights: cases.lstm.weights, returnSequences: true, backend: 'wasm-simd' });
    const { output, h, c } = layer.forward(cases.lstm.input);
    const result = { backend: layer.backend, output: plain(output), h: plain(h), c: plain(c) };
    layer.dispose();
    return result;
  });
  await step('backends', async () => (await backends()).map(({ name, available, implementation, reason }) => ({ name, available, implementation, reason })));
  for (const kind of MODEL_KINDS) {
    await step(kind, async () => {
      const { file, golden } = MODELS[kind];
      const [bytes, goldenBytes] = await Promise.all([fetchBytes(file), fetchBytes(golden)]);
      const model = await loadModel(bytes);
      const layerBackends = model.layers.filter((l) => 'backend' in l).map((l) => l.backend);
      const outputs = goldenCases(kind, JSON.parse(new TextDecoder().decode(goldenBytes))).map(({ input }) => plain(model.forward(input).output));
      model.dispose?.();
      return { backends: layerBackends, outputs };
    });
  }
  return out;
}
