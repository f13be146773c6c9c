// rnn_create with any config (every field of rnn_config from the fuzz bytes) and any weights
// (NaN, infinities, values past half precision; null where a pointer is optional, and where it
// is not), then rnn_destroy. It must answer with a status, leave *out null when that status is an
// error, accept every config that the contract allows, and leak nothing (LeakSanitizer). A layer
// it accepts also runs one short forward call.
#include "fuzz_common.h"

using namespace fuzz;

namespace {

constexpr size_t kHonestFloats = size_t(1) << 18;  // weights up to this are allocated at their size
constexpr size_t kRejectFloats = size_t(1) << 30;  // past this the contract says rnn_create refuses

rnn_activation any_activation(Bytes& in, bool raw) {
  rnn_activation a;
  a.kind = raw ? in.i32() : in.range(-1, 7);
  a.alpha = in.any_float();
  a.beta = in.any_float();
  return a;
}

bool activation_ok(const rnn_activation& a) { return a.kind >= RNN_ACT_LINEAR && a.kind <= RNN_ACT_ELU && !isnan(a.alpha) && !isnan(a.beta); }

bool all_finite(const std::vector<float>& v, float limit) {
  for (float x : v)
    if (!isfinite(x) || !(fabsf(x) <= limit)) return false;
  return true;
}

// One forward call of a layer rnn_create accepted: it must run (the shapes are in range).
void run_once(Bytes& in, rnn_layer* layer, const rnn_config& c) {
  const int B = in.range(1, 2), T = in.range(1, 3), I = c.input_size, U = c.units;
  std::vector<float> x = floats(in, (size_t)B * T * I, false), h(B * U), cs(B * U), out((size_t)B * T * U);
  std::vector<float> trace((size_t)rnn_trace_count(layer) * B * T * U);
  const rnn_status s = rnn_forward(layer, B, T, RNN_RETURN_SEQUENCES, x.data(), h.data(), cs.data(), out.data(), nullptr,
                                   nullptr, in.bit() ? trace.data() : nullptr);
  FUZZ_CHECK(s == RNN_OK);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const uint8_t mode = in.u8();
  // Any int32 for the sizes (and threads), and apart from them for the enums, else values near
  // their range: a config with huge sizes and every other field valid must be reachable.
  const bool raw_sizes = mode & 1, raw_enums = mode & 4;
  rnn_config c;
  memset(&c, 0, sizeof c);
  c.cell = raw_enums ? in.i32() : in.range(-1, 2);
  c.input_size = raw_sizes ? in.i32() : in.range(-1, 40);
  c.units = raw_sizes ? (in.bit() ? in.i32() : INT32_MAX - in.range(0, 16)) : in.range(-1, 40);
  c.activation = any_activation(in, raw_enums);
  c.cell_activation = any_activation(in, raw_enums);
  c.recurrent_activation = any_activation(in, raw_enums);
  c.clip = in.bit() ? in.any_float() : 0.0f;
  c.input_forget = in.i32();
  c.reset_after = in.i32();
  c.isa = raw_enums ? in.i32() : in.range(-1, RNN_ISA_COUNT);
  c.threads = raw_sizes ? in.i32() : in.range(-1, 4);
  c.weight_precision = raw_enums ? in.i32() : in.range(-1, 3);

  // Which pointers are given (the kernel and recurrent kernel are required, the rest optional).
  const uint8_t given = in.u8();
  const bool finite = mode & 2;  // finite weights, so a valid config must be accepted
  const size_t G = gates_of(c.cell);
  const size_t I = c.input_size > 0 ? (size_t)c.input_size : 0, U = c.units > 0 ? (size_t)c.units : 0;
  const size_t n_kernel = I * G * U, n_recurrent = U * G * U;
  std::vector<float> kernel, recurrent, bias, recurrent_bias, peepholes;
  bool honest = true;
  if (I && U && n_kernel <= kHonestFloats && n_recurrent <= kHonestFloats) {
    kernel = floats(in, n_kernel, finite);
    recurrent = floats(in, n_recurrent, finite);
    bias = floats(in, G * U, finite);
    recurrent_bias = floats(in, G * U, finite);
    peepholes = floats(in, 3 * U, finite);
  } else if (!I || !U || n_kernel > kRejectFloats || n_recurrent > kRejectFloats) {
    // Sizes the contract makes rnn_create refuse: tiny buffers, so any read of them shows.
    honest = false;
    kernel = recurrent = bias = recurrent_bias = peepholes = std::vector<float>(1, 1.0f);
  } else {
    return 0;  // valid, but too large to allocate here
  }
  const float* p_kernel = given & 1 ? kernel.data() : nullptr;
  const float* p_recurrent = given & 2 ? recurrent.data() : nullptr;
  const float* p_bias = given & 4 ? bias.data() : nullptr;
  const float* p_recurrent_bias = given & 8 ? recurrent_bias.data() : nullptr;
  const float* p_peepholes = given & 16 ? peepholes.data() : nullptr;
  const bool null_config = (given & 0xe0) == 0xe0, null_out = (given & 0xe0) == 0xc0;

  rnn_layer* layer = reinterpret_cast<rnn_layer*>(uintptr_t(1));  // must be overwritten
  const rnn_status s = rnn_create(null_config ? nullptr : &c, p_kernel, p_recurrent, p_bias, p_recurrent_bias, p_peepholes,
                                  null_out ? nullptr : &layer);
  FUZZ_CHECK(valid_status(s));
  if (null_config || null_out || !honest) {
    FUZZ_CHECK(s != RNN_OK);
    FUZZ_CHECK(null_out || layer == nullptr);
    return 0;
  }
  if (s != RNN_OK) {
    FUZZ_CHECK(layer == nullptr);
    // Everything in range must be accepted: a refusal here is a false one.
    const bool isa_ok = c.isa == RNN_ISA_AUTO || (c.isa > 0 && c.isa < RNN_ISA_COUNT && rnn_isa_available(c.isa));
    const bool precision_ok = c.weight_precision >= 0 && c.weight_precision <= 2 && isa_ok &&
                              rnn_precision_available(c.isa, c.weight_precision);
    const bool in_range = (c.cell == RNN_CELL_LSTM || c.cell == RNN_CELL_GRU) && c.threads >= 1 &&
                          activation_ok(c.activation) && activation_ok(c.cell_activation) &&
                          activation_ok(c.recurrent_activation) && c.clip >= 0.0f && isa_ok && precision_ok &&
                          p_kernel && p_recurrent;
    const bool fits = c.weight_precision == RNN_PRECISION_F32 ||
                      all_finite(recurrent, c.weight_precision == RNN_PRECISION_F16 ? 65504.0f : INFINITY);
    if (in_range && fits)
      fprintf(stderr, "refused (status %d): cell %d I %d U %d kinds %d %d %d clip %g isa %d threads %d precision %d\n", s,
              c.cell, c.input_size, c.units, c.activation.kind, c.cell_activation.kind, c.recurrent_activation.kind,
              c.clip, c.isa, c.threads, c.weight_precision);
    FUZZ_CHECK(!(in_range && fits));
    return 0;
  }
  FUZZ_CHECK(layer != nullptr && layer != reinterpret_cast<rnn_layer*>(uintptr_t(1)));
  FUZZ_CHECK(rnn_trace_count(layer) == (c.cell == RNN_CELL_LSTM ? 6 : 4));
  FUZZ_CHECK(rnn_layer_isa(layer)[0] != '\0');
  run_once(in, layer, c);
  rnn_destroy(layer);
  return 0;
}
