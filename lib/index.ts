// Node entry: the native addon first, then WebAssembly read from the package, then plain TS.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadJsBackend } from './backends/js.js';
import { loadNativeBackend } from './backends/native.js';
import { loadWasmBackend } from './backends/wasm.js';
import { setPathReader } from './load/source.js';
import { registerBackend } from './registry.js';

// lib/ (tests) and dist/ (the package) both sit one level below wasm/.
const wasmFile = (name: string) => () => readFile(fileURLToPath(new URL(`../wasm/dist/${name}`, import.meta.url)));

registerBackend('native', 40, loadNativeBackend);
registerBackend('wasm-simd', 30, () => loadWasmBackend('wasm-simd', wasmFile('lstm-simd.wasm')));
registerBackend('wasm', 20, () => loadWasmBackend('wasm', wasmFile('lstm.wasm')));
registerBackend('js', 10, loadJsBackend);
// loadModel reads paths from the file system here; elsewhere a string is a URL.
setPathReader((path) => readFile(path));

export * from './api.js';
export { nativeKernelCalls } from './backends/native.js';
