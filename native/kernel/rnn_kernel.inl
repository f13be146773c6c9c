// The recurrent timestep loop for LSTM and GRU cells, written once against a small vector type
// `V` and compiled once per instruction set: kernel_<isa>.cc includes this file inside its own
// namespace after defining V, so nothing here can collide between instruction sets at link time.
//
// Per call: (1) the input projection x.W + b for every (batch, step) as one blocked product,
// then (2) per step, per block of W units, the recurrent product h.U and the cell update right
// after it, while the block's gates are still in registers (with one or two rows, after a group
// of four blocks, whose updates then run side by side). Both cells share the product,
// the step planning (masks, sequence lengths, direction) and the output and trace bookkeeping;
// they differ only in the passes of step (2).

constexpr int W = V::width;
constexpr int kTile = V::tile_rows;  // rows sharing each weight load in the blocked product

// V8 allocates registers poorly across one huge function: in WebAssembly the product stays out of
// line, so its loops get the registers to themselves (twice as fast there). Natively it inlines.
#if defined(__wasm__)
#define RNN_PRODUCT_INLINE __attribute__((noinline))
#else
#define RNN_PRODUCT_INLINE inline
#endif

// ---- activations --------------------------------------------------------------------------

// tanh as Eigen computes it, and with it TensorFlow on CPU: a [9/8] rational minimax approximation,
// a couple of ulp (2.8e-7 at most) on the clamped range. The clamp is the smallest input where the
// approximation is exactly 1 (it depends on whether the vector layer's fma is fused), so tanh
// saturates to exactly +-1 like float tanh. 15 vector operations against exp's 23.
static inline V tanh_(V x) {
  const float clamp = V::fused_fma ? 8.01773357391357422f : 7.90738964080810547f;
  x = V::min(V::max(x, V::set1(-clamp)), V::set1(clamp));
  const V x2 = V::mul(x, x);
  V p = V::fma(V::set1(1.394553628e-8f), x2, V::set1(2.102733560e-5f));
  p = V::fma(p, x2, V::set1(3.520756727e-3f));
  p = V::fma(p, x2, V::set1(1.340216100e-1f));
  V q = V::fma(V::set1(8.015776984e-7f), x2, V::set1(3.326951409e-4f));
  q = V::fma(q, x2, V::set1(2.597254514e-2f));
  q = V::fma(q, x2, V::set1(4.673548340e-1f));
  q = V::fma(q, x2, V::set1(1.0f));
  p = V::fma(V::mul(x2, x), p, x);  // x * (1 + x^2 * p(x^2))
  return V::div(p, q);
}

// 1 / (1 + e^-x) = (1 + tanh(x / 2)) / 2: exactly 0.5 at 0, 0 and 1 when saturated.
static inline V sigmoid(V x) {
  const V half = V::set1(0.5f);
  return V::fma(half, tanh_(V::mul(half, x)), half);
}

static inline V activate(const rnn_activation& a, V x) {
  switch (a.kind) {
    case RNN_ACT_SIGMOID:
      return sigmoid(x);
    case RNN_ACT_TANH:
      return tanh_(x);
    case RNN_ACT_HARD_SIGMOID:
      return V::min(V::max(V::fma(V::set1(a.alpha), x, V::set1(a.beta)), V::zero()), V::set1(1.0f));
    case RNN_ACT_RELU:
      return V::max(x, V::zero());
    case RNN_ACT_SOFTSIGN:
      return V::div(x, V::add(V::set1(1.0f), V::abs(x)));
    case RNN_ACT_ELU: {
      // max(x, 0) + alpha * (exp(min(x, 0)) - 1): one formula for both sides, no blend needed.
      const V neg = V::sub(V::exp(V::min(x, V::zero())), V::set1(1.0f));
      return V::fma(V::set1(a.alpha), neg, V::max(x, V::zero()));
    }
    default:  // RNN_ACT_LINEAR
      return x;
  }
}

static inline V clip_to(V x, float clip) {
  return clip > 0.0f ? V::min(V::max(x, V::set1(-clip)), V::set1(clip)) : x;
}

// Clips and activates the same gate of N cells. An activation is a chain of some 40 cycles of
// latency; N independent chains side by side keep the vector pipes busy.
template <int N>
static inline void activate_cells(const rnn_activation& a, float clip, V (&x)[N]) {
  for (int n = 0; n < N; ++n) x[n] = clip_to(x[n], clip);
  switch (a.kind) {
    case RNN_ACT_SIGMOID:
      for (int n = 0; n < N; ++n) x[n] = sigmoid(x[n]);
      return;
    case RNN_ACT_TANH:
      for (int n = 0; n < N; ++n) x[n] = tanh_(x[n]);
      return;
    default:
      for (int n = 0; n < N; ++n) x[n] = activate(a, x[n]);
  }
}

// Weights are floats, or IEEE halves widened on load where the vector layer has load_half
// (int8 weights take accumulate_pairs instead).
template <class WT, class VV = V>  // VV keeps load_half a dependent name for layers without it
static inline V load_w(const WT* p) {
  if constexpr (sizeof(WT) == 2)
    return VV::load_half(p);
  else
    return VV::load(p);
}

// ---- the blocked product: acc[r][g] += sum_k rows[r][k] * w[k][g][0..W) ------------------------

// Sums over one chunk of gates [G0, G0 + GC) with the row broadcasts shared by the chunk.
template <int R, int G, int G0, int GC, class WT>
static inline void accumulate_chunk(const WT* w, int depth, const float* const* rows, V (*acc)[G]) {
  V sum[R][GC];
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < GC; ++g) sum[r][g] = acc[r][G0 + g];
  const WT* wk = w + G0 * W;
  for (int k = 0; k < depth; ++k, wk += G * W) {
    V wv[GC];
    for (int g = 0; g < GC; ++g) wv[g] = load_w(wk + g * W);
    for (int r = 0; r < R; ++r) {
      const V a = V::set1(rows[r][k]);
      for (int g = 0; g < GC; ++g) sum[r][g] = V::fma(a, wv[g], sum[r][g]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < GC; ++g) acc[r][G0 + g] = sum[r][g];
}

template <int R, int G, class WT>
static RNN_PRODUCT_INLINE void accumulate(const WT* w, int depth, const float* const* rows, V (*acc)[G]) {
  if constexpr (R >= 4) {
    // Many rows: two gates at a time keeps R*2 sums, 2 weights and a broadcast in registers
    // (6 rows: 15 of AVX2's 16), the register budget of a 6x16 GEMM tile.
    if constexpr (G == 1) {
      accumulate_chunk<R, G, 0, 1>(w, depth, rows, acc);
    } else {
      accumulate_chunk<R, G, 0, 2>(w, depth, rows, acc);
      if constexpr (G == 4) accumulate_chunk<R, G, 2, 2>(w, depth, rows, acc);
      if constexpr (G == 3) accumulate_chunk<R, G, 2, 1>(w, depth, rows, acc);
    }
    return;
  }
  int k = 0;
  if (R == 1) {
    // One row has only G independent sums; a second set hides the FMA latency.
    V odd[G];
    for (int g = 0; g < G; ++g) odd[g] = V::zero();
    const WT* wk = w;
    const float* row = rows[0];
    for (; k + 2 <= depth; k += 2, wk += 2 * G * W, row += 2) {
      const V a0 = V::set1(row[0]);
      const V a1 = V::set1(row[1]);
      for (int g = 0; g < G; ++g) {
        acc[0][g] = V::fma(a0, load_w(wk + g * W), acc[0][g]);
        odd[g] = V::fma(a1, load_w(wk + (G + g) * W), odd[g]);
      }
    }
    for (int g = 0; g < G; ++g) acc[0][g] = V::add(acc[0][g], odd[g]);
  }
  for (; k < depth; ++k) {
    const WT* wk = w + (size_t)k * G * W;
    V wv[G];
    for (int g = 0; g < G; ++g) wv[g] = load_w(wk + g * W);
    for (int r = 0; r < R; ++r) {
      const V a = V::set1(rows[r][k]);
      for (int g = 0; g < G; ++g) acc[r][g] = V::fma(a, wv[g], acc[r][g]);
    }
  }
}

// ---- the int8 product: acc[r][g] += sum_k rows[r][k] * q[k][g][0..W) in integers ----------------
//
// int8 weights meet the state quantized to int16 (quantize_state), two steps of k at a time:
// w holds, for each pair of k, each gate's W columns as (q[k], q[k+1]) byte pairs, and one
// dot_add (x86's pmaddwd, WebAssembly's i32x4.dot_i16x8) does 2W products. The sums are exact;
// |q| <= 127 and |h| <= kStateQ keep kPairChunk pairs within int32, and each chunk's sums then go
// to float.
constexpr int kStateQ = 16383;
constexpr int kPairChunk = 512;  // 2 * 127 * 16383 * 512 < 2^31

template <int R, int G, int G0, int GC>
static inline void accumulate_pairs_chunk(const int8_t* w, int pairs, const int16_t* const* rows, V (*acc)[G]) {
  using Sums = typename V::Sums;
  using Pairs = typename V::Pairs;
  for (int p0 = 0; p0 < pairs; p0 += kPairChunk) {
    const int p1 = pairs - p0 < kPairChunk ? pairs : p0 + kPairChunk;
    Sums sum[R][GC];
    for (int r = 0; r < R; ++r)
      for (int g = 0; g < GC; ++g) sum[r][g] = V::sums_zero();
    const int8_t* wp = w + ((size_t)p0 * G + G0) * 2 * W;
    for (int p = p0; p < p1; ++p, wp += G * 2 * W) {
      Pairs wv[GC];
      for (int g = 0; g < GC; ++g) wv[g] = V::load_pairs(wp + g * 2 * W);
      for (int r = 0; r < R; ++r) {
        const Pairs h = V::set1_pair(rows[r] + 2 * p);
        for (int g = 0; g < GC; ++g) sum[r][g] = V::dot_add(sum[r][g], wv[g], h);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int g = 0; g < GC; ++g) acc[r][G0 + g] = V::add(acc[r][G0 + g], V::to_float(sum[r][g]));
  }
}

template <int R, int G>
static RNN_PRODUCT_INLINE void accumulate_pairs(const int8_t* w, int pairs, const int16_t* const* rows, V (*acc)[G]) {
  if constexpr (R >= 4) {
    // Many rows: one gate at a time keeps R sums, the weights and R row pairs in registers
    // (each product needs a register of its own before it is added).
    accumulate_pairs_chunk<R, G, 0, 1>(w, pairs, rows, acc);
    if constexpr (G >= 2) accumulate_pairs_chunk<R, G, 1, 1>(w, pairs, rows, acc);
    if constexpr (G >= 3) accumulate_pairs_chunk<R, G, 2, 1>(w, pairs, rows, acc);
    if constexpr (G >= 4) accumulate_pairs_chunk<R, G, 3, 1>(w, pairs, rows, acc);
  } else {
    accumulate_pairs_chunk<R, G, 0, G>(w, pairs, rows, acc);
  }
}

// Stores the first n lanes of v (n < W only in the last block of units).
static inline void store_lanes(float* dst, V v, int n) {
  if (n == W) {
    V::store(dst, v);
    return;
  }
  float lanes[W];
  V::store(lanes, v);
  for (int l = 0; l < n; ++l) dst[l] = lanes[l];
}

static void copy_floats(float* dst, const float* src, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

static void fill_floats(float* dst, float value, int n) {
  for (int i = 0; i < n; ++i) dst[i] = value;
}

static void fill_int16(int16_t* dst, int16_t value, int n) {
  for (int i = 0; i < n; ++i) dst[i] = value;
}

// ---- (1) input projection ------------------------------------------------------------------

// xproj is [T][blocks][B][G][W]: time-major, so one step's block reads the sums of all its rows
// from one contiguous run, in the order the row tiles take them. A row's sums for step t start at
// xproj_row (block 0); block j's are xproj_block(batch) * j floats further on.
static inline size_t xproj_block(const PackedRnn& L, int batch) { return (size_t)batch * L.gates * W; }
static inline float* xproj_row(const PackedRnn& L, const Workspace& ws, int batch, int b, int t) {
  return ws.xproj + (size_t)t * L.blocks * xproj_block(L, batch) + (size_t)b * L.gates * W;
}

template <int R, int G>
static inline void project_rows(const PackedRnn& L, int block, size_t block_stride, const float* const* x,
                                float* const* out) {
  const float* bias = L.bias + (size_t)block * G * W;
  V acc[R][G];
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) acc[r][g] = V::load(bias + g * W);
  accumulate<R, G>(L.wx + (size_t)block * L.input_size * G * W, L.input_size, x, acc);
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) V::store(out[r] + block * block_stride + g * W, acc[r][g]);
}

template <int G>
static void project_inputs(const PackedRnn& L, const Workspace& ws, const ForwardArgs& a, int jb, int je) {
  const int rows = a.batch * a.steps;
  const size_t block_stride = xproj_block(L, a.batch);
  // Rows in panels of 96, so a panel of inputs stays in cache while every block of weights
  // passes over it (inputs of a whole batch do not fit in L2).
  constexpr int kPanel = 96;
  const float* x[kPanel];
  float* out[kPanel];
  for (int r0 = 0; r0 < rows; r0 += kPanel) {
    const int n = rows - r0 < kPanel ? rows - r0 : kPanel;
    for (int q = 0; q < n; ++q) {
      // Row r is batch entry r % B at step r / B, in xproj's order.
      const int r = r0 + q, b = r % a.batch, t = r / a.batch;
      x[q] = a.input + ((size_t)b * a.steps + t) * L.input_size;
      out[q] = xproj_row(L, ws, a.batch, b, t);
    }
    for (int j = jb; j < je; ++j) {
      int q = 0;
      for (; q + kTile <= n; q += kTile) project_rows<kTile, G>(L, j, block_stride, x + q, out + q);
      for (; q + 2 <= n; q += 2) project_rows<2, G>(L, j, block_stride, x + q, out + q);
      for (; q < n; ++q) project_rows<1, G>(L, j, block_stride, x + q, out + q);
    }
  }
}

// ---- (2) one timestep: the cells' passes over blocks of units ----------------------------------

// What every pass needs for one step; h_prev/h_next are this step's halves of the double buffer.
struct Step {
  const PackedRnn& L;
  const Workspace& ws;
  const ForwardArgs& a;
  const float* h_prev;
  float* h_next;
  int step;

  size_t padded() const { return (size_t)L.blocks * W; }
  // Where a row's projected input for block `block` starts, from its StepRow::xproj.
  const float* xproj_at(const float* row_xproj, int block) const { return row_xproj + block * xproj_block(L, a.batch); }
  size_t trace_stride() const { return (size_t)a.batch * a.steps * L.units; }
  int lanes(size_t off) const { return L.units - (int)off < W ? L.units - (int)off : W; }
  // Where row b's traced tensor `index` starts for this step's block at `off`, or null.
  float* trace_at(size_t b, int index, size_t off) const {
    return a.trace ? a.trace + index * trace_stride() + (b * a.steps + step) * L.units + off : nullptr;
  }
};

// A row taking a real step, and its projected input for this step (block 0; see Step::xproj_at).
struct StepRow {
  int batch_index;
  const float* xproj;
};

// One row's W units of one block: what a pass updates once the block's product is done.
struct Cell {
  int batch_index;
  const float* xproj;  // the row's projected input for this block
  size_t off;          // the block's first unit
  // Where the cell starts in the [B][padded] state arrays (c, h, the GRU's scratch).
  size_t at(const Step& s) const { return (size_t)batch_index * s.padded() + off; }
};

// Pairs of k in an int8 recurrent kernel and in a quantized state row (U rounded up to even).
static inline int state_pairs(const PackedRnn& L) { return (L.units + 1) / 2; }

// With int8 weights, the products read the state quantized to int16, one scale per row:
// q = h * (kStateQ / max |h|) rounded to nearest, ties to even, and scale = max |h| / kStateQ,
// all in float32 (lib/backends/js.ts does the same). A row holding NaN or infinity gets scale
// NaN, so its products come out NaN as with float weights. Both loops vectorize.
static void quantize_state(const PackedRnn& L, const Workspace& ws, int active, const float* state) {
  const int U = L.units, pairs = state_pairs(L);
  const size_t padded = (size_t)L.blocks * W;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to a whole number
  for (int r = 0; r < active; ++r) {
    const int b = ws.rows[r];
    const float* h = state + b * padded;
    int16_t* q = ws.state_q + (size_t)b * 2 * pairs;
    // max |h| over the bits without the sign, which order as the magnitudes do, NaN and
    // infinity above every finite value.
    uint32_t top_bits = 0;
    for (int k = 0; k < U; ++k) {
      uint32_t bits;
      memcpy(&bits, h + k, 4);
      bits &= 0x7fffffffu;
      top_bits = bits > top_bits ? bits : top_bits;
    }
    q[2 * pairs - 1] = 0;  // the pad of an odd U (overwritten below when U is even)
    if (top_bits >= 0x7f800000u) {
      fill_int16(q, 0, U);
      ws.state_scale[b] = NAN;
      continue;
    }
    float top;
    memcpy(&top, &top_bits, 4);
    // Below 2^-114, 16383 / max|h| overflows float32: such a state rounds to zeros (it moves no sum).
    const float inv = top >= 0x1p-114f ? (float)kStateQ / top : 0.0f;
    for (int k = 0; k < U; ++k) {
      const float scaled = h[k] * inv;
      const float rounded = scaled + kRound;
      q[k] = (int16_t)(rounded - kRound);
    }
    ws.state_scale[b] = top / (float)kStateQ;
  }
}

// Every pass's product: acc (already holding the pass's starting sums) += the R rows of `state`
// ([B][padded]: h, or the GRU's r * h) times block `block` of the weights, G gates per unit.
// With int8 weights the rows come quantized from ws.state_q, which the step loop fills from
// `state` before the pass.
template <int R, int G, class WT>
static inline void add_product(const Step& s, const StepRow* rows, const float* state, const StreamedWeights& weights,
                               int block, V (*acc)[G]) {
#if defined(__GNUC__)
  // The projection wrote xproj long before this step, so it comes from L3. The next row tile's
  // sums follow this tile's, so they are asked for one tile ahead (3% at batch 64).
  const int tile_floats = R * s.L.gates * W;
  const float* next = s.xproj_at(rows[0].xproj, block) + tile_floats;
  for (int q = 0; q < tile_floats; q += 64 / (int)sizeof(float)) __builtin_prefetch(next + q);
#endif
  if constexpr (sizeof(WT) == 1) {
    // int8: integer sums of the quantized state times q, then the row's and the column's scales.
    const int pairs = state_pairs(s.L);
    const int16_t* q_rows[R];
    for (int r = 0; r < R; ++r) q_rows[r] = s.ws.state_q + (size_t)rows[r].batch_index * 2 * pairs;
    V sum[R][G];
    for (int r = 0; r < R; ++r)
      for (int g = 0; g < G; ++g) sum[r][g] = V::zero();
    accumulate_pairs<R, G>(static_cast<const int8_t*>(weights.w) + (size_t)block * W * 2 * pairs * G, pairs, q_rows, sum);
    const float* scale = weights.scale + (size_t)block * G * W;
    for (int r = 0; r < R; ++r) {
      const V row_scale = V::set1(s.ws.state_scale[rows[r].batch_index]);
      for (int g = 0; g < G; ++g) acc[r][g] = V::fma(sum[r][g], V::mul(row_scale, V::load(scale + g * W)), acc[r][g]);
    }
  } else {
    const float* state_rows[R];
    for (int r = 0; r < R; ++r) state_rows[r] = state + rows[r].batch_index * s.padded();
    accumulate<R, G>(static_cast<const WT*>(weights.w) + (size_t)block * W * s.L.units * G, s.L.units, state_rows, acc);
  }
}

// acc[r][g] = the projected input of gate first_gate + g, for R rows of block `block`.
template <int R, int G>
static inline void load_xproj(const Step& s, const StepRow* rows, int block, int first_gate, V (*acc)[G]) {
  for (int r = 0; r < R; ++r) {
    const float* xp = s.xproj_at(rows[r].xproj, block) + first_gate * W;
    for (int g = 0; g < G; ++g) acc[r][g] = V::load(xp + g * W);
  }
}

static inline void trace_store(const Step& s, const Cell& cell, int index, V v) {
  if (float* t = s.trace_at((size_t)cell.batch_index, index, cell.off)) store_lanes(t, v, s.lanes(cell.off));
}

// ---- sigmoid gates are positive -------------------------------------------------------------
//
// A sigmoid is above 0 and below 1 for every pre-activation short of -inf and +inf, but in float32
// (and in tanh_'s saturation) it rounds to exactly 0 or 1 once |x| passes about 16. A gate rounded
// to 0 (or a 1 - gate rounded to 0) times a state or candidate that overflowed to +-inf gives NaN
// where the cell's arithmetic, done with the true gate, gives that infinity (as the js backend's
// float64 sigmoid does). The passes compute as usual; only where a result came out NaN (one test
// per vector, almost never taken) are those lanes done again with gate_times.

// gate * x, where gate = sigmoid(pre) (upper: 1 - sigmoid(pre)) and pre is the clipped
// pre-activation: an infinite x stays infinite unless pre is the infinity that zeroes the gate.
static inline float gate_times(float gate, float pre, float x, bool upper) {
  const float p = gate * x;
  if (p == p || !isinf(x) || gate != gate) return p;
  return (upper ? pre < INFINITY : pre > -INFINITY) ? x : p;
}

static inline float clip_scalar(float x, float clip) {
  if (clip <= 0.0f) return x;
  return x < -clip ? -clip : x > clip ? clip : x;  // NaN stays NaN
}

// a * b + c rounded as V::fma rounds it.
static inline float fma_like(float a, float b, float c) { return V::fused_fma ? fmaf(a, b, c) : a * b + c; }

// One vector's lanes, to redo some of them one at a time.
struct Lanes {
  float v[W];
  explicit Lanes(V x) { V::store(v, x); }
  V get() const { return V::load(v); }
};

static inline bool sigmoid_gates(const PackedRnn& L) { return L.recurrent_activation.kind == RNN_ACT_SIGMOID; }

#if defined(__GNUC__)
#define RNN_RARE __attribute__((noinline, cold))
#else
#define RNN_RARE
#endif

// An LSTM cell again where c or h came out NaN: c = f * c_prev + i * g and h = o * act(c) with
// gate_times. z holds the gates' sums before the peepholes; o is recomputed when a peephole reads
// a c that changed.
RNN_RARE static void lstm_keep_infinities(const PackedRnn& L, const V* z, const float* peep, V c_prev, V i, V f, V g,
                                          V& o, V& c_new, V& c_act, V& h) {
  const Lanes zi(z[0]), zf(z[1]), cp(c_prev), gi(i), gf(f), gg(g);
  Lanes c(c_new);
  for (int l = 0; l < W; ++l) {
    if (c.v[l] == c.v[l]) continue;
    const float pre_i = clip_scalar(peep ? fma_like(peep[l], cp.v[l], zi.v[l]) : zi.v[l], L.clip);
    const float pre_f = clip_scalar(peep ? fma_like(peep[W + l], cp.v[l], zf.v[l]) : zf.v[l], L.clip);
    const float kept = L.input_forget ? gate_times(gf.v[l], pre_i, cp.v[l], true) : gate_times(gf.v[l], pre_f, cp.v[l], false);
    c.v[l] = kept + gate_times(gi.v[l], pre_i, gg.v[l], false);
  }
  c_new = c.get();
  const V pre_o = clip_to(peep ? V::fma(V::load(peep + 2 * W), c_new, z[3]) : z[3], L.clip);
  if (peep) o = activate(L.recurrent_activation, pre_o);
  c_act = activate(L.cell_activation, c_new);
  const Lanes po(pre_o), go(o), ca(c_act);
  Lanes hv(V::mul(o, c_act));
  for (int l = 0; l < W; ++l)
    if (hv.v[l] != hv.v[l]) hv.v[l] = gate_times(go.v[l], po.v[l], ca.v[l], false);
  h = hv.get();
}

// h = z * h_prev + (1 - z) * h~, the form whose every product is a gate times a value (so an
// infinite h_prev or h~ stays infinite, as in the js backend; z * (h_prev - h~) + h~ gave NaN).
static inline V gru_blend(V z, V h_prev, V candidate) {
  return V::fma(z, h_prev, V::mul(V::sub(V::set1(1.0f), z), candidate));
}

// The blend again where it came out NaN, with gate_times; pre_z is z's clipped pre-activation.
RNN_RARE static V gru_blend_keep_infinities(V blended, V z, V pre_z, V h_prev, V candidate) {
  const Lanes zv(z), pz(pre_z), hp(h_prev), hh(candidate);
  Lanes out(blended);
  for (int l = 0; l < W; ++l)
    if (out.v[l] != out.v[l])
      out.v[l] = gate_times(zv.v[l], pz.v[l], hp.v[l], false) + gate_times(1.0f - zv.v[l], pz.v[l], hh.v[l], true);
  return out.get();
}

// r * x again where it came out NaN (x: the GRU's h_prev, or its recurrent sum with reset_after).
RNN_RARE static V gru_reset_keep_infinities(V product, V r, V pre_r, V x) {
  const Lanes rv(r), pr(pre_r), xv(x);
  Lanes out(product);
  for (int l = 0; l < W; ++l)
    if (out.v[l] != out.v[l]) out.v[l] = gate_times(rv.v[l], pr.v[l], xv.v[l], false);
  return out.get();
}

// Each pass of a cell computes a block's G gate sums for R rows (product), then updates the
// cells of several products at once (update), so their activations run side by side.

// LSTM: z = xproj + h.U, then i, f, c~, o and the new c and h.
template <class WT>
struct LstmPass {
  static constexpr int G = 4;
  const Step& s;
  template <int R>
  void product(const StepRow* rows, int block, V (*acc)[G]) const {
    load_xproj<R>(s, rows, block, 0, acc);
    add_product<R, G, WT>(s, rows, s.h_prev, s.L.wh, block, acc);
  }
  template <int N>
  void update(const Cell* cells, V (*z)[G]) const {
    const PackedRnn& L = s.L;
    V c_prev[N], i[N], f[N], g[N], o[N];
    for (int n = 0; n < N; ++n) {
      c_prev[n] = V::load(s.ws.c + cells[n].at(s));
      i[n] = z[n][0];
      f[n] = z[n][1];
      g[n] = z[n][2];
      o[n] = z[n][3];
      if (L.peep) {
        const float* peep = L.peep + cells[n].off * 3;
        i[n] = V::fma(V::load(peep), c_prev[n], i[n]);
        f[n] = V::fma(V::load(peep + W), c_prev[n], f[n]);
      }
    }
    activate_cells(L.recurrent_activation, L.clip, i);
    if (L.input_forget)
      for (int n = 0; n < N; ++n) f[n] = V::sub(V::set1(1.0f), i[n]);
    else
      activate_cells(L.recurrent_activation, L.clip, f);
    activate_cells(L.activation, L.clip, g);
    V c_new[N], c_act[N];
    for (int n = 0; n < N; ++n) {
      c_new[n] = V::fma(f[n], c_prev[n], V::mul(i[n], g[n]));
      c_act[n] = c_new[n];
      if (L.peep) o[n] = V::fma(V::load(L.peep + cells[n].off * 3 + 2 * W), c_new[n], o[n]);
    }
    activate_cells(L.recurrent_activation, L.clip, o);
    activate_cells(L.cell_activation, 0.0f, c_act);
    const bool sigmoid = sigmoid_gates(L);
    for (int n = 0; n < N; ++n) {
      V h = V::mul(o[n], c_act[n]);
      if (sigmoid && V::any_nan(V::add(c_new[n], h)))
        lstm_keep_infinities(L, z[n], L.peep ? L.peep + cells[n].off * 3 : nullptr, c_prev[n], i[n], f[n], g[n], o[n],
                             c_new[n], c_act[n], h);
      V::store(s.ws.c + cells[n].at(s), c_new[n]);
      V::store(s.h_next + cells[n].at(s), h);
      trace_store(s, cells[n], 0, i[n]);
      trace_store(s, cells[n], 1, f[n]);
      trace_store(s, cells[n], 2, g[n]);
      trace_store(s, cells[n], 3, o[n]);
    }
  }
};

// GRU with reset_after (Keras' default, PyTorch, ONNX linear_before_reset): one pass,
// h~ = act(x_h + r * (h.U_h + b_rh)).
template <class WT>
struct GruResetAfterPass {
  static constexpr int G = 3;
  const Step& s;
  template <int R>
  void product(const StepRow* rows, int block, V (*acc)[G]) const {
    const float* rbias = s.L.rbias ? s.L.rbias + (size_t)block * W * G : nullptr;
    for (int r = 0; r < R; ++r)
      for (int g = 0; g < G; ++g) acc[r][g] = rbias ? V::load(rbias + g * W) : V::zero();
    add_product<R, G, WT>(s, rows, s.h_prev, s.L.wh, block, acc);
  }
  template <int N>
  void update(const Cell* cells, V (*acc)[G]) const {
    const PackedRnn& L = s.L;
    V z[N], r[N], hh[N];
    for (int n = 0; n < N; ++n) {
      z[n] = V::add(V::load(cells[n].xproj), acc[n][0]);
      r[n] = V::add(V::load(cells[n].xproj + W), acc[n][1]);
    }
    activate_cells(L.recurrent_activation, L.clip, z);
    activate_cells(L.recurrent_activation, L.clip, r);
    for (int n = 0; n < N; ++n) hh[n] = V::fma(r[n], acc[n][2], V::load(cells[n].xproj + 2 * W));
    activate_cells(L.activation, L.clip, hh);
    const bool sigmoid = sigmoid_gates(L);
    for (int n = 0; n < N; ++n) {
      const V h_prev = V::load(s.h_prev + cells[n].at(s));
      if (sigmoid && V::any_nan(hh[n])) {
        const V pre_r = clip_to(V::add(V::load(cells[n].xproj + W), acc[n][1]), L.clip);
        const V rh = gru_reset_keep_infinities(V::mul(r[n], acc[n][2]), r[n], pre_r, acc[n][2]);
        const Lanes fixed(activate(L.activation, clip_to(V::add(rh, V::load(cells[n].xproj + 2 * W)), L.clip)));
        Lanes out(hh[n]);
        for (int l = 0; l < W; ++l)
          if (out.v[l] != out.v[l]) out.v[l] = fixed.v[l];
        hh[n] = out.get();
      }
      V h = gru_blend(z[n], h_prev, hh[n]);
      if (sigmoid && V::any_nan(h))
        h = gru_blend_keep_infinities(h, z[n], clip_to(V::add(V::load(cells[n].xproj), acc[n][0]), L.clip), h_prev, hh[n]);
      V::store(s.h_next + cells[n].at(s), h);
      trace_store(s, cells[n], 0, z[n]);
      trace_store(s, cells[n], 1, r[n]);
      trace_store(s, cells[n], 2, hh[n]);
    }
  }
};

// GRU without reset_after, first pass: z and r for every block, and r * h_prev for the second
// (and z's clipped pre-activation in ws.c, which a GRU does not use otherwise, for the NaN path).
template <class WT>
struct GruGatesPass {
  static constexpr int G = 2;
  const Step& s;
  template <int R>
  void product(const StepRow* rows, int block, V (*acc)[G]) const {
    load_xproj<R>(s, rows, block, 0, acc);
    add_product<R, G, WT>(s, rows, s.h_prev, s.L.wh, block, acc);
  }
  template <int N>
  void update(const Cell* cells, V (*acc)[G]) const {
    V z[N], r[N];
    for (int n = 0; n < N; ++n) {
      z[n] = acc[n][0];
      r[n] = acc[n][1];
    }
    activate_cells(s.L.recurrent_activation, s.L.clip, z);
    activate_cells(s.L.recurrent_activation, s.L.clip, r);
    const bool sigmoid = sigmoid_gates(s.L);
    for (int n = 0; n < N; ++n) {
      const V h_prev = V::load(s.h_prev + cells[n].at(s));
      V rh = V::mul(r[n], h_prev);
      if (sigmoid && V::any_nan(rh)) rh = gru_reset_keep_infinities(rh, r[n], clip_to(acc[n][1], s.L.clip), h_prev);
      V::store(s.ws.gate + cells[n].at(s), z[n]);
      V::store(s.ws.c + cells[n].at(s), clip_to(acc[n][0], s.L.clip));
      V::store(s.ws.reset_h + cells[n].at(s), rh);
      trace_store(s, cells[n], 0, z[n]);
      trace_store(s, cells[n], 1, r[n]);
    }
  }
};

// GRU without reset_after, second pass: h~ = act(x_h + (r * h_prev).U_h), then the blend.
template <class WT>
struct GruCandidatePass {
  static constexpr int G = 1;
  const Step& s;
  template <int R>
  void product(const StepRow* rows, int block, V (*acc)[G]) const {
    load_xproj<R>(s, rows, block, 2, acc);
    add_product<R, G, WT>(s, rows, s.ws.reset_h, s.L.wh_h, block, acc);
  }
  template <int N>
  void update(const Cell* cells, V (*acc)[G]) const {
    V hh[N];
    for (int n = 0; n < N; ++n) hh[n] = acc[n][0];
    activate_cells(s.L.activation, s.L.clip, hh);
    const bool sigmoid = sigmoid_gates(s.L);
    for (int n = 0; n < N; ++n) {
      const V z = V::load(s.ws.gate + cells[n].at(s));
      const V h_prev = V::load(s.h_prev + cells[n].at(s));
      V h = gru_blend(z, h_prev, hh[n]);
      if (sigmoid && V::any_nan(h)) h = gru_blend_keep_infinities(h, z, V::load(s.ws.c + cells[n].at(s)), h_prev, hh[n]);
      V::store(s.h_next + cells[n].at(s), h);
      trace_store(s, cells[n], 2, hh[n]);
    }
  }
};

// R rows in NB blocks: the NB products, then the updates of all R * NB cells together.
template <int R, int NB, class Pass>
static void run_group(const Pass& pass, const Step& s, const StepRow* rows, const int* blocks) {
  V acc[R * NB][Pass::G];
  Cell cells[R * NB];
  for (int q = 0; q < NB; ++q) {
    pass.template product<R>(rows, blocks[q], acc + q * R);
    for (int r = 0; r < R; ++r)
      cells[q * R + r] = Cell{rows[r].batch_index, s.xproj_at(rows[r].xproj, blocks[q]), (size_t)blocks[q] * W};
  }
  pass.template update<R * NB>(cells, acc);
}

// Every active row in NB blocks: kTile rows at a time (NB = 1 only), then two, then one, so each
// weight load serves several rows.
template <int NB, class Pass, class Row>
static void run_blocks(const Pass& pass, const Step& s, int active, const int* blocks, const Row& row) {
  int r = 0;
  if constexpr (NB == 1) {
    for (; r + kTile <= active; r += kTile) {
      StepRow tile[kTile];
      for (int q = 0; q < kTile; ++q) tile[q] = row(r + q);
      run_group<kTile, NB>(pass, s, tile, blocks);
    }
  }
  for (; r + 2 <= active; r += 2) {
    const StepRow tile[2] = {row(r), row(r + 1)};
    run_group<2, NB>(pass, s, tile, blocks);
  }
  for (; r < active; ++r) {
    const StepRow tile[1] = {row(r)};
    run_group<1, NB>(pass, s, tile, blocks);
  }
}

// Runs a pass over every block for the rows taking a real step.
template <class Pass>
static void for_active_rows(const Pass& pass, const Step& s, int active, int jb, int je) {
  const auto row = [&](int r) {
    const int b = s.ws.rows[r];
    return StepRow{b, xproj_row(s.L, s.ws, s.a.batch, b, s.ws.times[b])};
  };
  // The blocks go one way on even steps and back on odd ones, so a step starts with the weights
  // the previous one ended with, still in cache; in the same order every step, weights larger
  // than the cache would be evicted just before their turn and come from memory every time.
  const bool backwards = (s.step & 1) != 0;
  const auto block = [&](int n) { return backwards ? je - 1 - (n - jb) : n; };
  int n = jb;
  // Fewer rows than a tile leave one or two cells per block, and a cell's update is a chain of
  // about 100 cycles of latency: those take blocks four at a time and update them side by side.
  if (active < kTile) {
    for (; n + 4 <= je; n += 4) {
      const int blocks[4] = {block(n), block(n + 1), block(n + 2), block(n + 3)};
      run_blocks<4>(pass, s, active, blocks, row);
    }
  }
  for (; n < je; ++n) {
    const int blocks[1] = {block(n)};
    run_blocks<1>(pass, s, active, blocks, row);
  }
}

// Which rows take a real step at `step`, and which input step each reads.
static int plan_step(const ForwardArgs& a, const Workspace& ws, int step) {
  const bool backwards = (a.flags & RNN_GO_BACKWARDS) != 0;
  int active = 0;
  for (int b = 0; b < a.batch; ++b) {
    // Steps at or past a sequence's length are padding: with RNN_GO_BACKWARDS they come first,
    // as the same padding given by a trailing mask would.
    const int length = a.sequence_lengths ? a.sequence_lengths[b] : a.steps;
    const int t = backwards ? a.steps - 1 - step : step;
    if (t >= length) {
      ws.skip[b] = 2;
      continue;
    }
    ws.times[b] = t;
    if (a.mask && !a.mask[(size_t)b * a.steps + t]) {
      ws.skip[b] = 1;
      continue;
    }
    ws.skip[b] = 0;
    ws.rows[active++] = b;
  }
  return active;
}

// How this thread runs the phases of one call (see Split in kernel.h).
class Phases {
 public:
  Phases(const Split& split, int blocks)
      : split_(split), blocks_(blocks), jb_(first(split.part)), je_(first(split.part + 1)) {}

  // One phase: `prelude` once on this thread (a helper runs it only once it holds the phase),
  // then `work` on this part's blocks [jb, je), and on part 0 on the blocks of any helper it
  // takes over. False: this helper leaves the call (part 0 runs the rest).
  template <class Prelude, class Work>
  bool run(const Prelude& prelude, const Work& work) {
    PartSync* sync = solo_ ? nullptr : split_.sync;
    if (!sync) {
      prelude();
      work(jb_, je_);
      ++phase_;
      return true;
    }
    if (split_.part > 0) {
      // Phase 0 was claimed before the call's memory was first read (Team in rnn_runtime.cc).
      // A helper passed over (part 0 took its share) leaves the call: the preludes it missed plan
      // the step (rows, masked rows, quantized state) that the next phases read.
      if (phase_ > 0 && sync_claim(sync, split_.part, split_.call, phase_) != kSyncRun) return false;
      prelude();
      work(jb_, je_);
      sync_done(sync, split_.part, split_.call, phase_);
      ++phase_;
      return true;
    }
    if (phase_ > 0) sync_release(sync, split_.call, phase_);
    prelude();
    work(jb_, je_);
    bool slow = false;
    for (int p = 1; p < split_.parts; ++p) {
      const SyncCollect got = sync_collect(sync, p, split_.call, phase_);
      if (got == kSyncTaken) {
        work(first(p), first(p + 1));
        ++taken_;
      }
      slow |= got == kSyncSlow;
    }
    if (slow || taken_ >= kTakenAlone) {
      // The helpers are not keeping up (the machine is busy): the rest of the call runs here alone.
      sync_leave(sync, split_.call);
      solo_ = true;
      jb_ = 0;
      je_ = blocks_;
    }
    ++phase_;
    return true;
  }

 private:
  // Shares part 0 may take over in one call before it runs the rest alone.
  static constexpr int kTakenAlone = 3;
  int first(int part) const { return part * blocks_ / split_.parts; }
  const Split split_;
  const int blocks_;
  int jb_, je_;
  int phase_ = 0;
  int taken_ = 0;
  bool solo_ = false;
};

template <class WT>
static void forward_with(const PackedRnn& L, const Workspace& shared, const ForwardArgs& a, const Split& split) {
  // A helper part enters holding phase 0, so it may read the call's memory here; between phases
  // it only reads its own locals (part 0 may return once every claimed phase is done).
  const int B = a.batch, T = a.steps, U = L.units;
  const bool lstm = L.cell == RNN_CELL_LSTM;
  const bool two_pass = !lstm && !L.reset_after;
  const size_t padded = (size_t)L.blocks * W;
  const bool sequences = (a.flags & RNN_RETURN_SEQUENCES) != 0;
  const bool zero_masked = (a.flags & RNN_ZERO_OUTPUT_FOR_MASK) != 0;
  const size_t trace_stride = (size_t)B * T * U;
  // Traced tensors: the cell's gates, then (LSTM) c, then h.
  const int trace_h = lstm ? 5 : 3;

  // This thread's step plan.
  Workspace ws = shared;
  ws.rows += (size_t)split.part * B;
  ws.times += (size_t)split.part * B;
  ws.skip += (size_t)split.part * B;
  constexpr bool quantized = sizeof(WT) == 1;
  if (quantized) {
    ws.state_q += (size_t)split.part * B * 2 * state_pairs(L);
    ws.state_scale += (size_t)split.part * B;
  }
  // The units of blocks [jb, je): padded lanes [p0, p1), real units [u0, u1).
  struct Units {
    int p0, p1, u0, u1, n;
  };
  const auto units = [U](int jb, int je) {
    const int p0 = jb * W, p1 = je * W, u0 = p0 < U ? p0 : U, u1 = p1 < U ? p1 : U;
    return Units{p0, p1, u0, u1, u1 - u0};
  };
  const auto nothing = [] {};
  Phases phases(split, L.blocks);

  // (1) The input projection and the initial state.
  if (!phases.run(nothing, [&](int jb, int je) {
        if (lstm)
          project_inputs<4>(L, ws, a, jb, je);
        else
          project_inputs<3>(L, ws, a, jb, je);
        const Units u = units(jb, je);
        for (int b = 0; b < B; ++b) {
          fill_floats(ws.h_prev + b * padded + u.p0, 0.0f, u.p1 - u.p0);
          copy_floats(ws.h_prev + b * padded + u.u0, a.h + (size_t)b * U + u.u0, u.n);
          if (lstm) {
            fill_floats(ws.c + b * padded + u.p0, 0.0f, u.p1 - u.p0);
            copy_floats(ws.c + b * padded + u.u0, a.c + (size_t)b * U + u.u0, u.n);
          }
        }
      }))
    return;

  // (2) The steps.
  float* h_prev = ws.h_prev;
  float* h_next = ws.h_next;
  for (int s = 0; s < T; ++s) {
    int active = 0;
    const Step step{L, ws, a, h_prev, h_next, s};
    const auto plan = [&] {
      active = plan_step(a, ws, s);
      if (quantized) quantize_state(L, ws, active, h_prev);
    };
    // The step's outputs, traced state and skipped rows for blocks [jb, je).
    const auto finish = [&](int jb, int je) {
      const Units u = units(jb, je);
      for (int b = 0; b < B; ++b) {
        float* hn = h_next + b * padded;
        if (ws.skip[b]) copy_floats(hn + u.p0, h_prev + b * padded + u.p0, u.p1 - u.p0);
        if (sequences && a.output) {
          float* out = a.output + ((size_t)b * T + s) * U + u.u0;
          if (ws.skip[b] == 2 || (ws.skip[b] == 1 && zero_masked))
            fill_floats(out, 0.0f, u.n);
          else
            copy_floats(out, hn + u.u0, u.n);
        }
        if (a.trace) {
          float* tr = a.trace + ((size_t)b * T + s) * U + u.u0;
          if (ws.skip[b])
            for (int g = 0; g < L.gates; ++g) fill_floats(tr + g * trace_stride, 0.0f, u.n);
          if (lstm) copy_floats(tr + 4 * trace_stride, ws.c + b * padded + u.u0, u.n);
          copy_floats(tr + trace_h * trace_stride, hn + u.u0, u.n);
        }
      }
    };
    bool stay;
    if (lstm) {
      stay = phases.run(plan, [&](int jb, int je) {
        for_active_rows(LstmPass<WT>{step}, step, active, jb, je);
        finish(jb, je);
      });
    } else if (!two_pass) {
      stay = phases.run(plan, [&](int jb, int je) {
        for_active_rows(GruResetAfterPass<WT>{step}, step, active, jb, je);
        finish(jb, je);
      });
    } else {
      // The candidate's product reads r * h of every unit: a phase of its own.
      stay = phases.run(plan, [&](int jb, int je) { for_active_rows(GruGatesPass<WT>{step}, step, active, jb, je); }) &&
             phases.run(
                 [&] {
                   if (quantized) quantize_state(L, ws, active, ws.reset_h);
                 },
                 [&](int jb, int je) {
                   for_active_rows(GruCandidatePass<WT>{step}, step, active, jb, je);
                   finish(jb, je);
                 });
    }
    if (!stay) return;
    float* swap = h_prev;
    h_prev = h_next;
    h_next = swap;
  }

  // (3) The final state, and the last step's output.
  phases.run(nothing, [&](int jb, int je) {
    const Units u = units(jb, je);
    for (int b = 0; b < B; ++b) {
      copy_floats(a.h + (size_t)b * U + u.u0, h_prev + b * padded + u.u0, u.n);
      if (lstm) copy_floats(a.c + (size_t)b * U + u.u0, ws.c + b * padded + u.u0, u.n);
      if (!sequences && a.output) {
        // The last step's output: the final h, or zeros when that step was masked and masked
        // steps output zeros. A row whose last step is padding (sequence lengths) reports its final h.
        float* out = a.output + (size_t)b * U + u.u0;
        if (ws.skip[b] == 1 && zero_masked)
          fill_floats(out, 0.0f, u.n);
        else
          copy_floats(out, h_prev + b * padded + u.u0, u.n);
      }
    }
  });
}

constexpr int kHasHalf = V::has_half;

static void forward(const PackedRnn& L, const Workspace& ws, const ForwardArgs& a, const Split& split) {
  if constexpr (V::has_half) {
    if (L.precision == RNN_PRECISION_F16) return forward_with<uint16_t>(L, ws, a, split);
  }
  if (L.precision == RNN_PRECISION_I8) return forward_with<int8_t>(L, ws, a, split);
  forward_with<float>(L, ws, a, split);
}
