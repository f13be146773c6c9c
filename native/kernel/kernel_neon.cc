// The recurrent kernel (LSTM and GRU) for neon. AArch64 NEON.
#include "kernel.h"
#include "../simd/f32-neon.h"

namespace lstm_runtime {
namespace isa_neon {
using V = F32Neon;
#include "rnn_kernel.inl"
#include "rnn_backward.inl"
}  // namespace isa_neon

const KernelInfo* kernel_neon() {
  static const KernelInfo info = {"neon", RNN_ISA_NEON, isa_neon::W, isa_neon::kHasHalf, isa_neon::forward, isa_neon::backward};
  return &info;
}
}  // namespace lstm_runtime
