// The LSTM timestep loop, written once against a small vector type `V` and compiled once per
// instruction set: kernel_<isa>.cc includes this file inside its own namespace after defining V,
// so nothing here can collide between instruction sets at link time.
//
// Per call: (1) the input projection x.W + b for every (batch, step) as one blocked GEMM, then
// (2) per step, per block of W units, the recurrent product h.U accumulated on top of it and the
// cell update fused right after, while the block's gates are still in registers.

constexpr int W = V::width;
constexpr int G = kGates;

// ---- activations --------------------------------------------------------------------------

static inline V sigmoid(V x) {
  const V one = V::set1(1.0f);
  return V::div(one, V::add(one, V::exp(V::sub(V::zero(), x))));
}

// 1 - 2 / (1 + e^2x): saturates to exactly +-1 and keeps absolute error near 1e-7 around 0.
static inline V tanh_(V x) {
  const V one = V::set1(1.0f);
  return V::sub(one, V::div(V::set1(2.0f), V::add(one, V::exp(V::add(x, x)))));
}

static inline V activate(const lstm_activation& a, V x) {
  switch (a.kind) {
    case LSTM_ACT_SIGMOID:
      return sigmoid(x);
    case LSTM_ACT_TANH:
      return tanh_(x);
    case LSTM_ACT_HARD_SIGMOID:
      return V::min(V::max(V::fma(V::set1(a.alpha), x, V::set1(a.beta)), V::zero()), V::set1(1.0f));
    case LSTM_ACT_RELU:
      return V::max(x, V::zero());
    case LSTM_ACT_SOFTSIGN:
      return V::div(x, V::add(V::set1(1.0f), V::abs(x)));
    case LSTM_ACT_ELU: {
      // max(x, 0) + alpha * (exp(min(x, 0)) - 1): one formula for both sides, no blend needed.
      const V neg = V::sub(V::exp(V::min(x, V::zero())), V::set1(1.0f));
      return V::fma(V::set1(a.alpha), neg, V::max(x, V::zero()));
    }
    default:  // LSTM_ACT_LINEAR
      return x;
  }
}

// ---- the blocked product: acc[r][g] += sum_k rows[r][k] * w[k][g][0..W) ------------------------

template <int R>
static inline void accumulate(const float* w, int depth, const float* const* rows, V (&acc)[R][G]) {
  int k = 0;
  if (R == 1) {
    // One row has only G independent sums; a second set hides the FMA latency.
    V odd[G];
    for (int g = 0; g < G; ++g) odd[g] = V::zero();
    for (; k + 2 <= depth; k += 2) {
      const float* w0 = w + (size_t)k * G * W;
      const float* w1 = w0 + G * W;
      const V a0 = V::set1(rows[0][k]);
      const V a1 = V::set1(rows[0][k + 1]);
      for (int g = 0; g < G; ++g) {
        acc[0][g] = V::fma(a0, V::load(w0 + g * W), acc[0][g]);
        odd[g] = V::fma(a1, V::load(w1 + g * W), odd[g]);
      }
    }
    for (int g = 0; g < G; ++g) acc[0][g] = V::add(acc[0][g], odd[g]);
  }
  for (; k < depth; ++k) {
    const float* wk = w + (size_t)k * G * W;
    V wv[G];
    for (int g = 0; g < G; ++g) wv[g] = V::load(wk + g * W);
    for (int r = 0; r < R; ++r) {
      const V a = V::set1(rows[r][k]);
      for (int g = 0; g < G; ++g) acc[r][g] = V::fma(a, wv[g], acc[r][g]);
    }
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

// ---- (1) input projection ------------------------------------------------------------------

template <int R>
static inline void project_rows(const PackedLstm& L, int block, const float* const* x, float* const* out) {
  const float* bias = L.bias + (size_t)block * G * W;
  V acc[R][G];
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) acc[r][g] = V::load(bias + g * W);
  accumulate<R>(L.wx + (size_t)block * L.input_size * G * W, L.input_size, x, acc);
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) V::store(out[r] + (size_t)block * G * W + g * W, acc[r][g]);
}

static void project_inputs(const PackedLstm& L, const Workspace& ws, const ForwardArgs& a) {
  const int rows = a.batch * a.steps;
  const size_t in_stride = (size_t)L.input_size;
  const size_t out_stride = (size_t)L.blocks * G * W;
  for (int j = 0; j < L.blocks; ++j) {
    int r = 0;
    for (; r + 2 <= rows; r += 2) {
      const float* x[2] = {a.input + r * in_stride, a.input + (r + 1) * in_stride};
      float* out[2] = {ws.xproj + r * out_stride, ws.xproj + (r + 1) * out_stride};
      project_rows<2>(L, j, x, out);
    }
    for (; r < rows; ++r) {
      const float* x[1] = {a.input + r * in_stride};
      float* out[1] = {ws.xproj + r * out_stride};
      project_rows<1>(L, j, x, out);
    }
  }
}

// ---- (2) recurrent step, fused cell update ---------------------------------------------------

struct StepRow {
  int batch_index;
  const float* xproj;  // this row's projected input for this step
};

static inline V clip_to(V x, float clip) {
  return clip > 0.0f ? V::min(V::max(x, V::set1(-clip)), V::set1(clip)) : x;
}

// Applies the cell update to one block of one row: gates in `z` (pre-activations), updates c in
// place, writes the new h, and records the gates when tracing.
static inline void cell_update(const PackedLstm& L, int block, V (&z)[G], float* c, float* h_next,
                               float* trace_gates, size_t trace_stride, int lanes) {
  const V c_prev = V::load(c);
  V zi = z[0], zf = z[1], zg = z[2], zo = z[3];
  const float* peep = L.peep ? L.peep + (size_t)block * 3 * W : nullptr;
  if (peep) {
    zi = V::fma(V::load(peep), c_prev, zi);
    zf = V::fma(V::load(peep + W), c_prev, zf);
  }
  const V i = activate(L.recurrent_activation, clip_to(zi, L.clip));
  const V f = L.input_forget ? V::sub(V::set1(1.0f), i) : activate(L.recurrent_activation, clip_to(zf, L.clip));
  const V g = activate(L.activation, clip_to(zg, L.clip));
  const V c_new = V::fma(f, c_prev, V::mul(i, g));
  if (peep) zo = V::fma(V::load(peep + 2 * W), c_new, zo);
  const V o = activate(L.recurrent_activation, clip_to(zo, L.clip));
  V::store(c, c_new);
  V::store(h_next, V::mul(o, activate(L.cell_activation, c_new)));
  if (trace_gates) {
    store_lanes(trace_gates, i, lanes);
    store_lanes(trace_gates + trace_stride, f, lanes);
    store_lanes(trace_gates + 2 * trace_stride, g, lanes);
    store_lanes(trace_gates + 3 * trace_stride, o, lanes);
  }
}

template <int R>
static inline void step_rows(const PackedLstm& L, const Workspace& ws, const ForwardArgs& a, const StepRow* rows,
                             int block, int step) {
  const size_t padded = (size_t)L.blocks * W;
  const size_t off = (size_t)block * W;
  V acc[R][G];
  const float* h_rows[R];
  for (int r = 0; r < R; ++r) {
    for (int g = 0; g < G; ++g) acc[r][g] = V::load(rows[r].xproj + off * G + g * W);
    h_rows[r] = ws.h_prev + rows[r].batch_index * padded;
  }
  accumulate<R>(L.wh + off * L.units * G, L.units, h_rows, acc);
  const int lanes = L.units - (int)off < W ? L.units - (int)off : W;
  const size_t trace_stride = (size_t)a.batch * a.steps * L.units;  // distance between traced tensors
  for (int r = 0; r < R; ++r) {
    const size_t b = (size_t)rows[r].batch_index;
    float* trace = a.trace ? a.trace + (b * a.steps + step) * L.units + off : nullptr;
    cell_update(L, block, acc[r], ws.c + b * padded + off, ws.h_next + b * padded + off, trace, trace_stride, lanes);
  }
}

// Which rows take a real step at `step`, and which input step each reads.
static int plan_step(const ForwardArgs& a, const Workspace& ws, int step) {
  const bool backwards = (a.flags & LSTM_GO_BACKWARDS) != 0;
  int active = 0;
  for (int b = 0; b < a.batch; ++b) {
    const int length = a.sequence_lengths ? a.sequence_lengths[b] : a.steps;
    if (step >= length) {
      ws.skip[b] = 2;
      continue;
    }
    const int t = backwards ? length - 1 - step : step;
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

static void copy_floats(float* dst, const float* src, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

static void fill_floats(float* dst, float value, int n) {
  for (int i = 0; i < n; ++i) dst[i] = value;
}

static void forward(const PackedLstm& L, const Workspace& ws, const ForwardArgs& a) {
  const int B = a.batch, T = a.steps, U = L.units;
  const size_t padded = (size_t)L.blocks * W;
  const size_t xproj_stride = padded * G;
  const bool sequences = (a.flags & LSTM_RETURN_SEQUENCES) != 0;
  const bool zero_masked = (a.flags & LSTM_ZERO_OUTPUT_FOR_MASK) != 0;
  const size_t trace_stride = (size_t)B * T * U;

  project_inputs(L, ws, a);

  for (int b = 0; b < B; ++b) {
    float* hp = ws.h_prev + b * padded;
    float* cp = ws.c + b * padded;
    fill_floats(hp, 0.0f, (int)padded);
    fill_floats(cp, 0.0f, (int)padded);
    copy_floats(hp, a.h + (size_t)b * U, U);
    copy_floats(cp, a.c + (size_t)b * U, U);
  }

  float* h_prev = ws.h_prev;
  float* h_next = ws.h_next;
  StepRow tile[2];
  for (int s = 0; s < T; ++s) {
    const int active = plan_step(a, ws, s);
    Workspace cur = ws;
    cur.h_prev = h_prev;
    cur.h_next = h_next;
    for (int j = 0; j < L.blocks; ++j) {
      int r = 0;
      for (; r + 2 <= active; r += 2) {
        for (int q = 0; q < 2; ++q) {
          const int b = ws.rows[r + q];
          tile[q] = {b, ws.xproj + ((size_t)b * T + ws.times[b]) * xproj_stride};
        }
        step_rows<2>(L, cur, a, tile, j, s);
      }
      for (; r < active; ++r) {
        const int b = ws.rows[r];
        tile[0] = {b, ws.xproj + ((size_t)b * T + ws.times[b]) * xproj_stride};
        step_rows<1>(L, cur, a, tile, j, s);
      }
    }
    for (int b = 0; b < B; ++b) {
      const float* hn = h_next + b * padded;
      if (ws.skip[b]) copy_floats(h_next + b * padded, h_prev + b * padded, (int)padded);
      if (sequences && a.output) {
        float* out = a.output + ((size_t)b * T + s) * U;
        if (ws.skip[b] == 2 || (ws.skip[b] == 1 && zero_masked))
          fill_floats(out, 0.0f, U);
        else
          copy_floats(out, hn, U);
      }
      if (a.trace) {
        float* tr = a.trace + ((size_t)b * T + s) * U;
        if (ws.skip[b])
          for (int g = 0; g < G; ++g) fill_floats(tr + g * trace_stride, 0.0f, U);
        copy_floats(tr + 4 * trace_stride, ws.c + b * padded, U);
        copy_floats(tr + 5 * trace_stride, hn, U);
      }
    }
    float* swap = h_prev;
    h_prev = h_next;
    h_next = swap;
  }

  for (int b = 0; b < B; ++b) {
    copy_floats(a.h + (size_t)b * U, h_prev + b * padded, U);
    copy_floats(a.c + (size_t)b * U, ws.c + b * padded, U);
    if (!sequences && a.output) {
      // The last step's output: the final h, or zeros when that step was masked and masked
      // steps output zeros. Rows that ended early (sequence lengths) report their final h.
      float* out = a.output + (size_t)b * U;
      if (ws.skip[b] == 1 && zero_masked)
        fill_floats(out, 0.0f, U);
      else
        copy_floats(out, h_prev + b * padded, U);
    }
  }
}
