/*
 * lstm-runtime: the C contract shared by the N-API addon and the WebAssembly build.
 *
 * One recurrent layer (an LSTM or a GRU cell) behind an opaque handle. Everything crosses this
 * boundary as flat values: sizes, float32 buffers in row-major order and a config struct whose
 * fields are all 4 bytes wide, so its layout is the same in wasm32 and on 64-bit hosts. Callers
 * validate user input first (the TypeScript facade does); these functions re-check sizes cheaply
 * and answer with a status. They never throw, print or abort.
 *
 * Weights are handed over once in the Keras layout and packed into the handle; per call only
 * activations cross.
 */
#ifndef RNN_RUNTIME_H
#define RNN_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rnn_status {
  RNN_OK = 0,
  RNN_ERR_CONFIG = 1,      /* a config field is out of range */
  RNN_ERR_WEIGHTS = 2,     /* a required weight pointer is missing */
  RNN_ERR_SHAPE = 3,       /* batch, steps or a sequence length is out of range */
  RNN_ERR_UNSUPPORTED = 4, /* the requested instruction set is not available here */
  RNN_ERR_ALLOC = 5,       /* out of memory */
  RNN_ERR_RANGE = 6        /* a weight does not fit the requested precision */
} rnn_status;

typedef enum rnn_cell {
  RNN_CELL_LSTM = 0, /* Keras gate order i, f, c, o */
  RNN_CELL_GRU = 1   /* Keras gate order z, r, h */
} rnn_cell;

typedef enum rnn_activation_kind {
  RNN_ACT_LINEAR = 0,
  RNN_ACT_SIGMOID = 1,
  RNN_ACT_TANH = 2,
  RNN_ACT_HARD_SIGMOID = 3, /* clip(alpha * x + beta, 0, 1) */
  RNN_ACT_RELU = 4,
  RNN_ACT_SOFTSIGN = 5,
  RNN_ACT_ELU = 6 /* x > 0 ? x : alpha * (exp(x) - 1) */
} rnn_activation_kind;

typedef struct rnn_activation {
  int32_t kind; /* rnn_activation_kind */
  float alpha;
  float beta;
} rnn_activation;

/* Instruction sets a kernel is compiled for. AUTO picks the best one the CPU supports. */
typedef enum rnn_isa {
  RNN_ISA_AUTO = 0,
  RNN_ISA_SCALAR = 1,
  RNN_ISA_AVX2 = 2,
  RNN_ISA_NEON = 3,
  RNN_ISA_WASM_SIMD = 4,
  RNN_ISA_WASM_RELAXED = 5, /* SIMD128 with relaxed SIMD's fused multiply-add */
  RNN_ISA_COUNT = 6
} rnn_isa;

typedef struct rnn_config {
  int32_t cell;                        /* rnn_cell */
  int32_t input_size;                  /* I >= 1 */
  int32_t units;                       /* U >= 1 */
  rnn_activation activation;           /* LSTM: candidate c~; GRU: candidate h~ */
  rnn_activation cell_activation;      /* LSTM: applied to c before the output gate */
  rnn_activation recurrent_activation; /* LSTM: i, f, o; GRU: z, r */
  float clip;                          /* > 0: clamp gate pre-activations to [-clip, clip] */
  int32_t input_forget;                /* LSTM: nonzero couples f = 1 - i */
  int32_t reset_after;                 /* GRU: nonzero applies r after the recurrent product */
  int32_t isa;                         /* rnn_isa */
  int32_t threads;                     /* >= 1; builds with threads split each step's units across them */
  int32_t weight_precision;            /* rnn_precision of the packed kernels */
} rnn_config;

typedef enum rnn_precision {
  RNN_PRECISION_F32 = 0,
  RNN_PRECISION_F16 = 1, /* recurrent kernel stored as IEEE halves (|w| <= 65504), widened on load */
  RNN_PRECISION_I8 = 2   /* recurrent kernel stored as int8 with a float scale per column (one gate of
                            one unit): w = scale * q, scale = max |w| / 127, q = round(w / scale);
                            each step multiplies it by the state quantized to int16 (a scale per row,
                            max |h| / 16383) in exact integer sums */
} rnn_precision;

/* Flags of rnn_forward. */
enum {
  RNN_RETURN_SEQUENCES = 1,    /* output is [B,T,U] rather than [B,U] */
  RNN_GO_BACKWARDS = 2,        /* process the steps from the last to the first */
  RNN_ZERO_OUTPUT_FOR_MASK = 4 /* a masked step outputs zeros instead of the carried h */
};

typedef struct rnn_layer rnn_layer;

/*
 * Packs the weights into a new layer; G = 4 gates for an LSTM, 3 for a GRU.
 *   kernel [I,GU], recurrent_kernel [U,GU], bias [GU] or NULL,
 *   recurrent_bias [GU] or NULL (GRU with reset_after: the bias added to h.U before r applies),
 *   peepholes [3U] in order i, o, f (ONNX; LSTM only) or NULL.
 * The caller keeps ownership of its buffers.
 */
rnn_status rnn_create(const rnn_config* config, const float* kernel, const float* recurrent_kernel, const float* bias,
                      const float* recurrent_bias, const float* peepholes, rnn_layer** out);

void rnn_destroy(rnn_layer* layer);

/*
 * Runs `steps` timesteps for `batch` sequences.
 *   input  [B,T,I]
 *   h      [B,U]   initial state in, final state out; c likewise for an LSTM (NULL for a GRU)
 *   output [B,T,U] with RNN_RETURN_SEQUENCES, else [B,U]; may be NULL
 *   mask   [B,T]   nonzero = real step (Keras semantics), or NULL
 *   sequence_lengths [B], each in [0, T]: steps at or past it leave the state alone and output 0
 *          (with RNN_GO_BACKWARDS those come first: the padding of a trailing mask)
 *   trace  [rnn_trace_count,B,T,U], or NULL: every gate after its activation and the state, at
 *          every step in processing order (LSTM: i, f, c~, o, c, h; GRU: z, r, h~, h)
 * Not reentrant for one layer: the layer owns the scratch memory, grown on demand and reused.
 */
rnn_status rnn_forward(rnn_layer* layer, int32_t batch, int32_t steps, int32_t flags, const float* input, float* h,
                       float* c, float* output, const uint8_t* mask, const int32_t* sequence_lengths, float* trace);

/*
 * Backpropagation through time over one traced rnn_forward call, for attribution: grad_input
 * [B,T,I] = d/d(input) given grad_output = d/d(output) ([B,T,U] with RNN_RETURN_SEQUENCES, else
 * [B,U]). batch, steps, flags, mask, sequence_lengths and trace are the forward call's (trace
 * required). The weights are the float32 ones rnn_create was given, in Keras' layout (the layer
 * keeps only its packed copy); the bias is not needed. The initial state is taken as zeros.
 */
rnn_status rnn_backward(const rnn_layer* layer, const float* kernel, const float* recurrent_kernel,
                        const float* recurrent_bias, const float* peepholes, int32_t batch, int32_t steps, int32_t flags,
                        const uint8_t* mask, const int32_t* sequence_lengths, const float* trace,
                        const float* grad_output, float* grad_input);

/*
 * Stops and joins the helper threads that calls with threads > 1 run on; the next such call starts
 * them again. No rnn_forward may be running anywhere in the process: the N-API addon calls it when
 * the last Node environment (the main thread or a worker) that loaded it is torn down, so that no
 * thread runs the addon's code once Node unloads it.
 */
void rnn_threads_stop(void);

/*
 * What calls with threads > 1 did so far: out[0] calls split across threads, out[1] of those in
 * which part 0 took over from a late helper and finished alone, out[2] calls run on one thread
 * because helpers had been late just before (see Team in rnn_runtime.cc).
 */
void rnn_threads_stats(uint32_t out[3]);

/* How many [B,T,U] tensors a trace of this layer holds (6 for an LSTM, 4 for a GRU). */
int32_t rnn_trace_count(const rnn_layer* layer);

/* Name of the instruction set the layer's kernel was compiled for ("avx2", "scalar", ...). */
const char* rnn_layer_isa(const rnn_layer* layer);

/* 1 if this build has a kernel for `isa` and the CPU can run it. */
int32_t rnn_isa_available(int32_t isa);

/* 1 if `isa`'s kernel can run with weights of `precision` on this CPU. */
int32_t rnn_precision_available(int32_t isa, int32_t precision);

/* The best available instruction set (what RNN_ISA_AUTO picks). */
int32_t rnn_isa_best(void);

/* How many rnn_forward calls each instruction set's kernel has run, so tests can prove which one ran. */
uint32_t rnn_isa_calls(int32_t isa);

/* The index of the first NaN or infinity in data[0, n), or -1: the check of inputs, at memory speed. */
int64_t rnn_first_nonfinite(const float* data, int64_t n);

/*
 * A 1-D convolution over channels-last sequences (a CNN front end's Conv1D), on the same kernels.
 *   output[b,t,o] = act(bias[o] + sum_{k,i} x[b, t*stride + k*dilation - pad_left, g*Cig + i] * kernel[k,i,o])
 * with g = o / (C_out / groups), Cig = C_in / groups, and x zero outside [0, steps). The padding
 * is given per call: Keras' 'same' with strides pads by the input's length.
 * All fields 4 bytes wide, as rnn_config.
 */
typedef struct rnn_conv1d_config {
  int32_t in_channels;  /* C_in >= 1, a multiple of groups */
  int32_t out_channels; /* C_out >= 1, a multiple of groups */
  int32_t kernel_size;  /* K >= 1 */
  int32_t stride;       /* >= 1 */
  int32_t dilation;     /* >= 1 */
  int32_t groups;       /* >= 1 */
  rnn_activation activation;
  int32_t isa; /* rnn_isa */
} rnn_conv1d_config;

typedef struct rnn_conv1d rnn_conv1d;

/*
 * Packs a convolution's weights: kernel [K, C_in/groups, C_out] (Keras' layout), bias [C_out] or
 * NULL. The caller keeps ownership of its buffers.
 */
rnn_status rnn_conv1d_create(const rnn_conv1d_config* config, const float* kernel, const float* bias, rnn_conv1d** out);

void rnn_conv1d_destroy(rnn_conv1d* conv);

/* Output steps for `steps` input steps and the padding: floor((steps + pads - dilation*(K-1) - 1) / stride) + 1,
 * or 0 when too short (or a pad is negative). */
int32_t rnn_conv1d_output_steps(const rnn_conv1d* conv, int32_t steps, int32_t pad_left, int32_t pad_right);

/*
 * input [B, steps, C_in], with pad_left zero steps before it and pad_right after ->
 * output [B, rnn_conv1d_output_steps(...), C_out]. RNN_ERR_SHAPE when the padded input is shorter
 * than one window. Not reentrant for one convolution (it owns the scratch that holds a padded
 * copy of the input).
 */
rnn_status rnn_conv1d_forward(rnn_conv1d* conv, int32_t batch, int32_t steps, int32_t pad_left, int32_t pad_right,
                              const float* input, float* output);

/* Name of the instruction set the convolution's kernel was compiled for. */
const char* rnn_conv1d_isa(const rnn_conv1d* conv);

#ifdef __cplusplus
}
#endif

#endif /* RNN_RUNTIME_H */
