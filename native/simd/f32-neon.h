// Four float lanes of AArch64 NEON (always present on arm64, so no runtime check is needed).
#ifndef LSTM_SIMD_F32_NEON_H
#define LSTM_SIMD_F32_NEON_H
#include <arm_neon.h>
#include <stdint.h>
#include <string.h>
#include "f32-exp-poly.h"

struct F32Neon {
  static constexpr int width = 4;
  static constexpr bool has_half = true;
  static constexpr int tile_rows = 6;
  static constexpr bool fused_fma = true;
  float32x4_t v;

  static F32Neon load(const float* p) { return {vld1q_f32(p)}; }
  static F32Neon load_half(const uint16_t* p) { return {vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)))}; }
  // int8 weights against int16 states, two steps of k at once (see accumulate_pairs):
  // Pairs holds (k, k+1) for each of the 4 columns, Sums one int32 per column.
  struct Pairs {
    int16x8_t v;
  };
  struct Sums {
    int32x4_t v;
  };
  static Pairs load_pairs(const int8_t* p) { return {vmovl_s8(vld1_s8(p))}; }
  static Pairs set1_pair(const int16_t* p) {
    int32_t pair;
    memcpy(&pair, p, 4);
    return {vreinterpretq_s16_s32(vdupq_n_s32(pair))};
  }
  static Sums sums_zero() { return {vdupq_n_s32(0)}; }
  static Sums dot_add(Sums acc, Pairs w, Pairs h) {
    // Products of (k, k+1) for columns 0-1 and 2-3, then each column's two added.
    const int32x4_t low = vmull_s16(vget_low_s16(w.v), vget_low_s16(h.v));
    const int32x4_t high = vmull_high_s16(w.v, h.v);
    return {vaddq_s32(acc.v, vpaddq_s32(low, high))};
  }
  static F32Neon to_float(Sums s) { return {vcvtq_f32_s32(s.v)}; }
  static void store(float* p, F32Neon a) { vst1q_f32(p, a.v); }
  static F32Neon set1(float x) { return {vdupq_n_f32(x)}; }
  static F32Neon zero() { return {vdupq_n_f32(0.0f)}; }
  static F32Neon add(F32Neon a, F32Neon b) { return {vaddq_f32(a.v, b.v)}; }
  static F32Neon sub(F32Neon a, F32Neon b) { return {vsubq_f32(a.v, b.v)}; }
  static F32Neon mul(F32Neon a, F32Neon b) { return {vmulq_f32(a.v, b.v)}; }
  static F32Neon div(F32Neon a, F32Neon b) { return {vdivq_f32(a.v, b.v)}; }
  static F32Neon fma(F32Neon a, F32Neon b, F32Neon c) { return {vfmaq_f32(c.v, a.v, b.v)}; }
  // NaN in `a` comes back as NaN (vminq/vmaxq propagate it), as every vector layer's min/max does.
  static F32Neon min(F32Neon a, F32Neon b) { return {vminq_f32(a.v, b.v)}; }
  static F32Neon max(F32Neon a, F32Neon b) { return {vmaxq_f32(a.v, b.v)}; }
  static F32Neon abs(F32Neon a) { return {vabsq_f32(a.v)}; }
  static bool any_nan(F32Neon a) { return vmaxvq_u32(vmvnq_u32(vceqq_f32(a.v, a.v))) != 0; }
  static F32Neon round_nearest(F32Neon a) { return {vrndnq_f32(a.v)}; }
  static F32Neon ldexp_int(F32Neon a, F32Neon n) {
    const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n.v), vdupq_n_s32(127)), 23);
    return {vmulq_f32(a.v, vreinterpretq_f32_s32(bits))};
  }
  static F32Neon exp(F32Neon a) { return exp_poly(a); }
};

#endif
