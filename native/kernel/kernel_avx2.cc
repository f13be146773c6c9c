// The recurrent kernel (LSTM and GRU) and the 1-D convolution for avx2: x86-64 with AVX2 + FMA3, and F16C for half weights. The only file built with -mavx2 -mfma -mf16c; it runs only after the CPU check in rnn_runtime.cc.
#include "kernel.h"
#include "../simd/f32-avx2.h"

namespace lstm_runtime {
namespace isa_avx2 {
using V = F32Avx2;
#include "rnn_kernel.inl"
#include "rnn_backward.inl"
#include "conv1d.inl"
}  // namespace isa_avx2

const KernelInfo* kernel_avx2() {
  static const KernelInfo info = {"avx2", RNN_ISA_AVX2, isa_avx2::W, isa_avx2::kHasHalf, isa_avx2::forward, isa_avx2::backward, isa_avx2::conv1d_forward};
  return &info;
}
}  // namespace lstm_runtime
