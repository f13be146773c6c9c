// Internal interface between the layer code (lstm_runtime.cc: validation, packing, dispatch,
// scratch memory) and the per-instruction-set kernels built from lstm_kernel.inl.
#ifndef LSTM_KERNEL_H
#define LSTM_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include "../lstm_runtime.h"

namespace lstm_runtime {

constexpr int kGates = 4;  // i, f, c~, o: Keras' order, kept in the packed layout

// Weights packed for one kernel width W. Units are grouped in blocks of W; block j holds, for
// every input row k, the W columns of each gate one after another:
//   wx   [blocks][I][4][W]    wh [blocks][U][4][W]    bias [blocks][4][W]
//   peep [blocks][3][W] in order i, f, o, or null
// so one step streams each block's recurrent weights contiguously. Lanes past U are zero.
struct PackedLstm {
  int input_size;
  int units;
  int width;
  int blocks;
  const float* wx;
  const float* wh;
  const float* bias;
  const float* peep;
  lstm_activation activation;
  lstm_activation cell_activation;
  lstm_activation recurrent_activation;
  float clip;
  int input_forget;
};

// Scratch for one call, sized by the caller (see lstm_runtime.cc: workspace_floats).
struct Workspace {
  float* xproj;    // [B*T][blocks][4][W]: input projection plus bias, rows in input order
  float* h_prev;   // [B][blocks*W]
  float* h_next;   // [B][blocks*W]
  float* c;        // [B][blocks*W]
  int32_t* rows;   // [B]: rows that take a real step this timestep
  int32_t* times;  // [B]: the input step each row reads this timestep
  uint8_t* skip;   // [B]: 0 real step, 1 masked (Keras), 2 past the sequence length
};

struct ForwardArgs {
  int batch;
  int steps;
  int flags;
  const float* input;
  float* h;
  float* c;
  float* output;
  const uint8_t* mask;
  const int32_t* sequence_lengths;
  float* trace;
};

struct KernelInfo {
  const char* name;
  int isa;
  int width;
  void (*forward)(const PackedLstm& layer, const Workspace& ws, const ForwardArgs& args);
};

const KernelInfo* kernel_scalar();
const KernelInfo* kernel_avx2();
const KernelInfo* kernel_neon();
const KernelInfo* kernel_wasm_simd();

}  // namespace lstm_runtime

#endif
