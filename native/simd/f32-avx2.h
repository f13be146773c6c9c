// Eight float lanes on x86-64 with AVX2 and FMA3. Only kernel_avx2.cc includes this, and only
// that file is compiled with -mavx2 -mfma.
#ifndef LSTM_SIMD_F32_AVX2_H
#define LSTM_SIMD_F32_AVX2_H
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include "f32-exp-poly.h"

struct F32Avx2 {
  static constexpr int width = 8;
  static constexpr bool has_half = true;  // F16C (checked at run time with AVX2)
  static constexpr int tile_rows = 6;
  static constexpr bool fused_fma = true;
  __m256 v;

  static F32Avx2 load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static F32Avx2 load_half(const uint16_t* p) { return {_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))}; }
  // int8 weights against int16 states, two steps of k at once (see accumulate_pairs):
  // Pairs holds (k, k+1) for each of the 8 columns, Sums one int32 per column.
  struct Pairs {
    __m256i v;
  };
  struct Sums {
    __m256i v;
  };
  static Pairs load_pairs(const int8_t* p) { return {_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))}; }
  static Pairs set1_pair(const int16_t* p) {
    int32_t pair;
    memcpy(&pair, p, 4);
    return {_mm256_set1_epi32(pair)};
  }
  static Sums sums_zero() { return {_mm256_setzero_si256()}; }
  static Sums dot_add(Sums acc, Pairs w, Pairs h) { return {_mm256_add_epi32(acc.v, _mm256_madd_epi16(w.v, h.v))}; }
  static F32Avx2 to_float(Sums s) { return {_mm256_cvtepi32_ps(s.v)}; }
  static void store(float* p, F32Avx2 a) { _mm256_storeu_ps(p, a.v); }
  static F32Avx2 set1(float x) { return {_mm256_set1_ps(x)}; }
  static F32Avx2 zero() { return {_mm256_setzero_ps()}; }
  static F32Avx2 add(F32Avx2 a, F32Avx2 b) { return {_mm256_add_ps(a.v, b.v)}; }
  static F32Avx2 sub(F32Avx2 a, F32Avx2 b) { return {_mm256_sub_ps(a.v, b.v)}; }
  static F32Avx2 mul(F32Avx2 a, F32Avx2 b) { return {_mm256_mul_ps(a.v, b.v)}; }
  static F32Avx2 div(F32Avx2 a, F32Avx2 b) { return {_mm256_div_ps(a.v, b.v)}; }
  static F32Avx2 fma(F32Avx2 a, F32Avx2 b, F32Avx2 c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
  // min/max return `a` when either is NaN (vminps returns its second operand), so NaN propagates
  // through clamps of a variable against constants; the same holds in every vector layer.
  static F32Avx2 min(F32Avx2 a, F32Avx2 b) { return {_mm256_min_ps(b.v, a.v)}; }
  static F32Avx2 max(F32Avx2 a, F32Avx2 b) { return {_mm256_max_ps(b.v, a.v)}; }
  static F32Avx2 abs(F32Avx2 a) { return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)}; }
  // Whether any lane is NaN: the kernel's rare paths start from this one test.
  static bool any_nan(F32Avx2 a) { return _mm256_movemask_ps(_mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)) != 0; }
  static F32Avx2 round_nearest(F32Avx2 a) {
    return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
  }
  static F32Avx2 ldexp_int(F32Avx2 a, F32Avx2 n) {
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127)), 23);
    return {_mm256_mul_ps(a.v, _mm256_castsi256_ps(bits))};
  }
  static F32Avx2 exp(F32Avx2 a) { return exp_poly(a); }
};

#endif
