// exp(x) for float32 lanes, Cephes' expf scheme: x = n*ln2 + r with |r| <= ln2/2, exp(r) by a
// degree-6 polynomial, then scaled by 2^n through the exponent bits. Max error about 2 ulp on
// [-87.3, 88.3]; inputs are clamped to that range, so exp never returns inf or NaN for finite x.
// Expects the including vector type to provide: set1, add, sub, mul, fma, min, max, round_nearest
// and ldexp_int (x * 2^n for integral-valued n).
#ifndef LSTM_SIMD_F32_EXP_POLY_H
#define LSTM_SIMD_F32_EXP_POLY_H

template <class V>
static inline V exp_poly(V x) {
  x = V::min(V::max(x, V::set1(-87.3f)), V::set1(88.3f));
  const V n = V::round_nearest(V::mul(x, V::set1(1.44269504088896341f)));
  // r = x - n*ln2, with ln2 split in two so the product stays exact.
  V r = V::fma(n, V::set1(-0.693359375f), x);
  r = V::fma(n, V::set1(2.12194440e-4f), r);
  V p = V::set1(1.9875691500e-4f);
  p = V::fma(p, r, V::set1(1.3981999507e-3f));
  p = V::fma(p, r, V::set1(8.3334519073e-3f));
  p = V::fma(p, r, V::set1(4.1665795894e-2f));
  p = V::fma(p, r, V::set1(1.6666665459e-1f));
  p = V::fma(p, r, V::set1(5.0000001201e-1f));
  p = V::fma(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
  return V::ldexp_int(p, n);
}

#endif
