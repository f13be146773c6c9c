// rnn_conv1d_create and rnn_conv1d_forward with configs drawn from the bytes (any sizes, strides,
// dilations, groups and activations, some out of range) and calls with any batch, steps and pads.
// create must answer RNN_ERR_CONFIG exactly when a field is out of range; forward RNN_ERR_SHAPE
// exactly when the padded input is shorter than one window (or batch, steps or a pad is out of
// range), else RNN_OK with every output value equal, within float rounding, to a plain
// double-precision convolution computed here (finite inputs, linear or relu). Buffers have exactly
// the sizes the contract states; shapes too large for any buffer are claimed with tiny buffers,
// which the kernel must refuse before reading.
#include "fuzz_common.h"

using namespace fuzz;

namespace {

constexpr size_t kMaxFloats = size_t(1) << 30;  // rnn_runtime.cc's bound on one buffer

void one_call(Bytes& in, rnn_conv1d* conv, const rnn_conv1d_config& c, const std::vector<float>& kernel,
              const std::vector<float>& bias, bool with_bias) {
  const uint8_t mode = in.u8();
  if ((mode & 7) == 7) {
    // A shape past the bounds: RNN_ERR_SHAPE without touching a buffer.
    const int32_t B = in.range(1, 100) * 1000000, T = in.range(1, 100) * 1000000;
    if ((uint64_t)B * T * c.in_channels <= kMaxFloats) return;
    float tiny[1] = {0}, out[1] = {0};
    FUZZ_CHECK(rnn_conv1d_forward(conv, B, T, 0, 0, tiny, out) == RNN_ERR_SHAPE);
    return;
  }
  const int B = in.range(-1, 3), T = in.range(-1, 20), pl = in.range(-1, 6), pr = in.range(-1, 6);
  const int32_t To = rnn_conv1d_output_steps(conv, T, pl, pr);
  const int64_t span = (int64_t)c.dilation * (c.kernel_size - 1) + 1, padded = (int64_t)T + pl + pr;
  const bool pads_ok = pl >= 0 && pr >= 0;
  FUZZ_CHECK(To == (T >= 0 && pads_ok && padded >= span ? (padded - span) / c.stride + 1 : 0));
  const size_t b = B > 0 ? B : 0, t = T > 0 ? T : 0, to = To > 0 ? To : 0;
  const bool finite = !(mode & 8);
  std::vector<float> x = floats(in, b * t * c.in_channels, finite);
  std::vector<float> out(b * to * c.out_channels, -7.0f);
  float dummy = 0;
  const rnn_status s = rnn_conv1d_forward(conv, B, T, pl, pr, x.empty() ? &dummy : x.data(), out.empty() ? &dummy : out.data());
  const bool expect_ok = B >= 1 && T >= 1 && To >= 1;
  FUZZ_CHECK(s == (expect_ok ? RNN_OK : RNN_ERR_SHAPE));
  if (s != RNN_OK || !finite || (c.activation.kind != RNN_ACT_LINEAR && c.activation.kind != RNN_ACT_RELU)) return;
  const int cig = c.in_channels / c.groups, cog = c.out_channels / c.groups;
  for (size_t r = 0; r < b; ++r)
    for (size_t q = 0; q < to; ++q)
      for (int o = 0; o < c.out_channels; ++o) {
        const int g = o / cog;
        double sum = with_bias ? bias[o] : 0.0, magnitude = fabs(sum);
        for (int k = 0; k < c.kernel_size; ++k) {
          const int64_t at = (int64_t)q * c.stride + (int64_t)k * c.dilation - pl;
          if (at < 0 || at >= T) continue;
          for (int i = 0; i < cig; ++i) {
            const double term = (double)x[(r * t + at) * c.in_channels + g * cig + i] * kernel[((size_t)k * cig + i) * c.out_channels + o];
            sum += term;
            magnitude += fabs(term);
          }
        }
        if (c.activation.kind == RNN_ACT_RELU) sum = sum > 0 ? sum : 0;
        // float32 sums of these terms are within a few ulp of the magnitude per term.
        FUZZ_CHECK(fabs(out[(r * to + q) * c.out_channels + o] - sum) <= 1e-5 * (1 + magnitude));
      }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  rnn_conv1d_config c;
  memset(&c, 0, sizeof c);
  const uint8_t wild = in.u8();
  // Mostly valid configs; a few with any field.
  const auto field = [&](int lo, int hi) { return (wild & 1) && in.u8() % 8 == 0 ? in.i32() : in.range(lo, hi); };
  c.groups = field(1, 4);
  const int cig = in.range(1, 6), cog = in.range(1, 20);
  const bool tame = c.groups >= 1 && c.groups <= 4;  // a wild group count gets wild channel counts
  c.in_channels = (wild & 2) || !tame ? field(1, 24) : cig * c.groups;
  c.out_channels = (wild & 4) || !tame ? field(1, 40) : cog * c.groups;
  if (wild & 64) c.out_channels = c.in_channels = c.groups = in.range(1, 20);  // depthwise
  c.kernel_size = field(1, 6);
  c.stride = field(1, 4);
  c.dilation = field(1, 4);
  c.activation = small_activation(in);
  if (wild & 8) c.activation.kind = in.i32();
  c.isa = available_isa(in);
  const bool valid = c.in_channels >= 1 && c.out_channels >= 1 && c.kernel_size >= 1 && c.stride >= 1 && c.dilation >= 1 &&
                     c.groups >= 1 && c.in_channels % c.groups == 0 && c.out_channels % c.groups == 0 &&
                     c.activation.kind >= RNN_ACT_LINEAR && c.activation.kind <= RNN_ACT_ELU &&
                     (uint64_t)c.dilation * (c.kernel_size - 1) <= (uint64_t)INT32_MAX / 2;
  // Weights as the contract sizes them, only for a valid config (an invalid one gets a tiny buffer);
  // a valid one too large to allocate here is left alone.
  const uint64_t n_weights = valid ? (uint64_t)c.kernel_size * (c.in_channels / c.groups) * c.out_channels : 1;
  if (n_weights > (1u << 20)) return 0;
  const size_t n_kernel = (size_t)n_weights;
  std::vector<float> kernel = floats(in, n_kernel, true), bias = floats(in, valid ? c.out_channels : 1, true);
  const bool with_bias = in.bit();
  rnn_conv1d* conv = nullptr;
  const rnn_status s = rnn_conv1d_create(&c, kernel.data(), with_bias ? bias.data() : nullptr, &conv);
  if (!valid) {
    FUZZ_CHECK(s == RNN_ERR_CONFIG && conv == nullptr);
    return 0;
  }
  FUZZ_CHECK(s == RNN_OK && conv != nullptr);
  for (int call = in.range(1, 4); call > 0; --call) one_call(in, conv, c, kernel, bias, with_bias);
  rnn_conv1d_destroy(conv);
  return 0;
}
