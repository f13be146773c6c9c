// esbuild only: it leaves `new URL('../wasm/dist/lstm-simd.wasm', import.meta.url)` in the
// package as it is, so the .wasm files are imported with the `file` loader (--loader:.wasm=file),
// which copies them to the output folder and gives their paths relative to it, and the package is
// told where they are. Imported before the app, so this runs before any layer loads.
import { configureWasm } from 'lstm-runtime';
import relaxed from 'lstm-runtime/wasm/lstm-relaxed.wasm';
import simd from 'lstm-runtime/wasm/lstm-simd.wasm';
import scalar from 'lstm-runtime/wasm/lstm.wasm';

// The paths are relative to the bundle: resolve them against it, not against the page.
const here = (path) => new URL(path, import.meta.url);
configureWasm({ relaxed: here(relaxed), simd: here(simd), scalar: here(scalar) });
