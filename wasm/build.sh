#!/usr/bin/env bash
# Builds wasm/dist/lstm.wasm and wasm/dist/lstm-simd.wasm from the same C++ sources as the native
# addon, with Debian's emscripten (apt-get install -y emscripten). The modules are committed so a
# clone works without emscripten; CI rebuilds them and runs the tests on the rebuilt ones.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v emcmake >/dev/null || { echo "emscripten is not installed (apt-get install -y emscripten)" >&2; exit 1; }
emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/wasm -j 2
mkdir -p wasm/dist
cp build/wasm/lstm.wasm build/wasm/lstm-simd.wasm wasm/dist/
ls -l wasm/dist
