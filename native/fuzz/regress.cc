// The fuzzers' findings as plain tests: each one a function that builds the case by hand (so it
// does not depend on how a harness reads its bytes) and returns false when the contract is broken.
// scripts/fuzz.sh builds this with the same sanitizers and runs it before the campaigns; a
// sanitizer report stops it. Prints "regress: N passed, M failed".
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

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


// F4 (fuzz_stream in CI, and scripts/check-neon.sh under qemu): threads = 2 on a busy machine. When
// part 0 took over a helper's share of a step, the helper went on to the step's next phase with the
// plan of the step before (its rows, masked rows and quantized state are planned in the phase it
// missed): a GRU's candidate pass or the final state was computed for the wrong rows, and the
// outputs kept their old values. Every call on two threads must give the bits of one thread, also
// while other threads hold every core (so that helpers are descheduled and passed over).
bool f4_helper_passed_over() {
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (unsigned k = 0; k < std::max(2u, std::thread::hardware_concurrency()); ++k)
    load.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  bool ok = true;
  int calls = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (uint32_t seed = 1; ok && std::chrono::steady_clock::now() < until; ++seed) {
    srand(seed);
    const auto rnd = [] { return rand() / (float)RAND_MAX - 0.5f; };
    rnn_config c;
    memset(&c, 0, sizeof c);
    c.cell = seed % 3 == 0 ? RNN_CELL_LSTM : RNN_CELL_GRU;
    c.reset_after = seed % 3 == 2;
    c.input_size = 3;
    c.units = 17 + seed % 24;
    c.activation = c.cell_activation = {RNN_ACT_TANH, 0, 0};
    c.recurrent_activation = {RNN_ACT_SIGMOID, 0, 0};
    c.weight_precision = seed % 4 == 3 ? RNN_PRECISION_I8 : RNN_PRECISION_F32;
    const int G = c.cell == RNN_CELL_LSTM ? 4 : 3, I = c.input_size, U = c.units, B = 1 + seed % 3, T = 1 + seed % 9;
    std::vector<float> k(I * G * U), r(U * G * U), b(G * U), rb(G * U), x(B * T * I);
    for (auto* v : {&k, &r, &b, &rb, &x})
      for (auto& e : *v) e = rnd();
    std::vector<uint8_t> mask(B * T, 1);
    for (int i = 0; i < B * T; i += 3) mask[i] = 0;
    std::vector<float> out[2], h[2], cs[2];
    for (int threads = 1; threads <= 2; ++threads) {
      c.threads = threads;
      rnn_layer* layer = nullptr;
      if (rnn_create(&c, k.data(), r.data(), b.data(), rb.data(), nullptr, &layer) != RNN_OK) return false;
      std::vector<float>& o = out[threads - 1];
      o.assign(B * T * U, 7.0f);
      h[threads - 1].assign(B * U, 0.1f);
      cs[threads - 1].assign(B * U, -0.1f);
      for (int repeat = 0; repeat < 20; ++repeat)
        ok = ok && rnn_forward(layer, B, T, RNN_RETURN_SEQUENCES | RNN_ZERO_OUTPUT_FOR_MASK, x.data(),
                               h[threads - 1].data(), cs[threads - 1].data(), o.data(), mask.data(), nullptr,
                               nullptr) == RNN_OK;
      rnn_destroy(layer);
    }
    ok = ok && memcmp(out[0].data(), out[1].data(), out[0].size() * 4) == 0 &&
         memcmp(h[0].data(), h[1].data(), h[0].size() * 4) == 0;
    if (!ok) printf("F4: threads 1 and 2 differ: seed %u (cell %d, units %d, batch %d, steps %d)\n", seed, c.cell, U, B, T);
    ++calls;
  }
  stop = true;
  for (auto& t : load) t.join();
  printf("F4: %d layers alike on 1 and 2 threads under load\n", calls);
  return ok;
}

}  // namespace

int main() {
  struct Case {
    const char* name;
    bool (*run)();
  } cases[] = {{"F1 int8 weights, a state below 2^-114", f1_int8_tiny_state},
               {"F2 units near INT32_MAX", f2_units_near_int_max},
               {"F3 int8 weights, a column below 127 * 2^-126", f3_int8_subnormal_column},
               {"F4 threads 2, a helper passed over", f4_helper_passed_over}};
  int passed = 0, failed = 0;
  for (const Case& c : cases) {
    const bool ok = c.run();
    printf("%s: %s\n", c.name, ok ? "ok" : "FAILED");
    (ok ? passed : failed)++;
  }
  printf("regress: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
