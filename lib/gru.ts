import type { GruWeights } from './layouts.js';
import { buildLayer, RecurrentLayer, RecurrentStream, type ForwardOptions as RecurrentForwardOptions, type RecurrentOptions } from './recurrent.js';
import type { Tensor, TensorLike } from './tensor.js';

export interface GruOptions extends RecurrentOptions {
  /**
   * Keras layout by default: { kernel [I,3U], recurrentKernel [U,3U], bias }, gates z, r, h; bias
   * [2,3U] (input and recurrent rows) with resetAfter, else [3U].
   */
  weights: GruWeights;
  /** r applies after the recurrent product (Keras 2+/3 default, PyTorch, ONNX linear_before_reset=1). Default true. */
  resetAfter?: boolean;
}

export interface GruState {
  h: TensorLike;
}

export type GruForwardOptions = RecurrentForwardOptions<GruState>;

/** Gate activations and the state at every step, in processing order, each [B,T,U]. */
export interface GruTrace {
  /** Update gate. */
  z: Tensor;
  /** Reset gate. */
  r: Tensor;
  /** Candidate h~. */
  g: Tensor;
  h: Tensor;
}

export interface GruResult {
  output: Tensor;
  h: Tensor;
  trace?: GruTrace;
}

export type GruStream = RecurrentStream<GruState>;

/** A Keras-compatible GRU layer on one backend. Create it with `await Gru.create(options)`. */
export class Gru extends RecurrentLayer<GruResult, GruState> {
  static async create(options: GruOptions): Promise<Gru> {
    return new Gru(await buildLayer(options, 'gru'));
  }
}
