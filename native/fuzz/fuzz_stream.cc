// A layer stepped one timestep at a time, as Lstm.stream() drives it: rnn_forward with steps = 1,
// the state carried from call to call in the caller's h and c, with resets, states set from the
// bytes, masked steps and many steps. Every step runs on two layers with the same weights, one
// with threads = 1 and one with threads = 2 (the build has threads: each step is split across
// the helper thread), which must give the same status and the same bits (any NaN for a NaN). A burst of single steps
// must also give the same bits as one call over the same steps.
#include "fuzz_common.h"

using namespace fuzz;

namespace {

constexpr int kMaxSteps = 4096;  // per input

struct State {
  std::vector<float> h, c, out;
};

rnn_status step(rnn_layer* layer, int B, int flags, const float* x, State& s, const uint8_t* mask, const int32_t* lengths) {
  return rnn_forward(layer, B, 1, flags, x, s.h.data(), s.c.data(), s.out.data(), mask, lengths, nullptr);
}

// The same bits, except that any NaN equals any NaN: a NaN's sign and payload depend on which
// operand of an operation was NaN, and a split call groups the blocks of units differently
// (found: GRU, int8, a NaN state: nan on one thread, -nan on two).
bool same_floats(const std::vector<float>& a, const std::vector<float>& b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!(isnan(a[i]) && isnan(b[i])) && memcmp(&a[i], &b[i], 4) != 0) return false;
  return true;
}

bool same(const State& a, const State& b) {
  return same_floats(a.h, b.h, a.h.size()) && same_floats(a.c, b.c, a.c.size()) && same_floats(a.out, b.out, a.out.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  rnn_config c = small_config(in, 8, 40);
  const bool peepholes = in.bit();
  const Weights w(in, c);
  rnn_layer* one = nullptr;
  rnn_layer* two = nullptr;
  FUZZ_CHECK(w.create(c, peepholes, &one) == RNN_OK);
  c.threads = 2;
  FUZZ_CHECK(w.create(c, peepholes, &two) == RNN_OK);
  const int B = in.range(1, 4), I = c.input_size, U = c.units;
  State a{std::vector<float>(B * U), std::vector<float>(B * U), std::vector<float>(B * U)};
  State b = a;
  std::vector<float> x(B * I);
  std::vector<uint8_t> mask(B);
  std::vector<int32_t> lengths(B);
  int steps = 0;
  while (!in.empty() && steps < kMaxSteps) {
    const uint8_t op = in.u8();
    switch (op & 7) {
      case 0:  // reset
        for (State* s : {&a, &b}) {
          memset(s->h.data(), 0, B * U * 4);
          memset(s->c.data(), 0, B * U * 4);
        }
        break;
      case 1:  // a state from the bytes (any values)
        a.h = floats(in, B * U, false);
        a.c = floats(in, B * U, false);
        b.h = a.h;
        b.c = a.c;
        break;
      case 2: {  // a burst of steps with the same bits as one call over them
        const int T = in.range(1, 64);
        std::vector<float> xs = floats(in, (size_t)B * T * I, true);
        State whole{a.h, a.c, std::vector<float>(B * U)};
        FUZZ_CHECK(rnn_forward(one, B, T, 0, xs.data(), whole.h.data(), whole.c.data(), whole.out.data(), nullptr,
                               nullptr, nullptr) == RNN_OK);
        for (int t = 0; t < T; ++t, ++steps) {
          for (int r = 0; r < B; ++r) memcpy(&x[r * I], &xs[((size_t)r * T + t) * I], I * 4);
          FUZZ_CHECK(step(one, B, 0, x.data(), a, nullptr, nullptr) == RNN_OK);
          FUZZ_CHECK(step(two, B, 0, x.data(), b, nullptr, nullptr) == RNN_OK);
          FUZZ_CHECK(same(a, b));
        }
        FUZZ_CHECK(same(whole, a));
        break;
      }
      default: {  // one step, with any input values, flags, mask and lengths
        for (auto& v : x) v = (op & 8) ? in.any_float() : in.finite_float();
        for (auto& m : mask) m = in.u8() & 1;
        for (auto& l : lengths) l = in.range(-1, 2);
        const int flags = in.range(0, 7);
        const bool with_mask = op & 16, with_lengths = op & 32;
        const rnn_status sa = step(one, B, flags, x.data(), a, with_mask ? mask.data() : nullptr,
                                   with_lengths ? lengths.data() : nullptr);
        const rnn_status sb = step(two, B, flags, x.data(), b, with_mask ? mask.data() : nullptr,
                                   with_lengths ? lengths.data() : nullptr);
        FUZZ_CHECK(valid_status(sa) && sa == sb);
        bool lengths_ok = true;
        for (int32_t l : lengths) lengths_ok = lengths_ok && l >= 0 && l <= 1;
        FUZZ_CHECK((sa == RNN_OK) == (!with_lengths || lengths_ok));
        FUZZ_CHECK(same(a, b));
        ++steps;
      }
    }
  }
  rnn_destroy(one);
  rnn_destroy(two);
  return 0;
}
