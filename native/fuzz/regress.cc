// The fuzzers' findings as plain tests: each one a function that builds the case by hand (so it
// does not depend on how a harness reads its bytes) and returns false when the contract is broken.
// scripts/fuzz.sh builds this with the same sanitizers and runs it before the campaigns; a
// sanitizer report stops it. Prints "regress: N passed, M failed".
#include "fuzz_common.h"

namespace {

// F1: int8 weights and a state whose largest |h| is above 0 and below 2^-114: 16383 / max|h|
// overflowed to infinity in quantize_state, and h * inf (0 * inf = NaN for the zeros) was converted
// to int16 (undefined behaviour; UBSan: float-cast-overflow). The js backend gives NaN there.
// Whatever the kernel makes of such a state, the step must run and its h stay finite.
bool f1_int8_tiny_state() {
  bool ok = true;
  for (int32_t isa : {RNN_ISA_SCALAR, RNN_ISA_AVX2}) {
    if (!rnn_isa_available(isa)) continue;
    rnn_config c;
    memset(&c, 0, sizeof c);
    c.cell = RNN_CELL_LSTM;
    c.input_size = 1;
    c.units = 2;
    c.activation = c.cell_activation = {RNN_ACT_TANH, 0, 0};
    c.recurrent_activation = {RNN_ACT_SIGMOID, 0, 0};
    c.isa = isa;
    c.threads = 1;
    c.weight_precision = RNN_PRECISION_I8;
    const float kernel[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    const float recurrent[16] = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f,
                                 0.2f, 0.1f, -0.3f, 0.4f, 0.5f, 0.2f, 0.7f, 0.1f};
    rnn_layer* layer = nullptr;
    if (rnn_create(&c, kernel, recurrent, nullptr, nullptr, nullptr, &layer) != RNN_OK) return false;
    for (float tiny : {1e-36f, 1e-45f, -3e-39f}) {
      float x[1] = {0.5f}, h[2] = {tiny, 0.0f}, cs[2] = {0.0f, 0.0f};
      ok = ok && rnn_forward(layer, 1, 1, 0, x, h, cs, nullptr, nullptr, nullptr, nullptr) == RNN_OK;
      ok = ok && isfinite(h[0]) && isfinite(h[1]);
    }
    rnn_destroy(layer);
  }
  return ok;
}

// F2: rnn_create with units within W - 1 of INT32_MAX (W = 8 lanes on AVX2): the blocks of units
// were counted as (U + W - 1) / W in int, a signed overflow (undefined behaviour; UBSan:
// signed-integer-overflow at rnn_runtime.cc:381). The config must be refused, without it.
bool f2_units_near_int_max() {
  bool ok = true;
  for (int32_t isa : {RNN_ISA_AUTO, RNN_ISA_SCALAR, RNN_ISA_AVX2}) {
    if (isa != RNN_ISA_AUTO && !rnn_isa_available(isa)) continue;
    for (int32_t units : {INT32_MAX, INT32_MAX - 1, INT32_MAX - 7, INT32_MAX - 8}) {
      rnn_config c;
      memset(&c, 0, sizeof c);
      c.cell = RNN_CELL_LSTM;
      c.input_size = 1;
      c.units = units;
      c.activation = c.cell_activation = {RNN_ACT_TANH, 0, 0};
      c.recurrent_activation = {RNN_ACT_SIGMOID, 0, 0};
      c.isa = isa;
      c.threads = 1;
      const float one[1] = {0.0f};
      rnn_layer* layer = reinterpret_cast<rnn_layer*>(uintptr_t(1));
      ok = ok && rnn_create(&c, one, one, nullptr, nullptr, nullptr, &layer) == RNN_ERR_CONFIG && layer == nullptr;
    }
  }
  return ok;
}

// F3: int8 weights whose column's largest |w| is so small that max|w| / 127 is a subnormal float:
// the scale loses its precision, w / scale reaches 190 (w = 190 * 2^-149: the scale rounds to
// 2^-149), and the conversion to int8_t in interleave_pairs is undefined (UBSan:
// float-cast-overflow at rnn_runtime.cc:152); x86 and js' Int8Array wrap it to -66. The layer must
// be created, and its weights stay in [-127, 127].
bool f3_int8_subnormal_column() {
  rnn_config c;
  memset(&c, 0, sizeof c);
  c.cell = RNN_CELL_LSTM;
  c.input_size = 1;
  c.units = 1;
  c.activation = c.cell_activation = {RNN_ACT_TANH, 0, 0};
  c.recurrent_activation = {RNN_ACT_SIGMOID, 0, 0};
  c.isa = RNN_ISA_SCALAR;
  c.threads = 1;
  c.weight_precision = RNN_PRECISION_I8;
  const float w = ldexpf(190.0f, -149);
  const float kernel[4] = {0.1f, 0.1f, 0.1f, 0.1f}, recurrent[4] = {w, w, w, -w};
  rnn_layer* layer = nullptr;
  if (rnn_create(&c, kernel, recurrent, nullptr, nullptr, nullptr, &layer) != RNN_OK) return false;
  float x[1] = {1.0f}, h[1] = {1.0f}, cs[1] = {0.0f};
  const bool ok = rnn_forward(layer, 1, 1, 0, x, h, cs, nullptr, nullptr, nullptr, nullptr) == RNN_OK && isfinite(h[0]);
  rnn_destroy(layer);
  return ok;
}

}  // namespace

int main() {
  struct Case {
    const char* name;
    bool (*run)();
  } cases[] = {{"F1 int8 weights, a state below 2^-114", f1_int8_tiny_state},
               {"F2 units near INT32_MAX", f2_units_near_int_max},
               {"F3 int8 weights, a column below 127 * 2^-126", f3_int8_subnormal_column}};
  int passed = 0, failed = 0;
  for (const Case& c : cases) {
    const bool ok = c.run();
    printf("%s: %s\n", c.name, ok ? "ok" : "FAILED");
    (ok ? passed : failed)++;
  }
  printf("regress: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
