/*
 * lstm-runtime: the C contract shared by the N-API addon and the WebAssembly build.
 *
 * Everything crosses this boundary as flat values: sizes, float32 buffers in row-major order and
 * a config struct whose fields are all 4 bytes wide, so its layout is the same in wasm32 and on
 * 64-bit hosts. Callers validate user input first (the TypeScript facade does); these functions
 * re-check sizes cheaply and answer with a status. They never throw, print or abort.
 *
 * Weights are handed over once in the Keras layout (gate order i, f, c, o) and packed into a
 * layer-owned handle; per call only activations cross.
 */
#ifndef LSTM_RUNTIME_H
#define LSTM_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lstm_status {
  LSTM_OK = 0,
  LSTM_ERR_CONFIG = 1,      /* a config field is out of range */
  LSTM_ERR_WEIGHTS = 2,     /* a required weight pointer is missing */
  LSTM_ERR_SHAPE = 3,       /* batch, steps or a sequence length is out of range */
  LSTM_ERR_UNSUPPORTED = 4, /* the requested instruction set is not available here */
  LSTM_ERR_ALLOC = 5        /* out of memory */
} lstm_status;

typedef enum lstm_activation_kind {
  LSTM_ACT_LINEAR = 0,
  LSTM_ACT_SIGMOID = 1,
  LSTM_ACT_TANH = 2,
  LSTM_ACT_HARD_SIGMOID = 3, /* clip(alpha * x + beta, 0, 1) */
  LSTM_ACT_RELU = 4,
  LSTM_ACT_SOFTSIGN = 5,
  LSTM_ACT_ELU = 6 /* x > 0 ? x : alpha * (exp(x) - 1) */
} lstm_activation_kind;

typedef struct lstm_activation {
  int32_t kind; /* lstm_activation_kind */
  float alpha;
  float beta;
} lstm_activation;

/* Instruction sets a kernel is compiled for. AUTO picks the best one the CPU supports. */
typedef enum lstm_isa {
  LSTM_ISA_AUTO = 0,
  LSTM_ISA_SCALAR = 1,
  LSTM_ISA_AVX2 = 2,
  LSTM_ISA_NEON = 3,
  LSTM_ISA_WASM_SIMD = 4,
  LSTM_ISA_COUNT = 5
} lstm_isa;

typedef struct lstm_config {
  int32_t input_size;                   /* I >= 1 */
  int32_t units;                        /* U >= 1 */
  lstm_activation activation;           /* candidate c~ */
  lstm_activation cell_activation;      /* applied to c before the output gate */
  lstm_activation recurrent_activation; /* gates i, f, o */
  float clip;                           /* > 0: clamp gate pre-activations to [-clip, clip] */
  int32_t input_forget;                 /* nonzero: f = 1 - i */
  int32_t isa;                          /* lstm_isa */
} lstm_config;

/* Flags of lstm_forward. */
enum {
  LSTM_RETURN_SEQUENCES = 1,    /* output is [B,T,U] rather than [B,U] */
  LSTM_GO_BACKWARDS = 2,        /* process each sequence from its last real step to its first */
  LSTM_ZERO_OUTPUT_FOR_MASK = 4 /* a masked step outputs zeros instead of the carried h */
};

typedef struct lstm_layer lstm_layer;

/*
 * Packs the weights into a new layer. kernel [I,4U], recurrent_kernel [U,4U], bias [4U] or NULL,
 * peepholes [3U] in order i, o, f (ONNX) or NULL. The caller keeps ownership of its buffers.
 */
lstm_status lstm_create(const lstm_config* config, const float* kernel, const float* recurrent_kernel,
                        const float* bias, const float* peepholes, lstm_layer** out);

void lstm_destroy(lstm_layer* layer);

/*
 * Runs `steps` timesteps for `batch` sequences.
 *   input  [B,T,I]
 *   h, c   [B,U]   initial state in, final state out
 *   output [B,T,U] with LSTM_RETURN_SEQUENCES, else [B,U]; may be NULL
 *   mask   [B,T]   nonzero = real step (Keras semantics), or NULL
 *   sequence_lengths [B], each in [0, T]: steps at or past it leave the state alone and output 0
 *   trace  [6,B,T,U] = i, f, c~, o, c, h at every step in processing order, or NULL
 * Not reentrant for one layer: the layer owns the scratch memory, grown on demand and reused.
 */
lstm_status lstm_forward(lstm_layer* layer, int32_t batch, int32_t steps, int32_t flags, const float* input,
                         float* h, float* c, float* output, const uint8_t* mask,
                         const int32_t* sequence_lengths, float* trace);

/* Name of the instruction set the layer's kernel was compiled for ("avx2", "scalar", ...). */
const char* lstm_layer_isa(const lstm_layer* layer);

/* 1 if this build has a kernel for `isa` and the CPU can run it. */
int32_t lstm_isa_available(int32_t isa);

/* The best available instruction set (what LSTM_ISA_AUTO picks). */
int32_t lstm_isa_best(void);

/* How many lstm_forward calls each instruction set's kernel has run, so tests can prove which one ran. */
uint32_t lstm_isa_calls(int32_t isa);

#ifdef __cplusplus
}
#endif

#endif /* LSTM_RUNTIME_H */
