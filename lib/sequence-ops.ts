// The shape-changing layers Keras models put between recurrent ones: RepeatVector (an LSTM
// autoencoder's bridge), Flatten, and global pooling over the steps. None has weights; each needs
// the whole sequence, so a Sequential holding one runs with forward() only.
import { describe, fail } from './errors.js';
import { layerName } from './layer-name.js';
import { checkOptions } from './recurrent.js';
import { checkAllocation, readTensor, shapeText, type Tensor, type TensorLike } from './tensor.js';

/** The input as [batch, steps, features], or ERR_LSTM_SHAPE saying what needs it. */
export function threeAxes(t: { data: Float32Array; shape: number[] | null }, what: string): { data: Float32Array; shape: [number, number, number] } {
  if (!t.shape || t.shape.length !== 3) fail('ERR_LSTM_SHAPE', 'input', `shape [batch, steps, features] (${what})`, t.shape ? `shape ${shapeText(t.shape)}` : 'a flat array');
  return t as { data: Float32Array; shape: [number, number, number] };
}

/** Steps a RepeatVector makes at most: far beyond any decoder, and a bound on what one call allocates. */
const MAX_REPEATS = 1 << 16;

/** Keras' RepeatVector: [batch, features] -> [batch, n, features]. */
export class RepeatVector {
  readonly kind = 'repeat-vector';
  private constructor(readonly name: string, readonly n: number) {}

  /** `name`: as other layers' (default 'repeat_vector', 'repeat_vector_1', ...). */
  static async create(options: { n: number; name?: string }): Promise<RepeatVector> {
    checkOptions(options, ['name', 'n']);
    if (!Number.isInteger(options.n) || options.n < 1 || options.n > MAX_REPEATS) fail('ERR_LSTM_CONFIG', 'options.n', `an integer from 1 to ${MAX_REPEATS}`, describe(options.n));
    return new RepeatVector(layerName(options.name, 'repeat_vector'), options.n);
  }

  forward(input: TensorLike): { output: Tensor } {
    const t = readTensor(input, 'input');
    if (!t.shape || t.shape.length !== 2) fail('ERR_LSTM_SHAPE', 'input', 'shape [batch, features] (RepeatVector)', t.shape ? `shape ${shapeText(t.shape)}` : 'a flat array');
    const [B, F] = t.shape as [number, number];
    const out = new Float32Array(checkAllocation(`RepeatVector output for input ${shapeText(t.shape)}`, B * this.n * F));
    for (let b = 0; b < B; b++) for (let s = 0; s < this.n; s++) out.set(t.data.subarray(b * F, (b + 1) * F), (b * this.n + s) * F);
    return { output: { data: out, shape: [B, this.n, F] } };
  }

  dispose(): void {}
}

/** Keras' Flatten on a sequence: [batch, steps, features] -> [batch, steps * features]. */
export class Flatten {
  readonly kind = 'flatten';
  private constructor(readonly name: string) {}

  /** `name`: as other layers' (default 'flatten', 'flatten_1', ...). */
  static async create(options: { name?: string } = {}): Promise<Flatten> {
    checkOptions(options, ['name']);
    return new Flatten(layerName(options.name, 'flatten'));
  }

  /** [batch, steps, features] -> [batch, steps * features]; [batch, features] stays as it is (as in Keras). */
  forward(input: TensorLike): { output: Tensor } {
    const t = readTensor(input, 'input');
    if (t.shape?.length === 2) return { output: { data: t.data.slice(), shape: t.shape } };
    const { data, shape } = threeAxes(t, 'Flatten');
    return { output: { data: data.slice(), shape: [shape[0], shape[1] * shape[2]] } };
  }

  dispose(): void {}
}

export type PoolingMode = 'average' | 'max';

/**
 * Keras' GlobalAveragePooling1D / GlobalMaxPooling1D: [batch, steps, features] -> [batch, features].
 * With `maskAware` (Keras' average) masked steps are left out of the average; Keras' max and
 * TF.js' average take every step.
 */
export class GlobalPooling1D {
  readonly kind = 'global-pooling-1d';
  private constructor(readonly name: string, readonly mode: PoolingMode, readonly maskAware: boolean) {}

  /** `name`: as other layers' (default Keras' 'global_average_pooling1d' or 'global_max_pooling1d', counted). */
  static async create(options: { mode: PoolingMode; maskAware?: boolean; name?: string }): Promise<GlobalPooling1D> {
    checkOptions(options, ['name', 'mode', 'maskAware']);
    if (options.mode !== 'average' && options.mode !== 'max') fail('ERR_LSTM_CONFIG', 'options.mode', "'average' or 'max'", describe(options.mode));
    if (options.maskAware !== undefined && typeof options.maskAware !== 'boolean') fail('ERR_LSTM_CONFIG', 'options.maskAware', 'true or false', describe(options.maskAware));
    return new GlobalPooling1D(layerName(options.name, `global_${options.mode}_pooling1d`), options.mode, options.maskAware ?? options.mode === 'average');
  }

  /** `mask` [batch, steps] (1 = a real step) applies to a mask-aware average only. */
  forward(input: TensorLike, mask?: Uint8Array): { output: Tensor } {
    const { data, shape } = threeAxes(readTensor(input, 'input'), `global ${this.mode} pooling`);
    const [B, T, F] = shape;
    const out = new Float32Array(B * F);
    const acc = new Float64Array(F);
    for (let b = 0; b < B; b++) {
      acc.fill(this.mode === 'max' ? -Infinity : 0);
      let counted = 0;
      for (let s = 0; s < T; s++) {
        if (this.mode === 'average' && this.maskAware && mask && !mask[b * T + s]) continue;
        counted++;
        const row = data.subarray((b * T + s) * F, (b * T + s + 1) * F);
        for (let f = 0; f < F; f++) acc[f] = this.mode === 'max' ? Math.max(acc[f]!, row[f]!) : acc[f]! + row[f]!;
      }
      // Keras averages a row with every step masked to 0 / 0: a NaN the next layer would choke on.
      if (counted === 0) fail('ERR_LSTM_INPUT', `row ${b}`, 'at least one unmasked step to average', 'every step masked');
      for (let f = 0; f < F; f++) out[b * F + f] = this.mode === 'max' ? acc[f]! : acc[f]! / counted;
    }
    return { output: { data: out, shape: [B, F] } };
  }

  dispose(): void {}
}
