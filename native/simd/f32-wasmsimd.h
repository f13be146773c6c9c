// Four float lanes of WebAssembly SIMD128, written once for both WebAssembly vector builds: the
// multiply-add comes from MulAdd. SIMD128 has none, so F32WasmSimd's is a multiply and an add;
// the relaxed-SIMD build's (f32-wasm-relaxed.h) fuses them where the hardware can.
#ifndef LSTM_SIMD_F32_WASMSIMD_H
#define LSTM_SIMD_F32_WASMSIMD_H
#include <string.h>
#include <wasm_simd128.h>
#include "f32-exp-poly.h"

template <class MulAdd>
struct F32Wasm128 {
  static constexpr int width = 4;
  static constexpr bool has_half = false;
  static constexpr int tile_rows = 4;
  // Whether fma rounds once: a constant for SIMD128, found at start-up for relaxed SIMD.
  static inline const bool fused_fma = MulAdd::fused();
  v128_t v;

  static F32Wasm128 load(const float* p) { return {wasm_v128_load(p)}; }
  // int8 weights against int16 states, two steps of k at once (see accumulate_pairs):
  // Pairs holds (k, k+1) for each of the 4 columns, Sums one int32 per column. dot_i16x8 is
  // x86's pmaddwd: one instruction for eight products, where floats take a multiply and an add
  // for four.
  struct Pairs {
    v128_t v;
  };
  struct Sums {
    v128_t v;
  };
  static Pairs load_pairs(const int8_t* p) { return {wasm_i16x8_load8x8(p)}; }
  static Pairs set1_pair(const int16_t* p) {
    int32_t pair;
    memcpy(&pair, p, 4);
    return {wasm_i32x4_splat(pair)};
  }
  static Sums sums_zero() { return {wasm_i32x4_splat(0)}; }
  static Sums dot_add(Sums acc, Pairs w, Pairs h) { return {wasm_i32x4_add(acc.v, wasm_i32x4_dot_i16x8(w.v, h.v))}; }
  static F32Wasm128 to_float(Sums s) { return {wasm_f32x4_convert_i32x4(s.v)}; }
  static void store(float* p, F32Wasm128 a) { wasm_v128_store(p, a.v); }
  static F32Wasm128 set1(float x) { return {wasm_f32x4_splat(x)}; }
  static F32Wasm128 zero() { return {wasm_f32x4_splat(0.0f)}; }
  static F32Wasm128 add(F32Wasm128 a, F32Wasm128 b) { return {wasm_f32x4_add(a.v, b.v)}; }
  static F32Wasm128 sub(F32Wasm128 a, F32Wasm128 b) { return {wasm_f32x4_sub(a.v, b.v)}; }
  static F32Wasm128 mul(F32Wasm128 a, F32Wasm128 b) { return {wasm_f32x4_mul(a.v, b.v)}; }
  static F32Wasm128 div(F32Wasm128 a, F32Wasm128 b) { return {wasm_f32x4_div(a.v, b.v)}; }
  static F32Wasm128 fma(F32Wasm128 a, F32Wasm128 b, F32Wasm128 c) { return {MulAdd::madd(a.v, b.v, c.v)}; }
  // pmin/pmax are the plain compare-and-select forms (cheaper than min/max); both return `a`
  // when either is NaN, as every vector layer's min/max does.
  static F32Wasm128 min(F32Wasm128 a, F32Wasm128 b) { return {wasm_f32x4_pmin(a.v, b.v)}; }
  static F32Wasm128 max(F32Wasm128 a, F32Wasm128 b) { return {wasm_f32x4_pmax(a.v, b.v)}; }
  static F32Wasm128 abs(F32Wasm128 a) { return {wasm_f32x4_abs(a.v)}; }
  static bool any_nan(F32Wasm128 a) { return wasm_v128_any_true(wasm_f32x4_ne(a.v, a.v)); }
  // Rounding and the float-to-int conversion go through 1.5 * 2^23, which puts the integer in the
  // low mantissa bits: exact for |x| < 2^22 (exp's are within +-128), and a few instructions
  // where V8 expands nearest and trunc_sat into a dozen.
  static constexpr float kMagic = 12582912.0f;        // 1.5 * 2^23
  static constexpr int32_t kMagicBits = 0x4B400000;  // its bits
  static F32Wasm128 round_nearest(F32Wasm128 a) {
    return {wasm_f32x4_sub(wasm_f32x4_add(a.v, wasm_f32x4_splat(kMagic)), wasm_f32x4_splat(kMagic))};
  }
  static F32Wasm128 ldexp_int(F32Wasm128 a, F32Wasm128 n) {
    const v128_t biased = wasm_i32x4_add(wasm_f32x4_add(n.v, wasm_f32x4_splat(kMagic)), wasm_i32x4_splat(127 - kMagicBits));
    return {wasm_f32x4_mul(a.v, wasm_i32x4_shl(biased, 23))};
  }
  static F32Wasm128 exp(F32Wasm128 a) { return exp_poly(a); }
};

// SIMD128's multiply-add: a multiply and an add, rounding twice.
struct Wasm128MulAdd {
  static constexpr bool fused() { return false; }
  static v128_t madd(v128_t a, v128_t b, v128_t c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }
};
using F32WasmSimd = F32Wasm128<Wasm128MulAdd>;

#endif
