import type { ActivationCode } from './activations.js';
import type { CanonicalLstmWeights } from './layouts.js';

/** Backends in the order 'auto' tries them. */
export type BackendName = 'native' | 'wasm-simd' | 'wasm' | 'js';

/** Everything a kernel needs besides the weights; mirrors lstm_config in native/lstm_runtime.h. */
export interface LstmKernelConfig {
  inputSize: number;
  units: number;
  activation: ActivationCode;
  cellActivation: ActivationCode;
  recurrentActivation: ActivationCode;
  clip: number;
  inputForget: boolean;
}

/** Flags of one forward call (LSTM_RETURN_SEQUENCES etc. in the C header). */
export const RETURN_SEQUENCES = 1;
export const GO_BACKWARDS = 2;
export const ZERO_OUTPUT_FOR_MASK = 4;

/** One forward call's buffers, already validated by the facade. h and c are updated in place. */
export interface ForwardBuffers {
  batch: number;
  steps: number;
  flags: number;
  input: Float32Array; // [B,T,I]
  h: Float32Array; // [B,U]
  c: Float32Array; // [B,U]
  output: Float32Array; // [B,T,U] or [B,U]
  mask: Uint8Array | null; // [B,T]
  sequenceLengths: Int32Array | null; // [B]
  trace: Float32Array | null; // [6,B,T,U]
}

/** A stepping session: x in, state updated in place, nothing allocated per step. */
export interface StreamKernel {
  /** Runs one timestep on x [B*I]; afterwards `h` and `c` hold the new state. */
  step(x: Float32Array): void;
  /** The current state, [B*U] each. Read them right away: a later step overwrites them. */
  readonly h: Float32Array;
  readonly c: Float32Array;
  setState(h: Float32Array, c: Float32Array): void;
  dispose(): void;
}

/** A layer's weights uploaded to one backend. */
export interface LstmKernel {
  /** What runs, with its instruction set: 'native/avx2', 'native/scalar', 'wasm-simd', 'wasm', 'js'. */
  readonly name: string;
  forward(buffers: ForwardBuffers): void;
  forwardAsync(buffers: ForwardBuffers): Promise<void>;
  stream(batch: number): StreamKernel;
  dispose(): void;
}

export interface Backend {
  readonly name: BackendName;
  /** The implementation 'auto' picks within this backend, e.g. 'native/avx2'. */
  readonly implementation: string;
  /** Implementations that can be forced by name, e.g. ['native/avx2', 'native/scalar']. */
  readonly implementations: readonly string[];
  createLstm(config: LstmKernelConfig, weights: CanonicalLstmWeights, implementation?: string): LstmKernel;
}
