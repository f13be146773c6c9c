// Node entry: the native addon first, then WebAssembly read from the package, then plain TS.
import { loadJsBackend } from './backends/js.js';
import { loadNativeBackend } from './backends/native.js';
import { registerWasmBackends } from './backends/wasm-source.js';
import { setPathReader } from './load/source.js';
import { registerBackend } from './registry.js';

// node:fs/promises loads with the first file read: importing the package stays cheap.
const readFile = async (file: string | URL) => (await import('node:fs/promises')).readFile(file);

registerBackend('native', 40, loadNativeBackend);
// lib/ (tests) and dist/ (the package) both sit one level below wasm/; configureWasm() overrides.
registerWasmBackends({
  relaxed: () => new URL('../wasm/dist/lstm-relaxed.wasm', import.meta.url),
  simd: () => new URL('../wasm/dist/lstm-simd.wasm', import.meta.url),
  scalar: () => new URL('../wasm/dist/lstm.wasm', import.meta.url),
  readFile,
});
registerBackend('js', 10, loadJsBackend);
// loadModel reads paths from the file system here; elsewhere a string is a URL.
setPathReader(readFile);

export * from './api.js';
export { nativeKernelCalls } from './backends/native.js';
export { exampleModel, serveInspector } from './tools/live-server.js';
export type { Inspector, InspectorOptions } from './tools/live-server.js';
