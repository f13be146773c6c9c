// rnn_forward on a small valid layer (drawn from the first bytes) with any batch, steps and flags,
// masks, sequence lengths (negative, past the steps), traces on or off, initial states with any
// values. Buffers have exactly the sizes the contract states for the claimed shape. The status
// must be what the contract says (RNN_ERR_SHAPE for a batch or steps below 1, a missing state or
// a length outside [0, steps]; RNN_OK otherwise), and a few of the semantics are checked: a row of
// length 0 keeps its state bit for bit, steps at or past a length output zeros. Shapes too large
// for any buffer are claimed with tiny buffers: the kernel must refuse them before reading.
#include "fuzz_common.h"

using namespace fuzz;

namespace {

constexpr size_t kMaxFloats = size_t(1) << 30;  // rnn_runtime.cc's bound on one buffer

void one_call(Bytes& in, rnn_layer* layer, const rnn_config& c) {
  const int I = c.input_size, U = c.units;
  const bool lstm = c.cell == RNN_CELL_LSTM;
  const uint8_t mode = in.u8();
  if ((mode & 7) == 7) {
    // A shape past the kernel's bounds: it must answer RNN_ERR_SHAPE without touching a buffer.
    const auto positive = [](int32_t v) { return v >= 1 ? v : v == 0 ? 1 : v == INT32_MIN ? INT32_MAX : -v; };
    const int32_t B = positive(in.i32()), T = positive(in.i32());
    const size_t rows = (size_t)B * T;
    if (rows <= kMaxFloats && rows * U * 6 <= kMaxFloats && rows * I <= kMaxFloats) return;
    float tiny[1] = {0}, h[1] = {0}, cs[1] = {0}, out[1] = {0}, trace[1] = {0};
    uint8_t mask[1] = {1};
    const rnn_status s = rnn_forward(layer, B, T, in.i32(), tiny, h, cs, out, mask, nullptr, trace);
    FUZZ_CHECK(s == RNN_ERR_SHAPE);
    return;
  }
  const int B = in.range(-1, 6), T = in.range(-1, 12);
  const int flags = (mode & 8) ? in.i32() : in.range(0, 7);
  const size_t b = B > 0 ? B : 0, t = T > 0 ? T : 0;
  std::vector<float> x = floats(in, b * t * I, !(mode & 16));
  std::vector<float> h0 = floats(in, b * U, !(mode & 32)), c0 = floats(in, b * U, !(mode & 32));
  std::vector<float> h = h0, cs = c0;
  const bool sequences = flags & RNN_RETURN_SEQUENCES;
  std::vector<float> out(sequences ? b * t * U : b * U, -7.0f);
  std::vector<float> trace(rnn_trace_count(layer) * b * t * U);
  std::vector<uint8_t> mask(b * t);
  for (auto& m : mask) m = in.u8() % 3 == 0 ? 0 : in.u8();  // zero (masked), or any nonzero byte
  std::vector<int32_t> lengths(b);
  bool lengths_ok = true;
  for (auto& l : lengths) {
    l = in.bit() ? in.range(-2, T + 2) : (in.bit() ? in.i32() : T);
    lengths_ok = lengths_ok && l >= 0 && l <= T;
  }
  const uint8_t given = in.u8();
  const bool with_mask = given & 1, with_lengths = given & 2, with_trace = given & 4, with_out = !(given & 8);
  const bool with_c = lstm ? !((given & 0x30) == 0x30) : (given & 16);
  // Empty vectors give null data(); a batch or steps below 1 still passes real pointers.
  float dummy = 0;
  auto ptr = [&](std::vector<float>& v) { return v.empty() ? &dummy : v.data(); };
  const rnn_status s = rnn_forward(layer, B, T, flags, ptr(x), ptr(h), with_c ? ptr(cs) : nullptr,
                                   with_out ? ptr(out) : nullptr, with_mask && !mask.empty() ? mask.data() : nullptr,
                                   with_lengths && !lengths.empty() ? lengths.data() : nullptr,
                                   with_trace ? ptr(trace) : nullptr);
  const bool expect_ok = B >= 1 && T >= 1 && (!lstm || with_c) && (!with_lengths || lengths_ok);
  FUZZ_CHECK(s == (expect_ok ? RNN_OK : RNN_ERR_SHAPE));
  if (s != RNN_OK) {
    FUZZ_CHECK(h.empty() || memcmp(h.data(), h0.data(), h.size() * 4) == 0);  // refused: nothing written
    return;
  }
  for (size_t r = 0; r < b; ++r) {
    const int length = with_lengths ? lengths[r] : T;
    bool any_real = length > 0;
    if (with_mask && any_real) {
      any_real = false;
      const bool backwards = flags & RNN_GO_BACKWARDS;
      for (int k = 0; k < length; ++k) any_real |= mask[r * t + (backwards ? length - 1 - k : k)] != 0;
    }
    if (!any_real) {
      // No real step: the state is the initial one, bit for bit.
      FUZZ_CHECK(memcmp(&h[r * U], &h0[r * U], U * 4) == 0);
      if (lstm) FUZZ_CHECK(memcmp(&cs[r * U], &c0[r * U], U * 4) == 0);
    }
    // Steps past the length output zeros; going backwards they are processed first (SPEC's one rule).
    if (with_out && sequences)
      for (int k = length; k < T; ++k) {
        const int at = (flags & RNN_GO_BACKWARDS) ? T - 1 - k : k;
        for (int u = 0; u < U; ++u) FUZZ_CHECK(out[(r * t + at) * U + u] == 0.0f);
      }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  rnn_config c = small_config(in, 12, 20);
  c.threads = in.u8() % 4 == 0 ? 2 : 1;  // a quarter of the layers split each step across two threads
  const Weights w(in, c);
  rnn_layer* layer = nullptr;
  FUZZ_CHECK(w.create(c, in.bit(), &layer) == RNN_OK);
  for (int call = in.range(1, 4); call > 0; --call) one_call(in, layer, c);
  rnn_destroy(layer);
  return 0;
}
