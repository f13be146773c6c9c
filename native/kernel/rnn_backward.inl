// Backpropagation through time over a forward trace, for attribution: d/d(input) of a layer given
// d/d(output). Included by kernel_<isa>.cc after rnn_kernel.inl (whose activate() it uses), in
// the same namespace. The same arithmetic as lib/explain/backprop.ts, which the js backend runs;
// the products, which are nearly all of the work, are dot products over the rows of the weights
// in Keras' layout [rows][G*U], so they stream each row once.

// sum a[k] * b[k], k < n
static inline float dot(const float* a, const float* b, int n) {
  V acc0 = V::zero(), acc1 = V::zero();
  int k = 0;
  for (; k + 2 * W <= n; k += 2 * W) {
    acc0 = V::fma(V::load(a + k), V::load(b + k), acc0);
    acc1 = V::fma(V::load(a + k + W), V::load(b + k + W), acc1);
  }
  for (; k + W <= n; k += W) acc0 = V::fma(V::load(a + k), V::load(b + k), acc0);
  float lanes[W];
  V::store(lanes, V::add(acc0, acc1));
  float sum = 0.0f;
  for (int l = 0; l < W; ++l) sum += lanes[l];
  for (; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

// y[u] += s * x[u], u < n
static inline void axpy(float s, const float* x, float* y, int n) {
  const V vs = V::set1(s);
  int u = 0;
  for (; u + W <= n; u += W) V::store(y + u, V::fma(vs, V::load(x + u), V::load(y + u)));
  for (; u < n; ++u) y[u] += s * x[u];
}

// Gradients through time shrink step by step. Below kVanished (2^-100) a value can no longer move
// a float32 score, while its products soon turn denormal, which makes every FMA some 30 times
// slower on x86: flushing it to zero keeps long sequences fast, and lets a row stop early.
static constexpr float kVanished = 7.8886091e-31f;  // 2^-100

// Zeroes the values of x below kVanished; whether any value is left.
static inline bool flush_vanished(float* x, int n) {
  bool any = false;
  for (int u = 0; u < n; ++u) {
    if (fabsf(x[u]) < kVanished)
      x[u] = 0.0f;
    else
      any = true;
  }
  return any;
}

static inline float activate_one(const rnn_activation& a, float x) {
  float lanes[W];
  V::store(lanes, activate(a, V::set1(x)));
  return lanes[0];
}

// The activation's derivative from its output y: every activation here has one, and the trace
// holds outputs.
static inline float slope(const rnn_activation& a, float y) {
  switch (a.kind) {
    case RNN_ACT_SIGMOID:
      return y * (1.0f - y);
    case RNN_ACT_TANH:
      return 1.0f - y * y;
    case RNN_ACT_HARD_SIGMOID:
      return y > 0.0f && y < 1.0f ? a.alpha : 0.0f;
    case RNN_ACT_RELU:
      return y > 0.0f ? 1.0f : 0.0f;
    case RNN_ACT_SOFTSIGN: {
      const float d = 1.0f - fabsf(y);
      return d * d;
    }
    case RNN_ACT_ELU:
      return y > 0.0f ? 1.0f : y + a.alpha;
    default:
      return 1.0f;
  }
}

// One LSTM step backwards at trace offset `at` (state before at `before`, or zeros when < 0):
// dh, dc of the step's output state in; dz (d/d pre-activations) and dc of its input state out.
static void lstm_step_back(const BackwardLayer& L, const float* const* tr, size_t at, ptrdiff_t before, float* dh,
                           float* dc, float* dz) {
  const int U = L.units;
  const float* P = L.peepholes;  // order i, o, f
  for (int u = 0; u < U; ++u) {
    const float i = tr[0][at + u], f = tr[1][at + u], g = tr[2][at + u], o = tr[3][at + u];
    const float c_prev = before >= 0 ? tr[4][before + u] : 0.0f;
    const float cell = activate_one(L.cell_activation, tr[4][at + u]);
    const float dzo = dh[u] * cell * slope(L.recurrent_activation, o);
    float dct = dc[u] + dh[u] * o * slope(L.cell_activation, cell);
    if (P) dct += dzo * P[U + u];  // o saw the new c through its peephole
    float di = dct * g;
    const float df = dct * c_prev;
    float dzf = 0.0f;
    if (L.input_forget)
      di -= df;  // f = 1 - i
    else
      dzf = df * slope(L.recurrent_activation, f);
    const float dzi = di * slope(L.recurrent_activation, i);
    float dc_prev = dct * f;
    if (P) dc_prev += dzi * P[u] + dzf * P[2 * U + u];
    dz[u] = dzi;
    dz[U + u] = dzf;
    dz[2 * U + u] = dct * i * slope(L.activation, g);
    dz[3 * U + u] = dzo;
    dc[u] = dc_prev;
  }
}

// One GRU step backwards (h = z * h_prev + (1 - z) * g). dz: d/d(x.W); dzh: d/d(h.U); dh_prev:
// what reaches h_prev other than through h.U. zh: scratch for the candidate's recurrent product.
static void gru_step_back(const BackwardLayer& L, const float* const* tr, size_t at, ptrdiff_t before, const float* dh,
                          float* dz, float* dzh, float* dh_prev, float* zh) {
  const int U = L.units, GU = 3 * U;
  const float* R = L.recurrent_kernel;
  const float* h_prev = before >= 0 ? tr[3] + before : nullptr;  // null: zeros
  if (L.reset_after) {
    // r multiplied h_prev.U_h (+ its bias): recompute it.
    for (int u = 0; u < U; ++u) zh[u] = L.recurrent_bias ? L.recurrent_bias[2 * U + u] : 0.0f;
    if (h_prev)
      for (int k = 0; k < U; ++k) axpy(h_prev[k], R + (size_t)k * GU + 2 * U, zh, U);
  }
  for (int u = 0; u < U; ++u) {
    const float z = tr[0][at + u], r = tr[1][at + u], g = tr[2][at + u];
    const float hp = h_prev ? h_prev[u] : 0.0f;
    const float dzz = dh[u] * (hp - g) * slope(L.recurrent_activation, z);
    const float dpg = dh[u] * (1.0f - z) * slope(L.activation, g);
    dz[u] = dzh[u] = dzz;
    dz[2 * U + u] = dpg;
    dh_prev[u] = dh[u] * z;
    if (L.reset_after) {
      dz[U + u] = dzh[U + u] = dpg * zh[u] * slope(L.recurrent_activation, r);
      dzh[2 * U + u] = dpg * r;
    }
  }
  if (!L.reset_after) {
    // g = act(x.W_h + (r * h_prev).U_h): d/d(r * h_prev) = U_h.dpg, shared out to r and h_prev.
    for (int k = 0; k < U; ++k) {
      const float drh = dot(R + (size_t)k * GU + 2 * U, dz + 2 * U, U);
      const float r = tr[1][at + k];
      dz[U + k] = dzh[U + k] = drh * (h_prev ? h_prev[k] : 0.0f) * slope(L.recurrent_activation, r);
      dh_prev[k] += drh * r;
      dzh[2 * U + k] = 0.0f;
    }
  }
}

// out[r] = sum w[k] * z[r][k], k < n, for N rows at once: each load of w serves N rows, so the
// weights stream from cache once per N rows, and 2 N independent sums keep the FMA units busy.
// Each row's sum is added in the order dot() adds it.
template <int N>
static inline void dots(const float* w, const float* const* z, int n, float* out) {
  V acc[N][2];
  for (int r = 0; r < N; ++r) acc[r][0] = acc[r][1] = V::zero();
  int k = 0;
  for (; k + 2 * W <= n; k += 2 * W) {
    const V w0 = V::load(w + k), w1 = V::load(w + k + W);
    for (int r = 0; r < N; ++r) {
      acc[r][0] = V::fma(w0, V::load(z[r] + k), acc[r][0]);
      acc[r][1] = V::fma(w1, V::load(z[r] + k + W), acc[r][1]);
    }
  }
  for (; k + W <= n; k += W) {
    const V w0 = V::load(w + k);
    for (int r = 0; r < N; ++r) acc[r][0] = V::fma(w0, V::load(z[r] + k), acc[r][0]);
  }
  for (int r = 0; r < N; ++r) {
    float lanes[W];
    V::store(lanes, V::add(acc[r][0], acc[r][1]));
    float sum = 0.0f;
    for (int l = 0; l < W; ++l) sum += lanes[l];
    for (int j = k; j < n; ++j) sum += w[j] * z[r][j];
    out[r] = sum;
  }
}

// d/dx[r] = W.dz[r] and d/dh_prev[r] = U.dzr[r] + dh_prev[r] for the rows `rows` (at most kLockstep).
template <int N>
static void products(const BackwardLayer& L, const int* rows, const int* t, int T, float* const* dz,
                     float* const* dzr, float* const* dh_prev, float* const* dh, float* grad_input) {
  const int I = L.input_size, U = L.units, GU = (L.cell == RNN_CELL_LSTM ? 4 : 3) * U;
  float sums[N];
  for (int k = 0; k < I; ++k) {
    dots<N>(L.kernel + (size_t)k * GU, dz, GU, sums);
    for (int r = 0; r < N; ++r) grad_input[((size_t)rows[r] * T + t[r]) * I + k] = sums[r];
  }
  for (int k = 0; k < U; ++k) {
    dots<N>(L.recurrent_kernel + (size_t)k * GU, dzr, GU, sums);
    for (int r = 0; r < N; ++r) dh[r][k] = dh_prev[r][k] + sums[r];
  }
}

// Rows go back through time in lockstep, kLockstep at a time sharing each pass over the weights.
static constexpr int kLockstep = 4;  // products<> below has a case for each count up to it

static void backward(const BackwardLayer& L, const BackwardArgs& a, float* scratch) {
  const int B = a.batch, T = a.steps, U = L.units;
  const bool lstm = L.cell == RNN_CELL_LSTM;
  const int GU = (lstm ? 4 : 3) * U;
  const bool backwards = a.flags & RNN_GO_BACKWARDS, sequences = a.flags & RNN_RETURN_SEQUENCES,
             zero_masked = a.flags & RNN_ZERO_OUTPUT_FOR_MASK;
  const size_t n = (size_t)B * T * U;
  const float* tr[6];
  for (int k = 0; k < (lstm ? 6 : 4); ++k) tr[k] = a.trace + k * n;
  // Per row: dh, dc, dh_prev, zh (U each), dz, dzh (GU each); backward_scratch() sizes it.
  const size_t per_row = 4 * (size_t)U + 2 * (size_t)GU;
  auto row_floats = [&](int row, int part) {
    float* base = scratch + (size_t)row * per_row;
    return part < 4 ? base + (size_t)part * U : base + 4 * (size_t)U + (size_t)(part - 4) * GU;
  };
  enum { kDh, kDc, kDhPrev, kZh, kDz, kDzh };
  enum { kReal, kMasked, kPastEnd };
  // Which input step a row reads at processing step p, and whether it is real (as the forward decides).
  auto step_at = [&](int p, int row, int* t) {
    const int length = a.sequence_lengths ? a.sequence_lengths[row] : T;
    *t = backwards ? T - 1 - p : p;
    return *t >= length ? kPastEnd : a.mask && !a.mask[(size_t)row * T + *t] ? kMasked : kReal;
  };
  // vanished[row]: dh and dc are zero, so the steps before get nothing from here.
  bool* vanished = reinterpret_cast<bool*>(scratch + (size_t)B * per_row);
  for (int row = 0; row < B; ++row) {
    fill_floats(row_floats(row, kDh), 0.0f, U);
    fill_floats(row_floats(row, kDc), 0.0f, U);
    vanished[row] = false;
    int t;
    if (!sequences && !(step_at(T - 1, row, &t) == kMasked && zero_masked))
      copy_floats(row_floats(row, kDh), a.grad_output + (size_t)row * U, U);
  }
  int live = B;  // rows not vanished (without sequences, a vanished row stays so)
  int rows[kLockstep], steps[kLockstep];
  float *dz[kLockstep], *dzr[kLockstep], *dh_prev[kLockstep], *dh[kLockstep];
  int group = 0;
  // The products of the rows gathered so far, then their gradients flushed.
  auto finish = [&](int count) {
    switch (count) {
      case 4: products<4>(L, rows, steps, T, dz, dzr, dh_prev, dh, a.grad_input); break;
      case 3: products<3>(L, rows, steps, T, dz, dzr, dh_prev, dh, a.grad_input); break;
      case 2: products<2>(L, rows, steps, T, dz, dzr, dh_prev, dh, a.grad_input); break;
      case 1: products<1>(L, rows, steps, T, dz, dzr, dh_prev, dh, a.grad_input); break;
      default: break;
    }
    for (int r = 0; r < count; ++r) {
      const bool dh_left = flush_vanished(dh[r], U);
      const bool dc_left = lstm && flush_vanished(row_floats(rows[r], kDc), U);
      if (!dh_left && !dc_left) vanished[rows[r]] = true, --live;
    }
    group = 0;
  };
  for (int p = T - 1; p >= 0 && (sequences || live > 0); --p) {
    for (int row = 0; row < B; ++row) {
      int t;
      const int kind = step_at(p, row, &t);
      const size_t at = ((size_t)row * T + p) * U;
      float* dh_row = row_floats(row, kDh);
      if (sequences && !(kind == kPastEnd || (kind == kMasked && zero_masked)))
        for (int u = 0; u < U; ++u) {
          const float g = a.grad_output[at + u];
          if (g == 0.0f) continue;
          dh_row[u] += g;
          if (vanished[row]) vanished[row] = false, ++live;
        }
      if (kind != kReal || vanished[row]) continue;  // the state passes through unchanged
      const ptrdiff_t before = p > 0 ? (ptrdiff_t)(at - U) : -1;
      float* dz_row = row_floats(row, kDz);
      float* dh_prev_row = row_floats(row, kDhPrev);
      if (lstm) {
        lstm_step_back(L, tr, at, before, dh_row, row_floats(row, kDc), dz_row);
        fill_floats(dh_prev_row, 0.0f, U);
      } else {
        gru_step_back(L, tr, at, before, dh_row, dz_row, row_floats(row, kDzh), dh_prev_row, row_floats(row, kZh));
      }
      rows[group] = row, steps[group] = t, dz[group] = dz_row, dh_prev[group] = dh_prev_row, dh[group] = dh_row;
      dzr[group] = lstm ? dz_row : row_floats(row, kDzh);
      if (++group == kLockstep) finish(group);
    }
    finish(group);
  }
}
