// Browser, worker and edge entry: no Node built-ins. WebAssembly is fetched next to the package
// (read from disk for file: URLs, in Deno, Bun and Node), or from where configureWasm() says.
import { loadJsBackend } from './backends/js.js';
import { registerWasmBackends } from './backends/wasm-source.js';
import { registerBackend } from './registry.js';

// Literal `new URL('...', import.meta.url)` expressions, so that Vite and webpack 5 emit the files
// and rewrite the URLs; evaluated only when a backend loads, so that runtimes without
// import.meta.url (Cloudflare's workerd) can import this module and pass the modules themselves.
registerWasmBackends({
  relaxed: () => new URL('../wasm/dist/lstm-relaxed.wasm', import.meta.url),
  simd: () => new URL('../wasm/dist/lstm-simd.wasm', import.meta.url),
  scalar: () => new URL('../wasm/dist/lstm.wasm', import.meta.url),
});
registerBackend('js', 10, loadJsBackend);

export * from './api.js';
