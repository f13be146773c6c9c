#!/usr/bin/env bash
# Builds the WebAssembly modules with emscripten's AddressSanitizer and UndefinedBehaviorSanitizer
# into build/wasm-sanitize/ (wasm/dist is left as it was) and runs the suite with the wasm-simd and
# wasm backends loading them: LSTM_RUNTIME_WASM_DIR makes vitest.config.ts load
# test/wasm-sanitize/setup.ts, which points configureWasm there and fails a test on any report.
# Arguments go to vitest (files to run, reporters). See docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v emcmake >/dev/null || { echo "emscripten is not installed (apt-get install -y emscripten)" >&2; exit 1; }
out=build/wasm-sanitize
emcmake cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Release -DLSTM_WASM_SANITIZE=address,undefined >/dev/null
cmake --build "$out" -j 2
# The 'node' project only: the relaxed-SIMD module is built with clang-19 outside emscripten
# (wasm/build.sh), without its sanitizers; it runs the same C++ as lstm-simd.wasm but for fma.
LSTM_RUNTIME_WASM_DIR="$PWD/$out" npx --no-install vitest run --project node "$@"
