// Normalisation over the channels of each step, as CNN-LSTM front ends put it after a convolution:
// BatchNormalization at inference (moving statistics folded into a scale and a shift per channel)
// and LayerNormalization (over the last axis). Both work on each step alone, so they run in
// forward() on [batch, steps, channels], and per step in a stream on [batch, channels].
import { describe, fail } from './errors.js';
import { layerName } from './layer-name.js';
import { checkOptions, refuseNull } from './recurrent.js';
import { checkAllocation, checkFinite, checkFiniteWeights, readShaped, readTensor, shapeText, sizeOf, type Tensor, type TensorLike } from './tensor.js';

function readEpsilon(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail('ERR_LSTM_CONFIG', 'options.epsilon', 'a finite number >= 0', describe(value));
  return value;
}

/** [..., channels] with 2 or 3 axes, finite. */
function readRows(input: TensorLike, channels: number, what: string): { data: Float32Array; shape: number[] } {
  const t = readTensor(input, 'input');
  const shape = t.shape;
  if (!shape || shape.length < 2 || shape.length > 3 || shape[shape.length - 1] !== channels) {
    fail('ERR_LSTM_SHAPE', 'input', `shape [..., ${channels}] (2-D or 3-D; ${what})`, shape ? `shape ${shapeText(shape)}` : 'a flat array');
  }
  checkFinite(t.data, 'input', 'ERR_LSTM_INPUT');
  return { data: t.data, shape };
}

/** The channel count the given [C] tensors agree on. */
function channelsOf(tensors: [string, TensorLike | undefined][]): number | undefined {
  for (const [, value] of tensors) {
    if (value === undefined) continue;
    const t = readTensor(value, 'weights', 'ERR_LSTM_WEIGHTS');
    return t.shape ? sizeOf(t.shape) : t.data.length;
  }
  return undefined;
}

export interface BatchNormalizationOptions {
  /** Default Keras' 'batch_normalization', counted. */
  name?: string;
  /** [C] each; gamma (scale) default 1, beta (center) default 0. */
  gamma?: TensorLike;
  beta?: TensorLike;
  movingMean: TensorLike;
  movingVariance: TensorLike;
  /** Default 1e-3 (Keras; PyTorch's is 1e-5). */
  epsilon?: number;
}

/** Keras' BatchNormalization over the last axis at inference (PyTorch's BatchNorm1d in eval mode). */
export class BatchNormalization {
  readonly kind = 'batch-normalization';
  readonly inputSize: number;
  readonly units: number;

  private constructor(
    readonly name: string,
    /** @internal gamma / sqrt(variance + epsilon), per channel. */
    readonly scale: Float64Array,
    /** @internal beta - mean * scale, per channel. */
    readonly shift: Float64Array,
  ) {
    this.inputSize = this.units = scale.length;
  }

  static async create(options: BatchNormalizationOptions): Promise<BatchNormalization> {
    checkOptions(options, ['name', 'gamma', 'beta', 'movingMean', 'movingVariance', 'epsilon']);
    refuseNull(options, 'options');
    const C = channelsOf([['movingMean', options.movingMean]]) ?? fail('ERR_LSTM_WEIGHTS', 'movingMean', 'a [channels] tensor', 'undefined');
    const read = (key: 'gamma' | 'beta' | 'movingMean' | 'movingVariance') => {
      if (options[key] === undefined) return null;
      const data = readShaped(options[key], key, [C], 'ERR_LSTM_WEIGHTS');
      checkFiniteWeights(data, key);
      return data;
    };
    const [gamma, beta, mean, variance] = [read('gamma'), read('beta'), read('movingMean')!, read('movingVariance')];
    if (!variance) return fail('ERR_LSTM_WEIGHTS', 'movingVariance', `a [${C}] tensor`, 'undefined');
    const epsilon = readEpsilon(options.epsilon, 1e-3);
    const scale = new Float64Array(C);
    const shift = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      if (!(variance[c]! + epsilon > 0)) fail('ERR_LSTM_WEIGHTS', 'movingVariance', 'values with variance + epsilon > 0', `${variance[c]} at channel ${c} (epsilon ${epsilon})`);
      scale[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + epsilon);
      shift[c] = (beta ? beta[c]! : 0) - mean[c]! * scale[c]!;
    }
    return new BatchNormalization(layerName(options.name, 'batch_normalization'), scale, shift);
  }

  /** [..., channels] (2-D or 3-D) -> the same shape. */
  forward(input: TensorLike): { output: Tensor } {
    const { data, shape } = readRows(input, this.units, 'BatchNormalization');
    const C = this.units;
    const out = new Float32Array(checkAllocation(`BatchNormalization output for input ${shapeText(shape)}`, data.length));
    for (let i = 0; i < data.length; i++) out[i] = data[i]! * this.scale[i % C]! + this.shift[i % C]!;
    return { output: { data: out, shape: [...shape] } };
  }

  dispose(): void {}
}

export interface LayerNormalizationOptions {
  /** Default Keras' 'layer_normalization', counted. */
  name?: string;
  /** [C]; omit for none (Keras' scale=False / center=False). */
  gamma?: TensorLike;
  beta?: TensorLike;
  /** Channels: needed only when there is neither gamma nor beta. */
  size?: number;
  /** Default 1e-3 (Keras; PyTorch's is 1e-5). */
  epsilon?: number;
}

/** Keras' LayerNormalization over the last axis (PyTorch's nn.LayerNorm over the channels). */
export class LayerNormalization {
  readonly kind = 'layer-normalization';
  readonly inputSize: number;
  readonly units: number;

  private constructor(
    readonly name: string,
    /** @internal [C] or null, read by attribution. */
    readonly gamma: Float32Array | null,
    private readonly beta: Float32Array | null,
    channels: number,
    readonly epsilon: number,
  ) {
    this.inputSize = this.units = channels;
  }

  static async create(options: LayerNormalizationOptions): Promise<LayerNormalization> {
    checkOptions(options, ['name', 'gamma', 'beta', 'size', 'epsilon']);
    refuseNull(options, 'options');
    const given = channelsOf([['gamma', options.gamma], ['beta', options.beta]]);
    if (options.size !== undefined && (!Number.isInteger(options.size) || options.size < 1)) fail('ERR_LSTM_CONFIG', 'options.size', 'a positive integer', describe(options.size));
    const C = given ?? options.size ?? fail('ERR_LSTM_CONFIG', 'options.size', 'the channel count (there is neither gamma nor beta to tell it)', 'undefined');
    const read = (key: 'gamma' | 'beta') => {
      if (options[key] === undefined) return null;
      const data = readShaped(options[key], key, [C], 'ERR_LSTM_WEIGHTS');
      checkFiniteWeights(data, key);
      return data;
    };
    const gamma = read('gamma');
    const beta = read('beta');
    if (options.size !== undefined && options.size !== C) fail('ERR_LSTM_WEIGHTS', 'gamma', `[${options.size}] tensors (options.size)`, `${C} values`);
    return new LayerNormalization(layerName(options.name, 'layer_normalization'), gamma, beta, C, readEpsilon(options.epsilon, 1e-3));
  }

  /** [..., channels] (2-D or 3-D) -> the same shape, each step normalised over its channels. */
  forward(input: TensorLike): { output: Tensor } {
    const { data, shape } = readRows(input, this.units, 'LayerNormalization');
    const C = this.units;
    const out = new Float32Array(checkAllocation(`LayerNormalization output for input ${shapeText(shape)}`, data.length));
    for (let r = 0; r < data.length / C; r++) {
      let mean = 0;
      for (let c = 0; c < C; c++) mean += data[r * C + c]!;
      mean /= C;
      let variance = 0;
      for (let c = 0; c < C; c++) variance += (data[r * C + c]! - mean) ** 2;
      const inv = 1 / Math.sqrt(variance / C + this.epsilon);
      for (let c = 0; c < C; c++) {
        const y = (data[r * C + c]! - mean) * inv;
        out[r * C + c] = (this.gamma ? y * this.gamma[c]! : y) + (this.beta ? this.beta[c]! : 0);
      }
    }
    return { output: { data: out, shape: [...shape] } };
  }

  dispose(): void {}
}
