// The page: runs the suite here and in a module Worker, then leaves everything in window.__result.
import { evalBlocked, firstForward, h5Hang, runSuite } from './suite.js';

async function inWorker() {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  try {
    return await new Promise((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => resolve({ error: `worker failed to start or threw: ${e.message || 'no message (a script or CSP error)'}` });
      worker.postMessage('run');
    });
  } finally {
    worker.terminate();
  }
}

/** The scripts and WebAssembly this page has fetched so far (bytes of body). */
function loaded() {
  const sum = { js: 0, jsFiles: 0, wasm: 0, wasmFiles: 0 };
  for (const e of performance.getEntriesByType('resource')) {
    const kind = e.name.endsWith('.js') ? 'js' : e.name.endsWith('.wasm') ? 'wasm' : null;
    if (kind) {
      sum[kind] += e.encodedBodySize;
      sum[`${kind}Files`]++;
    }
  }
  return sum;
}

async function fallback(lib) {
  const weights = { kernel: [[0.1, 0.2, 0.3, 0.4]], recurrentKernel: [[0.5, 0.6, 0.7, 0.8]], bias: [0, 1, 0, 0] };
  const layers = [await lib.Lstm.create({ weights }), await lib.Lstm.create({ weights })];
  const simd = (await lib.backends()).find((b) => b.name === 'wasm-simd');
  return { backends: layers.map((l) => l.backend), simdReason: simd?.reason ?? null };
}

async function main() {
  const result = { evalBlocked: evalBlocked() };
  const start = performance.now();
  let lib;
  try {
    lib = await import('lstm-runtime');
  } catch (e) {
    result.page = { error: `import('lstm-runtime') failed: ${e?.message ?? e}` };
  }
  const times = { start, imported: performance.now() };
  // ?timing: only the time to the first forward, on a cold page.
  if (location.search === '?timing') return lib ? { ...(await firstForward(lib, times)), loaded: loaded() } : result.page;
  // ?fallback: served without its .wasm files, 'auto' must say why it runs js (the runner counts the console's warnings).
  if (location.search === '?fallback') return lib ? await fallback(lib) : result.page;
  // ?h5hang: an .h5 file on which HDF5 loops for ever fails within its time budget.
  if (location.search === '?h5hang') return lib ? await h5Hang(lib) : result.page;
  if (lib) result.page = await runSuite(lib, times);
  result.worker = await inWorker();
  return result;
}

main()
  .catch((e) => ({ error: String(e?.stack ?? e) }))
  .then((result) => {
    window.__result = result;
    document.title = 'done';
  });
