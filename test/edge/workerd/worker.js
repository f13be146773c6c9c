// A Cloudflare Worker as users write one: the browser entry (bundled by scripts/test-edge.mjs with
// esbuild under the 'workerd'/'worker' conditions, as wrangler does), the relaxed-SIMD and SIMD128
// modules imported as WebAssembly.Modules through the package's './wasm/*.wasm' export, no
// import.meta.url, no eval.
import relaxed from 'lstm-runtime/wasm/lstm-relaxed.wasm';
import simd from 'lstm-runtime/wasm/lstm-simd.wasm';
import * as lib from 'lstm-runtime';
import { edgeChecks } from '../check.mjs';
// The ONNX fixture (esbuild's binary loader: a Uint8Array) and its golden inputs.
import model from '../../fixtures/models/onnx/lstm_last_softmax.onnx';
import golden from '../../fixtures/models/onnx/lstm_last_softmax.json';

export default {
  async fetch() {
    // Before configureWasm: importing the package did not throw, and the defaults say why they
    // cannot load here (import.meta.url is not a URL a Worker can read).
    const before = await lib.backends();
    lib.configureWasm({ relaxed, simd });
    const result = await edgeChecks(lib, { model, inputs: golden.cases.map((c) => c.input) });
    return Response.json({ before, importMetaUrl: String(import.meta.url), simdIsModule: simd instanceof WebAssembly.Module, ...result });
  },
};
