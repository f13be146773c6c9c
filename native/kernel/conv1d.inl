// The 1-D convolution (a CNN front end's Conv1D), written once against the vector type `V` and
// compiled once per instruction set like rnn_kernel.inl, after which kernel_<isa>.cc includes it:
// it reuses that file's blocked product (accumulate) and activations.
//
// Output channels are grouped in blocks of N vectors (N = 2 when a group has more than W output
// channels, else 1); each block's weights are [K][C_in/groups][N][W] (rnn_runtime.cc packs them),
// so one tap of one block is exactly the [depth][N][W] matrix that accumulate<R, N> streams while
// kTile output steps share each weight load: 6 rows x 2 vectors is the register tile of a GEMM.
// With one group and no dilation, the taps of an output step read consecutive input rows: the K
// taps are then a single product of depth K * C_in over the input as it lies, with no im2col copy.

template <int R, int N>
static inline void conv1d_tile(const PackedConv1d& c, const float* x, const float* w, const float* bias, int t0, int g,
                               int j, float* out) {
  const int cig = c.in_channels / c.groups, cog = c.out_channels / c.groups;
  V acc[R][N];
  for (int n = 0; n < N; ++n) {
    const V b = V::load(bias + n * W);
    for (int r = 0; r < R; ++r) acc[r][n] = b;
  }
  const float* rows[R];
  if (c.groups == 1 && c.dilation == 1) {
    for (int r = 0; r < R; ++r) rows[r] = x + (size_t)(t0 + r) * c.stride * c.in_channels;
    accumulate<R, N>(w, c.kernel_size * c.in_channels, rows, acc);
  } else {
    for (int k = 0; k < c.kernel_size; ++k) {
      for (int r = 0; r < R; ++r)
        rows[r] = x + ((size_t)(t0 + r) * c.stride + (size_t)k * c.dilation) * c.in_channels + (size_t)g * cig;
      accumulate<R, N>(w + (size_t)k * cig * N * W, cig, rows, acc);
    }
  }
  // The last block of a group may be partly past its channels: those lanes are not stored.
  for (int n = 0; n < N; ++n) {
    const int first = (j * N + n) * W;
    const int lanes = cog - first < W ? cog - first : W;
    if (lanes <= 0) break;
    for (int r = 0; r < R; ++r) {
      const V y = acc[r][n];
      float* dst = out + (size_t)(t0 + r) * c.out_channels + (size_t)g * cog + first;
      if (lanes == W) {
        V::store(dst, y);
      } else {
        alignas(64) float tmp[W];
        V::store(tmp, y);
        for (int l = 0; l < lanes; ++l) dst[l] = tmp[l];
      }
    }
  }
}

// The last rows of output steps, fewer than a tile: one tile of exactly `rest` rows.
template <int R, int N>
static inline void conv1d_rest(const PackedConv1d& c, const float* x, const float* w, const float* bias, int t0, int rest,
                               int g, int j, float* out) {
  if constexpr (R > 0) {
    if (rest == R)
      conv1d_tile<R, N>(c, x, w, bias, t0, g, j, out);
    else
      conv1d_rest<R - 1, N>(c, x, w, bias, t0, rest, g, j, out);
  }
}

template <int N>
static void conv1d_blocks(const PackedConv1d& c, const Conv1dArgs& a) {
  const size_t block_floats = (size_t)c.kernel_size * (c.in_channels / c.groups) * N * W;
  for (int b = 0; b < a.batch; ++b) {
    const float* x = a.input + (size_t)b * a.padded_steps * c.in_channels;
    float* out = a.output + (size_t)b * a.output_steps * c.out_channels;
    for (int g = 0; g < c.groups; ++g)
      for (int j = 0; j < c.blocks; ++j) {
        const size_t block = (size_t)g * c.blocks + j;
        const float* w = c.weights + block * block_floats;
        const float* bias = c.bias + block * N * W;
        int t = 0;
        for (; t + kTile <= a.output_steps; t += kTile) conv1d_tile<kTile, N>(c, x, w, bias, t, g, j, out);
        conv1d_rest<kTile - 1, N>(c, x, w, bias, t, a.output_steps - t, g, j, out);
      }
  }
}

// A depthwise convolution (one input and one output channel per group): vectors run along the
// channels instead, which lie side by side in the input, the weights ([K][channels rounded up to W])
// and the output alike; blocks of output channels would hold one lane each.
static void conv1d_depthwise(const PackedConv1d& c, const Conv1dArgs& a) {
  const int C = c.in_channels, full = C / W * W;
  const size_t padded = (size_t)c.blocks * W;
  for (int b = 0; b < a.batch; ++b)
    for (int t = 0; t < a.output_steps; ++t) {
      const float* x = a.input + ((size_t)b * a.padded_steps + (size_t)t * c.stride) * C;
      float* y = a.output + ((size_t)b * a.output_steps + t) * C;
      for (int c0 = 0; c0 < full; c0 += W) {
        V acc = V::load(c.bias + c0);
        for (int k = 0; k < c.kernel_size; ++k)
          acc = V::fma(V::load(x + (size_t)k * c.dilation * C + c0), V::load(c.weights + k * padded + c0), acc);
        V::store(y + c0, acc);
      }
      if (full < C) {
        // The last channels, fewer than W: through a vector's worth of scratch, never past the row.
        alignas(64) float tmp[W] = {};
        V acc = V::load(c.bias + full);
        for (int k = 0; k < c.kernel_size; ++k) {
          const float* row = x + (size_t)k * c.dilation * C;
          for (int l = 0; l < C - full; ++l) tmp[l] = row[full + l];
          acc = V::fma(V::load(tmp), V::load(c.weights + k * padded + full), acc);
        }
        V::store(tmp, acc);
        for (int l = 0; l < C - full; ++l) y[full + l] = tmp[l];
      }
    }
}

// The activation over the whole output, in one pass after the sums: activate() inlined in every
// tile shape (rows x vectors) made the WebAssembly modules 60 kB larger, for a pass that costs
// little beside the products.
static void conv1d_activate(const rnn_activation& act, float* y, size_t n) {
  size_t i = 0;
  for (; i + W <= n; i += W) V::store(y + i, activate(act, V::load(y + i)));
  if (i < n) {
    alignas(64) float tmp[W] = {};
    for (size_t l = 0; l < n - i; ++l) tmp[l] = y[i + l];
    V::store(tmp, activate(act, V::load(tmp)));
    for (size_t l = 0; l < n - i; ++l) y[i + l] = tmp[l];
  }
}

// input [B][padded_steps][C_in] (padding already applied), output [B][output_steps][C_out].
static void conv1d_forward(const PackedConv1d& c, const Conv1dArgs& a) {
  if (c.depthwise)
    conv1d_depthwise(c, a);
  else if (c.vectors == 2)
    conv1d_blocks<2>(c, a);
  else
    conv1d_blocks<1>(c, a);
  if (c.activation.kind != RNN_ACT_LINEAR) conv1d_activate(c.activation, a.output, (size_t)a.batch * a.output_steps * c.out_channels);
}
