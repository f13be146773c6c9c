import { activationFn, encodeActivation, type Activation } from './activations.js';
import { fail } from './errors.js';
import { layerName } from './layer-name.js';
import { checkOptions, refuseNull } from './recurrent.js';
import { checkAllocation, checkFinite, checkFiniteWeights, readShaped, readTensor, shapeText, sizeOf, type Tensor, type TensorLike } from './tensor.js';

export interface DenseOptions {
  /** The layer's name (`layer.name`, `model.getLayer(name)`); default Keras' 'dense', 'dense_1', ... */
  name?: string;
  /** [in, out]. */
  kernel: TensorLike;
  /** [out]; omit for none. */
  bias?: TensorLike;
  /** Any recurrent activation, or 'softmax' (over the last axis). Default linear. */
  activation?: Activation | 'softmax';
}

/** Keras' Dense: y = act(x.kernel + bias) on the last axis, so on 3-D input it runs per timestep. */
export class Dense {
  readonly name: string;
  readonly inputSize: number;
  readonly units: number;
  private readonly apply: (row: Float64Array) => void;

  private constructor(
    name: string,
    /** @internal [in, out], read by attribution. */
    readonly kernel: Float32Array,
    /** @internal [out] or null. */
    readonly bias: Float32Array | null,
    inputSize: number,
    units: number,
    /** @internal As given (default linear). */
    readonly activation: Activation | 'softmax',
  ) {
    this.name = name;
    this.inputSize = inputSize;
    this.units = units;
    if (activation === 'softmax') {
      this.apply = (row) => {
        let max = -Infinity;
        for (const v of row) max = Math.max(max, v);
        let sum = 0;
        for (let j = 0; j < row.length; j++) sum += row[j] = Math.exp(row[j]! - max);
        for (let j = 0; j < row.length; j++) row[j]! /= sum;
      };
    } else {
      const fn = activationFn(encodeActivation(activation, 'options.activation'));
      this.apply = (row) => {
        for (let j = 0; j < row.length; j++) row[j] = fn(row[j]!);
      };
    }
  }

  static async create(options: DenseOptions): Promise<Dense> {
    checkOptions(options, ['name', 'kernel', 'bias', 'activation']);
    refuseNull(options, 'options', ['activation']); // a null activation is linear; a null bias is a bug, not "none"
    const k = readTensor(options.kernel, 'kernel', 'ERR_LSTM_WEIGHTS');
    if (!k.shape || k.shape.length !== 2) fail('ERR_LSTM_WEIGHTS', 'kernel', 'a shaped [in, out] tensor', k.shape ? `shape ${shapeText(k.shape)}` : 'a flat array');
    const [inputSize, units] = k.shape as [number, number];
    const bias = options.bias === undefined ? null : readShaped(options.bias, 'bias', [units], 'ERR_LSTM_WEIGHTS');
    checkFiniteWeights(k.data, 'kernel');
    if (bias) checkFiniteWeights(bias, 'bias');
    const activation = options.activation === undefined ? 'linear' : options.activation;
    if (activation !== 'softmax') encodeActivation(activation, 'options.activation');
    return new Dense(layerName(options.name, 'dense'), k.data, bias, inputSize, units, activation);
  }

  /** input [..., in] (2-D or 3-D) -> [..., out]. */
  forward(input: TensorLike): { output: Tensor } {
    const t = readTensor(input, 'input');
    const shape = t.shape;
    if (!shape || shape.length < 2 || shape.length > 3 || shape[shape.length - 1] !== this.inputSize) {
      fail('ERR_LSTM_SHAPE', 'input', `shape [..., ${this.inputSize}] (2-D or 3-D)`, shape ? `shape ${shapeText(shape)}` : 'a flat array');
    }
    checkFinite(t.data, 'input', 'ERR_LSTM_INPUT');
    const rows = sizeOf(shape) / this.inputSize;
    const { inputSize: I, units: O, kernel, bias } = this;
    const out = new Float32Array(checkAllocation(`Dense output for input ${shapeText(shape)}`, rows * O));
    const acc = new Float64Array(O);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < O; j++) acc[j] = bias ? bias[j]! : 0;
      for (let k = 0; k < I; k++) {
        const x = t.data[r * I + k]!;
        for (let j = 0; j < O; j++) acc[j]! += x * kernel[k * O + j]!;
      }
      this.apply(acc);
      out.set(acc, r * O);
    }
    return { output: { data: out, shape: [...shape.slice(0, -1), O] } };
  }

  dispose(): void {}
}
