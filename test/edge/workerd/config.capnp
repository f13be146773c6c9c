# workerd's configuration for the edge check: one Worker (the esbuild bundle of worker.js) and the
# relaxed-SIMD and SIMD128 modules as `wasm` modules. scripts/test-edge.mjs copies this file beside the bundle it
# builds (build/edge-tools/workerd/) and picks the port with --socket-addr http=127.0.0.1:PORT.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "lstm-relaxed.wasm", wasm = embed "lstm-relaxed.wasm"),
    (name = "lstm-simd.wasm", wasm = embed "lstm-simd.wasm"),
  ],
  compatibilityDate = "2025-09-01",
);
