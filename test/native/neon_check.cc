// Runs the same random LSTM and GRU layers with the NEON and the scalar kernel (AArch64, under
// qemu: scripts/check-neon.sh) and requires them to agree within 1e-5 (f32), 1e-4 (int8 on both:
// float differences can move a quantized state value by one step) or 1e-3 (f16 weights against
// the scalar kernel's f32), and the same 1-D convolutions (conv1d.inl) within 1e-5.
#include "rnn_runtime.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
static float rnd() { return (rand() / (float)RAND_MAX - 0.5f); }
int main() {
  double worst = 0;
  int cases = 0;
  for (int cell = 0; cell < 2; ++cell)
    for (int reset_after = 0; reset_after < 2; ++reset_after)
      for (int U : {1, 3, 4, 5, 9, 17, 33})
        for (int B : {1, 2, 7})
          for (int threads : {1, 2})
            for (int prec : {RNN_PRECISION_F32, RNN_PRECISION_F16, RNN_PRECISION_I8}) {
              const int I = 3 + U % 4, T = 5, G = cell == 0 ? 4 : 3;
              std::vector<float> k(I * G * U), r(U * G * U), b(G * U), rb(G * U), x(B * T * I), p(3 * U);
              for (auto* v : {&k, &r, &b, &rb, &x, &p}) for (auto& e : *v) e = rnd();
              std::vector<float> out[2], hs[2], cs[2], tr[2];
              for (int which = 0; which < 2; ++which) {
                rnn_config cfg{cell, I, U, {2, 0, 0}, {2, 0, 0}, {1, 0, 0}, 0, 0, reset_after, which == 0 ? RNN_ISA_NEON : RNN_ISA_SCALAR, threads, which == 0 || prec == RNN_PRECISION_I8 ? prec : RNN_PRECISION_F32};
                rnn_layer* layer = nullptr;
                if (rnn_create(&cfg, k.data(), r.data(), b.data(), cell == 1 && reset_after ? rb.data() : nullptr, cell == 0 ? p.data() : nullptr, &layer) != RNN_OK) { printf("create failed\n"); return 1; }
                out[which].assign(B * T * U, 0); hs[which].assign(B * U, 0.1f); cs[which].assign(B * U, -0.1f); tr[which].assign(rnn_trace_count(layer) * B * T * U, 0);
                std::vector<uint8_t> mask(B * T, 1); if (B > 1) mask[T + 2] = 0;
                std::vector<int32_t> len(B, T); if (B > 2) len[2] = 2;
                if (rnn_forward(layer, B, T, RNN_RETURN_SEQUENCES | (B == 7 ? RNN_GO_BACKWARDS : 0), x.data(), hs[which].data(), cell == 0 ? cs[which].data() : nullptr, out[which].data(), mask.data(), len.data(), tr[which].data()) != RNN_OK) { printf("forward failed\n"); return 1; }
                rnn_destroy(layer);
              }
              double tol = prec == RNN_PRECISION_F16 ? 1e-3 : prec == RNN_PRECISION_I8 ? 1e-4 : 1e-5;
              for (size_t i = 0; i < out[0].size(); ++i) { double d = std::fabs(out[0][i] - out[1][i]); if (d > worst) worst = d; if (d > tol + tol * std::fabs(out[1][i])) { printf("MISMATCH cell %d U %d B %d threads %d prec %d: %g vs %g\n", cell, U, B, threads, prec, out[0][i], out[1][i]); return 1; } }
              for (size_t i = 0; i < tr[0].size(); ++i) { double d = std::fabs(tr[0][i] - tr[1][i]); if (d > tol + tol * std::fabs(tr[1][i])) { printf("TRACE MISMATCH cell %d U %d\n", cell, U); return 1; } }
              ++cases;
            }
  // Cells that overflow float32 while a sigmoid gate sits at -30 (rounded to 0 in float32): NaN
  // and infinities must come out where the scalar kernel has them (rnn_kernel.inl, gate_times).
  int overflow_cases = 0;
  for (int cell = 0; cell < 2; ++cell)
    for (int reset_after = 0; reset_after < 2; ++reset_after)
      for (int act : {RNN_ACT_LINEAR, RNN_ACT_RELU}) {
        const int U = 6, I = 1, T = 2, G = cell == 0 ? 4 : 3;
        std::vector<float> k(I * G * U, 0), r(U * G * U, 0), b(G * U, 0), x(T * I, 1);
        for (int u = 0; u < U; ++u) {
          const float sign = u % 2 ? -1.0f : 1.0f;
          if (cell == 0) {  // i, f at 30; c~ 3e38; o at -30 for half the units
            b[u] = b[U + u] = 30;
            b[2 * U + u] = sign * 3e38f;
            b[3 * U + u] = u < 3 ? -30 : 30;
          } else {  // z at -30 for half the units, and h~ = 4 h
            b[u] = u < 3 ? -30 : 0;
            r[(size_t)u * G * U + 2 * U + u] = 4;
          }
        }
        std::vector<float> out[2], hs[2];
        for (int which = 0; which < 2; ++which) {
          rnn_config cfg{cell, I, U, {act, 0, 0}, {act, 0, 0}, {1, 0, 0}, 0, 0, reset_after, which == 0 ? RNN_ISA_NEON : RNN_ISA_SCALAR, 1, RNN_PRECISION_F32};
          rnn_layer* layer = nullptr;
          if (rnn_create(&cfg, k.data(), r.data(), b.data(), nullptr, nullptr, &layer) != RNN_OK) { printf("create failed\n"); return 1; }
          out[which].assign(T * U, 0);
          hs[which].assign(U, 0);
          std::vector<float> c(U);
          for (int u = 0; u < U; ++u) hs[which][u] = c[u] = (u % 2 ? -3e38f : 3e38f);
          if (rnn_forward(layer, 1, T, RNN_RETURN_SEQUENCES, x.data(), hs[which].data(), cell == 0 ? c.data() : nullptr, out[which].data(), nullptr, nullptr, nullptr) != RNN_OK) { printf("forward failed\n"); return 1; }
          rnn_destroy(layer);
        }
        bool overflowed = false;
        for (size_t i = 0; i < out[0].size(); ++i) {
          const float a = out[0][i], e = out[1][i];
          overflowed |= !std::isfinite(e);
          const bool same = std::isnan(a) ? std::isnan(e) : std::isinf(a) ? a == e : std::isfinite(e) && std::fabs(a - e) <= 1e-5 * std::fmax(1.0, std::fabs(e));
          if (!same) { printf("OVERFLOW MISMATCH cell %d reset_after %d act %d at %zu: %g vs %g\n", cell, reset_after, act, i, a, e); return 1; }
        }
        if (!overflowed) { printf("OVERFLOW CASE did not overflow: cell %d act %d\n", cell, act); return 1; }
        ++overflow_cases;
      }
  // The 1-D convolution (conv1d.inl) at the tile edges: output channels per group around NEON's 4
  // lanes, output steps around its 6-row tile, with groups, strides, dilation and padding.
  int conv_cases = 0;
  double conv_worst = 0;
  for (int cog : {1, 3, 4, 5, 8, 9})
    for (int steps_out : {1, 5, 6, 7, 13})
      for (int grouping : {1, 2, 0})
        for (int shape = 0; shape < 3; ++shape) {
          // grouping 0: depthwise, one input and one output channel per group (cog of them)
          const bool depthwise = grouping == 0;
          const int groups = depthwise ? cog : grouping;
          const int cig = depthwise ? 1 : 3, K = 3, stride = shape == 1 ? 2 : 1, dilation = shape == 2 ? 2 : 1, pl = shape == 2 ? 4 : 0, pr = shape == 1 ? 1 : 0;
          const int cin = cig * groups, cout = depthwise ? groups : cog * groups, B = 2;
          const int steps = (steps_out - 1) * stride + (K - 1) * dilation + 1 - pl - pr;
          if (steps < 1) continue;
          std::vector<float> k(K * cig * cout), b(cout), x(B * steps * cin);
          for (auto* v : {&k, &b, &x}) for (auto& e : *v) e = rnd();
          std::vector<float> out[2];
          for (int which = 0; which < 2; ++which) {
            rnn_conv1d_config cfg{cin, cout, K, stride, dilation, groups, {shape == 0 ? RNN_ACT_RELU : RNN_ACT_LINEAR, 0, 0}, which == 0 ? RNN_ISA_NEON : RNN_ISA_SCALAR};
            rnn_conv1d* conv = nullptr;
            if (rnn_conv1d_create(&cfg, k.data(), b.data(), &conv) != RNN_OK) { printf("conv create failed\n"); return 1; }
            if (std::string(rnn_conv1d_isa(conv)) != (which == 0 ? "neon" : "scalar")) { printf("conv ran on %s\n", rnn_conv1d_isa(conv)); return 1; }
            if (rnn_conv1d_output_steps(conv, steps, pl, pr) != steps_out) { printf("conv output steps %d, expected %d\n", rnn_conv1d_output_steps(conv, steps, pl, pr), steps_out); return 1; }
            out[which].assign(B * steps_out * cout, NAN);
            if (rnn_conv1d_forward(conv, B, steps, pl, pr, x.data(), out[which].data()) != RNN_OK) { printf("conv forward failed\n"); return 1; }
            rnn_conv1d_destroy(conv);
          }
          for (size_t i = 0; i < out[0].size(); ++i) {
            const double d = std::fabs(out[0][i] - out[1][i]);
            if (d > conv_worst) conv_worst = d;
            if (!(d <= 1e-5 + 1e-5 * std::fabs(out[1][i]))) { printf("CONV MISMATCH cog %d steps_out %d groups %d shape %d: %g vs %g\n", cog, steps_out, groups, shape, out[0][i], out[1][i]); return 1; }
          }
          ++conv_cases;
        }
  printf("neon vs scalar: %d cases agree, worst output difference %.3g (isa best %d); %d overflowing cases alike; %d conv1d cases agree (worst %.3g)\n", cases, worst, rnn_isa_best(), overflow_cases, conv_cases, conv_worst);
  return 0;
}
