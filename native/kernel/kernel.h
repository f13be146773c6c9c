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

// One thread's share of a call. A call split across parts runs in phases (the input projection,
// each step, or each of a GRU step's two passes, and the final copies); each phase's blocks of
// units are split across the parts, part `part` taking [part * blocks / parts, (part + 1) *
// blocks / parts), and a phase starts once every part has finished the previous one. Part 0 runs
// on the calling thread: it releases each phase, runs its share, then collects the others'. A
// helper that has not started its share by then (descheduled on a busy machine, or still waking)
// loses that share to part 0 and joins again at a later phase; after a few such phases, or after
// a long wait for a helper descheduled in the middle of its share, part 0 runs every block itself
// for the rest of the call. A helper touches the call's memory only between claiming a phase and
// marking it done: part 0 may return as soon as every claimed phase is done.
struct PartSync;  // rnn_runtime.cc

enum SyncClaim { kSyncRun, kSyncSkip, kSyncLeave };
// Helper part `part`: waits until phase `phase` of call `call` is released and claims it; kSyncSkip
// when part 0 took it, kSyncLeave when part 0 runs the rest of the call alone.
SyncClaim sync_claim(PartSync* sync, int part, uint32_t call, int phase);
void sync_done(PartSync* sync, int part, uint32_t call, int phase);
// Part 0: releases phase `phase` to the helpers, or tells them to leave the call.
void sync_release(PartSync* sync, uint32_t call, int phase);
void sync_leave(PartSync* sync, uint32_t call);
enum SyncCollect { kSyncDone, kSyncTaken, kSyncSlow };
// Part 0: waits for helper `part` to finish `phase`. kSyncTaken: the helper had not started it,
// and part 0 now owns it (and must run it); kSyncSlow: done, after part 0 waited long for it.
SyncCollect sync_collect(PartSync* sync, int part, uint32_t call, int phase);

struct Split {
  int part;
  int parts;
  PartSync* sync;  // null when the call runs as one part
  uint32_t call;   // the call's tag in sync
};

// A layer's float32 weights in Keras' layout and its cell, for backpropagation (rnn_backward).
struct BackwardLayer {
  int cell;
  int input_size;
  int units;
  const float* kernel;            // [I][G*U]
  const float* recurrent_kernel;  // [U][G*U]
  const float* recurrent_bias;    // [G*U] or null
  const float* peepholes;         // [3U] in order i, o, f, or null
  rnn_activation activation;
  rnn_activation cell_activation;
  rnn_activation recurrent_activation;
  int input_forget;
  int reset_after;
};

struct BackwardArgs {
  int batch;
  int steps;
  int flags;
  const uint8_t* mask;
  const int32_t* sequence_lengths;
  const float* trace;        // [trace count][B][T][U], as the forward call wrote it
  const float* grad_output;  // [B][T][U] with RNN_RETURN_SEQUENCES, else [B][U]
  float* grad_input;         // [B][T][I], zeroed by the caller
};

// Floats of scratch backward() takes: 4 U + 2 G U per row, then a flag per row.
inline size_t backward_scratch(int cell, int units, int batch) {
  return (size_t)batch * units * (4 + 2 * (cell == RNN_CELL_LSTM ? 4 : 3)) + (size_t)batch;
}

// A 1-D convolution's weights as conv1d.inl streams them: output channels in blocks of `vectors`
// * W per group, each block [K][C_in/groups][vectors][W] (lanes past the group's channels zero).
//   weights [groups][blocks][K][C_in/groups][vectors][W]
//   bias    [groups][blocks][vectors][W] (zeros when there is none)
struct PackedConv1d {
  int in_channels;
  int out_channels;
  int kernel_size;
  int stride;
  int dilation;
  int groups;
  // Depthwise (C_in = C_out = groups): weights [K][C rounded up to W], bias [C rounded up]; blocks
  // is then ceil(C / W) and the layout above does not apply.
  int depthwise;
  int vectors;  // W-lane vectors per block: 2 when a group has more than W output channels, else 1
  int blocks;   // per group: ceil(C_out / groups / (vectors * W))
  const float* weights;
  const float* bias;
  rnn_activation activation;
};

struct Conv1dArgs {
  int batch;
  int padded_steps;  // input steps, padding included
  int output_steps;
  const float* input;  // [B][padded_steps][C_in]
  float* output;       // [B][output_steps][C_out]
};

struct KernelInfo {
  const char* name;
  int isa;
  int width;
  int has_half;  // can run with half-precision weights (the CPU check is the caller's)
  void (*forward)(const PackedRnn& layer, const Workspace& ws, const ForwardArgs& args, const Split& split);
  void (*backward)(const BackwardLayer& layer, const BackwardArgs& args, float* scratch);
  void (*conv1d)(const PackedConv1d& conv, const Conv1dArgs& args);
};

const KernelInfo* kernel_scalar();
const KernelInfo* kernel_avx2();
const KernelInfo* kernel_neon();
const KernelInfo* kernel_wasm_simd();
const KernelInfo* kernel_wasm_relaxed();

}  // namespace lstm_runtime

#endif
