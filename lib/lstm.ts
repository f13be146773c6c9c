import type { Activation } from './activations.js';
import type { LstmWeights } from './layouts.js';
import { buildLayer, RecurrentLayer, RecurrentStream, type ForwardOptions as RecurrentForwardOptions, type RecurrentOptions } from './recurrent.js';
import type { Tensor, TensorLike } from './tensor.js';

export interface LstmOptions extends RecurrentOptions {
  /** Keras layout by default: { kernel [I,4U], recurrentKernel [U,4U], bias [4U] }, gates i, f, c, o. */
  weights: LstmWeights;
  /** The activation of c before the output gate (ONNX's third activation); defaults to `activation`. */
  cellActivation?: Activation;
  /** Couple the forget gate to the input gate, f = 1 - i (ONNX input_forget). */
  inputForget?: boolean;
}

export interface LstmState {
  h: TensorLike;
  c: TensorLike;
}

export type ForwardOptions = RecurrentForwardOptions<LstmState>;

/** Gate activations and states at every step, in processing order, each [B,T,U]. */
export interface LstmTrace {
  /** Input gate. */
  i: Tensor;
  /** Forget gate. */
  f: Tensor;
  /** Candidate c~. */
  g: Tensor;
  /** Output gate. */
  o: Tensor;
  c: Tensor;
  h: Tensor;
}

export interface LstmResult {
  output: Tensor;
  h: Tensor;
  c: Tensor;
  trace?: LstmTrace;
}

export type LstmStream = RecurrentStream<LstmState>;

/** A Keras-compatible LSTM layer on one backend. Create it with `await Lstm.create(options)`. */
export class Lstm extends RecurrentLayer<LstmResult, LstmState> {
  static async create(options: LstmOptions): Promise<Lstm> {
    return new Lstm(await buildLayer(options, 'lstm'));
  }
}
