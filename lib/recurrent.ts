// What LSTM and GRU layers share: option checks, backend resolution, call validation, buffers,
// state (stateful layers, initial states), streams, async calls and disposal.
import { encodeActivation, type Activation } from './activations.js';
import {
  GO_BACKWARDS, gatesOf, MAX_THREADS, RETURN_SEQUENCES, TRACE_NAMES, ZERO_OUTPUT_FOR_MASK,
  type CanonicalWeights, type CellKind, type ForwardBuffers, type RnnKernel, type RnnKernelConfig, type StreamKernel, type WeightPrecision,
} from './backend.js';
import { describe, fail, LstmError } from './errors.js';
import { layerName } from './layer-name.js';
import { toCanonicalWeights, type WeightLayout } from './layouts.js';
import { defaultBackendRequest, resolveBackend } from './registry.js';
import { checkAllocation, checkShape, firstNonFinite, readShaped, readTensor, shapeText, sizeOf, type Tensor, type TensorLike } from './tensor.js';

/** Options every recurrent layer takes. */
export interface RecurrentOptions {
  /** The layer's name (`layer.name`, `model.getLayer(name)`); default Keras' 'lstm', 'lstm_1', ... ('gru', ... for a GRU). */
  name?: string;
  /** Input features I; inferred from the weights when omitted. */
  inputSize?: number;
  /** Units U; inferred from the weights when omitted. */
  units?: number;
  weightLayout?: WeightLayout;
  useBias?: boolean;
  /** The candidate's activation (LSTM c~, GRU h~). */
  activation?: Activation;
  /** The gates' activation (LSTM i, f, o; GRU z, r). */
  recurrentActivation?: Activation;
  returnSequences?: boolean;
  /** Accepted for Keras compatibility: forward always returns the final state. */
  returnState?: boolean;
  goBackwards?: boolean;
  /**
   * The order of a goBackwards layer's output sequence: 'processing' (default, Keras: the first
   * output is the last step's) or 'input' (ONNX's Y, PyTorch: each output at its step's place in
   * the input, as a Bidirectional puts its backward direction). Traces keep processing order.
   */
  outputOrder?: OutputOrder;
  stateful?: boolean;
  zeroOutputForMask?: boolean;
  /** Clamp gate pre-activations to [-clip, clip] (ONNX). */
  clip?: number;
  /** Accept NaN or infinite inputs instead of rejecting them. */
  allowNonFinite?: boolean;
  /** 'auto' (default, or LSTM_RUNTIME_BACKEND), 'native', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js', or a forced implementation such as 'native/scalar'. */
  backend?: string;
  /** Threads one call may use (default 1); the native backend splits each step's units across them. */
  threads?: number;
  /**
   * How the recurrent kernel, which every step streams, is stored: 'f32' (default); 'f16' (IEEE
   * halves: native with F16C or NEON; within 1e-3 of f32); 'int8' (a float scale per column, one
   * gate of one unit, multiplied by the state quantized to int16: every backend). int8 is within
   * 1e-2 of f32 on the conformance cases, but on trained models with large cell states a single
   * output may move by up to 0.25 of the output's scale (max |output|), 5e-3 of it on average
   * (textgenrnn's 128-unit LSTMs on real text: 0.23 and 2.3e-3); f16 stays within 6e-3 there.
   */
  weightPrecision?: 'f32' | 'f16' | 'int8';
}

export type OutputOrder = 'processing' | 'input';

/** A recurrent state: h, plus c for an LSTM. */
export interface RecurrentState {
  h: TensorLike;
  c?: TensorLike;
}

export interface ForwardOptions<S = RecurrentState> {
  initialState?: S;
  /** `[B,T]`: `false` or `0` marks a step to skip (Keras masking). */
  mask?: TensorLike | Uint8Array;
  /** Per batch entry, how many leading steps are real. */
  sequenceLengths?: readonly number[] | Int32Array;
  trace?: boolean;
  /** Shape of the input when it is given as a flat Float32Array. */
  shape?: readonly number[];
  /**
   * Float32Arrays the call writes its results into instead of allocating them (each optional,
   * exactly the size of what it receives): the result's tensors then hold these arrays.
   */
  out?: { output?: Float32Array; h?: Float32Array; c?: Float32Array };
}

export interface RecurrentResult {
  output: Tensor;
  h: Tensor;
  c?: Tensor;
  trace?: Record<string, Tensor>;
}

const COMMON_KEYS = [
  'name', 'inputSize', 'units', 'weights', 'weightLayout', 'useBias', 'activation', 'recurrentActivation', 'returnSequences',
  'returnState', 'goBackwards', 'outputOrder', 'stateful', 'zeroOutputForMask', 'clip', 'allowNonFinite', 'backend', 'threads', 'weightPrecision',
];
/** Options only one cell takes. */
const CELL_KEYS: Record<CellKind, string[]> = { lstm: ['cellActivation', 'inputForget'], gru: ['resetAfter'] };
const FORWARD_KEYS = new Set<string>(['initialState', 'mask', 'sequenceLengths', 'trace', 'shape', 'out']);

export function checkKeys(options: object, allowed: Set<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) fail('ERR_LSTM_CONFIG', `${what}.${key}`, `one of the known options (${[...allowed].join(', ')})`, 'an unknown option');
  }
}

/**
 * A [rows, cols] mask as bytes, 1 where a step is real: given as bytes of that size, or as a tensor.
 * Every value must be a boolean or exactly 0 or 1: NaN, -1 or 0.5 are no answer to "is this step
 * real?", and counting them as real steps would give a result without a word.
 */
export function readMask(mask: TensorLike | Uint8Array, rows: number, cols: number): Uint8Array {
  let bytes: Uint8Array | null = null;
  let values: ArrayLike<number>;
  if (mask instanceof Uint8Array) {
    if (mask.length !== rows * cols) fail('ERR_LSTM_SHAPE', 'mask', `${rows * cols} values (shape [${rows}, ${cols}])`, `${mask.length} values`);
    bytes = values = mask;
  } else {
    values = readShaped(mask, 'mask', [rows, cols]);
  }
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (v !== 0 && v !== 1) fail('ERR_LSTM_INPUT', 'mask', 'booleans, or the numbers 0 or 1 exactly (0 masks the step)', `${v} at [${Math.floor(k / cols)}, ${k % cols}]`);
  }
  return bytes ?? Uint8Array.from(values);
}

/** The typed array a mask was given in (bytes, or a tensor's data), for the overlap checks. */
function maskMemory(mask: unknown): ArrayBufferView | null {
  if (ArrayBuffer.isView(mask)) return mask;
  const data = typeof mask === 'object' && mask !== null && !Array.isArray(mask) ? (mask as { data?: unknown }).data : undefined;
  return ArrayBuffer.isView(data) ? data : null;
}

/** Whether two typed arrays share any byte of memory. */
export function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteLength > 0 && b.byteLength > 0 && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * Refuses null for any option but those where it means something (`nullable`): left out, an
 * option takes its default; null in its place is more likely a bug than a wish for the default.
 */
export function refuseNull(options: object, what: string, nullable: readonly string[] = []): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === null && !nullable.includes(key)) fail('ERR_LSTM_CONFIG', `${what}.${key}`, 'a value (leave the option out for its default)', 'null');
  }
}

/** An options argument: an object holding none but the `allowed` keys. */
export function checkOptions(options: unknown, allowed: Iterable<string>, what = 'options'): asserts options is object {
  if (typeof options !== 'object' || options === null) fail('ERR_LSTM_CONFIG', what, 'an object', describe(options));
  checkKeys(options, allowed instanceof Set ? allowed : new Set(allowed), what);
}

export function optionalInt(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail('ERR_LSTM_CONFIG', what, 'an integer >= 1', describe(value));
  return value;
}

export function bool(value: unknown, what: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail('ERR_LSTM_CONFIG', what, 'true or false', describe(value));
  return value;
}

/** A built layer: its kernel on a backend and what the facade needs to drive it. */
export interface LayerParts {
  name: string;
  kernel: RnnKernel;
  config: RnnKernelConfig;
  weights: CanonicalWeights;
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  outputOrder: OutputOrder;
  stateful: boolean;
  zeroOutputForMask: boolean;
  allowNonFinite: boolean;
}

/** Checks a layer's options, converts its weights, resolves the backend and uploads the weights. */
export async function buildLayer(options: unknown, cell: CellKind): Promise<LayerParts> {
  checkOptions(options, [...COMMON_KEYS, ...CELL_KEYS[cell]]);
  // null activations are documented as linear; null weights get the weights' own message.
  refuseNull(options, 'options', ['activation', 'recurrentActivation', 'cellActivation', 'weights']);
  const o = options as Record<string, unknown>;
  const inputSize = optionalInt(o.inputSize, 'options.inputSize');
  const units = optionalInt(o.units, 'options.units');
  const flag = (key: string, fallback = false) => bool(o[key], `options.${key}`, fallback);
  const activation = encodeActivation(o.activation === undefined ? 'tanh' : o.activation, 'options.activation');
  const cellActivation = o.cellActivation === undefined ? activation : encodeActivation(o.cellActivation, 'options.cellActivation');
  const recurrentActivation = encodeActivation(o.recurrentActivation === undefined ? 'sigmoid' : o.recurrentActivation, 'options.recurrentActivation');
  const clip = o.clip ?? 0;
  // Every backend clamps in float32: a clip below float32's smallest normal would round to 0 (no
  // clip) in the kernels and clamp in plain JS, so backends would disagree; no model needs one.
  if (typeof clip !== 'number' || !Number.isFinite(clip) || !(clip === 0 || clip >= FLOAT32_MIN_NORMAL)) {
    fail('ERR_LSTM_CONFIG', 'options.clip', `a finite number >= ${FLOAT32_MIN_NORMAL} (float32's smallest normal), or 0 for none`, describe(o.clip));
  }
  const threads = optionalInt(o.threads, 'options.threads') ?? 1;
  if (threads > MAX_THREADS) fail('ERR_LSTM_CONFIG', 'options.threads', `an integer from 1 to ${MAX_THREADS}`, describe(threads));
  const precision = o.weightPrecision ?? 'f32';
  if (!['f32', 'f16', 'int8'].includes(precision as string)) fail('ERR_LSTM_CONFIG', 'options.weightPrecision', "'f32', 'f16' or 'int8'", describe(precision));
  const resetAfter = flag('resetAfter', true);
  const outputOrder = o.outputOrder ?? 'processing';
  if (outputOrder !== 'processing' && outputOrder !== 'input') fail('ERR_LSTM_CONFIG', 'options.outputOrder', "'processing' or 'input'", describe(o.outputOrder));
  const parts = {
    name: layerName(o.name, cell),
    returnSequences: flag('returnSequences'),
    returnState: flag('returnState'),
    goBackwards: flag('goBackwards'),
    outputOrder: outputOrder as OutputOrder,
    stateful: flag('stateful'),
    zeroOutputForMask: flag('zeroOutputForMask'),
    allowNonFinite: flag('allowNonFinite'),
  };
  const { backend, implementation } = await resolveBackend(o.backend ?? defaultBackendRequest());
  if (threads > (backend.maxThreads ?? 1)) {
    throw new LstmError('ERR_LSTM_UNSUPPORTED', `options.threads: ${threads} is not supported by backend '${implementation ?? backend.implementation}', which runs one thread; use threads: 1, or backend 'native'`);
  }
  const config: RnnKernelConfig = {
    cell,
    inputSize: 0, // from the weights, below
    units: 0,
    activation,
    cellActivation,
    recurrentActivation,
    clip,
    inputForget: flag('inputForget'),
    resetAfter: cell === 'gru' && resetAfter,
    threads,
    weightPrecision: precision as WeightPrecision,
  };
  // A layer the backend could never hold is refused once its sizes are known, before its weights are read.
  const admit = (I: number, U: number) => backend.admitRnn?.({ ...config, inputSize: I, units: U });
  const weights = toCanonicalWeights(o.weights, o.weightLayout ?? 'keras', { inputSize, units, useBias: flag('useBias', true), cell, resetAfter, admit });
  config.inputSize = weights.inputSize;
  config.units = weights.units;
  return { kernel: backend.createRnn(config, weights, implementation), config, weights, ...parts };
}

/** float32's smallest normal number, 2^-126: the smallest clip every backend applies alike. */
const FLOAT32_MIN_NORMAL = 2 ** -126;

/** The layer facade both cells share; Lstm and Gru only add their create() and types. */
export class RecurrentLayer<Result extends { output: Tensor; h: Tensor }, State extends RecurrentState> {
  /** The name the model file gives the layer, `options.name`, or a Keras-style default ('lstm', 'gru_1'). */
  readonly name: string;
  readonly cell: CellKind;
  readonly inputSize: number;
  readonly units: number;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly outputOrder: OutputOrder;
  readonly stateful: boolean;
  readonly zeroOutputForMask: boolean;
  private readonly allowNonFinite: boolean;
  /**
   * @internal The float32 weights in Keras' layout and the cell's configuration, kept for what
   * reads the model rather than runs it: attribution backpropagates through them.
   */
  readonly parts: { readonly config: RnnKernelConfig; readonly weights: CanonicalWeights };
  private kernel: RnnKernel | null;
  private state: { h: Float32Array; c: Float32Array | null; batch: number } | null = null;
  private readonly streams = new Set<RecurrentStream<State>>();

  /** @internal Layers are made by `Lstm.create` and `Gru.create`. */
  protected constructor(p: LayerParts) {
    this.name = p.name;
    this.kernel = p.kernel;
    this.cell = p.config.cell;
    this.inputSize = p.config.inputSize;
    this.units = p.config.units;
    this.returnSequences = p.returnSequences;
    this.returnState = p.returnState;
    this.goBackwards = p.goBackwards;
    this.outputOrder = p.outputOrder;
    this.stateful = p.stateful;
    this.zeroOutputForMask = p.zeroOutputForMask;
    this.allowNonFinite = p.allowNonFinite;
    this.parts = { config: p.config, weights: p.weights };
  }

  /** What runs, with its instruction set: 'native/avx2', 'native/scalar', 'wasm-relaxed', 'wasm-simd', 'wasm' or 'js'. */
  get backend(): string {
    return this.live().name;
  }

  private get hasCell(): boolean {
    return this.cell === 'lstm';
  }

  private live(): RnnKernel {
    if (!this.kernel) throw new LstmError('ERR_LSTM_DISPOSED', `this ${this.cell === 'lstm' ? 'Lstm' : 'Gru'} layer has been disposed; create a new one`);
    return this.kernel;
  }

  /** Reads a state's h (and c) of batch B, checked. */
  private readState(s: unknown, what: string, B: number): { h: Float32Array; c: Float32Array | null } {
    const expected = this.hasCell ? `{ h: [${B}, ${this.units}], c: [${B}, ${this.units}] }` : `{ h: [${B}, ${this.units}] }`;
    const st = s as { h?: unknown; c?: unknown } | null;
    if (typeof st !== 'object' || st === null || st.h === undefined || (this.hasCell && st.c === undefined)) fail('ERR_LSTM_SHAPE', what, expected, describe(s));
    const h = readShaped(st.h, `${what}.h`, [B, this.units]);
    const c = this.hasCell ? readShaped(st.c, `${what}.c`, [B, this.units]) : null;
    if (!this.allowNonFinite && (firstNonFinite(h) >= 0 || (c && firstNonFinite(c) >= 0))) fail('ERR_LSTM_INPUT', what, 'finite values', 'NaN or infinity');
    return { h, c };
  }

  /** Checks options.out: Float32Arrays of the results' sizes, apart from the input and each other. */
  private readOut(value: ForwardOptions<State>['out'], input: Float32Array, outputSize: number, B: number) {
    if (value === undefined) return {};
    if (typeof value !== 'object' || value === null) fail('ERR_LSTM_CONFIG', 'forward options.out', 'an object { output?, h?, c? } of Float32Arrays', describe(value));
    checkKeys(value, new Set(this.hasCell ? ['output', 'h', 'c'] : ['output', 'h']), 'forward options.out');
    const sizes: Record<string, number> = { output: outputSize, h: B * this.units, c: B * this.units };
    const given = Object.entries(value).filter(([, a]) => a !== undefined) as [string, unknown][];
    for (const [name, a] of given) {
      if (!(a instanceof Float32Array) || a.length !== sizes[name]) fail('ERR_LSTM_SHAPE', `forward options.out.${name}`, `a Float32Array of ${sizes[name]} values`, describe(a));
    }
    // The kernels read the input and the initial state while they write: no array may share memory with another.
    const arrays = [['input', input], ...given] as [string, Float32Array][];
    arrays.forEach(([name, a], i) =>
      arrays.slice(i + 1).forEach(([other, b]) => {
        if (overlaps(a, b)) fail('ERR_LSTM_CONFIG', `forward options.out.${other}`, `memory of its own`, `an array overlapping ${name === 'input' ? 'the input' : `out.${name}`}`);
      }),
    );
    return value as { output?: Float32Array; h?: Float32Array; c?: Float32Array };
  }

  /** A mask's memory may not be the input's or any of out's (the kernels read the mask while they write). */
  private static checkMaskApart(mask: unknown, input: Float32Array, out: { output?: Float32Array; h?: Float32Array; c?: Float32Array }): void {
    const memory = maskMemory(mask);
    if (!memory) return;
    const others = [['the input', input], ...Object.entries(out).map(([name, a]) => [`out.${name}`, a])] as [string, Float32Array | undefined][];
    for (const [name, a] of others) {
      if (a && overlaps(memory, a)) fail('ERR_LSTM_CONFIG', 'forward options.mask', 'memory of its own', `an array overlapping ${name}`);
    }
  }

  /** Validates a call and lays out its buffers; shared by forward and forwardAsync. */
  private prepare(input: TensorLike, options: ForwardOptions<State> = {}): { buffers: ForwardBuffers; finish: () => Result } {
    const kernel = this.live();
    checkOptions(options, FORWARD_KEYS, 'forward options');
    refuseNull(options, 'forward options', ['initialState']);
    const I = this.inputSize;
    const U = this.units;
    const t = readTensor(input, 'input');
    let shape = t.shape;
    if (options.shape !== undefined) {
      const given = checkShape(options.shape, 'options.shape', 'ERR_LSTM_SHAPE');
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
    const outShape = this.returnSequences ? [B, T, U] : [B, U];
    const tracing = bool(options.trace, 'forward options.trace', false);
    const traceNames = TRACE_NAMES[this.cell];
    // What the call holds at once: its output, trace and state, and the kernel's gates for a step.
    checkAllocation(`forward on input ${shapeText(shape)}`, sizeOf(outShape) + (tracing ? traceNames.length * B * T * U : 0) + (this.hasCell ? 2 : 1) * B * U + gatesOf(this.cell) * B * U);
    if (!this.allowNonFinite) {
      const bad = kernel.firstNonFinite ? kernel.firstNonFinite(data) : firstNonFinite(data);
      if (bad >= 0) {
        const at = [Math.floor(bad / (T * I)), Math.floor(bad / I) % T, bad % I];
        fail('ERR_LSTM_INPUT', 'input', 'finite values (or allowNonFinite: true)', `${data[bad]} at ${shapeText(at)}`);
      }
    }

    const out = this.readOut(options.out, data, sizeOf(outShape), B);
    RecurrentLayer.checkMaskApart(options.mask, data, out);
    // The initial state is read before out.h and out.c are written: they may be the same arrays.
    let initial: { h: Float32Array; c: Float32Array | null } | null = null;
    if (options.initialState !== undefined) {
      initial = this.readState(options.initialState, 'initialState', B);
    } else if (this.stateful && this.state) {
      if (this.state.batch !== B) fail('ERR_LSTM_SHAPE', 'input', `batch ${this.state.batch} (a stateful layer keeps its batch size until resetStates())`, `batch ${B}`);
      initial = this.state;
    }
    const startAt = (given: Float32Array | undefined, from: Float32Array | null | undefined): Float32Array => {
      const a = given ?? new Float32Array(B * U);
      if (from) a.set(from);
      else if (given) a.fill(0);
      return a;
    };
    const h = startAt(out.h, initial?.h);
    const c = this.hasCell ? startAt(out.c, initial?.c) : null;

    const mask = options.mask === undefined ? null : readMask(options.mask, B, T);
    let lengths: Int32Array | null = null;
    if (options.sequenceLengths !== undefined) {
      const l = options.sequenceLengths;
      if (!(Array.isArray(l) || l instanceof Int32Array) || l.length !== B) fail('ERR_LSTM_SHAPE', 'sequenceLengths', `${B} integers (one per batch entry)`, describe(l));
      for (let b = 0; b < B; b++) {
        const v = l[b];
        if (!Number.isInteger(v) || v! < 0 || v! > T) fail('ERR_LSTM_SHAPE', `sequenceLengths[${b}]`, `an integer in [0, ${T}]`, describe(v));
      }
      lengths = Int32Array.from(l);
    }
    const buffers: ForwardBuffers = {
      batch: B,
      steps: T,
      flags: this.flags,
      input: data,
      h,
      c,
      output: out.output ?? new Float32Array(sizeOf(outShape)),
      mask,
      sequenceLengths: lengths,
      trace: tracing ? new Float32Array(traceNames.length * B * T * U) : null,
    };
    const finish = (): Result => {
      if (this.goBackwards && this.returnSequences && this.outputOrder === 'input') reverseSteps(buffers.output, B, T, U);
      if (this.stateful) this.state = { h: h.slice(), c: c ? c.slice() : null, batch: B };
      const result: RecurrentResult = { output: { data: buffers.output, shape: outShape }, h: { data: h, shape: [B, U] } };
      if (c) result.c = { data: c, shape: [B, U] };
      if (buffers.trace) {
        const n = B * T * U;
        const tr = buffers.trace;
        result.trace = Object.fromEntries(traceNames.map((name, k) => [name, { data: tr.subarray(k * n, (k + 1) * n), shape: [B, T, U] }]));
      }
      return result as unknown as Result;
    };
    return { buffers, finish };
  }

  /** The kernel's flags for this layer's calls. */
  private get flags(): number {
    return (this.returnSequences ? RETURN_SEQUENCES : 0) | (this.goBackwards ? GO_BACKWARDS : 0) | (this.zeroOutputForMask ? ZERO_OUTPUT_FOR_MASK : 0);
  }

  /**
   * @internal Backpropagation through time in the backend's engine, over a traced forward call of
   * this layer (its mask, lengths and whole trace array): d/d(input) [B,T,I] given d/d(output).
   * Null where the backend has no backward pass of its own (js: lib/explain/backprop.ts runs it).
   */
  backwardThroughTime(batch: number, steps: number, mask: Uint8Array | null, lengths: Int32Array | null, trace: Float32Array, gradOutput: Float32Array): Float32Array | null {
    const kernel = this.live();
    if (!kernel.backward) return null;
    const gradInput = new Float32Array(batch * steps * this.inputSize);
    kernel.backward({ batch, steps, flags: this.flags, mask, sequenceLengths: lengths, trace, weights: this.parts.weights, gradOutput, gradInput });
    return gradInput;
  }

  /** Runs the layer on [batch, steps, inputSize]; synchronous, for latency. */
  forward(input: TensorLike, options?: ForwardOptions<State>): Result {
    if (this.queued > 0) {
      // Its state is where the pending calls will leave it, which is not known yet.
      throw new LstmError('ERR_LSTM_CONFIG', `forward(): this stateful layer has ${this.queued} forwardAsync call(s) pending, and a stateful layer runs its calls in order: await them first, or use forwardAsync`);
    }
    const { buffers, finish } = this.prepare(input, options);
    this.live().forward(buffers);
    return finish();
  }

  /**
   * The same as forward, off the JS thread where the backend allows it (native: libuv's pool). A
   * stateful layer runs its calls one after another in the order they were made (each starts from
   * the state the one before left), so concurrent calls end as the same calls awaited in turn.
   */
  async forwardAsync(input: TensorLike, options?: ForwardOptions<State>): Promise<Result> {
    if (!this.stateful) return this.runAsync(input, options);
    return this.inOrder(() => this.runAsync(input, options));
  }

  private async runAsync(input: TensorLike, options?: ForwardOptions<State>): Promise<Result> {
    const { buffers, finish } = this.prepare(input, options);
    await this.live().forwardAsync(buffers);
    return finish();
  }

  /** A stateful layer's pending async work, in call order; a failure does not stop what follows. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;

  private inOrder<T>(work: () => Promise<T> | T): Promise<T> {
    this.queued++;
    const result = this.queue.then(work);
    this.queue = result.then(
      () => this.queued--,
      () => this.queued--,
    );
    return result;
  }

  /**
   * Stateful layers: forget the carried state (or set it). With forwardAsync calls pending, it
   * takes its place after them, as if they had been awaited.
   */
  resetStates(state?: State): void {
    this.live();
    if (!state) {
      if (this.queued > 0) void this.inOrder(() => (this.state = null));
      else this.state = null;
      return;
    }
    const h = readTensor((state as RecurrentState).h, 'resetStates(state).h');
    const B = h.shape?.[0] ?? h.data.length / this.units;
    if (!Number.isInteger(B) || B < 1) fail('ERR_LSTM_SHAPE', 'resetStates(state).h', `shape [batch, ${this.units}]`, describe((state as RecurrentState).h));
    const s = this.readState(state, 'resetStates(state)', B);
    const next = { h: s.h.slice(), c: s.c ? s.c.slice() : null, batch: B };
    if (this.queued > 0) void this.inOrder(() => (this.state = next));
    else this.state = next;
  }

  /** The state a stateful layer carries into its next call, or null. */
  get states(): { h: Tensor; c?: Tensor } | null {
    if (!this.state) return null;
    const shape = [this.state.batch, this.units];
    const out: { h: Tensor; c?: Tensor } = { h: { data: this.state.h.slice(), shape } };
    if (this.state.c) out.c = { data: this.state.c.slice(), shape: [...shape] };
    return out;
  }

  /** A session that runs one timestep per call with no allocation per step. */
  stream(batch = 1): RecurrentStream<State> {
    optionalInt(batch, 'stream(batch)');
    // The stream's input and state, the result it hands back and the kernel's gates, per batch entry.
    checkAllocation(`stream(batch) of ${batch}`, batch * (this.inputSize + (gatesOf(this.cell) + 4) * this.units));
    const s: RecurrentStream<State> = new RecurrentStream<State>(this.live().stream(batch), batch, this.inputSize, this.units, this.allowNonFinite, (state, what) => this.readState(state, what, batch), () => this.streams.delete(s));
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
export class RecurrentStream<State extends RecurrentState = RecurrentState> {
  private kernel: StreamKernel | null;
  private readonly out: Tensor;

  /** @internal Streams are made by `layer.stream()`. */
  constructor(
    kernel: StreamKernel,
    readonly batch: number,
    readonly inputSize: number,
    readonly units: number,
    private readonly allowNonFinite: boolean,
    private readonly readState: (state: unknown, what: string) => { h: Float32Array; c: Float32Array | null },
    private readonly onDispose: () => void,
  ) {
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
  get state(): { h: Tensor; c?: Tensor } {
    const k = this.live();
    const shape = [this.batch, this.units];
    const out: { h: Tensor; c?: Tensor } = { h: { data: k.h.slice(), shape } };
    if (k.c) out.c = { data: k.c.slice(), shape: [...shape] };
    return out;
  }

  setState(state: State): void {
    const k = this.live();
    const s = this.readState(state, 'setState(state)');
    k.setState(s.h, s.c);
  }

  reset(): void {
    const k = this.live();
    const zeros = new Float32Array(this.batch * this.units);
    k.setState(zeros, k.c ? zeros : null);
  }

  /** @internal Copies of some rows' state (h, then c, per row), for restoreRows. */
  saveRows(rows: readonly number[]): Float32Array[] {
    const k = this.live();
    const U = this.units;
    const parts = k.c ? [k.h, k.c] : [k.h];
    const saved = new Float32Array(rows.length * parts.length * U);
    rows.forEach((row, i) => parts.forEach((part, p) => saved.set(part.subarray(row * U, (row + 1) * U), (i * parts.length + p) * U)));
    return [saved];
  }

  /** @internal Puts rows' state back as saveRows copied it, or zeroes it (null); the other rows keep theirs. */
  restoreRows(rows: readonly number[], saved: readonly Float32Array[] | null): void {
    if (rows.length === 0) return;
    const k = this.live();
    const U = this.units;
    const parts = k.c ? [k.h.slice(), k.c.slice()] : [k.h.slice()];
    rows.forEach((row, i) =>
      parts.forEach((part, p) => {
        if (saved) part.set(saved[0]!.subarray((i * parts.length + p) * U, (i * parts.length + p + 1) * U), row * U);
        else part.fill(0, row * U, (row + 1) * U);
      }),
    );
    k.setState(parts[0]!, parts[1] ?? null);
  }

  dispose(): void {
    if (!this.kernel) return;
    this.kernel.dispose();
    this.kernel = null;
    this.onDispose();
  }
}

/** Reverses the steps of each row of a [B,T,U] sequence in place: processing order to input order. */
export function reverseSteps(data: Float32Array, B: number, T: number, U: number): void {
  const step = new Float32Array(U);
  for (let b = 0; b < B; b++) {
    for (let s = 0, e = T - 1; s < e; s++, e--) {
      const first = data.subarray((b * T + s) * U, (b * T + s + 1) * U);
      const last = data.subarray((b * T + e) * U, (b * T + e + 1) * U);
      step.set(first);
      first.set(last);
      last.set(step);
    }
  }
}
