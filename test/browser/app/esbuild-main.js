// esbuild's page entry: the wasm setup, then the same app as Vite's and webpack's.
import './esbuild-wasm.js';
import './main.js';
