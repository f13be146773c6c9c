// Browser, worker and edge entry: no Node built-ins. WebAssembly is fetched next to the package.
import { loadJsBackend } from './backends/js.js';
import { loadWasmBackend } from './backends/wasm.js';
import { registerBackend } from './registry.js';

const wasmUrl = (name: string) => new URL(`../wasm/dist/${name}`, import.meta.url);
const fetchWasm = (name: string) => async () => {
  const response = await fetch(wasmUrl(name));
  if (!response.ok) throw new Error(`fetching ${wasmUrl(name).href} failed: HTTP ${response.status}`);
  return response.arrayBuffer();
};

registerBackend('wasm-simd', 30, () => loadWasmBackend('wasm-simd', fetchWasm('lstm-simd.wasm')));
registerBackend('wasm', 20, () => loadWasmBackend('wasm', fetchWasm('lstm.wasm')));
registerBackend('js', 10, loadJsBackend);

export * from './api.js';
