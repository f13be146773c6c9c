import type { ActivationCode } from './activations.js';
import { LstmError } from './errors.js';

/** Backends in the order 'auto' tries them. */
export type BackendName = 'native' | 'wasm-relaxed' | 'wasm-simd' | 'wasm' | 'js';

export type CellKind = 'lstm' | 'gru';

/** Everything a kernel needs besides the weights; mirrors rnn_config in native/rnn_runtime.h. */
export interface RnnKernelConfig {
  cell: CellKind;
  inputSize: number;
  units: number;
  /** LSTM: candidate c~; GRU: candidate h~. */
  activation: ActivationCode;
  /** LSTM: applied to c before the output gate (unused by a GRU). */
  cellActivation: ActivationCode;
  /** LSTM: i, f, o; GRU: z, r. */
  recurrentActivation: ActivationCode;
  clip: number;
  /** LSTM: f = 1 - i. */
  inputForget: boolean;
  /** GRU: r applies after the recurrent product (Keras' default, PyTorch, ONNX linear_before_reset). */
  resetAfter: boolean;
  /** Threads one call may use (the native backend splits each step's units across them). */
  threads: number;
  /** How the backend stores the kernels ('f16' halves the weights' memory traffic). */
  weightPrecision: WeightPrecision;
}

export type WeightPrecision = 'f32' | 'f16' | 'int8';

/** Weights in Keras' layout, float32, checked: G = 4 (LSTM i, f, c, o) or 3 (GRU z, r, h). */
export interface CanonicalWeights {
  inputSize: number;
  units: number;
  kernel: Float32Array; // [I, GU]
  recurrentKernel: Float32Array; // [U, GU]
  bias: Float32Array | null; // [GU], input side
  recurrentBias: Float32Array | null; // [GU], GRU with resetAfter: added to h.U before r applies
  peepholes: Float32Array | null; // [3U], LSTM, order i, o, f
}

/** Flags of one forward call (RNN_RETURN_SEQUENCES etc. in the C header). */
export const RETURN_SEQUENCES = 1;
export const GO_BACKWARDS = 2;
export const ZERO_OUTPUT_FOR_MASK = 4;

/** Tensors a trace holds per cell, in the kernel's order. */
export const TRACE_NAMES = { lstm: ['i', 'f', 'g', 'o', 'c', 'h'], gru: ['z', 'r', 'g', 'h'] } as const;

/** One forward call's buffers, already validated by the facade. h and c are updated in place. */
export interface ForwardBuffers {
  batch: number;
  steps: number;
  flags: number;
  input: Float32Array; // [B,T,I]
  h: Float32Array; // [B,U]
  c: Float32Array | null; // [B,U], LSTM only
  output: Float32Array; // [B,T,U] or [B,U]
  mask: Uint8Array | null; // [B,T]
  sequenceLengths: Int32Array | null; // [B]
  trace: Float32Array | null; // [traceCount,B,T,U]
}

/** One backward call: the buffers of the traced forward call it follows, and the gradients. */
export interface BackwardBuffers {
  batch: number;
  steps: number;
  flags: number;
  mask: Uint8Array | null; // [B,T]
  sequenceLengths: Int32Array | null; // [B]
  trace: Float32Array; // [traceCount,B,T,U], as forward wrote it
  /** The float32 weights the kernel was created from (it keeps only its packed copy). */
  weights: CanonicalWeights;
  gradOutput: Float32Array; // [B,T,U] with RETURN_SEQUENCES, else [B,U]
  gradInput: Float32Array; // [B,T,I], written
}

/** A stepping session: x in, state updated in place, nothing allocated per step. */
export interface StreamKernel {
  /** Runs one timestep on x [B*I]; afterwards `h` (and `c`) hold the new state. */
  step(x: Float32Array): void;
  /** The current state, [B*U] each (c is null for a GRU). Read right away: a later step overwrites it. */
  readonly h: Float32Array;
  readonly c: Float32Array | null;
  setState(h: Float32Array, c: Float32Array | null): void;
  dispose(): void;
}

/** A layer's weights uploaded to one backend. */
export interface RnnKernel {
  /** What runs, with its instruction set: 'native/avx2', 'native/scalar', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js'. */
  readonly name: string;
  forward(buffers: ForwardBuffers): void;
  forwardAsync(buffers: ForwardBuffers): Promise<void>;
  stream(batch: number): StreamKernel;
  dispose(): void;
  /**
   * Backpropagation through time over a traced forward call (attribution), where the backend has
   * it in its engine; absent, lib/explain/backprop.ts runs it in TypeScript.
   */
  backward?(buffers: BackwardBuffers): void;
  /** The index of the first NaN or infinity, or -1, where the backend scans faster than JS does. */
  firstNonFinite?(data: Float32Array): number;
}

/**
 * A 1-D convolution over channels-last sequences; mirrors rnn_conv1d_config in
 * native/rnn_runtime.h. The padding is given per call (Keras' 'same' with strides depends on the length).
 */
export interface Conv1dKernelConfig {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  dilation: number;
  groups: number;
  activation: ActivationCode;
}

/** Output steps of a convolution over `steps` input steps and padding (0 when shorter than one window). */
export function conv1dOutputSteps(c: Conv1dKernelConfig, steps: number, padLeft: number, padRight: number): number {
  const padded = steps + padLeft + padRight;
  const span = c.dilation * (c.kernelSize - 1) + 1;
  return padded < span ? 0 : Math.floor((padded - span) / c.stride) + 1;
}

/** A convolution's weights uploaded to one backend. */
export interface Conv1dKernel {
  /** What runs, as RnnKernel.name. */
  readonly name: string;
  /** input [B, steps, C_in] padded by zero steps -> output [B, conv1dOutputSteps(...), C_out], validated by the facade. */
  forward(batch: number, steps: number, padLeft: number, padRight: number, input: Float32Array, output: Float32Array): void;
  dispose(): void;
  /** As RnnKernel.firstNonFinite: where the backend scans inputs faster than JS does. */
  firstNonFinite?(data: Float32Array): number;
}

export interface Backend {
  readonly name: BackendName;
  /** The implementation 'auto' picks within this backend, e.g. 'native/avx2'. */
  readonly implementation: string;
  /** Implementations that can be forced by name, e.g. ['native/avx2', 'native/scalar']. */
  readonly implementations: readonly string[];
  /** The most threads one call may use (1 when absent). */
  readonly maxThreads?: number;
  /** Where its code came from, e.g. 'prebuilt' or 'compiled' for the native addon, and the file. */
  readonly origin?: string;
  readonly path?: string;
  /**
   * Throws ERR_LSTM_RESOURCES when a layer of this config could never be created here (its weights
   * alone pass the backend's memory), before its weights are read. Absent: no such bound.
   */
  admitRnn?(config: RnnKernelConfig): void;
  /** Throws ERR_LSTM_UNSUPPORTED when the config asks for what this backend cannot do. */
  createRnn(config: RnnKernelConfig, weights: CanonicalWeights, implementation?: string): RnnKernel;
  /** kernel [K, C_in/groups, C_out] (Keras' layout), bias [C_out] or null; both checked by the facade. */
  createConv1d(config: Conv1dKernelConfig, kernel: Float32Array, bias: Float32Array | null, implementation?: string): Conv1dKernel;
}

/** The most threads one call may be split across (the native team's 15 helpers and the caller). */
export const MAX_THREADS = 16;

/** Why a backend cannot load here, and what would make it load (`backends()` reports both). */
export class BackendUnavailable extends Error {
  constructor(message: string, readonly fix?: string) {
    super(message);
    this.name = 'BackendUnavailable';
  }
}

/** The error of a backend that cannot store weights at the requested precision. */
export function unsupportedPrecision(config: RnnKernelConfig, backend: string): LstmError {
  return new LstmError('ERR_LSTM_UNSUPPORTED', `options.weightPrecision: '${config.weightPrecision}' is not supported by backend '${backend}'; use 'f32'${config.weightPrecision === 'f16' ? " or backend 'native' on a CPU with F16C" : ''}`);
}

/** The gate count of a cell. */
export const gatesOf = (cell: CellKind): number => (cell === 'lstm' ? 4 : 3);
