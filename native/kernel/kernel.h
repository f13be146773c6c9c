// Internal interface between the layer code (rnn_runtime.cc: validation, packing, dispatch,
// scratch memory) and the per-instruction-set kernels built from rnn_kernel.inl.
#ifndef RNN_KERNEL_H
#define RNN_KERNEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "../rnn_runtime.h"

namespace lstm_runtime {

// Weights packed for one kernel width W. Units are grouped in blocks of W; block j holds, for
// every input row k, the W columns of each gate one after another, so one step streams each
// block's recurrent weights contiguously. Lanes past U are zero.
// wh and wh_h hold floats, IEEE halves (uint16_t) or int8, as `precision` says: they are what
// each step streams. wx stays float: the input projection reads it once per call.
//   wx    [blocks][I][G][W]      input kernel, G = 4 (LSTM i,f,c,o) or 3 (GRU z,r,h)
//   wh    [blocks][U][Gh][W]     recurrent kernel: all G gates, except a GRU without reset_after
//                                 where it holds z, r (Gh = 2) and wh_h the h gate
//   wh_h  [blocks][U][1][W]      GRU without reset_after only, else null
//   bias  [blocks][G][W]         input-side bias (zeros when there is none)
//   rbias [blocks][G][W]         GRU with reset_after: the recurrent-side bias, else null
//   peep  [blocks][3][W]         LSTM peepholes in order i, f, o, or null

// A recurrent kernel as each step streams it. With int8 weights, scale holds every packed
// column's scale ([blocks][gates][W], lanes past U zero); otherwise it is null.
struct StreamedWeights {
  const void* w;
  const float* scale;
};

struct PackedRnn {
  int cell;
  int input_size;
  int units;
  int width;
  int blocks;
  int gates;
  int precision;  // rnn_precision of wh and wh_h
  const float* wx;
  StreamedWeights wh;
  StreamedWeights wh_h;  // w is null when unused
  const float* bias;
  const float* rbias;
  const float* peep;
  rnn_activation activation;
  rnn_activation cell_activation;
  rnn_activation recurrent_activation;
  float clip;
  int input_forget;
  int reset_after;
};

// Scratch for one call, sized by rnn_runtime.cc (see forward there).
struct Workspace {
  float* xproj;    // [T][blocks][B][G][W]: input projection plus bias (see xproj_row)
  float* h_prev;   // [B][blocks*W]
  float* h_next;   // [B][blocks*W]
  float* c;        // [B][blocks*W]   LSTM cell state; GRU without reset_after: z's pre-activation
  float* gate;     // [B][blocks*W]   GRU without reset_after: z between the two passes
  float* reset_h;  // [B][blocks*W]   GRU without reset_after: r * h_prev
  int32_t* rows;   // [parts][B]: rows that take a real step this timestep
  int32_t* times;  // [parts][B]: the input step each row reads this timestep
  uint8_t* skip;   // [parts][B]: 0 real step, 1 masked (Keras), 2 past the sequence length
  // int8 weights only (else null): the state each product reads, quantized (see quantize_state).
  int16_t* state_q;    // [parts][B][U rounded up to even]
  float* state_scale;  // [parts][B]
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

// One thread's share of a call: blocks [part * blocks / parts, (part + 1) * blocks / parts) of
// units. Parts meet at `barrier` wherever a step needs every unit of the previous one.
struct SpinBarrier;
void barrier_wait(SpinBarrier* barrier);  // rnn_runtime.cc; a no-op for null

struct Split {
  int part;
  int parts;
  SpinBarrier* barrier;
};

struct KernelInfo {
  const char* name;
  int isa;
  int width;
  int has_half;  // can run with half-precision weights (the CPU check is the caller's)
  void (*forward)(const PackedRnn& layer, const Workspace& ws, const ForwardArgs& args, const Split& split);
};

const KernelInfo* kernel_scalar();
const KernelInfo* kernel_avx2();
const KernelInfo* kernel_neon();
const KernelInfo* kernel_wasm_simd();

}  // namespace lstm_runtime

#endif
