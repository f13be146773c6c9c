import { Bidirectional } from './bidirectional.js';
import { Dense } from './dense.js';
import { describe, fail, LstmError } from './errors.js';
import { Gru } from './gru.js';
import { Lstm } from './lstm.js';
import type { RecurrentStream } from './recurrent.js';
import type { Tensor, TensorLike } from './tensor.js';

export type SequentialLayer = Lstm | Gru | Bidirectional | Dense;

export interface SequentialForwardOptions {
  /** Collect every recurrent layer's gates. */
  trace?: boolean;
  /** [B,T] Keras mask, handed to every recurrent layer that sees the sequence. */
  mask?: TensorLike | Uint8Array;
  sequenceLengths?: readonly number[] | Int32Array;
}

export interface SequentialResult {
  output: Tensor;
  /** One entry per recurrent layer, in order. */
  trace?: unknown[];
}

const outputSize = (l: SequentialLayer) => (l instanceof Bidirectional ? l.outputSize : l.units);

/** Layers run in order on one input: Keras' Sequential. */
export class Sequential {
  private constructor(readonly layers: readonly SequentialLayer[]) {}

  static async create(layers: SequentialLayer[]): Promise<Sequential> {
    if (!Array.isArray(layers) || layers.length === 0) fail('ERR_LSTM_CONFIG', 'layers', 'a non-empty array of layers', describe(layers));
    layers.forEach((layer, k) => {
      if (!(layer instanceof Lstm || layer instanceof Gru || layer instanceof Bidirectional || layer instanceof Dense)) {
        fail('ERR_LSTM_CONFIG', `layers[${k}]`, 'an Lstm, Gru, Bidirectional or Dense layer', describe(layer));
      }
      if (k > 0 && layer.inputSize !== outputSize(layers[k - 1]!)) {
        fail('ERR_LSTM_CONFIG', `layers[${k}]`, `input size ${outputSize(layers[k - 1]!)} (the previous layer's output)`, `input size ${layer.inputSize}`);
      }
      if (layer instanceof Bidirectional && layer.mergeMode === null) fail('ERR_LSTM_CONFIG', `layers[${k}].mergeMode`, "a merge mode (a Sequential passes one tensor on)", 'null');
    });
    return new Sequential(layers);
  }

  forward(input: TensorLike, options: SequentialForwardOptions = {}): SequentialResult {
    let x: TensorLike = input;
    const traces: unknown[] = [];
    for (const layer of this.layers) {
      if (layer instanceof Dense) {
        x = layer.forward(x).output;
        continue;
      }
      const r = layer.forward(x, { trace: options.trace, mask: options.mask, sequenceLengths: options.sequenceLengths });
      if (options.trace) traces.push(r.trace);
      x = r.output as Tensor;
    }
    const result: SequentialResult = { output: x as Tensor };
    if (options.trace) result.trace = traces;
    return result;
  }

  /** Steps the whole stack one timestep at a time (no Bidirectional layer). */
  stream(batch = 1): SequentialStream {
    const steps = this.layers.map((layer, k) => {
      if (layer instanceof Bidirectional) throw new LstmError('ERR_LSTM_UNSUPPORTED', `Sequential.stream(): layers[${k}] is Bidirectional, which needs the whole sequence`);
      return layer instanceof Dense ? layer : layer.stream(batch);
    });
    return new SequentialStream(steps, batch, this.layers[0]!.inputSize);
  }

  resetStates(): void {
    for (const l of this.layers) if (!(l instanceof Dense)) l.resetStates();
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

export class SequentialStream {
  constructor(private readonly steps: (Dense | RecurrentStream)[], readonly batch: number, readonly inputSize: number) {}

  /** x [batch, inputSize] -> the last layer's output [batch, out] for this timestep. */
  step(x: TensorLike): Tensor {
    let t: Tensor | TensorLike = x;
    for (const s of this.steps) {
      t = s instanceof Dense ? s.forward(t).output : s.step(t);
    }
    return t as Tensor;
  }

  reset(): void {
    for (const s of this.steps) if (!(s instanceof Dense)) s.reset();
  }

  dispose(): void {
    for (const s of this.steps) if (!(s instanceof Dense)) s.dispose();
  }
}
