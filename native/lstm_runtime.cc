// The layer behind the C contract: argument checks, weight packing, scratch memory, and the one
// place where a kernel is chosen for the CPU at hand.
#include "lstm_runtime.h"

#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <new>

#include "kernel/kernel.h"

using namespace lstm_runtime;

namespace {

// Largest buffer (in floats) a layer will size: keeps every index computation far from overflow
// on wasm32 and bounds what one call may ask of the allocator.
constexpr size_t kMaxFloats = size_t(1) << 30;

std::atomic<uint32_t> g_calls[LSTM_ISA_COUNT];

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  // libgcc's check includes the OS's support for saving the YMM registers.
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// The compiled kernels of this build, best first. The only place that knows which exist.
const KernelInfo* kernel_for(int isa) {
  switch (isa) {
#if defined(LSTM_HAVE_AVX2)
    case LSTM_ISA_AVX2:
      return cpu_has_avx2_fma() ? kernel_avx2() : nullptr;
#endif
#if defined(LSTM_HAVE_NEON)
    case LSTM_ISA_NEON:
      return kernel_neon();
#endif
#if defined(LSTM_HAVE_WASM_SIMD)
    case LSTM_ISA_WASM_SIMD:
      return kernel_wasm_simd();
#endif
    case LSTM_ISA_SCALAR:
      return kernel_scalar();
    default:
      return nullptr;
  }
}

const int kPreference[] = {LSTM_ISA_AVX2, LSTM_ISA_NEON, LSTM_ISA_WASM_SIMD, LSTM_ISA_SCALAR};

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

bool valid_activation(const lstm_activation& a) {
  return a.kind >= LSTM_ACT_LINEAR && a.kind <= LSTM_ACT_ELU && a.alpha == a.alpha && a.beta == a.beta;
}

// Copies a Keras-layout matrix [rows][4U] (gate-major columns) into [blocks][rows][4][W].
void pack_gates(const float* src, int rows, int units, int width, int blocks, float* dst) {
  for (int j = 0; j < blocks; ++j)
    for (int k = 0; k < rows; ++k)
      for (int g = 0; g < kGates; ++g)
        for (int l = 0; l < width; ++l) {
          const int u = j * width + l;
          dst[(((size_t)j * rows + k) * kGates + g) * width + l] =
              u < units ? src[(size_t)k * kGates * units + (size_t)g * units + u] : 0.0f;
        }
}

}  // namespace

struct lstm_layer {
  PackedLstm packed;
  const KernelInfo* kernel;
  Buffer weights;  // wx, wh, bias, peep, back to back
  Buffer scratch;
};

extern "C" {

int32_t lstm_isa_available(int32_t isa) { return kernel_for(isa) != nullptr; }

int32_t lstm_isa_best(void) {
  for (int isa : kPreference)
    if (kernel_for(isa)) return isa;
  return LSTM_ISA_SCALAR;
}

uint32_t lstm_isa_calls(int32_t isa) {
  return isa >= 0 && isa < LSTM_ISA_COUNT ? g_calls[isa].load(std::memory_order_relaxed) : 0;
}

const char* lstm_layer_isa(const lstm_layer* layer) { return layer ? layer->kernel->name : ""; }

lstm_status lstm_create(const lstm_config* config, const float* kernel, const float* recurrent_kernel,
                        const float* bias, const float* peepholes, lstm_layer** out) {
  if (!out) return LSTM_ERR_CONFIG;
  *out = nullptr;
  if (!config || config->input_size < 1 || config->units < 1) return LSTM_ERR_CONFIG;
  if (!valid_activation(config->activation) || !valid_activation(config->cell_activation) ||
      !valid_activation(config->recurrent_activation) || !(config->clip >= 0.0f))
    return LSTM_ERR_CONFIG;
  if (!kernel || !recurrent_kernel) return LSTM_ERR_WEIGHTS;
  const KernelInfo* info = kernel_for(config->isa == LSTM_ISA_AUTO ? lstm_isa_best() : config->isa);
  if (!info) return LSTM_ERR_UNSUPPORTED;

  const int I = config->input_size, U = config->units, Wd = info->width;
  const int blocks = (U + Wd - 1) / Wd;
  const size_t padded = (size_t)blocks * Wd;
  if ((size_t)I * kGates * padded > kMaxFloats || (size_t)U * kGates * padded > kMaxFloats) return LSTM_ERR_CONFIG;
  const size_t n_wx = (size_t)I * kGates * padded, n_wh = (size_t)U * kGates * padded;
  const size_t n_bias = kGates * padded, n_peep = peepholes ? 3 * padded : 0;

  lstm_layer* layer = new (std::nothrow) lstm_layer();
  if (!layer) return LSTM_ERR_ALLOC;
  if (!layer->weights.reserve((n_wx + n_wh + n_bias + n_peep) * sizeof(float))) {
    lstm_destroy(layer);
    return LSTM_ERR_ALLOC;
  }
  float* wx = layer->weights.floats();
  float* wh = wx + n_wx;
  float* packed_bias = wh + n_wh;
  float* peep = peepholes ? packed_bias + n_bias : nullptr;
  pack_gates(kernel, I, U, Wd, blocks, wx);
  pack_gates(recurrent_kernel, U, U, Wd, blocks, wh);
  if (bias) pack_gates(bias, 1, U, Wd, blocks, packed_bias);  // a bias is one row of [4U]
  if (peepholes) {
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
  layer->packed = PackedLstm{I,    U,  Wd, blocks, wx, wh, packed_bias, peep, config->activation,
                             config->cell_activation, config->recurrent_activation, config->clip,
                             config->input_forget != 0};
  *out = layer;
  return LSTM_OK;
}

void lstm_destroy(lstm_layer* layer) {
  delete layer;
}

lstm_status lstm_forward(lstm_layer* layer, int32_t batch, int32_t steps, int32_t flags, const float* input,
                         float* h, float* c, float* output, const uint8_t* mask,
                         const int32_t* sequence_lengths, float* trace) {
  if (!layer) return LSTM_ERR_CONFIG;
  if (batch < 1 || steps < 1) return LSTM_ERR_SHAPE;
  if (!input || !h || !c) return LSTM_ERR_SHAPE;
  if (sequence_lengths)
    for (int b = 0; b < batch; ++b)
      if (sequence_lengths[b] < 0 || sequence_lengths[b] > steps) return LSTM_ERR_SHAPE;

  const PackedLstm& L = layer->packed;
  const size_t padded = (size_t)L.blocks * L.width;
  const size_t rows = (size_t)batch * steps;
  if (rows > kMaxFloats || rows * kGates * padded > kMaxFloats || rows * L.input_size > kMaxFloats ||
      rows * L.units * 6 > kMaxFloats)
    return LSTM_ERR_SHAPE;

  // xproj, then h_prev, h_next, c; then three small int arrays.
  const size_t n_xproj = rows * kGates * padded;
  const size_t n_state = (size_t)batch * padded;
  const size_t float_bytes = (n_xproj + 3 * n_state) * sizeof(float);
  const size_t int_bytes = 2 * (size_t)batch * sizeof(int32_t);
  if (!layer->scratch.reserve(float_bytes + int_bytes + batch)) return LSTM_ERR_ALLOC;

  float* base = layer->scratch.floats();
  Workspace ws;
  ws.xproj = base;
  ws.h_prev = base + n_xproj;
  ws.h_next = ws.h_prev + n_state;
  ws.c = ws.h_next + n_state;
  ws.rows = reinterpret_cast<int32_t*>(ws.c + n_state);
  ws.times = ws.rows + batch;
  ws.skip = reinterpret_cast<uint8_t*>(ws.times + batch);

  ForwardArgs args{batch, steps, flags, input, h, c, output, mask, sequence_lengths, trace};
  layer->kernel->forward(L, ws, args);
  g_calls[layer->kernel->isa].fetch_add(1, std::memory_order_relaxed);
  return LSTM_OK;
}

}  // extern "C"
