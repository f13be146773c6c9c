// The recurrent kernel (LSTM and GRU) and the 1-D convolution for wasm-relaxed: WebAssembly SIMD128 with relaxed SIMD's fused multiply-add (built with -mrelaxed-simd into lstm-relaxed.wasm only).
#include "kernel.h"
#include "../simd/f32-wasm-relaxed.h"

namespace lstm_runtime {
namespace isa_wasm_relaxed {
using V = F32WasmRelaxed;
#include "rnn_kernel.inl"
#include "rnn_backward.inl"
#include "conv1d.inl"
}  // namespace isa_wasm_relaxed

const KernelInfo* kernel_wasm_relaxed() {
  static const KernelInfo info = {"wasm-relaxed", RNN_ISA_WASM_RELAXED, isa_wasm_relaxed::W, isa_wasm_relaxed::kHasHalf, isa_wasm_relaxed::forward, isa_wasm_relaxed::backward, isa_wasm_relaxed::conv1d_forward};
  return &info;
}
}  // namespace lstm_runtime
