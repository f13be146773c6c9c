# workerd's configuration for the edge check: one Worker (the esbuild bundle of worker.js) and the
# SIMD module as a `wasm` module. scripts/test-edge.mjs copies this file beside the bundle it
# builds (build/edge-tools/workerd/) and picks the port with --socket-addr http=127.0.0.1:PORT.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "lstm-simd.wasm", wasm = embed "lstm-simd.wasm"),
  ],
  compatibilityDate = "2025-09-01",
);
