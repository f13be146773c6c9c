#!/usr/bin/env bash
# Builds the three WebAssembly modules from the same C++ sources as the native addon, into wasm/dist/:
#   lstm.wasm          scalar                     } emscripten (Debian's: apt-get install -y emscripten),
#   lstm-simd.wasm     SIMD128                    } through CMakeLists.txt
#   lstm-relaxed.wasm  SIMD128 + relaxed SIMD's fused multiply-add: clang-19 and wasm-ld-19
#                      (apt-get install -y clang-19 lld-19) against emscripten's libraries
# The modules are committed so a clone works without the toolchains; CI rebuilds them and runs the
# tests on the rebuilt ones.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v emcmake >/dev/null || { echo "emscripten is not installed (apt-get install -y emscripten)" >&2; exit 1; }
command -v clang++-19 >/dev/null && command -v wasm-ld-19 >/dev/null || { echo "clang-19 and wasm-ld-19 are not installed (apt-get install -y clang-19 lld-19)" >&2; exit 1; }
emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/wasm -j 2
mkdir -p wasm/dist
cp build/wasm/lstm.wasm build/wasm/lstm-simd.wasm wasm/dist/

# The relaxed-SIMD module. emscripten 3.1.6 compiles with clang-14, which has no relaxed SIMD
# intrinsics, and its wasm-opt rejects the opcodes; so clang-19 compiles with the flags emcc
# gives clang (emcc -v), against emscripten's headers, and wasm-ld-19 links emscripten's
# libraries (built by the emcc links above) as emcc links the other two: the same standalone
# module, with the same two imports, loaded by the same code (lib/backends/wasm.ts). Without
# wasm-opt's pass over it, it is about as fast: the objects are already optimised (-O3).
sysroot="$(em-config CACHE)/sysroot"
libs="$sysroot/lib/wasm32-emscripten"
out=build/wasm-relaxed
mkdir -p "$out"
cxxflags=(--target=wasm32-unknown-emscripten --sysroot="$sysroot" -Xclang -iwithsysroot/include/compat
  -DEMSCRIPTEN -D__EMSCRIPTEN_major__=3 -D__EMSCRIPTEN_minor__=1 -D__EMSCRIPTEN_tiny__=6 -D_LIBCPP_ABI_VERSION=2
  -Dunix -D__unix -D__unix__ -fno-threadsafe-statics -fvisibility=default -mllvm -combiner-global-alias-analysis=false
  -mllvm -disable-lsr -std=c++17 -O3 -fno-exceptions -fno-rtti -msimd128 -mrelaxed-simd -DRNN_HAVE_WASM_RELAXED)
objects=()
for source in native/rnn_runtime.cc native/kernel/kernel_scalar.cc native/kernel/kernel_wasm_relaxed.cc; do
  object="$out/$(basename "$source" .cc).o"
  clang++-19 "${cxxflags[@]}" -c "$source" -o "$object" &
  objects+=("$object")
done
wait
exports=(rnn_create rnn_destroy rnn_forward rnn_backward rnn_trace_count rnn_layer_isa rnn_isa_available rnn_isa_best rnn_isa_calls
  rnn_conv1d_create rnn_conv1d_destroy rnn_conv1d_forward rnn_conv1d_output_steps rnn_conv1d_isa malloc free)
# emcc's link: what the libraries leave undefined is imported (emscripten_notify_memory_growth,
# proc_exit); 16 MiB of memory to start, growing to 2 GiB; 5 MiB of stack.
wasm-ld-19 -o wasm/dist/lstm-relaxed.wasm "${objects[@]}" "$libs/crt1_reactor.o" -L"$libs" \
  -lstandalonewasm-memgrow -lstubs -lnoexit -lc -lemmalloc -lcompiler_rt -lc++-noexcept -lc++abi-noexcept \
  --entry=_initialize "${exports[@]/#/--export=}" --import-undefined --strip-all \
  -z stack-size=5242880 --initial-memory=16777216 --max-memory=2147483648 --global-base=1024
ls -l wasm/dist
