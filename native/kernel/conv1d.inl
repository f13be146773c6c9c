// The 1-D convolution (a CNN front end's Conv1D), written once against the vector type `V` and
// compiled once per instruction set like rnn_kernel.inl, after which kernel_<isa>.cc includes it:
// it reuses that file's blocked product (accumulate) and activations.
//
// Output channels are grouped in blocks of W lanes; each block's weights are [K][C_in/groups][W]
// (rnn_runtime.cc packs them), so one tap of one block is exactly the [depth][W] matrix that
// accumulate<R, 1> streams while kTile output steps share each weight load. With one group and no
// dilation, the taps of an output step read consecutive input rows: the K taps are then a single
// product of depth K * C_in over the input as it lies, with no im2col copy.

template <int R>
static inline void conv1d_tile(const PackedConv1d& c, const float* x, const float* w, int t0, int g, int j, float* out) {
  const int cig = c.in_channels / c.groups, cog = c.out_channels / c.groups;
  V acc[R][1];
  const V b = V::load(c.bias + ((size_t)g * c.blocks + j) * W);
  for (int r = 0; r < R; ++r) acc[r][0] = b;
  const float* rows[R];
  if (c.groups == 1 && c.dilation == 1) {
    for (int r = 0; r < R; ++r) rows[r] = x + (size_t)(t0 + r) * c.stride * c.in_channels;
    accumulate<R, 1>(w, c.kernel_size * c.in_channels, rows, acc);
  } else {
    for (int k = 0; k < c.kernel_size; ++k) {
      for (int r = 0; r < R; ++r)
        rows[r] = x + ((size_t)(t0 + r) * c.stride + (size_t)k * c.dilation) * c.in_channels + (size_t)g * cig;
      accumulate<R, 1>(w + (size_t)k * cig * W, cig, rows, acc);
    }
  }
  // The last block of a group may be partly past its channels: those lanes are not stored.
  const int lanes = cog - j * W < W ? cog - j * W : W;
  for (int r = 0; r < R; ++r) {
    const V y = activate(c.activation, acc[r][0]);
    float* dst = out + (size_t)(t0 + r) * c.out_channels + (size_t)g * cog + (size_t)j * W;
    if (lanes == W) {
      V::store(dst, y);
    } else {
      alignas(64) float tmp[W];
      V::store(tmp, y);
      for (int l = 0; l < lanes; ++l) dst[l] = tmp[l];
    }
  }
}

// The last rows of output steps, fewer than a tile: one tile of exactly `rest` rows.
template <int R>
static inline void conv1d_rest(const PackedConv1d& c, const float* x, const float* w, int t0, int rest, int g, int j,
                               float* out) {
  if constexpr (R > 0) {
    if (rest == R)
      conv1d_tile<R>(c, x, w, t0, g, j, out);
    else
      conv1d_rest<R - 1>(c, x, w, t0, rest, g, j, out);
  }
}

// input [B][padded_steps][C_in] (padding already applied), output [B][output_steps][C_out].
static void conv1d_forward(const PackedConv1d& c, const Conv1dArgs& a) {
  const size_t block_floats = (size_t)c.kernel_size * (c.in_channels / c.groups) * W;
  for (int b = 0; b < a.batch; ++b) {
    const float* x = a.input + (size_t)b * a.padded_steps * c.in_channels;
    float* out = a.output + (size_t)b * a.output_steps * c.out_channels;
    for (int g = 0; g < c.groups; ++g)
      for (int j = 0; j < c.blocks; ++j) {
        const float* w = c.weights + ((size_t)g * c.blocks + j) * block_floats;
        int t = 0;
        for (; t + kTile <= a.output_steps; t += kTile) conv1d_tile<kTile>(c, x, w, t, g, j, out);
        conv1d_rest<kTile - 1>(c, x, w, t, a.output_steps - t, g, j, out);
      }
  }
}
