// The convolutional front end of CNN-LSTM models, channels last ([batch, steps, channels]) like
// the rest of the library: Conv1D on the backends' kernel (native/kernel/conv1d.inl), and the
// max and average pooling over steps that usually follow it.
import { encodeActivation, type Activation, type ActivationCode } from './activations.js';
import { conv1dOutputSteps, type Backend, type Conv1dKernel, type Conv1dKernelConfig } from './backend.js';
import { describe, fail, LstmError } from './errors.js';
import { layerName } from './layer-name.js';
import { checkOptions, refuseNull } from './recurrent.js';
import { defaultBackendRequest, resolveBackend } from './registry.js';
import { threeAxes } from './sequence-ops.js';
import { checkAllocation, checkFinite, checkFiniteWeights, readShaped, readTensor, shapeText, type Tensor, type TensorLike } from './tensor.js';

/**
 * How a convolution or a pooling pads the steps: 'valid' (none), 'same' (as Keras and TensorFlow:
 * ceil(steps / strides) outputs, the extra zeros split with the odd one after), 'causal' (Conv1D
 * only: (kernelSize - 1) * dilationRate zeros before, so output t sees inputs up to t), or explicit
 * [before, after] zero steps (PyTorch's and ONNX's `pads`).
 */
export type Padding1D = 'valid' | 'same' | 'causal' | readonly [before: number, after: number];

/** The zeros before and after `steps` input steps for a window of `span` steps moved by `stride`. */
function padsFor(padding: Padding1D, steps: number, span: number, stride: number): [number, number] {
  if (padding === 'valid') return [0, 0];
  if (padding === 'causal') return [span - 1, 0];
  if (padding === 'same') {
    const total = Math.max((Math.ceil(steps / stride) - 1) * stride + span - steps, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  return [padding[0], padding[1]];
}

function readPadding(value: unknown, what: string, causal: boolean): Padding1D {
  if (value === 'valid' || value === 'same' || (causal && value === 'causal')) return value;
  if (Array.isArray(value) && value.length === 2 && value.every((v) => Number.isInteger(v) && v >= 0 && v <= MAX_PAD)) return [value[0], value[1]];
  return fail('ERR_LSTM_CONFIG', what, `${causal ? "'valid', 'same', 'causal'" : "'valid', 'same'"} or [before, after] zero steps (integers from 0 to ${MAX_PAD})`, describe(value));
}

const MAX_PAD = 1 << 20;
/** Kernel sizes, strides and dilations past this are no model's: bounds on what a call allocates. */
const MAX_WINDOW = 1 << 16;

function positiveInt(value: unknown, what: string, fallback: number, max = MAX_WINDOW): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) fail('ERR_LSTM_CONFIG', what, `an integer from 1 to ${max}`, describe(value));
  return value as number;
}

/** The input as [batch, steps, channels] with `channels` channels, finite (`scan`: the backend's faster check). */
function readSequence(input: TensorLike, channels: number | null, what: string, scan?: (data: Float32Array) => number): { data: Float32Array; shape: [number, number, number] } {
  const t = threeAxes(readTensor(input, 'input'), what);
  if (channels !== null && t.shape[2] !== channels) fail('ERR_LSTM_SHAPE', 'input', `shape [batch, steps, ${channels}] (${what})`, `shape ${shapeText(t.shape)}`);
  const bad = scan ? scan(t.data) : -1;
  if (!scan || bad >= 0) checkFinite(t.data, 'input', 'ERR_LSTM_INPUT');
  return t;
}

export interface Conv1DOptions {
  /** The layer's name; default Keras' 'conv1d', 'conv1d_1', ... */
  name?: string;
  /** The weights, shape [kernelSize, inputChannels / groups, filters] (Keras' layout; PyTorch's [filters, in / groups, K] transposed). */
  kernel: TensorLike;
  /** [filters]; omit for none. */
  bias?: TensorLike;
  /** Input channels, when known: checked against the kernel (kernel.shape[1] * groups). */
  inputSize?: number;
  /** Default 1. */
  strides?: number;
  /** Default 'valid'. */
  padding?: Padding1D;
  /** Default 1. */
  dilationRate?: number;
  /** Channel groups (both channel counts divisible by it); default 1; inputChannels for a depthwise convolution. */
  groups?: number;
  /** Default linear. */
  activation?: Activation;
  /** As the recurrent layers' (default 'auto', or LSTM_RUNTIME_BACKEND). */
  backend?: string;
}

/**
 * Keras' Conv1D (PyTorch's nn.Conv1d, ONNX's 1-D Conv) over [batch, steps, channels]. Masks and
 * sequence lengths do not pass through it (a Sequential refuses them there, as Keras does).
 */
export class Conv1D {
  readonly kind = 'conv1d';
  /** Input channels. */
  readonly inputSize: number;
  /** Output channels (Keras' filters). */
  readonly units: number;
  /** What runs it, e.g. 'native/avx2'. */
  readonly backend: string;
  private kernel: Conv1dKernel | null;

  private constructor(
    readonly name: string,
    private readonly config: Conv1dKernelConfig,
    readonly padding: Padding1D,
    /** @internal [kernelSize, inputChannels / groups, filters] and [filters] or null, read by attribution. */
    readonly weights: { kernel: Float32Array; bias: Float32Array | null },
    engine: { backend: Backend; implementation?: string },
  ) {
    this.inputSize = config.inChannels;
    this.units = config.outChannels;
    this.kernel = engine.backend.createConv1d(config, weights.kernel, weights.bias, engine.implementation);
    this.backend = this.kernel.name;
  }

  get kernelSize(): number {
    return this.config.kernelSize;
  }
  get strides(): number {
    return this.config.stride;
  }
  get dilationRate(): number {
    return this.config.dilation;
  }
  get groups(): number {
    return this.config.groups;
  }
  /** @internal The activation as the kernel runs it, read by attribution. */
  get activationCode(): ActivationCode {
    return this.config.activation;
  }

  /** @internal The zero steps before and after an input of `steps` steps. */
  pads(steps: number): [number, number] {
    return padsFor(this.padding, steps, this.span, this.config.stride);
  }

  static async create(options: Conv1DOptions): Promise<Conv1D> {
    checkOptions(options, ['name', 'kernel', 'bias', 'inputSize', 'strides', 'padding', 'dilationRate', 'groups', 'activation', 'backend']);
    refuseNull(options, 'options', ['activation']);
    const k = readTensor(options.kernel, 'kernel', 'ERR_LSTM_WEIGHTS');
    if (!k.shape || k.shape.length !== 3) fail('ERR_LSTM_WEIGHTS', 'kernel', 'a shaped [kernelSize, inputChannels / groups, filters] tensor', k.shape ? `shape ${shapeText(k.shape)}` : 'a flat array');
    const [K, perGroup, filters] = k.shape as [number, number, number];
    if (K < 1 || perGroup < 1 || filters < 1 || K > MAX_WINDOW) fail('ERR_LSTM_WEIGHTS', 'kernel', `a [kernelSize, inputChannels / groups, filters] shape of positive sizes (kernelSize at most ${MAX_WINDOW})`, `shape ${shapeText(k.shape)}`);
    const groups = positiveInt(options.groups, 'options.groups', 1, 1 << 20);
    if (filters % groups !== 0) fail('ERR_LSTM_CONFIG', 'options.groups', `a divisor of the filters (kernel.shape[2] = ${filters})`, String(groups));
    const inChannels = perGroup * groups;
    if (options.inputSize !== undefined && options.inputSize !== inChannels) {
      fail('ERR_LSTM_WEIGHTS', 'kernel', `shape [${K}, ${Number.isInteger(options.inputSize) && options.inputSize % groups === 0 ? options.inputSize / groups : `inputSize / groups`}, ${filters}] for ${describe(options.inputSize)} input channels in ${groups} group(s)`, `shape ${shapeText(k.shape)}`);
    }
    const bias = options.bias === undefined ? null : readShaped(options.bias, 'bias', [filters], 'ERR_LSTM_WEIGHTS');
    checkFiniteWeights(k.data, 'kernel');
    if (bias) checkFiniteWeights(bias, 'bias');
    const stride = positiveInt(options.strides, 'options.strides', 1);
    const dilation = positiveInt(options.dilationRate, 'options.dilationRate', 1);
    const padding = options.padding === undefined ? 'valid' : readPadding(options.padding, 'options.padding', true);
    const activation = encodeActivation(options.activation === undefined ? 'linear' : options.activation, 'options.activation');
    const engine = await resolveBackend(options.backend ?? defaultBackendRequest());
    const config: Conv1dKernelConfig = { inChannels, outChannels: filters, kernelSize: K, stride, dilation, groups, activation };
    return new Conv1D(layerName(options.name, 'conv1d'), config, padding, { kernel: k.data, bias }, engine);
  }

  private live(): Conv1dKernel {
    if (!this.kernel) throw new LstmError('ERR_LSTM_DISPOSED', `${this.name}: the layer has been disposed`);
    return this.kernel;
  }

  private get span(): number {
    return (this.config.kernelSize - 1) * this.config.dilation + 1;
  }

  /** Output steps for `steps` input steps (0: too short for one window). */
  outputSteps(steps: number): number {
    return conv1dOutputSteps(this.config, steps, ...padsFor(this.padding, steps, this.span, this.config.stride));
  }

  /** [batch, steps, inputSize] -> [batch, outputSteps(steps), units]. */
  forward(input: TensorLike): { output: Tensor } {
    const kernel = this.live();
    const { data, shape } = readSequence(input, this.inputSize, 'Conv1D', kernel.firstNonFinite?.bind(kernel));
    const [B, T] = shape;
    const pads = padsFor(this.padding, T, this.span, this.config.stride);
    const To = conv1dOutputSteps(this.config, T, ...pads);
    if (To < 1) {
      fail('ERR_LSTM_SHAPE', 'input', `at least ${this.span - pads[0] - pads[1]} steps (kernel size ${this.config.kernelSize}, dilation ${this.config.dilation}, padding ${JSON.stringify(this.padding)})`, `${T} steps`);
    }
    const out = new Float32Array(checkAllocation(`Conv1D output for input ${shapeText(shape)}`, B * To * this.units));
    kernel.forward(B, T, pads[0], pads[1], data, out);
    return { output: { data: out, shape: [B, To, this.units] } };
  }

  /**
   * Steps the convolution one input step at a time: causal padding and strides 1 only, where
   * output t depends on inputs up to t. The stream keeps the last (kernelSize - 1) * dilationRate
   * input steps (zeros at first, as the causal padding).
   */
  stream(batch = 1): Conv1DStream {
    this.live();
    if (this.padding !== 'causal' || this.config.stride !== 1) {
      throw new LstmError('ERR_LSTM_UNSUPPORTED', `${this.name}: stream() steps a Conv1D with padding 'causal' and strides 1 only (this one has padding ${JSON.stringify(this.padding)}, strides ${this.config.stride}), whose output at a step needs no later input; use forward()`);
    }
    if (!Number.isInteger(batch) || batch < 1) fail('ERR_LSTM_CONFIG', 'stream(batch)', 'a positive integer', describe(batch));
    return new Conv1DStream(() => this.live(), batch, this.inputSize, this.units, this.span);
  }

  /** Nothing to reset: a convolution keeps no state between forward calls (streams do, see reset()). */
  resetStates(): void {}

  dispose(): void {
    this.kernel?.dispose();
    this.kernel = null;
  }
}

/** A causal Conv1D stepped one input step at a time (Conv1D.stream()). */
export class Conv1DStream {
  /** [batch][span][channels]: the window, oldest step first; the last step is the current input. */
  private readonly window: Float32Array;
  private readonly out: Tensor;

  /** @internal Made by Conv1D.stream(). */
  constructor(
    /** The layer's kernel, or ERR_LSTM_DISPOSED once the layer is disposed (the stream runs on it). */
    private readonly kernel: () => Conv1dKernel,
    readonly batch: number,
    readonly inputSize: number,
    readonly units: number,
    private readonly span: number,
  ) {
    this.window = new Float32Array(checkAllocation('Conv1D stream window', batch * span * inputSize));
    this.out = { data: new Float32Array(batch * units), shape: [batch, units] };
  }

  /** x [batch, inputSize] -> [batch, units] for this step; the tensor is reused by the next step. */
  step(x: TensorLike): Tensor {
    const kernel = this.kernel();
    const C = this.inputSize;
    const data = x instanceof Float32Array && x.length === this.batch * C ? x : readShaped(x, 'step(x)', [this.batch, C]);
    checkFinite(data, 'step(x)', 'ERR_LSTM_INPUT');
    const row = this.span * C;
    for (let b = 0; b < this.batch; b++) {
      // Shift the window one step and put x last.
      this.window.copyWithin(b * row, b * row + C, (b + 1) * row);
      this.window.set(data.subarray(b * C, (b + 1) * C), (b + 1) * row - C);
    }
    kernel.forward(this.batch, this.span, 0, 0, this.window, this.out.data);
    return this.out;
  }

  reset(): void {
    this.window.fill(0);
  }

  /** @internal Copies of some rows' window, for restoreRows (as a recurrent stream's state). */
  saveRows(rows: readonly number[]): Float32Array[] {
    const row = this.span * this.inputSize;
    const saved = new Float32Array(rows.length * row);
    rows.forEach((r, i) => saved.set(this.window.subarray(r * row, (r + 1) * row), i * row));
    return [saved];
  }

  /** @internal Puts rows' windows back as saveRows copied them, or zeroes them (null). */
  restoreRows(rows: readonly number[], saved: readonly Float32Array[] | null): void {
    const row = this.span * this.inputSize;
    rows.forEach((r, i) => {
      if (saved) this.window.set(saved[0]!.subarray(i * row, (i + 1) * row), r * row);
      else this.window.fill(0, r * row, (r + 1) * row);
    });
  }

  /** The layer owns the kernel: disposing the layer ends its streams' use of it. */
  dispose(): void {}
}

export interface Pooling1DOptions {
  /** The layer's name; default Keras' 'max_pooling1d' / 'average_pooling1d', counted. */
  name?: string;
  /** Steps per window; default 2. */
  poolSize?: number;
  /** Default poolSize. */
  strides?: number;
  /** 'valid' (default), 'same', or explicit [before, after] steps (PyTorch's, ONNX's pads). */
  padding?: Exclude<Padding1D, 'causal'>;
  /**
   * Average pooling with padding: whether the padded steps count in the average (PyTorch's
   * count_include_pad, default true there; ONNX's default and Keras' 'same' leave them out, the default here).
   */
  countIncludePad?: boolean;
}

/** Keras' MaxPooling1D / AveragePooling1D over the steps of [batch, steps, channels]. */
class Pooling1D {
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: Exclude<Padding1D, 'causal'>;
  readonly countIncludePad: boolean;

  protected constructor(readonly name: string, readonly mode: 'max' | 'average', options: Pooling1DOptions) {
    this.poolSize = positiveInt(options.poolSize, 'options.poolSize', 2);
    this.strides = positiveInt(options.strides, 'options.strides', this.poolSize);
    this.padding = options.padding === undefined ? 'valid' : (readPadding(options.padding, 'options.padding', false) as Exclude<Padding1D, 'causal'>);
    if (options.countIncludePad !== undefined && typeof options.countIncludePad !== 'boolean') fail('ERR_LSTM_CONFIG', 'options.countIncludePad', 'true or false', describe(options.countIncludePad));
    this.countIncludePad = options.countIncludePad ?? false;
    if (Array.isArray(this.padding) && Math.max(...this.padding) >= this.poolSize) {
      fail('ERR_LSTM_CONFIG', 'options.padding', `pads below poolSize (${this.poolSize}), so that no window is padding only`, JSON.stringify(this.padding));
    }
  }

  /** @internal The steps before and after an input of `steps` steps. */
  pads(steps: number): [number, number] {
    return padsFor(this.padding, steps, this.poolSize, this.strides);
  }

  /** Output steps for `steps` input steps (0: too short for one window). */
  outputSteps(steps: number): number {
    const [l, r] = this.pads(steps);
    return steps + l + r < this.poolSize ? 0 : Math.floor((steps + l + r - this.poolSize) / this.strides) + 1;
  }

  /** [batch, steps, channels] -> [batch, outputSteps(steps), channels]. */
  forward(input: TensorLike): { output: Tensor } {
    const { data, shape } = readSequence(input, null, this.constructor.name);
    const [B, T, C] = shape;
    const [left] = padsFor(this.padding, T, this.poolSize, this.strides);
    const To = this.outputSteps(T);
    if (To < 1) fail('ERR_LSTM_SHAPE', 'input', `at least ${this.poolSize} steps (poolSize ${this.poolSize}, padding ${JSON.stringify(this.padding)})`, `${T} steps`);
    const out = new Float32Array(checkAllocation(`${this.constructor.name} output for input ${shapeText(shape)}`, B * To * C));
    const acc = new Float64Array(C);
    const max = this.mode === 'max';
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < To; t++) {
        const start = t * this.strides - left;
        const from = Math.max(start, 0);
        const to = Math.min(start + this.poolSize, T);
        acc.fill(max ? -Infinity : 0);
        for (let s = from; s < to; s++) {
          const row = (b * T + s) * C;
          for (let c = 0; c < C; c++) acc[c] = max ? Math.max(acc[c]!, data[row + c]!) : acc[c]! + data[row + c]!;
        }
        const count = this.countIncludePad ? this.poolSize : to - from;
        for (let c = 0; c < C; c++) out[(b * To + t) * C + c] = max ? acc[c]! : acc[c]! / count;
      }
    }
    return { output: { data: out, shape: [B, To, C] } };
  }

  dispose(): void {}
}

export class MaxPooling1D extends Pooling1D {
  readonly kind = 'max-pooling-1d';
  static async create(options: Pooling1DOptions = {}): Promise<MaxPooling1D> {
    checkOptions(options, ['name', 'poolSize', 'strides', 'padding']);
    return new MaxPooling1D(layerName(options.name, 'max_pooling1d'), 'max', options);
  }
}

export class AveragePooling1D extends Pooling1D {
  readonly kind = 'average-pooling-1d';
  static async create(options: Pooling1DOptions = {}): Promise<AveragePooling1D> {
    checkOptions(options, ['name', 'poolSize', 'strides', 'padding', 'countIncludePad']);
    return new AveragePooling1D(layerName(options.name, 'average_pooling1d'), 'average', options);
  }
}

/**
 * Keras' ZeroPadding1D (PyTorch's F.pad and ONNX's Pad on the steps): `padding` zero steps before
 * and after the sequence, [before, after] or one number for both.
 */
export class ZeroPadding1D {
  readonly kind = 'zero-padding-1d';
  readonly padding: readonly [number, number];

  private constructor(readonly name: string, padding: [number, number]) {
    this.padding = padding;
  }

  static async create(options: { padding?: number | readonly [number, number]; name?: string } = {}): Promise<ZeroPadding1D> {
    checkOptions(options, ['name', 'padding']);
    const given = options.padding ?? 1;
    const padding = typeof given === 'number' ? [given, given] : given;
    if (!Array.isArray(padding) || padding.length !== 2 || !padding.every((p) => Number.isInteger(p) && p >= 0 && p <= MAX_PAD)) {
      fail('ERR_LSTM_CONFIG', 'options.padding', `a number of steps or [before, after] (integers from 0 to ${MAX_PAD})`, describe(options.padding));
    }
    return new ZeroPadding1D(layerName(options.name, 'zero_padding1d'), [padding[0]!, padding[1]!]);
  }

  /** @internal The steps added before and after. */
  pads(): [number, number] {
    return [this.padding[0], this.padding[1]];
  }

  outputSteps(steps: number): number {
    return steps + this.padding[0] + this.padding[1];
  }

  /** [batch, steps, channels] -> [batch, steps + before + after, channels]. */
  forward(input: TensorLike): { output: Tensor } {
    const { data, shape } = readSequence(input, null, 'ZeroPadding1D');
    const [B, T, C] = shape;
    const [l, r] = this.padding;
    const out = new Float32Array(checkAllocation(`ZeroPadding1D output for input ${shapeText(shape)}`, B * (T + l + r) * C));
    for (let b = 0; b < B; b++) out.set(data.subarray(b * T * C, (b + 1) * T * C), (b * (T + l + r) + l) * C);
    return { output: { data: out, shape: [B, T + l + r, C] } };
  }

  dispose(): void {}
}
