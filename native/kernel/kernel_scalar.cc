// The recurrent kernel (LSTM and GRU) and the 1-D convolution for scalar. Portable C++: the fallback on every CPU and the plain WebAssembly build.
#include "kernel.h"
#include "../simd/f32-scalar.h"

namespace lstm_runtime {
namespace isa_scalar {
using V = F32Scalar;
#include "rnn_kernel.inl"
#include "rnn_backward.inl"
#include "conv1d.inl"
}  // namespace isa_scalar

const KernelInfo* kernel_scalar() {
  static const KernelInfo info = {"scalar", RNN_ISA_SCALAR, isa_scalar::W, isa_scalar::kHasHalf, isa_scalar::forward, isa_scalar::backward, isa_scalar::conv1d_forward};
  return &info;
}
}  // namespace lstm_runtime
