// esbuild's worker entry, built next to the page's as worker.js, where the app's
// `new URL('./worker.js', import.meta.url)` (which esbuild leaves as it is) finds it.
import './esbuild-wasm.js';
import './worker.js';
