import { describe, fail, LstmError } from './errors.js';
import { Gru, type GruOptions, type GruResult } from './gru.js';
import { layerName } from './layer-name.js';
import type { GruWeights, LstmWeights } from './layouts.js';
import { Lstm, type LstmOptions, type LstmResult } from './lstm.js';
import { checkOptions, reverseSteps, type RecurrentState } from './recurrent.js';
import { checkAllocation, readTensor, type Tensor, type TensorLike } from './tensor.js';

export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave' | null;
const MERGE_MODES: readonly MergeMode[] = ['concat', 'sum', 'mul', 'ave', null];
const FORWARD_KEYS = ['initialState', 'mask', 'sequenceLengths', 'trace', 'shape'];

export interface BidirectionalOptions {
  /**
   * The layer's name (`layer.name`, `model.getLayer(name)`); default Keras' 'bidirectional',
   * 'bidirectional_1', ... Its directions are named as in Keras: 'forward_' and 'backward_' before
   * the wrapped layer's name (`layer.name`, default 'lstm', 'gru', counted).
   */
  name?: string;
  /** The wrapped layer's options (its weights run forward); `type: 'gru'` wraps a GRU. */
  layer: (LstmOptions & { type?: 'lstm' }) | (GruOptions & { type: 'gru' });
  /** Weights of the backward direction, in the same layout. */
  backwardWeights: LstmWeights | GruWeights;
  /** How the two directions combine (default 'concat'; null returns both). */
  mergeMode?: MergeMode;
  /**
   * Masked steps output zeros in both directions: by default when sequences are returned, as
   * Keras does; false repeats each direction's previous output, as TF.js does.
   */
  zeroOutputForMask?: boolean;
}

export interface BidirectionalState {
  forward: RecurrentState;
  backward: RecurrentState;
}

export interface BidirectionalForwardOptions {
  initialState?: BidirectionalState;
  mask?: TensorLike | Uint8Array;
  sequenceLengths?: readonly number[] | Int32Array;
  trace?: boolean;
  shape?: readonly number[];
}

export type DirectionResult = LstmResult | GruResult;

export interface BidirectionalResult {
  /** The merged output, or [forward, backward] when mergeMode is null; sequences in input order. */
  output: Tensor | [Tensor, Tensor];
  states: { forward: { h: Tensor; c?: Tensor }; backward: { h: Tensor; c?: Tensor } };
  /** Each direction's trace, in its own processing order. */
  trace?: { forward: DirectionResult['trace']; backward: DirectionResult['trace'] };
}

/**
 * Keras' Bidirectional wrapper: the layer runs forward with its weights and backward with
 * `backwardWeights`; the backward output sequence is put back in input order before merging.
 */
export class Bidirectional {
  readonly mergeMode: MergeMode;

  private constructor(readonly name: string, readonly forwardLayer: Lstm | Gru, readonly backwardLayer: Lstm | Gru, mergeMode: MergeMode) {
    this.mergeMode = mergeMode;
  }

  static async create(options: BidirectionalOptions): Promise<Bidirectional> {
    checkOptions(options, ['name', 'layer', 'backwardWeights', 'mergeMode', 'zeroOutputForMask']);
    const name = layerName(options.name, 'bidirectional');
    if (options.zeroOutputForMask !== undefined && typeof options.zeroOutputForMask !== 'boolean') fail('ERR_LSTM_CONFIG', 'options.zeroOutputForMask', 'true or false', describe(options.zeroOutputForMask));
    const mergeMode = options.mergeMode === undefined ? 'concat' : options.mergeMode;
    if (!MERGE_MODES.includes(mergeMode)) fail('ERR_LSTM_CONFIG', 'options.mergeMode', "'concat', 'sum', 'mul', 'ave' or null", describe(mergeMode));
    if (typeof options.layer !== 'object' || options.layer === null) fail('ERR_LSTM_CONFIG', 'options.layer', 'the wrapped layer\'s options', describe(options.layer));
    if (options.backwardWeights === undefined || options.backwardWeights === null) {
      fail('ERR_LSTM_WEIGHTS', 'options.backwardWeights', 'the backward direction\'s weights', options.backwardWeights === null ? 'null' : 'nothing');
    }
    const { type = 'lstm', ...layer } = options.layer as LstmOptions & { type?: string };
    if (type !== 'lstm' && type !== 'gru') fail('ERR_LSTM_CONFIG', 'options.layer.type', "'lstm' or 'gru'", describe(type));
    if (layer.goBackwards) fail('ERR_LSTM_CONFIG', 'options.layer.goBackwards', 'false (Bidirectional runs the backward direction itself)', 'true');
    // As Keras does unless told otherwise: masked steps output zeros in both directions exactly
    // when sequences are returned (whatever the wrapped layer's own zeroOutputForMask says).
    const shared = { ...layer, zeroOutputForMask: options.zeroOutputForMask ?? layer.returnSequences ?? false };
    const inner = layerName(layer.name, type, 'options.layer.name');
    const create = (o: object) => (type === 'gru' ? Gru.create(o as GruOptions) : Lstm.create(o as LstmOptions));
    const forward = await create({ ...shared, name: `forward_${inner}` });
    try {
      const backward = await create({ ...shared, name: `backward_${inner}`, weights: options.backwardWeights, goBackwards: true });
      // Both directions read the same input and their outputs merge step by step: other sizes
      // would run and merge garbage (or read past a row), so they are the weights' error.
      if (backward.units !== forward.units || backward.inputSize !== forward.inputSize) {
        backward.dispose();
        fail('ERR_LSTM_WEIGHTS', 'options.backwardWeights', `weights for ${forward.units} units and input size ${forward.inputSize} (the forward layer's)`, `weights for ${backward.units} units and input size ${backward.inputSize}`);
      }
      return new Bidirectional(name, forward, backward, mergeMode);
    } catch (e) {
      forward.dispose();
      throw e;
    }
  }

  get inputSize(): number {
    return this.forwardLayer.inputSize;
  }
  /** Features of the merged output. */
  get outputSize(): number {
    return this.mergeMode === 'concat' ? 2 * this.forwardLayer.units : this.forwardLayer.units;
  }
  get backend(): string {
    return this.forwardLayer.backend;
  }
  get returnSequences(): boolean {
    return this.forwardLayer.returnSequences;
  }

  /** Nested arrays become one tensor for both directions (each would otherwise parse them). */
  private static parsedOnce(input: TensorLike): TensorLike {
    const t = readTensor(input, 'input');
    return t.shape ? { data: t.data, shape: t.shape } : input;
  }

  private options(o: BidirectionalForwardOptions, direction: 'forward' | 'backward') {
    return { initialState: o.initialState?.[direction] as never, mask: o.mask, sequenceLengths: o.sequenceLengths, trace: o.trace, shape: o.shape };
  }

  private combine(f: DirectionResult, b: DirectionResult): BidirectionalResult {
    // The backward sequence covers all steps in processing order, a sequence's padding first
    // (zeros): reversed, it is in input order with the padding after each sequence's length.
    const backward = b.output;
    if (this.returnSequences) reverseSteps(backward.data, ...(backward.shape as [number, number, number]));
    const state = (r: DirectionResult) => ('c' in r && r.c ? { h: r.h, c: r.c } : { h: r.h });
    const result: BidirectionalResult = {
      output: this.mergeMode === null ? [f.output, backward] : merge(f.output, backward, this.mergeMode),
      states: { forward: state(f), backward: state(b) },
    };
    if (f.trace) result.trace = { forward: f.trace, backward: b.trace };
    return result;
  }

  forward(input: TensorLike, options: BidirectionalForwardOptions = {}): BidirectionalResult {
    const { directions: _, ...merged } = this.forwardDirections(input, options);
    return merged;
  }

  /** @internal forward(), with each direction's own result beside the merged one (attribution splits gradients by them). */
  forwardDirections(input: TensorLike, options: BidirectionalForwardOptions = {}): BidirectionalResult & { directions: { forward: DirectionResult; backward: DirectionResult } } {
    checkOptions(options, FORWARD_KEYS, 'forward options');
    const x = Bidirectional.parsedOnce(input);
    const f = this.forwardLayer.forward(x, this.options(options, 'forward'));
    const b = this.backwardLayer.forward(x, this.options(options, 'backward'));
    return Object.assign(this.combine(f, b), { directions: { forward: f, backward: b } });
  }

  /** Both directions at once (native: two threads of libuv's pool). */
  async forwardAsync(input: TensorLike, options: BidirectionalForwardOptions = {}): Promise<BidirectionalResult> {
    checkOptions(options, FORWARD_KEYS, 'forward options');
    const x = Bidirectional.parsedOnce(input);
    const [f, b] = await Promise.all([
      this.forwardLayer.forwardAsync(x, this.options(options, 'forward')),
      this.backwardLayer.forwardAsync(x, this.options(options, 'backward')),
    ]);
    return this.combine(f, b);
  }

  resetStates(): void {
    this.forwardLayer.resetStates();
    this.backwardLayer.resetStates();
  }

  stream(): never {
    throw new LstmError('ERR_LSTM_UNSUPPORTED', 'Bidirectional.stream(): a bidirectional layer needs the whole sequence before its first output; use forward()');
  }

  dispose(): void {
    this.forwardLayer.dispose();
    this.backwardLayer.dispose();
  }
}

function merge(f: Tensor, b: Tensor, mode: Exclude<MergeMode, null>): Tensor {
  const U = f.shape[f.shape.length - 1]!;
  if (mode === 'concat') {
    const rows = f.data.length / U;
    const out = new Float32Array(checkAllocation('Bidirectional concat', 2 * f.data.length));
    for (let r = 0; r < rows; r++) {
      out.set(f.data.subarray(r * U, (r + 1) * U), 2 * r * U);
      out.set(b.data.subarray(r * U, (r + 1) * U), (2 * r + 1) * U);
    }
    return { data: out, shape: [...f.shape.slice(0, -1), 2 * U] };
  }
  const op = { sum: (x: number, y: number) => x + y, mul: (x: number, y: number) => x * y, ave: (x: number, y: number) => (x + y) / 2 }[mode];
  return { data: f.data.map((x, i) => op(x, b.data[i]!)), shape: [...f.shape] };
}
