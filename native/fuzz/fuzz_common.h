// Shared helpers of the libFuzzer harnesses (one per C entry point, as simdjson's fuzz/): a reader
// that turns the fuzz bytes into sizes, flags and floats, a small valid layer drawn from them, and
// FUZZ_CHECK, which stops the run (a crash libFuzzer records) when the contract of rnn_runtime.h
// is broken. Buffers are allocated at exactly the sizes the contract states, so AddressSanitizer
// reports any read or write past them.
#ifndef RNN_FUZZ_COMMON_H
#define RNN_FUZZ_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "../rnn_runtime.h"

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                        \
    }                                                                                 \
  } while (0)

namespace fuzz {

// Reads the fuzz bytes front to back; once they run out, values come from a generator seeded by
// them, so a short input still fills large buffers with varied values.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), n_(size), seed_(0x9e3779b9u ^ (uint32_t)size) {
    for (size_t i = 0; i < size && i < 64; ++i) seed_ = seed_ * 31u + data[i];
  }
  bool empty() const { return n_ == 0; }
  uint8_t u8() {
    if (n_) {
      --n_;
      return *p_++;
    }
    seed_ ^= seed_ << 13;
    seed_ ^= seed_ >> 17;
    seed_ ^= seed_ << 5;
    return (uint8_t)(seed_ >> 11);
  }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= (uint32_t)u8() << (8 * i);
    return v;
  }
  int32_t i32() { return (int32_t)u32(); }
  bool bit() { return u8() & 1; }
  // An integer in [lo, hi] (a small range).
  int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(u8() % (uint32_t)(hi - lo + 1)); }
  // Any float: small values mostly, and NaN, infinities, zeros of both signs, subnormals, the
  // edges of half precision and arbitrary bit patterns.
  float any_float() {
    const uint8_t k = u8();
    switch (k & 15) {
      case 0: return NAN;
      case 1: return INFINITY;
      case 2: return -INFINITY;
      case 3: {
        const uint32_t bits = u32();
        float f;
        memcpy(&f, &bits, 4);
        return f;
      }
      case 4: return -0.0f;
      case 5: return (k & 16) ? 65504.0f : 65520.0f;  // the largest half, and the first past it
      case 6: return (k & 16) ? 1e-45f : -3e38f;
      default: return finite_float();
    }
  }
  // A finite value in [-4, 4) in steps of 1/32.
  float finite_float() { return (float)(int8_t)u8() / 32.0f; }

 private:
  const uint8_t* p_;
  size_t n_;
  uint32_t seed_;
};

inline int gates_of(int32_t cell) { return cell == RNN_CELL_GRU ? 3 : 4; }

inline std::vector<float> floats(Bytes& in, size_t n, bool finite) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = finite ? in.finite_float() : in.any_float();
  return v;
}

inline rnn_activation small_activation(Bytes& in) {
  rnn_activation a;
  a.kind = in.range(RNN_ACT_LINEAR, RNN_ACT_ELU);
  a.alpha = in.finite_float();
  a.beta = in.finite_float();
  return a;
}

// An instruction set this build and CPU can run (AUTO, scalar, or AVX2 where present).
inline int32_t available_isa(Bytes& in) {
  const int32_t isa = in.range(RNN_ISA_AUTO, RNN_ISA_AVX2);
  return rnn_isa_available(isa) || isa == RNN_ISA_AUTO ? isa : RNN_ISA_SCALAR;
}

// A config every field of which is in range, with up to max_units units (several blocks of 8).
inline rnn_config small_config(Bytes& in, int max_input, int max_units) {
  rnn_config c;
  memset(&c, 0, sizeof c);
  c.cell = in.bit() ? RNN_CELL_GRU : RNN_CELL_LSTM;
  c.input_size = in.range(1, max_input);
  c.units = in.range(1, max_units);
  c.activation = small_activation(in);
  c.cell_activation = small_activation(in);
  c.recurrent_activation = small_activation(in);
  c.clip = in.bit() ? 0.0f : (float)in.range(1, 40) / 8.0f;
  c.input_forget = in.bit();
  c.reset_after = in.bit();
  c.isa = available_isa(in);
  c.threads = 1;
  c.weight_precision = in.range(RNN_PRECISION_F32, RNN_PRECISION_I8);
  if (!rnn_precision_available(c.isa, c.weight_precision)) c.weight_precision = RNN_PRECISION_F32;
  return c;
}

// The weights of a config as the contract sizes them (Keras layout), finite values.
struct Weights {
  std::vector<float> kernel, recurrent, bias, recurrent_bias, peepholes;
  Weights(Bytes& in, const rnn_config& c) {
    const size_t G = gates_of(c.cell), I = c.input_size, U = c.units;
    kernel = floats(in, I * G * U, true);
    recurrent = floats(in, U * G * U, true);
    bias = floats(in, G * U, true);
    recurrent_bias = floats(in, G * U, true);
    peepholes = floats(in, 3 * U, true);
  }
  rnn_status create(const rnn_config& c, bool with_peepholes, rnn_layer** out) const {
    return rnn_create(&c, kernel.data(), recurrent.data(), bias.data(), recurrent_bias.data(),
                      with_peepholes ? peepholes.data() : nullptr, out);
  }
};

inline bool valid_status(rnn_status s) { return s >= RNN_OK && s <= RNN_ERR_RANGE; }

}  // namespace fuzz

#endif
