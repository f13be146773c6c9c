// Four float lanes of WebAssembly with relaxed SIMD: SIMD128's vector (f32-wasmsimd.h) with
// f32x4.relaxed_madd as its multiply-add. Built only into lstm-relaxed.wasm (clang-19 with
// -mrelaxed-simd, wasm/build.sh); engines without relaxed SIMD refuse that module, and
// lib/backends/wasm-source.ts probes for it before loading.
//
// int8 weights keep SIMD128's i32x4.dot_i16x8 against the state quantized to int16: relaxed
// SIMD's i32x4.relaxed_dot_i8x16_i7x16_add gives defined results only for a second operand in
// [0, 127], so the state would have to be quantized to 7 bits instead of 15, 256 times coarser
// than every other backend's int8 path (lib/backends/js.ts included).
#ifndef LSTM_SIMD_F32_WASM_RELAXED_H
#define LSTM_SIMD_F32_WASM_RELAXED_H
#include "f32-wasmsimd.h"

struct WasmRelaxedMulAdd {
  // relaxed_madd rounds once or twice, as the engine's hardware does (fused on x86-64 with FMA3
  // and on arm64). tanh's clamp depends on which, so it is asked once: (1 + 2^-12)^2 - (1 + 2^-11)
  // is 2^-24 when fused, and 0 when the product is rounded first.
  static bool fused() {
    volatile float near_one = 1.0f + 0x1p-12f;  // volatile: the engine computes it, not clang
    const v128_t x = wasm_f32x4_splat(near_one);
    return wasm_f32x4_extract_lane(madd(x, x, wasm_f32x4_splat(-(1.0f + 0x1p-11f))), 0) != 0.0f;
  }
  static v128_t madd(v128_t a, v128_t b, v128_t c) { return wasm_f32x4_relaxed_madd(a, b, c); }
};
using F32WasmRelaxed = F32Wasm128<WasmRelaxedMulAdd>;

#endif
