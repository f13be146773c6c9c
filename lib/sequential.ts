import { Bidirectional } from './bidirectional.js';
import { AveragePooling1D, Conv1D, MaxPooling1D, ZeroPadding1D, type Conv1DStream } from './conv.js';
import { Dense } from './dense.js';
import { Embedding } from './embedding.js';
import { describe, fail, LstmError } from './errors.js';
import { Gru } from './gru.js';
import { Lstm } from './lstm.js';
import { BatchNormalization, LayerNormalization } from './normalization.js';
import { Flatten, GlobalPooling1D, RepeatVector, threeAxes } from './sequence-ops.js';
import { checkOptions, readMask, refuseNull, type RecurrentStream } from './recurrent.js';
import { readTensor, shapeText, sizeOf, type Tensor, type TensorLike } from './tensor.js';

/** Embedding only first; Conv1D, pooling and normalisation are the front end of CNN-LSTM models. */
export type SequentialLayer =
  | Lstm | Gru | Bidirectional | Dense | Embedding | RepeatVector | Flatten | GlobalPooling1D
  | Conv1D | MaxPooling1D | AveragePooling1D | ZeroPadding1D | BatchNormalization | LayerNormalization;
/** Layers without state: a Dense, Embedding or normalisation works on each step alone. */
const stateless = (l: unknown): l is Dense | Embedding | BatchNormalization | LayerNormalization =>
  l instanceof Dense || l instanceof Embedding || l instanceof BatchNormalization || l instanceof LayerNormalization;
/** Windows over the steps: they change the number of steps, so no mask or sequence lengths pass them. */
type StepWindow = Conv1D | MaxPooling1D | AveragePooling1D | ZeroPadding1D;
const isStepWindow = (l: unknown): l is StepWindow => l instanceof Conv1D || l instanceof MaxPooling1D || l instanceof AveragePooling1D || l instanceof ZeroPadding1D;
/** Layers that keep the features per step whatever they get (no input size of their own). */
const keepsSize = (l: SequentialLayer): boolean =>
  l instanceof RepeatVector || l instanceof GlobalPooling1D || l instanceof MaxPooling1D || l instanceof AveragePooling1D || l instanceof ZeroPadding1D;
/** Layers that reshape the sequence (no weights, the whole sequence at once). */
type SequenceOp = RepeatVector | Flatten | GlobalPooling1D;
const isSequenceOp = (l: SequentialLayer): l is SequenceOp => l instanceof RepeatVector || l instanceof Flatten || l instanceof GlobalPooling1D;

export interface SequentialForwardOptions {
  /** Collect every recurrent layer's gates. */
  trace?: boolean;
  /** [B,T] Keras mask ([T,B] for a time-major model), handed to every recurrent layer that sees the sequence. */
  mask?: TensorLike | Uint8Array;
  sequenceLengths?: readonly number[] | Int32Array;
}

export interface SequentialOptions {
  /**
   * Keras' Masking layer in front of the model: a step whose features all equal maskValue is
   * masked for every recurrent layer (forward's `mask`, when given, takes its place).
   */
  maskValue?: number;
  /**
   * The model takes [steps, batch, features] (ids [steps, batch], masks [steps, batch]) and
   * returns sequences as [steps, batch, units]: ONNX's default layout, PyTorch's
   * batch_first=False. Traces stay [batch, steps, units].
   */
  timeMajor?: boolean;
}

/** @internal The input of the layers after a leading Embedding, and the mask the model derived. */
export interface PreparedInput {
  x: TensorLike;
  mask: TensorLike | Uint8Array | undefined;
  /** The first layer to run: 1 after an Embedding, which prepare() applied. */
  from: number;
}

/** @internal What one layer took and gave in a pass. */
export interface LayerPass {
  layer: SequentialLayer;
  input: Tensor;
  output: Tensor;
  mask: TensorLike | Uint8Array | undefined;
  sequenceLengths: readonly number[] | Int32Array | undefined;
  /** GlobalPooling1D: the steps it averaged. */
  poolingMask: Uint8Array | undefined;
  /** A recurrent layer's traced result; a Bidirectional's forwardDirections(). */
  result: unknown;
}

export interface SequentialResult {
  output: Tensor;
  /** One entry per recurrent layer, in order. */
  trace?: unknown[];
}

/**
 * The steps a pooling layer averages, [B*T] bytes: from the mask (a tensor, or bytes of the right
 * size), else from the sequence lengths (steps past a row's length are padding), else none.
 */
function poolingMask(mask: TensorLike | Uint8Array | undefined, lengths: readonly number[] | Int32Array | undefined, x: TensorLike): Uint8Array | undefined {
  const [B, T] = (x as Tensor).shape as [number, number];
  if (mask !== undefined) return readMask(mask, B, T);
  if (lengths === undefined) return undefined;
  const out = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) out.fill(1, b * T, b * T + Math.min(T, Math.max(0, lengths[b] ?? T)));
  return out;
}

/** [A, B, ...rest] -> [B, A, ...rest]: between time-major and batch-major. */
function swapLeadingAxes(data: ArrayLike<number>, shape: readonly number[], what: string): Tensor {
  if (shape.length < 2) fail('ERR_LSTM_SHAPE', what, 'at least two axes [steps, batch, ...] (time-major)', `shape ${shapeText(shape)}`);
  const [A, B] = shape as [number, number];
  const inner = sizeOf(shape.slice(2));
  const out = new Float32Array(A * B * inner);
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < inner; k++) out[(b * A + a) * inner + k] = data[(a * B + b) * inner + k]!;
    }
  }
  return { data: out, shape: [B, A, ...shape.slice(2)] };
}

/** @internal Keras' Masking: [B,T] with 0 where every feature of the step equals `value`. */
export function stepMask(t: { data: Float32Array; shape: number[] | null }, value: number): Uint8Array {
  const [B, T, F] = threeAxes(t, 'masked by value').shape;
  const mask = new Uint8Array(B * T);
  value = Math.fround(value); // compared in float32, as Keras compares it with the input
  for (let s = 0; s < B * T; s++) {
    for (let f = 0; f < F; f++) {
      if (t.data[s * F + f] !== value) {
        mask[s] = 1;
        break;
      }
    }
  }
  return mask;
}

/**
 * Features per step each layer passes on, for checking that layers chain: RepeatVector and
 * pooling keep them, Flatten's depend on the number of steps (checked when the Dense after it runs).
 */
function chainedSizes(layers: readonly SequentialLayer[]): (number | null)[] {
  let size: number | null = null;
  return layers.map((l) => {
    if (l instanceof Flatten) size = null;
    else if (!keepsSize(l)) size = l instanceof Bidirectional ? l.outputSize : (l as { units: number }).units;
    return size;
  });
}

/** Layers run in order on one input: Keras' Sequential. */
export class Sequential {
  private constructor(readonly layers: readonly SequentialLayer[], readonly maskValue: number | undefined, readonly timeMajor: boolean) {}

  static async create(layers: SequentialLayer[], options: SequentialOptions = {}): Promise<Sequential> {
    checkOptions(options, ['maskValue', 'timeMajor']);
    if (options.maskValue !== undefined && (typeof options.maskValue !== 'number' || Number.isNaN(options.maskValue))) {
      fail('ERR_LSTM_CONFIG', 'options.maskValue', 'a number', describe(options.maskValue));
    }
    if (!Array.isArray(layers) || layers.length === 0) fail('ERR_LSTM_CONFIG', 'layers', 'a non-empty array of layers', describe(layers));
    layers.forEach((layer, k) => {
      const frontEnd = isStepWindow(layer) || layer instanceof BatchNormalization || layer instanceof LayerNormalization;
      if (!(layer instanceof Lstm || layer instanceof Gru || layer instanceof Bidirectional || layer instanceof Dense || frontEnd || (k > 0 && isSequenceOp(layer)) || (layer instanceof Embedding && k === 0))) {
        fail('ERR_LSTM_CONFIG', `layers[${k}]`, `an Lstm, Gru, Bidirectional, Dense, Conv1D, MaxPooling1D, AveragePooling1D, ZeroPadding1D, BatchNormalization, LayerNormalization, RepeatVector, Flatten or GlobalPooling1D layer${k === 0 ? ' (not a reshaping one first), or an Embedding' : ' (an Embedding only first)'}`, describe(layer));
      }
    });
    const sizes = chainedSizes(layers);
    layers.forEach((layer, k) => {
      const given = sizes[k - 1];
      if (k > 0 && !isSequenceOp(layer) && !keepsSize(layer) && given !== null && given !== undefined && (layer as { inputSize: number }).inputSize !== given) {
        fail('ERR_LSTM_CONFIG', `layers[${k}]`, `input size ${given} (the previous layer's output)`, `input size ${(layer as { inputSize: number }).inputSize}`);
      }
      if (layer instanceof Bidirectional && layer.mergeMode === null) fail('ERR_LSTM_CONFIG', `layers[${k}].mergeMode`, "a merge mode (a Sequential passes one tensor on)", 'null');
    });
    if (options.maskValue !== undefined && layers[0] instanceof Embedding) fail('ERR_LSTM_CONFIG', 'options.maskValue', 'no mask value for a model of ids (an Embedding masks with maskZero)', String(options.maskValue));
    if (options.timeMajor !== undefined && typeof options.timeMajor !== 'boolean') fail('ERR_LSTM_CONFIG', 'options.timeMajor', 'true or false', describe(options.timeMajor));
    // getLayer finds a layer by its name: as Keras, a model's layers have distinct ones.
    layers.forEach((layer, k) => {
      const first = layers.findIndex((l) => l.name === layer.name);
      if (first !== k) fail('ERR_LSTM_CONFIG', `layers[${k}].name`, `a name no other layer of the model has`, `'${layer.name}', the name of layers[${first}] too`);
    });
    return new Sequential(layers, options.maskValue, options.timeMajor ?? false);
  }

  /** The layer of that name (the one `model.layers` holds); ERR_LSTM_CONFIG listing the names there are when none has it. */
  getLayer(name: string): SequentialLayer {
    const layer = this.layers.find((l) => l.name === name);
    if (layer === undefined) {
      fail('ERR_LSTM_CONFIG', 'getLayer(name)', `the name of one of the model's layers (${this.layers.map((l) => `'${l.name}'`).join(', ')})`, describe(name));
    }
    return layer;
  }

  forward(input: TensorLike, options: SequentialForwardOptions = {}): SequentialResult {
    return this.result(this.runLayers(...this.start(input, options)), options);
  }

  /** The same as forward, each recurrent layer off the JS thread where its backend allows it (native: libuv's pool). */
  async forwardAsync(input: TensorLike, options: SequentialForwardOptions = {}): Promise<SequentialResult> {
    return this.result(await driveAsync(this.layerCalls(...this.start(input, options))), options);
  }

  private start(input: TensorLike, options: SequentialForwardOptions): [PreparedInput, { trace?: boolean; sequenceLengths?: readonly number[] | Int32Array }] {
    checkOptions(options, ['trace', 'mask', 'sequenceLengths']);
    refuseNull(options, 'forward options');
    return [this.prepare(input, options.mask), { trace: options.trace, sequenceLengths: options.sequenceLengths }];
  }

  private result(run: { output: Tensor; traces: unknown[] }, options: SequentialForwardOptions): SequentialResult {
    let output = run.output;
    if (this.timeMajor && output.shape.length === 3) output = swapLeadingAxes(output.data, output.shape, 'output');
    const result: SequentialResult = { output };
    if (options.trace) result.trace = run.traces;
    return result;
  }

  /**
   * @internal The input as the layers after an Embedding take it: batch-major, ids looked up, with
   * the mask the model derives (Masking, maskZero) unless one is given.
   */
  prepare(input: TensorLike, givenMask?: TensorLike | Uint8Array): PreparedInput {
    let x: TensorLike = input;
    let mask = givenMask;
    if (this.timeMajor) {
      // The layers run batch-major: the input (and a given mask) turn around here, the output in forward.
      const t = readTensor(input, 'input');
      x = swapLeadingAxes(t.data, t.shape ?? [t.data.length], 'input');
      if (mask !== undefined) {
        const [B, T] = x.shape as [number, number];
        mask = Uint8Array.from(swapLeadingAxes(readMask(mask, T, B), [T, B], 'mask').data);
      }
    }
    if (mask === undefined && this.maskValue !== undefined) {
      const t = readTensor(x, 'input');
      x = t as Tensor;
      mask = stepMask(t, this.maskValue);
    }
    const first = this.layers[0];
    if (!(first instanceof Embedding)) return { x, mask, from: 0 };
    return { ...embed(first, x, mask), from: 1 };
  }

  /**
   * @internal Runs the layers from `prepared.from` on, batch-major, in place. With `passes`, records
   * what each layer took and gave (recurrent layers traced), as attribution needs to backpropagate.
   */
  runLayers(prepared: PreparedInput, options: { trace?: boolean; sequenceLengths?: readonly number[] | Int32Array }, passes?: LayerPass[]): { output: Tensor; traces: unknown[] } {
    return drive(this.layerCalls(prepared, options, passes));
  }

  /**
   * The stack, written once for forward, forwardAsync and attribution: yields each recurrent
   * layer's call and takes its result back, so that one caller runs it in place and another awaits it.
   */
  private *layerCalls(prepared: PreparedInput, options: { trace?: boolean; sequenceLengths?: readonly number[] | Int32Array }, passes?: LayerPass[]): LayerRun<{ output: Tensor; traces: unknown[] }> {
    let flow: Flow = { x: prepared.x, mask: prepared.mask, sequenceLengths: options.sequenceLengths };
    const traces: unknown[] = [];
    for (let k = prepared.from; k < this.layers.length; k++) {
      const layer = this.layers[k]!;
      const before = flow;
      let call: LayerCall;
      try {
        call = yield* callLayer(layer, flow, options.trace === true, passes !== undefined);
      } catch (error) {
        // Past the first layer, "input" is what the layer before passed on: say which layer it was.
        if (k === 0 || !(error instanceof LstmError)) throw error;
        throw new LstmError(error.code, `layers[${k}] (${layer.constructor.name}): ${error.message}`, { cause: error });
      }
      if (options.trace && call.recurrent) traces.push(call.trace);
      flow = call.flow;
      passes?.push({ layer, input: before.x as Tensor, output: flow.x as Tensor, mask: before.mask, sequenceLengths: before.sequenceLengths, poolingMask: call.pooled, result: call.result });
    }
    return { output: flow.x as Tensor, traces };
  }

  /** Steps the whole stack one timestep at a time (no Bidirectional layer). */
  stream(batch = 1): SequentialStream {
    if (this.maskValue !== undefined || (this.layers[0] instanceof Embedding && this.layers[0].maskZero)) {
      throw new LstmError('ERR_LSTM_UNSUPPORTED', 'Sequential.stream(): this model masks steps by value (maskValue or maskZero), which stepping does not do; use forward()');
    }
    const steps = this.layers.map((layer, k) => {
      if (layer instanceof Bidirectional || isSequenceOp(layer) || layer instanceof MaxPooling1D || layer instanceof AveragePooling1D || layer instanceof ZeroPadding1D) {
        const why = layer instanceof ZeroPadding1D ? ' (it adds steps of its own)' : isStepWindow(layer) ? ' (its windows give one output per strides steps, not one per step)' : '';
        throw new LstmError('ERR_LSTM_UNSUPPORTED', `Sequential.stream(): layers[${k}] is ${layer.constructor.name}, which needs the whole sequence${why}`);
      }
      return stateless(layer) ? layer : layer.stream(batch);
    });
    return new SequentialStream(steps, batch, (this.layers[0] as Lstm | Gru | Dense | Embedding | Conv1D).inputSize);
  }

  resetStates(): void {
    for (const l of this.layers) if (!(stateless(l) || isSequenceOp(l) || isStepWindow(l))) l.resetStates();
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

type StreamStep = Dense | Embedding | BatchNormalization | LayerNormalization | StatefulStep;
/** A step with state between steps: a recurrent layer's, or a causal Conv1D's window. */
type StatefulStep = RecurrentStream | Conv1DStream;

/** @internal A recurrent layer's call within the stack, for forward to run and forwardAsync to await. */
export interface RecurrentCall {
  layer: Lstm | Gru | Bidirectional;
  x: TensorLike;
  options: { trace?: boolean; mask?: TensorLike | Uint8Array; sequenceLengths?: readonly number[] | Int32Array };
  /** Attribution: a Bidirectional's directions' own results too (forwardDirections). */
  directions: boolean;
}
type LayerResult = { output: unknown; trace?: unknown };
type Outcome = { result: LayerResult } | { error: unknown };
/** @internal A run of layers that yields each recurrent layer's call and returns T. */
export type LayerRun<T> = Generator<RecurrentCall, T, LayerResult>;

/** Hands a layer call's result, or its error, back to the run (which names the layer that failed). */
const resume = <T>(run: LayerRun<T>, outcome: Outcome) => ('error' in outcome ? run.throw(outcome.error) : run.next(outcome.result));

/** @internal Runs every recurrent call of `run` in place. */
export function drive<T>(run: LayerRun<T>): T {
  let next = run.next();
  while (!next.done) {
    const { layer, x, options: o, directions } = next.value;
    let outcome: Outcome;
    try {
      outcome = { result: directions && layer instanceof Bidirectional ? layer.forwardDirections(x, o) : layer.forward(x, o) };
    } catch (error) {
      outcome = { error };
    }
    next = resume(run, outcome);
  }
  return next.value;
}

/** @internal Awaits every recurrent call of `run` off the JS thread (forwardAsync). */
export async function driveAsync<T>(run: LayerRun<T>): Promise<T> {
  let next = run.next();
  while (!next.done) {
    const { layer, x, options: o } = next.value;
    next = resume(run, await layer.forwardAsync(x, o).then((result): Outcome => ({ result }), (error: unknown): Outcome => ({ error })));
  }
  return next.value;
}

/** @internal What passes from one layer to the next: a tensor with the steps its mask and lengths describe. */
export interface Flow {
  x: TensorLike;
  mask: TensorLike | Uint8Array | undefined;
  sequenceLengths: readonly number[] | Int32Array | undefined;
}

/** @internal What one layer's call gave. */
export interface LayerCall {
  flow: Flow;
  /** Whether the layer is recurrent (it has a trace). */
  recurrent: boolean;
  trace: unknown;
  /** A recurrent layer's result (traced when recorded). */
  result: unknown;
  /** GlobalPooling1D: the steps it averaged. */
  pooled: Uint8Array | undefined;
}

/** @internal Ids [batch, steps] looked up, with the mask an Embedding with maskZero derives unless one is given. */
export function embed(layer: Embedding, input: TensorLike, mask: TensorLike | Uint8Array | undefined): { x: Tensor; mask: TensorLike | Uint8Array | undefined } {
  const ids = layer.ids(input);
  if (ids.shape.length !== 2) fail('ERR_LSTM_SHAPE', 'input', 'ids of shape [batch, steps]', `shape ${shapeText(ids.shape)}`);
  return { x: layer.lookup(ids), mask: mask === undefined && layer.maskZero ? layer.mask(ids) : mask };
}

/**
 * @internal One layer's call on what the layer before passed on, written once for Sequential and
 * Model: the mask and lengths reach each recurrent layer and end where a layer folds the steps away.
 * `record` traces recurrent layers for attribution.
 */
export function* callLayer(layer: SequentialLayer, flow: Flow, trace: boolean, record: boolean): LayerRun<LayerCall> {
  let { x, mask, sequenceLengths } = flow;
  let result: unknown;
  let traced: unknown;
  let pooled: Uint8Array | undefined;
  let recurrent = false;
  if (layer instanceof Embedding) {
    ({ x, mask } = embed(layer, x, mask));
  } else if (stateless(layer)) {
    x = layer.forward(x).output;
  } else if (isStepWindow(layer)) {
    if (mask !== undefined || sequenceLengths !== undefined) {
      throw new LstmError('ERR_LSTM_UNSUPPORTED', `${layer.constructor.name} changes the steps, so no mask or sequence lengths pass through it (Keras' Conv1D and pooling take no mask either): give none, or cut the padding off the input first`);
    }
    x = layer.forward(x).output;
  } else if (isSequenceOp(layer)) {
    pooled = layer instanceof GlobalPooling1D ? poolingMask(mask, sequenceLengths, x) : undefined;
    x = layer instanceof GlobalPooling1D ? layer.forward(x, pooled).output : layer.forward(x).output;
  } else {
    recurrent = true;
    const r = yield { layer, x, options: { trace: trace || record, mask, sequenceLengths }, directions: record };
    traced = r.trace;
    result = r;
    x = r.output as Tensor;
  }
  // The steps the mask and lengths describe end where a layer folds the sequence away (as
  // Keras drops the mask); a RepeatVector's new steps have none.
  if (isSequenceOp(layer) || (x as Tensor).shape.length === 2) {
    mask = undefined;
    sequenceLengths = undefined;
  }
  return { flow: { x, mask, sequenceLengths }, recurrent, trace: traced, result, pooled };
}

export class SequentialStream {
  /** @internal Streams are made by `model.stream()`. */
  constructor(private readonly steps: StreamStep[], readonly batch: number, readonly inputSize: number) {}

  /** x [batch, inputSize] (a model of ids: ids [batch]) -> the last layer's output [batch, out] for this timestep. */
  step(x: TensorLike): Tensor {
    let t: Tensor | TensorLike = x;
    for (const s of this.steps) {
      t = stateless(s) ? s.forward(t).output : s.step(t);
    }
    return t as Tensor;
  }

  reset(): void {
    for (const s of this.steps) if (!stateless(s)) s.reset();
  }

  private get recurrent(): StatefulStep[] {
    return this.steps.filter((s): s is StatefulStep => !stateless(s));
  }

  /** @internal Copies of some rows' state, one array per recurrent layer, for restoreRows. */
  saveRows(rows: readonly number[]): Float32Array[] {
    return this.recurrent.flatMap((s) => s.saveRows(rows));
  }

  /** @internal Puts rows' state back in every recurrent layer as saveRows copied it, or zeroes it (null). */
  restoreRows(rows: readonly number[], saved: readonly Float32Array[] | null): void {
    this.recurrent.forEach((s, k) => s.restoreRows(rows, saved ? [saved[k]!] : null));
  }

  dispose(): void {
    for (const s of this.steps) if (!stateless(s)) s.dispose();
  }
}
