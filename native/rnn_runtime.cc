// The layer behind the C contract (rnn_runtime.h): argument checks, weight packing, scratch memory, and the one
// place where a kernel is chosen for the CPU at hand.
#include "rnn_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <new>

#if defined(RNN_HAVE_THREADS)
#include <pthread.h>
#include <sched.h>
#include <chrono>
#include <condition_variable>
#include <mutex>
#endif

#include "kernel/kernel.h"

using namespace lstm_runtime;

namespace {

// Largest buffer (in floats) a layer will size: keeps every index computation far from overflow
// on wasm32 and bounds what one call may ask of the allocator.
constexpr size_t kMaxFloats = size_t(1) << 30;

std::atomic<uint32_t> g_calls[RNN_ISA_COUNT];

#if defined(RNN_HAVE_AVX2)
bool cpu_has_avx2_fma() {
  // libgcc's check includes the OS's support for saving the YMM registers.
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

bool cpu_has_f16c() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("f16c");
#else
  return true;  // NEON converts halves natively
#endif
}

// The compiled kernels of this build, best first. The only place that knows which exist.
const KernelInfo* kernel_for(int isa) {
  switch (isa) {
#if defined(RNN_HAVE_AVX2)
    case RNN_ISA_AVX2:
      return cpu_has_avx2_fma() ? kernel_avx2() : nullptr;
#endif
#if defined(RNN_HAVE_NEON)
    case RNN_ISA_NEON:
      return kernel_neon();
#endif
#if defined(RNN_HAVE_WASM_SIMD)
    case RNN_ISA_WASM_SIMD:
      return kernel_wasm_simd();
#endif
    case RNN_ISA_SCALAR:
      return kernel_scalar();
    default:
      return nullptr;
  }
}

const int kPreference[] = {RNN_ISA_AVX2, RNN_ISA_NEON, RNN_ISA_WASM_SIMD, RNN_ISA_SCALAR};

// Zeroed, 64-byte aligned float storage that only grows.
struct Buffer {
  void* data = nullptr;
  size_t bytes = 0;

  bool reserve(size_t want) {
    if (want <= bytes) return true;
    const size_t rounded = (want + 63) & ~size_t(63);
    void* fresh = aligned_alloc(64, rounded);
    if (!fresh) return false;
    memset(fresh, 0, rounded);
    free(data);
    data = fresh;
    bytes = rounded;
    return true;
  }
  float* floats() const { return static_cast<float*>(data); }
  ~Buffer() { free(data); }
};

bool valid_activation(const rnn_activation& a) {
  return a.kind >= RNN_ACT_LINEAR && a.kind <= RNN_ACT_ELU && a.alpha == a.alpha && a.beta == a.beta;
}

// IEEE half of a float, rounded to nearest even; false when it does not fit (|f| > 65504, NaN).
bool to_half(float f, uint16_t* out) {
  uint32_t x;
  memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
  if (mag > 0x477fefffu) return false;  // rounds past 65504, or inf/NaN
  if (mag < 0x38800000u) {              // below 2^-14: a subnormal half (or zero)
    float a;
    memcpy(&a, &mag, 4);
    *out = (uint16_t)(sign | (uint32_t)lrintf(a * 16777216.0f));
    return true;
  }
  uint32_t h = (mag - 0x38000000u) >> 13;  // rebias the exponent, keep 10 mantissa bits
  const uint32_t rest = mag & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  *out = (uint16_t)(sign | h);
  return true;
}

// Converts n packed floats to halves.
bool to_halves(const float* src, size_t n, uint16_t* dst) {
  for (size_t i = 0; i < n; ++i)
    if (!to_half(src[i], &dst[i])) return false;
  return true;
}

// int8 weights: every column of a [rows][cols] matrix (one gate of one unit) gets its own scale,
// max |w| / 127, and q = round(w / scale), half away from zero, so a column of small weights keeps
// its precision. q stays in [-127, 127]: the largest |w| of a column divides to 127 within an ulp.
// (lib/backends/js.ts quantizes by the same rule.) False when a weight is not finite.
bool quantize_columns(const float* src, int rows, int cols, float* q, float* scales) {
  for (int j = 0; j < cols; ++j) scales[j] = 0.0f;
  for (int k = 0; k < rows; ++k)
    for (int j = 0; j < cols; ++j) {
      const float w = src[(size_t)k * cols + j];
      if (!isfinite(w)) return false;
      scales[j] = fmaxf(scales[j], fabsf(w));
    }
  for (int j = 0; j < cols; ++j) scales[j] /= 127.0f;
  for (int k = 0; k < rows; ++k)
    for (int j = 0; j < cols; ++j) {
      const size_t at = (size_t)k * cols + j;
      q[at] = scales[j] > 0.0f ? roundf(src[at] / scales[j]) : 0.0f;
    }
  return true;
}

// int8 weights for accumulate_pairs: packed q ([blocks][U][count][W], whole numbers) to
// [blocks][U/2 rounded up][count][W][2], the two k of each pair side by side (0 past U).
void interleave_pairs(const float* packed, int units, int count, int width, int blocks, int8_t* dst) {
  const int pairs = (units + 1) / 2;
  for (int j = 0; j < blocks; ++j)
    for (int p = 0; p < pairs; ++p)
      for (int g = 0; g < count; ++g)
        for (int l = 0; l < width; ++l)
          for (int e = 0; e < 2; ++e) {
            const int k = 2 * p + e;
            *dst++ = k < units ? (int8_t)packed[(((size_t)j * units + k) * count + g) * width + l] : 0;
          }
}

// Copies gates [first, first + count) of a Keras-layout matrix [rows][gates*U] (gate-major
// columns) into [blocks][rows][count][W].
void pack_gates(const float* src, int rows, int units, int gates, int first, int count, int width, int blocks,
                float* dst) {
  for (int j = 0; j < blocks; ++j)
    for (int k = 0; k < rows; ++k)
      for (int g = 0; g < count; ++g)
        for (int l = 0; l < width; ++l) {
          const int u = j * width + l;
          dst[(((size_t)j * rows + k) * count + g) * width + l] =
              u < units ? src[(size_t)k * gates * units + (size_t)(first + g) * units + u] : 0.0f;
        }
}

}  // namespace

namespace lstm_runtime {

// Parts of one call meet here once per step: a hand-off costs about 0.1 us, far less than
// waking a sleeping thread, so waiting parts spin.
struct SpinBarrier {
  std::atomic<int> arrived{0};
  std::atomic<unsigned> generation{0};
  int parts = 1;
};

void barrier_wait(SpinBarrier* barrier) {
  if (!barrier || barrier->parts <= 1) return;
  const unsigned generation = barrier->generation.load(std::memory_order_acquire);
  if (barrier->arrived.fetch_add(1, std::memory_order_acq_rel) == barrier->parts - 1) {
    barrier->arrived.store(0, std::memory_order_relaxed);
    barrier->generation.store(generation + 1, std::memory_order_release);
    return;
  }
  for (unsigned spin = 1; barrier->generation.load(std::memory_order_acquire) == generation; ++spin) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
#if defined(RNN_HAVE_THREADS)
    // A part that was descheduled (more busy threads than cores) is let back in sooner.
    if ((spin & 1023) == 0) sched_yield();
#endif
  }
}

}  // namespace lstm_runtime

namespace {

#if defined(RNN_HAVE_THREADS)
// The process's helper threads, shared by every layer: part k of a call runs on helper k. A call
// claims the team for its duration; one that finds it busy (another layer's call on another
// thread) runs on its own thread instead, which gives the same bits. Between calls a helper spins
// for a short while (streaming steps come microseconds apart), then sleeps.
class Team {
 public:
  // Runs a call split into up to `parts` parts; false (nothing run) if the team is busy or has
  // no helper to give.
  bool try_run(const KernelInfo* kernel, const PackedRnn& layer, const Workspace& ws, const ForwardArgs& args,
               int parts) {
    std::unique_lock<std::mutex> claim(busy_, std::try_to_lock);
    if (!claim.owns_lock()) return false;
    for (; started_ < parts - 1 && started_ < kMaxHelpers; ++started_) {
      // The epoch before this call: a helper that starts late must still see it.
      slots_[started_] = {this, started_ + 1, epoch_.load(std::memory_order_acquire)};
      if (pthread_create(&threads_[started_], nullptr, &Team::main, &slots_[started_]) != 0) break;
    }
    if (parts > started_ + 1) parts = started_ + 1;
    if (parts < 2) return false;
    barrier_.parts = parts;
    {
      // The job and its epoch change together, under the lock the helpers read them with.
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = {kernel, &layer, &ws, &args, parts};
      epoch_.fetch_add(1, std::memory_order_release);
    }
    if (sleeping_.load(std::memory_order_acquire) > 0) wake_.notify_all();
    kernel->forward(layer, ws, args, Split{0, parts, &barrier_});  // returns once every part is done
    return true;
  }

  static Team& shared() {
    static Team* team = new Team();  // lives as long as the process, like its threads
    return *team;
  }

 private:
  static constexpr int kMaxHelpers = 15;
  static constexpr int64_t kSpinNanos = 50000;  // then sleep: an idle helper must not hold a core
  struct Slot {
    Team* team;
    int part;
    unsigned first_epoch;
  };
  struct Job {
    const KernelInfo* kernel;
    const PackedRnn* layer;
    const Workspace* ws;
    const ForwardArgs* args;
    int parts;
  };

  static void* main(void* arg) {
    const Slot* slot = static_cast<Slot*>(arg);
    Team* team = slot->team;
    unsigned seen = slot->first_epoch;
    for (;;) {
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kSpinNanos);
      for (int spin = 0; team->epoch_.load(std::memory_order_acquire) == seen; ++spin) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if ((spin & 63) == 63 && std::chrono::steady_clock::now() > spin_until) break;
      }
      Job job{};
      {
        std::unique_lock<std::mutex> lock(team->mutex_);
        if (team->epoch_.load(std::memory_order_acquire) == seen) {
          team->sleeping_.fetch_add(1, std::memory_order_acq_rel);
          team->wake_.wait(lock, [&] { return team->epoch_.load(std::memory_order_acquire) != seen; });
          team->sleeping_.fetch_sub(1, std::memory_order_acq_rel);
        }
        // Read together: a helper that sat out a call (its part beyond that call's parts) can
        // wake after the next call was published, and must take that job once, not the next
        // job under the last epoch (then again under its own, on a layer freed meanwhile).
        seen = team->epoch_.load(std::memory_order_acquire);
        job = team->job_;
      }
      if (slot->part < job.parts)
        job.kernel->forward(*job.layer, *job.ws, *job.args, Split{slot->part, job.parts, &team->barrier_});
    }
  }

  std::mutex busy_;  // held by the call that owns the team
  pthread_t threads_[kMaxHelpers];
  Slot slots_[kMaxHelpers];
  int started_ = 0;
  SpinBarrier barrier_;
  Job job_{};
  std::atomic<unsigned> epoch_{0};
  std::atomic<int> sleeping_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};
#endif

}  // namespace

struct rnn_layer {
  PackedRnn packed;
  const KernelInfo* kernel;
  Buffer weights;  // every packed tensor, back to back
  Buffer scratch;
  int parts = 1;  // threads each call may be split across
};

extern "C" {

int32_t rnn_isa_available(int32_t isa) { return kernel_for(isa) != nullptr; }

int64_t rnn_first_nonfinite(const float* data, int64_t n) {
  // Exponent bits all set means NaN or infinity; adding 1 to the exponent field then carries into
  // bit 31. Blocks of 64 are ORed without branches (the compiler vectorises that); the first block
  // with a hit is searched one value at a time.
  const auto carry = [&](int64_t i) {
    uint32_t bits;
    memcpy(&bits, data + i, sizeof bits);
    return (bits & 0x7f800000u) + 0x00800000u;
  };
  const auto nonfinite = [&](int64_t i) { return (carry(i) & 0x80000000u) != 0; };
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    uint32_t any = 0;
    for (int k = 0; k < 64; ++k) any |= carry(i + k);
    if (any & 0x80000000u) break;
  }
  for (; i < n; ++i)
    if (nonfinite(i)) return i;
  return -1;
}

int32_t rnn_precision_available(int32_t isa, int32_t precision) {
  const KernelInfo* info = kernel_for(isa == RNN_ISA_AUTO ? rnn_isa_best() : isa);
  if (!info) return 0;
  if (precision == RNN_PRECISION_F32 || precision == RNN_PRECISION_I8) return 1;
  return precision == RNN_PRECISION_F16 && info->has_half && cpu_has_f16c();
}

int32_t rnn_isa_best(void) {
  for (int isa : kPreference)
    if (kernel_for(isa)) return isa;
  return RNN_ISA_SCALAR;
}

uint32_t rnn_isa_calls(int32_t isa) {
  return isa >= 0 && isa < RNN_ISA_COUNT ? g_calls[isa].load(std::memory_order_relaxed) : 0;
}

const char* rnn_layer_isa(const rnn_layer* layer) { return layer ? layer->kernel->name : ""; }

int32_t rnn_trace_count(const rnn_layer* layer) {
  return !layer ? 0 : layer->packed.cell == RNN_CELL_LSTM ? 6 : 4;
}

rnn_status rnn_create(const rnn_config* config, const float* kernel, const float* recurrent_kernel, const float* bias,
                      const float* recurrent_bias, const float* peepholes, rnn_layer** out) {
  if (!out) return RNN_ERR_CONFIG;
  *out = nullptr;
  if (!config || config->input_size < 1 || config->units < 1 || config->threads < 1) return RNN_ERR_CONFIG;
  if (config->cell != RNN_CELL_LSTM && config->cell != RNN_CELL_GRU) return RNN_ERR_CONFIG;
  if (!valid_activation(config->activation) || !valid_activation(config->cell_activation) ||
      !valid_activation(config->recurrent_activation) || !(config->clip >= 0.0f))
    return RNN_ERR_CONFIG;
  if (!kernel || !recurrent_kernel) return RNN_ERR_WEIGHTS;
  const KernelInfo* info = kernel_for(config->isa == RNN_ISA_AUTO ? rnn_isa_best() : config->isa);
  if (!info) return RNN_ERR_UNSUPPORTED;
  const int precision = config->weight_precision;
  if (precision != RNN_PRECISION_F32 && precision != RNN_PRECISION_F16 && precision != RNN_PRECISION_I8)
    return RNN_ERR_CONFIG;
  const bool half = precision == RNN_PRECISION_F16, int8 = precision == RNN_PRECISION_I8;
  if (!rnn_precision_available(info->isa, precision)) return RNN_ERR_UNSUPPORTED;

  const bool lstm = config->cell == RNN_CELL_LSTM;
  const bool reset_after = !lstm && config->reset_after;
  const int I = config->input_size, U = config->units, Wd = info->width, G = lstm ? 4 : 3;
  const int blocks = (U + Wd - 1) / Wd;
  const size_t padded = (size_t)blocks * Wd;
  if ((size_t)I * G * padded > kMaxFloats || (size_t)U * G * padded > kMaxFloats) return RNN_ERR_CONFIG;
  // A GRU without reset_after multiplies r into h before the h gate's product, so that gate's
  // recurrent weights are packed apart from z and r.
  const int gates_h = lstm || reset_after ? G : 2;
  const size_t n_wx = (size_t)I * G * padded, n_wh = (size_t)U * gates_h * padded;
  const size_t n_wh_h = (size_t)U * (G - gates_h) * padded;
  const size_t n_bias = G * padded, n_rbias = reset_after ? G * padded : 0;
  const size_t n_peep = lstm && peepholes ? 3 * padded : 0;

  rnn_layer* layer = new (std::nothrow) rnn_layer();
  if (!layer) return RNN_ERR_ALLOC;
  // Half or int8 weights: the recurrent kernel, which every step streams, is stored compressed.
  // The input kernel stays float: it is read once per call, and its products are the largest
  // pre-activation terms. Float tensors first, so every one stays 64-byte aligned.
  const size_t n_rec = n_wh + n_wh_h, n_scale = int8 ? G * padded : 0;
  const size_t n_float = n_wx + n_bias + n_rbias + n_peep + n_scale;
  const size_t element = half ? sizeof(uint16_t) : int8 ? sizeof(int8_t) : sizeof(float);
  // As stored: int8 kernels hold k in pairs (interleave_pairs), so an odd U gains a zero row.
  const size_t stored_rows = int8 ? (size_t)(U + 1) / 2 * 2 : U;
  const size_t n_stored = stored_rows * G * padded, n_wh_stored = stored_rows * gates_h * padded;
  // Memory freed once packed: compressed kernels are packed as floats first; int8 ones are
  // quantized before that, in the Keras layout (q, then one scale per column).
  const size_t n_keras = (size_t)U * G * U;
  const size_t n_packing = half ? n_rec : int8 ? n_rec + n_keras + (size_t)G * U : 0;
  Buffer packing;
  if (!layer->weights.reserve(n_float * sizeof(float) + n_stored * element) ||
      (n_packing && !packing.reserve(n_packing * sizeof(float)))) {
    rnn_destroy(layer);
    return RNN_ERR_ALLOC;
  }
  float* wx = layer->weights.floats();
  float* packed_bias = wx + n_wx;
  float* rbias = n_rbias ? packed_bias + n_bias : nullptr;
  float* peep = n_peep ? packed_bias + n_bias + n_rbias : nullptr;
  float* scale = n_scale ? packed_bias + n_bias + n_rbias + n_peep : nullptr;
  void* rec = wx + n_float;
  float* rec_floats = n_packing ? packing.floats() : static_cast<float*>(rec);
  const float* rec_source = recurrent_kernel;
  if (int8) {
    float* q = rec_floats + n_rec;
    float* keras_scales = q + n_keras;
    if (!quantize_columns(recurrent_kernel, U, G * U, q, keras_scales)) {
      rnn_destroy(layer);
      return RNN_ERR_RANGE;
    }
    rec_source = q;
    pack_gates(keras_scales, 1, U, G, 0, gates_h, Wd, blocks, scale);
    if (n_wh_h) pack_gates(keras_scales, 1, U, G, gates_h, G - gates_h, Wd, blocks, scale + (size_t)gates_h * padded);
  }
  pack_gates(kernel, I, U, G, 0, G, Wd, blocks, wx);
  pack_gates(rec_source, U, U, G, 0, gates_h, Wd, blocks, rec_floats);
  if (n_wh_h) pack_gates(rec_source, U, U, G, gates_h, G - gates_h, Wd, blocks, rec_floats + n_wh);
  if (half && !to_halves(rec_floats, n_rec, static_cast<uint16_t*>(rec))) {
    rnn_destroy(layer);
    return RNN_ERR_RANGE;
  }
  if (int8) {
    interleave_pairs(rec_floats, U, gates_h, Wd, blocks, static_cast<int8_t*>(rec));
    if (n_wh_h) interleave_pairs(rec_floats + n_wh, U, G - gates_h, Wd, blocks, static_cast<int8_t*>(rec) + n_wh_stored);
  }
  const StreamedWeights wh{rec, scale};
  const StreamedWeights wh_h{n_wh_h ? static_cast<char*>(rec) + n_wh_stored * element : nullptr,
                             n_wh_h && scale ? scale + (size_t)gates_h * padded : nullptr};
  if (bias) pack_gates(bias, 1, U, G, 0, G, Wd, blocks, packed_bias);  // a bias is one row of [GU]
  if (rbias && recurrent_bias) pack_gates(recurrent_bias, 1, U, G, 0, G, Wd, blocks, rbias);
  if (peep) {
    // ONNX order i, o, f -> the kernel's i, f, o.
    const int from[3] = {0, 2, 1};
    for (int j = 0; j < blocks; ++j)
      for (int p = 0; p < 3; ++p)
        for (int l = 0; l < Wd; ++l) {
          const int u = j * Wd + l;
          peep[((size_t)j * 3 + p) * Wd + l] = u < U ? peepholes[(size_t)from[p] * U + u] : 0.0f;
        }
  }

  layer->kernel = info;
  PackedRnn& P = layer->packed;
  P.cell = config->cell;
  P.input_size = I;
  P.units = U;
  P.width = Wd;
  P.blocks = blocks;
  P.gates = G;
  P.precision = precision;
  P.wx = wx;
  P.wh = wh;
  P.wh_h = wh_h;
  P.bias = packed_bias;
  P.rbias = rbias;
  P.peep = peep;
  P.activation = config->activation;
  P.cell_activation = config->cell_activation;
  P.recurrent_activation = config->recurrent_activation;
  P.clip = config->clip;
  P.input_forget = lstm && config->input_forget != 0;
  P.reset_after = reset_after;
  // More parts than blocks of units would leave a part idle at every barrier.
#if defined(RNN_HAVE_THREADS)
  layer->parts = config->threads < blocks ? config->threads : blocks;
#endif
  *out = layer;
  return RNN_OK;
}

void rnn_destroy(rnn_layer* layer) { delete layer; }

rnn_status rnn_forward(rnn_layer* layer, int32_t batch, int32_t steps, int32_t flags, const float* input, float* h,
                       float* c, float* output, const uint8_t* mask, const int32_t* sequence_lengths, float* trace) {
  if (!layer) return RNN_ERR_CONFIG;
  const PackedRnn& L = layer->packed;
  if (batch < 1 || steps < 1) return RNN_ERR_SHAPE;
  if (!input || !h || (L.cell == RNN_CELL_LSTM && !c)) return RNN_ERR_SHAPE;
  if (sequence_lengths)
    for (int b = 0; b < batch; ++b)
      if (sequence_lengths[b] < 0 || sequence_lengths[b] > steps) return RNN_ERR_SHAPE;

  const size_t padded = (size_t)L.blocks * L.width;
  const size_t rows = (size_t)batch * steps;
  if (rows > kMaxFloats || rows * L.gates * padded > kMaxFloats || rows * L.input_size > kMaxFloats ||
      rows * L.units * 6 > kMaxFloats)
    return RNN_ERR_SHAPE;

  // xproj, then h_prev, h_next, c, gate, reset_h (and the quantized state's scales); then the
  // small int arrays (and the quantized state).
  const bool int8 = L.precision == RNN_PRECISION_I8;
  const size_t n_xproj = rows * L.gates * padded;
  const size_t n_state = (size_t)batch * padded;
  const size_t per_part = (size_t)layer->parts * batch;
  const size_t n_state_q = int8 ? per_part * ((L.units + 1) & ~1) : 0;
  const size_t float_bytes = (n_xproj + 5 * n_state + (int8 ? per_part : 0)) * sizeof(float);
  const size_t int_bytes = 2 * per_part * sizeof(int32_t) + n_state_q * sizeof(int16_t);
  if (!layer->scratch.reserve(float_bytes + int_bytes + per_part)) return RNN_ERR_ALLOC;

  float* base = layer->scratch.floats();
  Workspace ws;
  ws.xproj = base;
  ws.h_prev = base + n_xproj;
  ws.h_next = ws.h_prev + n_state;
  ws.c = ws.h_next + n_state;
  ws.gate = ws.c + n_state;
  ws.reset_h = ws.gate + n_state;
  ws.state_scale = int8 ? ws.reset_h + n_state : nullptr;
  ws.rows = reinterpret_cast<int32_t*>(ws.reset_h + n_state + (int8 ? per_part : 0));
  ws.times = ws.rows + per_part;
  ws.state_q = int8 ? reinterpret_cast<int16_t*>(ws.times + per_part) : nullptr;
  ws.skip = reinterpret_cast<uint8_t*>(ws.times + per_part) + n_state_q * sizeof(int16_t);

  ForwardArgs args{batch, steps, flags, input, h, c, output, mask, sequence_lengths, trace};
#if defined(RNN_HAVE_THREADS)
  const bool split = layer->parts > 1 && Team::shared().try_run(layer->kernel, L, ws, args, layer->parts);
#else
  const bool split = false;
#endif
  if (!split) layer->kernel->forward(L, ws, args, Split{0, 1, nullptr});
  g_calls[layer->kernel->isa].fetch_add(1, std::memory_order_relaxed);
  return RNN_OK;
}

}  // extern "C"
