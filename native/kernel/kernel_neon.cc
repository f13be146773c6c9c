// The recurrent kernel (LSTM and GRU) and the 1-D convolution for neon. AArch64 NEON.
#include "kernel.h"
#include "../simd/f32-neon.h"

namespace lstm_runtime {
namespace isa_neon {
using V = F32Neon;
#include "rnn_kernel.inl"
#include "rnn_backward.inl"
#include "conv1d.inl"
}  // namespace isa_neon

const KernelInfo* kernel_neon() {
  static const KernelInfo info = {"neon", RNN_ISA_NEON, isa_neon::W, isa_neon::kHasHalf, isa_neon::forward, isa_neon::backward, isa_neon::conv1d_forward};
  return &info;
}
}  // namespace lstm_runtime
