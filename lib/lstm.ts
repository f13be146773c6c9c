import { encodeActivation, type Activation } from './activations.js';
import { GO_BACKWARDS, RETURN_SEQUENCES, ZERO_OUTPUT_FOR_MASK, type ForwardBuffers, type LstmKernel, type LstmKernelConfig, type StreamKernel } from './backend.js';
import { describe, fail, LstmError } from './errors.js';
import { toCanonicalWeights, type LstmWeights, type WeightLayout } from './layouts.js';
import { defaultBackendRequest, resolveBackend } from './registry.js';
import { firstNonFinite, readShaped, readTensor, shapeText, sizeOf, type Tensor, type TensorLike } from './tensor.js';

export interface LstmOptions {
  /** Input features I; inferred from the weights when omitted. */
  inputSize?: number;
  /** Units U; inferred from the weights when omitted. */
  units?: number;
  weights: LstmWeights;
  weightLayout?: WeightLayout;
  useBias?: boolean;
  /** Candidate c~ and (unless cellActivation is given) the activation of c before the output gate. */
  activation?: Activation;
  cellActivation?: Activation;
  recurrentActivation?: Activation;
  returnSequences?: boolean;
  returnState?: boolean;
  goBackwards?: boolean;
  stateful?: boolean;
  zeroOutputForMask?: boolean;
  /** Clamp gate pre-activations to [-clip, clip] (ONNX). */
  clip?: number;
  /** Couple the forget gate to the input gate, f = 1 - i (ONNX input_forget). */
  inputForget?: boolean;
  /** Accept NaN or infinite inputs instead of rejecting them. */
  allowNonFinite?: boolean;
  /** 'auto' (default, or LSTM_RUNTIME_BACKEND), 'native', 'wasm-simd', 'wasm', 'js', or a forced implementation such as 'native/scalar'. */
  backend?: string;
  threads?: number;
  weightPrecision?: 'f32' | 'f16' | 'int8';
}

export interface LstmState {
  h: TensorLike;
  c: TensorLike;
}

export interface ForwardOptions {
  initialState?: LstmState;
  /** [B,T]: false/0 marks a step to skip (Keras masking). */
  mask?: TensorLike | Uint8Array;
  /** Per batch entry, how many leading steps are real. */
  sequenceLengths?: readonly number[] | Int32Array;
  trace?: boolean;
  /** Shape of the input when it is given as a flat Float32Array. */
  shape?: readonly number[];
}

/** Gate activations and states at every step, in processing order, each [B,T,U]. */
export interface LstmTrace {
  i: Tensor;
  f: Tensor;
  g: Tensor;
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

const OPTION_KEYS = new Set<string>([
  'inputSize', 'units', 'weights', 'weightLayout', 'useBias', 'activation', 'cellActivation', 'recurrentActivation',
  'returnSequences', 'returnState', 'goBackwards', 'stateful', 'zeroOutputForMask', 'clip', 'inputForget',
  'allowNonFinite', 'backend', 'threads', 'weightPrecision',
]);
const FORWARD_KEYS = new Set<string>(['initialState', 'mask', 'sequenceLengths', 'trace', 'shape']);

function checkKeys(options: object, allowed: Set<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) fail('ERR_LSTM_CONFIG', `${what}.${key}`, `one of the known options (${[...allowed].join(', ')})`, 'an unknown option');
  }
}

function optionalInt(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail('ERR_LSTM_CONFIG', what, 'an integer >= 1', describe(value));
  return value;
}

function bool(value: unknown, what: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail('ERR_LSTM_CONFIG', what, 'true or false', describe(value));
  return value;
}

const TRACE_NAMES = ['i', 'f', 'g', 'o', 'c', 'h'] as const;

/** A Keras-compatible LSTM layer on one backend. Create it with `await Lstm.create(options)`. */
export class Lstm {
  readonly inputSize: number;
  readonly units: number;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly stateful: boolean;
  readonly zeroOutputForMask: boolean;
  private readonly allowNonFinite: boolean;
  private kernel: LstmKernel | null;
  private state: { h: Float32Array; c: Float32Array; batch: number } | null = null;
  private readonly streams = new Set<LstmStream>();

  private constructor(kernel: LstmKernel, config: LstmKernelConfig, o: LstmOptions) {
    this.kernel = kernel;
    this.inputSize = config.inputSize;
    this.units = config.units;
    this.returnSequences = o.returnSequences ?? false;
    this.returnState = o.returnState ?? false;
    this.goBackwards = o.goBackwards ?? false;
    this.stateful = o.stateful ?? false;
    this.zeroOutputForMask = o.zeroOutputForMask ?? false;
    this.allowNonFinite = o.allowNonFinite ?? false;
  }

  static async create(options: LstmOptions): Promise<Lstm> {
    if (typeof options !== 'object' || options === null) fail('ERR_LSTM_CONFIG', 'options', 'an object', describe(options));
    checkKeys(options, OPTION_KEYS, 'options');
    const o = options;
    const inputSize = optionalInt(o.inputSize, 'options.inputSize');
    const units = optionalInt(o.units, 'options.units');
    for (const key of ['useBias', 'returnSequences', 'returnState', 'goBackwards', 'stateful', 'zeroOutputForMask', 'inputForget', 'allowNonFinite'] as const) {
      bool(o[key], `options.${key}`, false);
    }
    const activation = encodeActivation(o.activation === undefined ? 'tanh' : o.activation, 'options.activation');
    const cellActivation = o.cellActivation === undefined ? activation : encodeActivation(o.cellActivation, 'options.cellActivation');
    const recurrentActivation = encodeActivation(o.recurrentActivation === undefined ? 'sigmoid' : o.recurrentActivation, 'options.recurrentActivation');
    const clip = o.clip ?? 0;
    if (typeof clip !== 'number' || !(clip >= 0) || !Number.isFinite(clip)) fail('ERR_LSTM_CONFIG', 'options.clip', 'a finite number > 0 (or 0 for none)', describe(o.clip));
    optionalInt(o.threads, 'options.threads');
    const precision = o.weightPrecision ?? 'f32';
    if (!['f32', 'f16', 'int8'].includes(precision as string)) fail('ERR_LSTM_CONFIG', 'options.weightPrecision', "'f32', 'f16' or 'int8'", describe(precision));

    const weights = toCanonicalWeights(o.weights, o.weightLayout ?? 'keras', { inputSize, units, useBias: o.useBias ?? true });
    const { backend, implementation } = await resolveBackend(o.backend ?? defaultBackendRequest());
    if (precision !== 'f32') {
      throw new LstmError('ERR_LSTM_UNSUPPORTED', `options.weightPrecision: '${precision}' is not supported by backend '${backend.name}' yet; use 'f32'`);
    }
    const config: LstmKernelConfig = {
      inputSize: weights.inputSize,
      units: weights.units,
      activation,
      cellActivation,
      recurrentActivation,
      clip,
      inputForget: o.inputForget ?? false,
    };
    return new Lstm(backend.createLstm(config, weights, implementation), config, o);
  }

  /** What runs, with its instruction set: 'native/avx2', 'native/scalar', 'wasm-simd', 'wasm' or 'js'. */
  get backend(): string {
    return this.live().name;
  }

  private live(): LstmKernel {
    if (!this.kernel) throw new LstmError('ERR_LSTM_DISPOSED', 'this Lstm layer has been disposed; create a new one');
    return this.kernel;
  }

  /** Validates a call and lays out its buffers; shared by forward and forwardAsync. */
  private prepare(input: TensorLike, options: ForwardOptions = {}): { buffers: ForwardBuffers; finish: () => LstmResult } {
    this.live();
    if (typeof options !== 'object' || options === null) fail('ERR_LSTM_CONFIG', 'forward options', 'an object', describe(options));
    checkKeys(options, FORWARD_KEYS, 'forward options');
    const I = this.inputSize;
    const U = this.units;
    const t = readTensor(input, 'input');
    let shape = t.shape;
    if (options.shape !== undefined) {
      const given = Array.from(options.shape);
      if (t.shape && shapeText(t.shape) !== shapeText(given)) fail('ERR_LSTM_SHAPE', 'options.shape', `the input's own shape ${shapeText(t.shape)}`, shapeText(given));
      if (sizeOf(given) !== t.data.length) fail('ERR_LSTM_SHAPE', 'options.shape', `a shape with ${t.data.length} values`, shapeText(given));
      shape = given;
    }
    if (shape === null) fail('ERR_LSTM_SHAPE', 'input', `a shaped tensor [batch, steps, ${I}] (pass { data, shape } or options.shape with a flat Float32Array)`, `a flat array of ${t.data.length} values`);
    if (shape.length !== 3 || shape[2] !== I || shape[0]! < 1 || shape[1]! < 1) {
      fail('ERR_LSTM_SHAPE', 'input', `shape [batch, steps, ${I}] with batch, steps >= 1`, `shape ${shapeText(shape)}`);
    }
    const [B, T] = shape as [number, number, number];
    const data = t.data;
    if (!this.allowNonFinite) {
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        const at = [Math.floor(bad / (T * I)), Math.floor(bad / I) % T, bad % I];
        fail('ERR_LSTM_INPUT', 'input', 'finite values (or allowNonFinite: true)', `${data[bad]} at ${shapeText(at)}`);
      }
    }

    const h = new Float32Array(B * U);
    const c = new Float32Array(B * U);
    if (options.initialState !== undefined) {
      const s = options.initialState;
      if (typeof s !== 'object' || s === null || s.h === undefined || s.c === undefined) fail('ERR_LSTM_SHAPE', 'initialState', '{ h: [batch, units], c: [batch, units] }', describe(s));
      h.set(readShaped(s.h, 'initialState.h', [B, U]));
      c.set(readShaped(s.c, 'initialState.c', [B, U]));
      if (!this.allowNonFinite && (firstNonFinite(h) >= 0 || firstNonFinite(c) >= 0)) fail('ERR_LSTM_INPUT', 'initialState', 'finite values', 'NaN or infinity');
    } else if (this.stateful && this.state) {
      if (this.state.batch !== B) fail('ERR_LSTM_SHAPE', 'input', `batch ${this.state.batch} (a stateful layer keeps its batch size until resetStates())`, `batch ${B}`);
      h.set(this.state.h);
      c.set(this.state.c);
    }

    let mask: Uint8Array | null = null;
    if (options.mask !== undefined && options.mask !== null) {
      if (options.mask instanceof Uint8Array) {
        if (options.mask.length !== B * T) fail('ERR_LSTM_SHAPE', 'mask', `${B * T} values (shape [${B}, ${T}])`, `${options.mask.length} values`);
        mask = options.mask;
      } else {
        const m = readShaped(options.mask, 'mask', [B, T]);
        mask = Uint8Array.from(m, (v) => (v !== 0 ? 1 : 0));
      }
    }
    let lengths: Int32Array | null = null;
    if (options.sequenceLengths !== undefined && options.sequenceLengths !== null) {
      const l = options.sequenceLengths;
      if (!(Array.isArray(l) || l instanceof Int32Array) || l.length !== B) fail('ERR_LSTM_SHAPE', 'sequenceLengths', `${B} integers (one per batch entry)`, describe(l));
      for (let b = 0; b < B; b++) {
        const v = l[b];
        if (!Number.isInteger(v) || v! < 0 || v! > T) fail('ERR_LSTM_SHAPE', `sequenceLengths[${b}]`, `an integer in [0, ${T}]`, describe(v));
      }
      lengths = Int32Array.from(l);
    }
    const tracing = bool(options.trace, 'forward options.trace', false);
    const outShape = this.returnSequences ? [B, T, U] : [B, U];
    const buffers: ForwardBuffers = {
      batch: B,
      steps: T,
      flags: (this.returnSequences ? RETURN_SEQUENCES : 0) | (this.goBackwards ? GO_BACKWARDS : 0) | (this.zeroOutputForMask ? ZERO_OUTPUT_FOR_MASK : 0),
      input: data,
      h,
      c,
      output: new Float32Array(sizeOf(outShape)),
      mask,
      sequenceLengths: lengths,
      trace: tracing ? new Float32Array(6 * B * T * U) : null,
    };
    const finish = (): LstmResult => {
      if (this.stateful) this.state = { h: h.slice(), c: c.slice(), batch: B };
      const result: LstmResult = { output: { data: buffers.output, shape: outShape }, h: { data: h, shape: [B, U] }, c: { data: c, shape: [B, U] } };
      if (buffers.trace) {
        const n = B * T * U;
        const tr = buffers.trace;
        result.trace = Object.fromEntries(TRACE_NAMES.map((name, k) => [name, { data: tr.subarray(k * n, (k + 1) * n), shape: [B, T, U] }])) as unknown as LstmTrace;
      }
      return result;
    };
    return { buffers, finish };
  }

  /** Runs the layer on [batch, steps, inputSize]; synchronous, for latency. */
  forward(input: TensorLike, options?: ForwardOptions): LstmResult {
    const { buffers, finish } = this.prepare(input, options);
    this.live().forward(buffers);
    return finish();
  }

  /** The same as forward, off the JS thread where the backend allows it (native: libuv's pool). */
  async forwardAsync(input: TensorLike, options?: ForwardOptions): Promise<LstmResult> {
    const { buffers, finish } = this.prepare(input, options);
    await this.live().forwardAsync(buffers);
    return finish();
  }

  /** Stateful layers: forget the carried state (or set it). */
  resetStates(state?: LstmState): void {
    this.live();
    if (!state) {
      this.state = null;
      return;
    }
    const h = readTensor(state.h, 'resetStates(state).h');
    const B = h.shape?.[0] ?? h.data.length / this.units;
    if (!Number.isInteger(B) || B < 1) fail('ERR_LSTM_SHAPE', 'resetStates(state).h', `shape [batch, ${this.units}]`, describe(state.h));
    this.state = { h: readShaped(state.h, 'resetStates(state).h', [B, this.units]).slice(), c: readShaped(state.c, 'resetStates(state).c', [B, this.units]).slice(), batch: B };
  }

  /** The state a stateful layer carries into its next call, or null. */
  get states(): { h: Tensor; c: Tensor } | null {
    if (!this.state) return null;
    const shape = [this.state.batch, this.units];
    return { h: { data: this.state.h.slice(), shape }, c: { data: this.state.c.slice(), shape: [...shape] } };
  }

  /** A session that runs one timestep per call with no allocation per step. */
  stream(batch = 1): LstmStream {
    optionalInt(batch, 'stream(batch)');
    const s = new LstmStream(this.live().stream(batch), batch, this.inputSize, this.units, this.allowNonFinite, () => this.streams.delete(s));
    this.streams.add(s);
    return s;
  }

  /** Frees the backend's memory; any later call throws ERR_LSTM_DISPOSED. */
  dispose(): void {
    if (!this.kernel) return;
    for (const s of this.streams) s.dispose();
    this.kernel.dispose();
    this.kernel = null;
  }
}

/** Streaming one timestep at a time; the state lives in the backend between steps. */
export class LstmStream {
  private kernel: StreamKernel | null;
  private readonly out: Tensor;

  constructor(kernel: StreamKernel, readonly batch: number, readonly inputSize: number, readonly units: number, private readonly allowNonFinite: boolean, private readonly onDispose: () => void) {
    this.kernel = kernel;
    this.out = { data: new Float32Array(batch * units), shape: [batch, units] };
  }

  private live(): StreamKernel {
    if (!this.kernel) throw new LstmError('ERR_LSTM_DISPOSED', 'this stream (or its layer) has been disposed');
    return this.kernel;
  }

  /**
   * One timestep: x [batch, inputSize] -> h [batch, units]. The returned tensor is reused and
   * overwritten by the next step: copy it to keep it.
   */
  step(x: TensorLike): Tensor {
    const k = this.live();
    const data = x instanceof Float32Array && x.length === this.batch * this.inputSize ? x : readShaped(x, 'step(x)', [this.batch, this.inputSize]);
    if (!this.allowNonFinite && firstNonFinite(data) >= 0) fail('ERR_LSTM_INPUT', 'step(x)', 'finite values (or allowNonFinite: true)', 'NaN or infinity');
    k.step(data);
    this.out.data.set(k.h);
    return this.out;
  }

  /** Copies of the current state. */
  get state(): { h: Tensor; c: Tensor } {
    const k = this.live();
    return { h: { data: k.h.slice(), shape: [this.batch, this.units] }, c: { data: k.c.slice(), shape: [this.batch, this.units] } };
  }

  setState(state: LstmState): void {
    const k = this.live();
    const shape = [this.batch, this.units];
    const h = readShaped(state?.h, 'setState(state).h', shape);
    const c = readShaped(state?.c, 'setState(state).c', shape);
    if (!this.allowNonFinite && (firstNonFinite(h) >= 0 || firstNonFinite(c) >= 0)) fail('ERR_LSTM_INPUT', 'setState(state)', 'finite values', 'NaN or infinity');
    k.setState(h, c);
  }

  reset(): void {
    const zeros = new Float32Array(this.batch * this.units);
    this.live().setState(zeros, zeros);
  }

  dispose(): void {
    if (!this.kernel) return;
    this.kernel.dispose();
    this.kernel = null;
    this.onDispose();
  }
}
