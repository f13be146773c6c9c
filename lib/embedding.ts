import { describe, fail } from './errors.js';
import { layerName } from './layer-name.js';
import { checkOptions } from './recurrent.js';
import { checkAllocation, checkFiniteWeights, readTensor, shapeText, type Tensor, type TensorLike } from './tensor.js';

export interface EmbeddingOptions {
  /** The layer's name (`layer.name`, `model.getLayer(name)`); default Keras' 'embedding', 'embedding_1', ... */
  name?: string;
  /** `[inputDim (the vocabulary), outputDim]`: row k is the vector of id k. */
  embeddings: TensorLike;
  /** Keras' mask_zero: id 0 is padding, and a Sequential masks its steps for the recurrent layers. */
  maskZero?: boolean;
}

/** Keras' Embedding: integer ids [...] -> their vectors [..., outputDim]. First in a Sequential. */
export class Embedding {
  readonly name: string;
  /** Ids in one step of one row: 1 (the Sequential's input is [batch, steps] of ids). */
  readonly inputSize = 1;
  readonly inputDim: number;
  readonly units: number;
  readonly maskZero: boolean;

  private constructor(name: string, private readonly table: Float32Array, inputDim: number, units: number, maskZero: boolean) {
    this.name = name;
    this.inputDim = inputDim;
    this.units = units;
    this.maskZero = maskZero;
  }

  static async create(options: EmbeddingOptions): Promise<Embedding> {
    checkOptions(options, ['name', 'embeddings', 'maskZero']);
    const e = readTensor(options.embeddings, 'embeddings', 'ERR_LSTM_WEIGHTS');
    if (!e.shape || e.shape.length !== 2 || e.shape[0]! < 1 || e.shape[1]! < 1) {
      fail('ERR_LSTM_WEIGHTS', 'embeddings', 'a shaped [inputDim, outputDim] tensor', e.shape ? `shape ${shapeText(e.shape)}` : 'a flat array');
    }
    checkFiniteWeights(e.data, 'embeddings');
    if (options.maskZero !== undefined && typeof options.maskZero !== 'boolean') fail('ERR_LSTM_CONFIG', 'options.maskZero', 'true or false', describe(options.maskZero));
    return new Embedding(layerName(options.name, 'embedding'), e.data, e.shape[0]!, e.shape[1]!, options.maskZero ?? false);
  }

  /** Checked ids: integers in [0, inputDim), as TensorFlow refuses others. */
  ids(input: TensorLike): { data: Float32Array; shape: number[] } {
    const t = readTensor(input, 'input');
    const shape = t.shape ?? [t.data.length];
    for (let k = 0; k < t.data.length; k++) {
      const id = t.data[k]!;
      if (!(Number.isInteger(id) && id >= 0 && id < this.inputDim)) fail('ERR_LSTM_INPUT', `input id ${k}`, `an integer in [0, ${this.inputDim})`, String(id));
    }
    return { data: t.data, shape };
  }

  /** ids [...] -> [..., units]. */
  forward(input: TensorLike): { output: Tensor } {
    return { output: this.lookup(this.ids(input)) };
  }

  /** Vectors of ids already checked by ids(). */
  lookup({ data, shape }: { data: Float32Array; shape: number[] }): Tensor {
    const D = this.units;
    const out = new Float32Array(checkAllocation(`Embedding output for ids ${shapeText(shape)}`, data.length * D));
    for (let k = 0; k < data.length; k++) out.set(this.table.subarray(data[k]! * D, (data[k]! + 1) * D), k * D);
    return { data: out, shape: [...shape, D] };
  }

  /** With maskZero: 1 where the id is not 0 (the same shape as the ids). */
  mask(ids: { data: Float32Array }): Uint8Array {
    return Uint8Array.from(ids.data, (id) => (id !== 0 ? 1 : 0));
  }

  dispose(): void {}
}
