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
