// One float per "vector": the portable reference the SIMD layers must agree with.
#ifndef LSTM_SIMD_F32_SCALAR_H
#define LSTM_SIMD_F32_SCALAR_H
#include <math.h>
#include <stdint.h>

struct F32Scalar {
  static constexpr int width = 1;
  static constexpr bool has_half = false;
  static constexpr int tile_rows = 6;
  static constexpr bool fused_fma = false;  // fma rounds twice
  float v;

  static F32Scalar load(const float* p) { return {*p}; }
  // int8 weights against int16 states, two steps of k at once (see accumulate_pairs).
  struct Pairs {
    int32_t k0, k1;
  };
  struct Sums {
    int32_t v;
  };
  static Pairs load_pairs(const int8_t* p) { return {p[0], p[1]}; }
  static Pairs set1_pair(const int16_t* p) { return {p[0], p[1]}; }
  static Sums sums_zero() { return {0}; }
  static Sums dot_add(Sums acc, Pairs w, Pairs h) { return {acc.v + w.k0 * h.k0 + w.k1 * h.k1}; }
  static F32Scalar to_float(Sums s) { return {(float)s.v}; }
  static void store(float* p, F32Scalar a) { *p = a.v; }
  static F32Scalar set1(float x) { return {x}; }
  static F32Scalar zero() { return {0.0f}; }
  static F32Scalar add(F32Scalar a, F32Scalar b) { return {a.v + b.v}; }
  static F32Scalar sub(F32Scalar a, F32Scalar b) { return {a.v - b.v}; }
  static F32Scalar mul(F32Scalar a, F32Scalar b) { return {a.v * b.v}; }
  static F32Scalar div(F32Scalar a, F32Scalar b) { return {a.v / b.v}; }
  // a * b + c
  static F32Scalar fma(F32Scalar a, F32Scalar b, F32Scalar c) { return {a.v * b.v + c.v}; }
  // Returns `a` when either is NaN, like every vector layer's min/max.
  static F32Scalar min(F32Scalar a, F32Scalar b) { return {b.v < a.v ? b.v : a.v}; }
  static F32Scalar max(F32Scalar a, F32Scalar b) { return {b.v > a.v ? b.v : a.v}; }
  static F32Scalar abs(F32Scalar a) { return {fabsf(a.v)}; }
  static bool any_nan(F32Scalar a) { return a.v != a.v; }
  static F32Scalar exp(F32Scalar a) { return {expf(a.v)}; }
};

#endif
