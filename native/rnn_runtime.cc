// The layer behind the C contract (rnn_runtime.h): argument checks, weight packing, scratch memory, and the one
// place where a kernel is chosen for the CPU at hand.
#include "rnn_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <new>

#include <algorithm>

#if defined(RNN_HAVE_THREADS)
#include <pthread.h>
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
// Largest allocation. In wasm32 a block stays below 2 GiB, the heap's limit (CMakeLists.txt):
// emscripten's emmalloc (3.1.6) answered larger requests with pointers to memory it did not have.
constexpr uint64_t kMaxBytes = sizeof(size_t) < 8 ? (uint64_t(1) << 31) - 65536 : (uint64_t)SIZE_MAX - 4096;

std::atomic<uint32_t> g_calls[RNN_ISA_COUNT];
std::atomic<uint32_t> g_threads_split{0}, g_threads_late{0}, g_threads_alone{0};

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
#if defined(RNN_HAVE_WASM_RELAXED)
    case RNN_ISA_WASM_RELAXED:
      return kernel_wasm_relaxed();
#endif
    case RNN_ISA_SCALAR:
      return kernel_scalar();
    default:
      return nullptr;
  }
}

const int kPreference[] = {RNN_ISA_AVX2, RNN_ISA_NEON, RNN_ISA_WASM_RELAXED, RNN_ISA_WASM_SIMD, RNN_ISA_SCALAR};

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
// its precision. The largest |w| of a column divides to 127 within an ulp, except when the scale is
// subnormal and imprecise (max |w| < 127 * 2^-126): q is clamped to [-127, 127].
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
      q[at] = scales[j] > 0.0f ? fminf(fmaxf(roundf(src[at] / scales[j]), -127.0f), 127.0f) : 0.0f;
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

#if defined(RNN_HAVE_THREADS)
namespace {

using Clock = std::chrono::steady_clock;

inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Spins until done() holds or about `nanos` have passed; whether done() holds. The clock is read
// only after the first 64 pauses (a microsecond or two): most waits end before.
template <class Done>
bool spin_until(const Done& done, int64_t nanos) {
  for (int spin = 0; spin < 64; ++spin) {
    if (done()) return true;
    cpu_pause();
  }
  const auto until = Clock::now() + std::chrono::nanoseconds(nanos);
  for (unsigned spin = 1;; ++spin) {
    if (done()) return true;
    cpu_pause();
    if ((spin & 63) == 0 && Clock::now() > until) return done();
  }
}

inline uint64_t tag(uint32_t call, uint32_t value) { return (uint64_t)call << 32 | value; }

constexpr int kMaxParts = 16;
// How long a waiting part spins before it sleeps, at least: a phase of a step takes microseconds
// to milliseconds, an interrupt or a cache miss storm delays one by tens of microseconds, a
// wake-up through the kernel takes tens of them, and a helper descheduled on a busy machine
// milliseconds. A part also spins as long as its own share took (a helper: four times), so shares
// that differ by a block (5 blocks against 4) are not taken for a late helper.
constexpr int64_t kSpinNanos = 100000;
// How long part 0 lets a helper that has not started its share of a phase keep it, before taking
// it over: a running helper starts within a microsecond of the release; at phase 0 it may be
// waking up (or starting) first.
constexpr int64_t kGraceNanos = 3000;
constexpr int64_t kWakeNanos = 200000;

inline int64_t nanos_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

}  // namespace

// The state of one split call, owned by the Team. A helper's slot holds (call, 2k) while phase k
// awaits it, (call, 2k + 1) while it runs it and (call, 2k + 2) once it is done (by the helper,
// or by part 0, which took it); `go` holds (call, k) once part 0 released phase k, or (call,
// kLeave). Every value carries the call, so a helper that wakes after its call ended finds
// nothing to claim. Each waited-on value has a cache line of its own: a handoff between cores
// costs a transfer of the line (about 0.2 us each way on the development VM), a few per phase.
struct PartSync {
  static constexpr uint32_t kLeave = 0xffffffffu;
  struct alignas(64) Slot {
    std::atomic<uint64_t> state{0};
  };
  alignas(64) std::atomic<uint64_t> go{0};
  // Written by part 0 with `go` (the same line): how long its share of a phase took, which tells
  // the helpers how long to wait before sleeping. Measured every 8th phase (a clock read costs
  // 30 ns, a step's phase can take under a microsecond, and one step's shares are like the next's).
  std::atomic<int64_t> share_nanos{0};
  Clock::time_point released_at{};  // part 0's: when it released a phase it measures
  bool measuring = false;
  Slot slots[kMaxParts];
  alignas(64) std::atomic<int> helpers_asleep{0};
  std::atomic<int> main_asleep{0};
  std::mutex mutex;
  std::condition_variable helpers_wake, main_wake;
  bool late = false;  // part 0's: the helpers fell behind and the call ended alone
};

SyncClaim sync_claim(PartSync* sync, int part, uint32_t call, int phase) {
  PartSync::Slot& slot = sync->slots[part];
  const uint64_t before = tag(call, (uint32_t)phase - 1);
  const auto moved = [&] { return sync->go.load(std::memory_order_seq_cst) != before; };
  if (!spin_until(moved, std::max(kSpinNanos, 4 * sync->share_nanos.load(std::memory_order_relaxed)))) {
    std::unique_lock<std::mutex> lock(sync->mutex);
    sync->helpers_asleep.fetch_add(1, std::memory_order_seq_cst);
    sync->helpers_wake.wait(lock, moved);
    sync->helpers_asleep.fetch_sub(1, std::memory_order_seq_cst);
  }
  // Released: this phase, or a later one when part 0 took this one (this helper was late).
  const uint64_t go = sync->go.load(std::memory_order_acquire);
  if (go >> 32 != call || (uint32_t)go == PartSync::kLeave) return kSyncLeave;
  uint64_t ready = tag(call, 2u * phase);
  return slot.state.compare_exchange_strong(ready, tag(call, 2u * phase + 1), std::memory_order_acq_rel) ? kSyncRun : kSyncSkip;
}

void sync_done(PartSync* sync, int part, uint32_t call, int phase) {
  sync->slots[part].state.store(tag(call, 2u * phase + 2), std::memory_order_seq_cst);
  if (sync->main_asleep.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(sync->mutex);
    sync->main_wake.notify_all();
  }
}

void sync_release(PartSync* sync, uint32_t call, int phase) {
  if ((phase & 7) == 1) {
    sync->released_at = Clock::now();
    sync->measuring = true;
  }
  sync->go.store(tag(call, (uint32_t)phase), std::memory_order_seq_cst);
  if (sync->helpers_asleep.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(sync->mutex);
    sync->helpers_wake.notify_all();
  }
}

void sync_leave(PartSync* sync, uint32_t call) {
  sync->late = true;
  sync_release(sync, call, (int)PartSync::kLeave);
}

SyncCollect sync_collect(PartSync* sync, int part, uint32_t call, int phase) {
  // How long part 0's own share took (the first collect of a phase comes right after it).
  if (sync->measuring) {
    sync->measuring = false;
    sync->share_nanos.store(nanos_since(sync->released_at), std::memory_order_relaxed);
  }
  const int64_t own = sync->share_nanos.load(std::memory_order_relaxed);
  std::atomic<uint64_t>& state = sync->slots[part].state;
  const uint64_t ready = tag(call, 2u * phase), done = tag(call, 2u * phase + 2);
  if (!spin_until([&] { return state.load(std::memory_order_acquire) != ready; }, phase == 0 ? kWakeNanos : kGraceNanos)) {
    uint64_t expected = ready;
    if (state.compare_exchange_strong(expected, done, std::memory_order_acq_rel)) return kSyncTaken;
  }
  const auto finished = [&] { return state.load(std::memory_order_seq_cst) == done; };
  if (spin_until(finished, std::max(kSpinNanos, own))) return kSyncDone;
  // Running but slow: it was descheduled mid-phase. Sleep until it is done.
  std::unique_lock<std::mutex> lock(sync->mutex);
  sync->main_asleep.fetch_add(1, std::memory_order_seq_cst);
  sync->main_wake.wait(lock, finished);
  sync->main_asleep.fetch_sub(1, std::memory_order_seq_cst);
  return kSyncSlow;
}

#else
// One thread per call: no split call ever reaches these.
struct PartSync {};
SyncClaim sync_claim(PartSync*, int, uint32_t, int) { return kSyncLeave; }
void sync_done(PartSync*, int, uint32_t, int) {}
void sync_release(PartSync*, uint32_t, int) {}
void sync_leave(PartSync*, uint32_t) {}
SyncCollect sync_collect(PartSync*, int, uint32_t, int) { return kSyncDone; }
#endif

}  // namespace lstm_runtime

namespace {

#if defined(RNN_HAVE_THREADS)
// The process's helper threads, shared by every layer: part k of a call runs on helper k. A call
// claims the team for its duration; one that finds it busy (another layer's call on another
// thread) runs on its own thread instead, which gives the same bits. Between calls a helper spins
// for a short while (streaming steps come microseconds apart), then sleeps.
//
// On a busy machine a helper can be descheduled for milliseconds, and a call that waited for it
// at every step ran slower than one thread. So part 0 takes over a helper's share when the helper
// has not started it in time, and runs the rest of the call alone after a few such shares or one
// long wait (see Phases in rnn_kernel.inl); after such a call the team lets calls run on their own
// thread for a while before it tries again (see kLastBackoffCalls).
class Team {
 public:
  // Runs a call split into up to `parts` parts; false (nothing run) if the team is busy, has no
  // helper to give, or lets calls run alone for now.
  bool try_run(const KernelInfo* kernel, const PackedRnn& layer, const Workspace& ws, const ForwardArgs& args,
               int parts) {
    std::unique_lock<std::mutex> claim(busy_, std::try_to_lock);
    if (!claim.owns_lock()) return false;
    if (calls_alone_ > 0 || (backoff_.count() > 0 && Clock::now() < alone_until_)) {
      if (calls_alone_ > 0) --calls_alone_;
      g_threads_alone.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    for (; started_ < parts - 1 && started_ < kMaxHelpers; ++started_) {
      // The epoch before this call: a helper that starts late must still see it.
      slots_[started_] = {this, started_ + 1, epoch_.load(std::memory_order_acquire)};
      if (pthread_create(&threads_[started_], nullptr, &Team::main, &slots_[started_]) != 0) break;
    }
    if (parts > started_ + 1) parts = started_ + 1;
    if (parts < 2) return false;
    if (++call_ == 0) ++call_;  // 0 is the state before any call
    for (int p = 1; p < parts; ++p) sync_.slots[p].state.store(tag(call_, 0), std::memory_order_relaxed);
    sync_.go.store(tag(call_, 0), std::memory_order_relaxed);
    sync_.late = false;
    sync_.released_at = Clock::now();
    sync_.measuring = true;
    {
      // The job and its epoch change together, under the lock the helpers read them with.
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = {kernel, &layer, &ws, &args, parts, call_};
      epoch_.fetch_add(1, std::memory_order_release);
    }
    if (sleeping_.load(std::memory_order_acquire) > 0) wake_.notify_all();
    kernel->forward(layer, ws, args, Split{0, parts, &sync_, call_});  // returns once every part is done
    g_threads_split.fetch_add(1, std::memory_order_relaxed);
    if (sync_.late) {
      g_threads_late.fetch_add(1, std::memory_order_relaxed);
      backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(2 * backoff_, kLastBackoff);
      backoff_calls_ = std::min(2 * backoff_calls_ + 1, kLastBackoffCalls);
      alone_until_ = Clock::now() + backoff_;
      calls_alone_ = backoff_calls_;
    } else {
      backoff_ = std::chrono::milliseconds(0);
      backoff_calls_ = 0;
    }
    return true;
  }

  // Joins the helpers; no call may be running.
  ~Team() {
    std::lock_guard<std::mutex> claim(busy_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      epoch_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (int k = 0; k < started_; ++k) pthread_join(threads_[k], nullptr);
  }

 private:
  static constexpr int kMaxHelpers = kMaxParts - 1;
  static constexpr int64_t kIdleSpinNanos = 50000;  // then sleep: an idle helper must not hold a core
  // After a call whose helpers fell behind, the next calls run alone: the next 1, 3, 7, 15 calls
  // and for 2, 4, ... 256 ms, whichever ends later (both double while helpers stay late).
  static constexpr std::chrono::milliseconds kFirstBackoff{2}, kLastBackoff{256};
  static constexpr int kLastBackoffCalls = 15;
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
    uint32_t call;
  };

  static void* main(void* arg) {
    const Slot* slot = static_cast<Slot*>(arg);
    Team* team = slot->team;
    unsigned seen = slot->first_epoch;
    for (;;) {
      spin_until([&] { return team->epoch_.load(std::memory_order_acquire) != seen; }, kIdleSpinNanos);
      Job job{};
      {
        std::unique_lock<std::mutex> lock(team->mutex_);
        if (team->epoch_.load(std::memory_order_acquire) == seen) {
          team->sleeping_.fetch_add(1, std::memory_order_acq_rel);
          team->wake_.wait(lock, [&] { return team->epoch_.load(std::memory_order_acquire) != seen; });
          team->sleeping_.fetch_sub(1, std::memory_order_acq_rel);
        }
        if (team->stop_) return nullptr;
        // Read together: a helper that sat out a call (its part beyond that call's parts) can
        // wake after the next call was published, and must take that job once, not the next
        // job under the last epoch (then again under its own, on a layer freed meanwhile).
        seen = team->epoch_.load(std::memory_order_acquire);
        job = team->job_;
      }
      if (slot->part >= job.parts) continue;
      // Phase 0 is claimed before the call's memory is read: part 0 may have taken it (this
      // helper was late) and returned already.
      uint64_t ready = tag(job.call, 0);
      if (!team->sync_.slots[slot->part].state.compare_exchange_strong(ready, tag(job.call, 1), std::memory_order_acq_rel))
        continue;
      job.kernel->forward(*job.layer, *job.ws, *job.args, Split{slot->part, job.parts, &team->sync_, job.call});
    }
  }

  std::mutex busy_;  // held by the call that owns the team
  pthread_t threads_[kMaxHelpers];
  Slot slots_[kMaxHelpers];
  int started_ = 0;
  PartSync sync_;
  uint32_t call_ = 0;
  std::chrono::milliseconds backoff_{0};
  Clock::time_point alone_until_{};
  int backoff_calls_ = 0, calls_alone_ = 0;
  Job job_{};
  bool stop_ = false;
  std::atomic<unsigned> epoch_{0};
  std::atomic<int> sleeping_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// The team, started with the first split call and joined by rnn_threads_stop.
std::mutex g_team_mutex;
Team* g_team = nullptr;

Team& team() {
  std::lock_guard<std::mutex> lock(g_team_mutex);
  if (!g_team) g_team = new Team();
  return *g_team;
}
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
  const int blocks = (int)(((int64_t)U + Wd - 1) / Wd);  // U may be near INT32_MAX
  const size_t padded = (size_t)blocks * Wd;
  // Sizes in 64 bits: size_t has 32 in wasm32, where a product could wrap to a small allocation.
  if ((uint64_t)I * G * padded > kMaxFloats || (uint64_t)U * G * padded > kMaxFloats) return RNN_ERR_CONFIG;
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
  const uint64_t weight_bytes = (uint64_t)n_float * sizeof(float) + (uint64_t)n_stored * element;
  Buffer packing;
  if (weight_bytes > kMaxBytes || (uint64_t)n_packing * sizeof(float) > kMaxBytes ||
      !layer->weights.reserve((size_t)weight_bytes) || (n_packing && !packing.reserve(n_packing * sizeof(float)))) {
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

void rnn_threads_stats(uint32_t out[3]) {
  out[0] = g_threads_split.load(std::memory_order_relaxed);
  out[1] = g_threads_late.load(std::memory_order_relaxed);
  out[2] = g_threads_alone.load(std::memory_order_relaxed);
}

void rnn_threads_stop(void) {
#if defined(RNN_HAVE_THREADS)
  std::lock_guard<std::mutex> lock(g_team_mutex);
  delete g_team;
  g_team = nullptr;
#endif
}

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
  const uint64_t rows64 = (uint64_t)batch * steps;
  if (rows64 > kMaxFloats || rows64 * L.gates * padded > kMaxFloats || rows64 * L.input_size > kMaxFloats ||
      rows64 * L.units * 6 > kMaxFloats)
    return RNN_ERR_SHAPE;
  const size_t rows = (size_t)rows64;

  // xproj, then h_prev, h_next, c, gate, reset_h (and the quantized state's scales); then the
  // small int arrays (and the quantized state).
  const bool int8 = L.precision == RNN_PRECISION_I8;
  const size_t n_xproj = rows * L.gates * padded;
  const size_t n_state = (size_t)batch * padded;
  const size_t per_part = (size_t)layer->parts * batch;
  const size_t n_state_q = int8 ? per_part * ((L.units + 1) & ~1) : 0;
  const uint64_t float_bytes = ((uint64_t)n_xproj + 5 * (uint64_t)n_state + (int8 ? per_part : 0)) * sizeof(float);
  const uint64_t int_bytes = 2 * (uint64_t)per_part * sizeof(int32_t) + (uint64_t)n_state_q * sizeof(int16_t);
  const uint64_t scratch_bytes = float_bytes + int_bytes + per_part;
  if (scratch_bytes > kMaxBytes || !layer->scratch.reserve((size_t)scratch_bytes)) return RNN_ERR_ALLOC;

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
  const bool split = layer->parts > 1 && team().try_run(layer->kernel, L, ws, args, layer->parts);
#else
  const bool split = false;
#endif
  if (!split) layer->kernel->forward(L, ws, args, Split{0, 1, nullptr, 0});
  g_calls[layer->kernel->isa].fetch_add(1, std::memory_order_relaxed);
  return RNN_OK;
}

rnn_status rnn_backward(const rnn_layer* layer, const float* kernel, const float* recurrent_kernel,
                        const float* recurrent_bias, const float* peepholes, int32_t batch, int32_t steps, int32_t flags,
                        const uint8_t* mask, const int32_t* sequence_lengths, const float* trace,
                        const float* grad_output, float* grad_input) {
  if (!layer) return RNN_ERR_CONFIG;
  const PackedRnn& P = layer->packed;
  if (!kernel || !recurrent_kernel) return RNN_ERR_WEIGHTS;
  if (batch < 1 || steps < 1 || !trace || !grad_output || !grad_input) return RNN_ERR_SHAPE;
  if (sequence_lengths)
    for (int b = 0; b < batch; ++b)
      if (sequence_lengths[b] < 0 || sequence_lengths[b] > steps) return RNN_ERR_SHAPE;
  const uint64_t rows = (uint64_t)batch * steps;
  if (rows > kMaxFloats || rows * P.units * 6 > kMaxFloats || rows * P.input_size > kMaxFloats) return RNN_ERR_SHAPE;
  // Scratch of its own (a few floats per row): the layer's may be in use by a forward call elsewhere.
  float* scratch = new (std::nothrow) float[backward_scratch(P.cell, P.units, batch)];
  if (!scratch) return RNN_ERR_ALLOC;
  memset(grad_input, 0, (size_t)rows * P.input_size * sizeof(float));
  const BackwardLayer L{P.cell, P.input_size, P.units, kernel, recurrent_kernel, recurrent_bias, peepholes,
                        P.activation, P.cell_activation, P.recurrent_activation, P.input_forget, P.reset_after};
  layer->kernel->backward(L, BackwardArgs{batch, steps, flags, mask, sequence_lengths, trace, grad_output, grad_input},
                          scratch);
  delete[] scratch;
  return RNN_OK;
}

struct rnn_conv1d {
  PackedConv1d packed;
  const KernelInfo* kernel;
  Buffer weights;  // packed kernel, then bias
  Buffer scratch;  // the padded input
};

rnn_status rnn_conv1d_create(const rnn_conv1d_config* config, const float* kernel, const float* bias, rnn_conv1d** out) {
  if (!out) return RNN_ERR_CONFIG;
  *out = nullptr;
  if (!config) return RNN_ERR_CONFIG;
  const rnn_conv1d_config& c = *config;
  if (c.in_channels < 1 || c.out_channels < 1 || c.kernel_size < 1 || c.stride < 1 || c.dilation < 1 || c.groups < 1 ||
      c.in_channels % c.groups || c.out_channels % c.groups ||
      !valid_activation(c.activation))
    return RNN_ERR_CONFIG;
  // The receptive field must stay far from int32's end (steps are int32).
  if ((uint64_t)c.dilation * (c.kernel_size - 1) > (uint64_t)INT32_MAX / 2) return RNN_ERR_CONFIG;
  if (!kernel) return RNN_ERR_WEIGHTS;
  const KernelInfo* info = kernel_for(c.isa == RNN_ISA_AUTO ? rnn_isa_best() : c.isa);
  if (!info) return RNN_ERR_UNSUPPORTED;
  const int G = c.groups, cig = c.in_channels / G, cog = c.out_channels / G;
  const bool depthwise = G > 1 && cig == 1 && cog == 1;
  // Two vectors per block when there are channels for them: twice the sums per broadcast input.
  const int vectors = cog > info->width ? 2 : 1, Wd = vectors * info->width;
  const int blocks = (int)(((int64_t)(depthwise ? G : cog) + Wd - 1) / Wd);
  const uint64_t n_weights = depthwise ? (uint64_t)c.kernel_size * blocks * Wd : (uint64_t)G * blocks * c.kernel_size * cig * Wd;
  const uint64_t n_bias = depthwise ? (uint64_t)blocks * Wd : (uint64_t)G * blocks * Wd;
  if (n_weights + n_bias > kMaxFloats) return RNN_ERR_CONFIG;
  rnn_conv1d* conv = new (std::nothrow) rnn_conv1d();
  if (!conv) return RNN_ERR_ALLOC;
  if (!conv->weights.reserve((size_t)(n_weights + n_bias) * sizeof(float))) {
    delete conv;
    return RNN_ERR_ALLOC;
  }
  float* w = conv->weights.floats();
  float* b = w + n_weights;
  // Keras' [K][Cig][C_out] -> [G][blocks][K][Cig][vectors * W] (a block's vectors side by side are
  // its vectors * W channels in order), or depthwise [K][C] -> [K][C rounded up]; the buffer starts
  // zeroed, so lanes past the channels stay 0.
  if (depthwise) {
    for (int k = 0; k < c.kernel_size; ++k)
      for (int o = 0; o < G; ++o) w[(size_t)k * blocks * Wd + o] = kernel[(size_t)k * G + o];
    if (bias)
      for (int o = 0; o < G; ++o) b[o] = bias[o];
  }
  for (int g = 0; g < G && !depthwise; ++g)
    for (int j = 0; j < blocks; ++j)
      for (int k = 0; k < c.kernel_size; ++k)
        for (int i = 0; i < cig; ++i)
          for (int l = 0; l < Wd && j * Wd + l < cog; ++l) {
            const int o = g * cog + j * Wd + l;
            w[((((size_t)g * blocks + j) * c.kernel_size + k) * cig + i) * Wd + l] =
                kernel[((size_t)k * cig + i) * c.out_channels + o];
          }
  if (bias && !depthwise)
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < blocks; ++j)
        for (int l = 0; l < Wd && j * Wd + l < cog; ++l) b[((size_t)g * blocks + j) * Wd + l] = bias[g * cog + j * Wd + l];
  conv->kernel = info;
  conv->packed = PackedConv1d{c.in_channels, c.out_channels, c.kernel_size, c.stride, c.dilation, G, depthwise, vectors, blocks, w, b, c.activation};
  *out = conv;
  return RNN_OK;
}

void rnn_conv1d_destroy(rnn_conv1d* conv) { delete conv; }

int32_t rnn_conv1d_output_steps(const rnn_conv1d* conv, int32_t steps, int32_t pad_left, int32_t pad_right) {
  if (!conv || steps < 0 || pad_left < 0 || pad_right < 0) return 0;
  const PackedConv1d& c = conv->packed;
  const int64_t padded = (int64_t)steps + pad_left + pad_right;
  const int64_t span = (int64_t)c.dilation * (c.kernel_size - 1) + 1;
  return padded < span ? 0 : (int32_t)((padded - span) / c.stride + 1);
}

rnn_status rnn_conv1d_forward(rnn_conv1d* conv, int32_t batch, int32_t steps, int32_t pad_left, int32_t pad_right,
                              const float* input, float* output) {
  if (!conv) return RNN_ERR_CONFIG;
  const PackedConv1d& c = conv->packed;
  if (batch < 1 || steps < 1 || !input || !output) return RNN_ERR_SHAPE;
  const int32_t out_steps = rnn_conv1d_output_steps(conv, steps, pad_left, pad_right);
  if (out_steps < 1) return RNN_ERR_SHAPE;
  const uint64_t padded = (uint64_t)steps + pad_left + pad_right;
  const uint64_t rows = (uint64_t)batch * padded;
  if (rows * c.in_channels > kMaxFloats || (uint64_t)batch * out_steps * c.out_channels > kMaxFloats) return RNN_ERR_SHAPE;
  const float* x = input;
  if (pad_left || pad_right) {
    // A padded copy keeps the kernel free of bounds checks (and lets it fuse the taps).
    if (!conv->scratch.reserve((size_t)(rows * c.in_channels) * sizeof(float))) return RNN_ERR_ALLOC;
    float* p = conv->scratch.floats();
    const size_t row = c.in_channels, left = (size_t)pad_left * row, right = (size_t)pad_right * row;
    for (int b = 0; b < batch; ++b) {
      float* dst = p + (size_t)b * padded * row;
      memset(dst, 0, left * sizeof(float));
      memcpy(dst + left, input + (size_t)b * steps * row, (size_t)steps * row * sizeof(float));
      memset(dst + left + (size_t)steps * row, 0, right * sizeof(float));
    }
    x = p;
  }
  conv->kernel->conv1d(c, Conv1dArgs{batch, (int)padded, out_steps, x, output});
  g_calls[conv->kernel->isa].fetch_add(1, std::memory_order_relaxed);
  return RNN_OK;
}

const char* rnn_conv1d_isa(const rnn_conv1d* conv) { return conv ? conv->kernel->name : ""; }

}  // extern "C"
