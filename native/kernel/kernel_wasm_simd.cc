// The recurrent kernel (LSTM and GRU) and the 1-D convolution for wasm-simd. WebAssembly SIMD128 (built with -msimd128 into the wasm-simd module only).
#include "kernel.h"
#include "../simd/f32-wasmsimd.h"

namespace lstm_runtime {
namespace isa_wasm_simd {
using V = F32WasmSimd;
#include "rnn_kernel.inl"
#include "rnn_backward.inl"
#include "conv1d.inl"
}  // namespace isa_wasm_simd

const KernelInfo* kernel_wasm_simd() {
  static const KernelInfo info = {"wasm-simd", RNN_ISA_WASM_SIMD, isa_wasm_simd::W, isa_wasm_simd::kHasHalf, isa_wasm_simd::forward, isa_wasm_simd::backward, isa_wasm_simd::conv1d_forward};
  return &info;
}
}  // namespace lstm_runtime
