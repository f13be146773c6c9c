#!/usr/bin/env node
// Bundles the Node entry that tsc wrote (dist/index.js) into one module, with the parts loaded on
// demand (model readers, HDF5, ONNX's schema) as chunks in dist/chunks/. Node loads ~35 small ES
// modules one by one, which cost 20-30 ms at import; one module costs 5-10 (issue #11: cold start).
// The per-module files stay: the browser entry (dist/browser.js) and the .d.ts files use them, and
// browser bundlers do their own bundling. The CLI imports dist/index.js, so it shares this bundle.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
rmSync(new URL('dist/chunks', root), { recursive: true, force: true });
rmSync(new URL('dist/live/chunks', root), { recursive: true, force: true });
await build({
  absWorkingDir: new URL('.', root).pathname,
  entryPoints: ['dist/index.js'],
  outdir: 'dist',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies stay packages of their own (h5wasm, fflate, pbf, node-gyp-build), loaded when used.
  packages: 'external',
  // tsc's maps (with their sources inlined) are read and carried through to the bundle's.
  sourcemap: true,
  sourcesContent: true,
  // Class names stay as written: they are printed (inspect, errors) and users may read them.
  keepNames: true,
  logLevel: 'warning',
});

// The live inspector's page script (`lstm-runtime serve`): the browser entry, the report and the
// page in one module, with the HDF5 worker beside it, which the server hands out as they are.
await build({
  absWorkingDir: new URL('.', root).pathname,
  // The worker sits beside the chunk holding HDF5's loader, whose new URL('./hdf5-snapshot.js') finds it.
  entryPoints: { app: 'dist/live/page.js', 'chunks/hdf5-snapshot': 'dist/load/hdf5-snapshot.js' },
  outdir: 'dist/live',
  allowOverwrite: true,
  bundle: true,
  // The readers a model needs load when it needs them (HDF5's is megabytes).
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // h5wasm's Node-only branches name node: modules it never loads in a page.
  external: ['node:*', 'fs', 'path', 'url', 'module', 'worker_threads'],
  // h5wasm (4 MB, its WebAssembly inline) is not copied into the package again: the server hands
  // out the installed one under /vendor/h5wasm/, which the page and the HDF5 worker import.
  plugins: [{ name: 'h5wasm-from-server', setup: (b) => b.onResolve({ filter: /^h5wasm$/ }, () => ({ path: '/vendor/h5wasm/hdf5_hl.js', external: true })) }],
  minify: true,
  keepNames: true,
  logLevel: 'warning',
});
