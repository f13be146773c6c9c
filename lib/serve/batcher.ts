// Request batching: concurrent forward calls on one model run as one batched kernel call, and each
// caller gets its own rows back (graphql/dataloader's idea, with Triton's maximum queue delay).
import { Bidirectional, type BidirectionalForwardOptions } from '../bidirectional.js';
import { Dense } from '../dense.js';
import { Embedding } from '../embedding.js';
import { describe, fail, LstmError } from '../errors.js';
import { Gru, type GruForwardOptions } from '../gru.js';
import { Lstm, type ForwardOptions as LstmForwardOptions } from '../lstm.js';
import { checkOptions, optionalInt, readMask } from '../recurrent.js';
import { Sequential, type SequentialForwardOptions } from '../sequential.js';
import { firstNonFinite, readShaped, readTensor, type Tensor, type TensorLike } from '../tensor.js';
import { later } from './schedule.js';

/** What a batcher serves: a recurrent layer, a Bidirectional, or a Sequential stack. */
export type BatchModel = Lstm | Gru | Bidirectional | Sequential;

/** The forward options of a model, and what its forward returns. */
export type BatchOptions<M extends BatchModel> = M extends Sequential ? SequentialForwardOptions : M extends Bidirectional ? BidirectionalForwardOptions : M extends Lstm ? LstmForwardOptions : GruForwardOptions;
export type BatchResult<M extends BatchModel> = Awaited<ReturnType<M['forwardAsync']>>;

export interface BatcherOptions {
  /** The most rows (batch entries, summed over the requests) one kernel call takes; default 64. */
  maxBatch?: number;
  /** How long the first request of a batch waits for others, in ms; default 0 (the calls of one turn of the event loop). */
  maxDelayMs?: number;
}

export interface Batcher<M extends BatchModel> {
  /** The model's forwardAsync(x, options), run together with the calls made around the same time. */
  forward(x: TensorLike, options?: BatchOptions<M>): Promise<BatchResult<M>>;
  /** Runs what is queued, resolves when every accepted call has settled; later calls are refused (ERR_LSTM_DISPOSED). */
  close(): Promise<void>;
  /** Calls accepted, and the model calls that served them (fewer when calls were batched). */
  readonly stats: { requests: number; modelCalls: number };
}

/** A call the batcher could read: its rows, steps and options as arrays, ready to be stacked. */
interface Request {
  input: TensorLike;
  options: object | undefined;
  resolve: (result: never) => void;
  reject: (error: unknown) => void;
  /** Calls of one key can share a kernel call. */
  key: string;
  data: Float32Array;
  rows: number;
  steps: number;
  mask: Uint8Array | null;
  lengths: Int32Array | null;
  /** One [rows, units] array per state part (h, c; per direction for a Bidirectional), or null. */
  state: Float32Array[] | null;
}

const LAYER_KEYS = ['initialState', 'mask', 'sequenceLengths', 'shape'];

/**
 * `createBatcher(model, { maxBatch, maxDelayMs })`: concurrent `forward` calls run as one call of
 * `model.forwardAsync` (native: off the JS thread), each caller getting its own rows.
 *
 * Calls of different lengths share a call as sequence lengths over zero padding where that gives
 * the same numbers (no mask, and a stack of recurrent, Bidirectional and Dense layers); otherwise
 * only calls of the same length are batched. A call the batcher cannot batch (tracing, `out`
 * arrays, more rows than maxBatch, or input the model would refuse) runs on its own, so that one
 * bad call gets its own error and never fails the others.
 */
export function createBatcher<M extends BatchModel>(model: M, options: BatcherOptions = {}): Batcher<M> {
  checkOptions(options, ['maxBatch', 'maxDelayMs']);
  const maxBatch = optionalInt(options.maxBatch, 'options.maxBatch') ?? 64;
  const maxDelayMs = options.maxDelayMs ?? 0;
  if (typeof maxDelayMs !== 'number' || !(maxDelayMs >= 0) || !Number.isFinite(maxDelayMs)) fail('ERR_LSTM_CONFIG', 'options.maxDelayMs', 'a finite number of milliseconds >= 0', describe(options.maxDelayMs));
  return new RequestBatcher(model, maxBatch, maxDelayMs);
}

/** The recurrent layers of a model, which decide what batching may do. */
function recurrentLayers(model: BatchModel): (Lstm | Gru)[] {
  const layers = model instanceof Sequential ? model.layers : [model];
  return layers.flatMap((l) => (l instanceof Bidirectional ? [l.forwardLayer, l.backwardLayer] : l instanceof Lstm || l instanceof Gru ? [l] : []));
}

/**
 * Whether a call padded with zero steps past its end, run with sequence lengths and cut back to its
 * steps, gives what it gives alone: true for recurrent, Bidirectional and Dense layers (steps past a
 * row's length keep its state and come out as zeros); not for a goBackwards layer of its own (it
 * processes the padding first, so its sequence starts with it, SPEC's one rule), nor for layers
 * whose output depends on the number of steps or on masks computed from the values.
 */
function padsSafely(model: BatchModel): boolean {
  const layers = model instanceof Sequential ? model.layers : [model];
  if (model instanceof Sequential && model.maskValue !== undefined) return false;
  return layers.every((l) => ((l instanceof Lstm || l instanceof Gru) && !l.goBackwards) || l instanceof Bidirectional || l instanceof Dense);
}

class RequestBatcher<M extends BatchModel> implements Batcher<M> {
  /** The calls waiting, by key (calls of one key can share a kernel call). */
  private readonly batches = new Map<string, { requests: Request[]; rows: number }>();
  private scheduled = false;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pads: boolean;
  /** Features per step of the input (1 for a model of ids, whose input is [batch, steps]). */
  private readonly width: number;
  private readonly ids: boolean;
  /** Units of each initial state part, in the order Request.state holds them. */
  private readonly stateParts: { path: string[]; units: number }[];
  readonly stats = { requests: 0, modelCalls: 0 };

  constructor(private readonly model: M, private readonly maxBatch: number, private readonly maxDelayMs: number) {
    if (!(model instanceof Sequential || model instanceof Bidirectional || model instanceof Lstm || model instanceof Gru)) {
      fail('ERR_LSTM_CONFIG', 'createBatcher(model)', 'an Lstm, Gru, Bidirectional or Sequential', describe(model));
    }
    const stateful = recurrentLayers(model).find((l) => l.stateful);
    if (stateful) throw new LstmError('ERR_LSTM_UNSUPPORTED', `createBatcher(): layer '${stateful.name}' is stateful, and batching mixes the calls of many callers; use a layer with stateful: false`);
    if (model instanceof Sequential && model.timeMajor) throw new LstmError('ERR_LSTM_UNSUPPORTED', 'createBatcher(): this Sequential is time-major; batching stacks calls batch-major (use a batch-major model)');
    this.pads = padsSafely(model);
    const first = model instanceof Sequential ? model.layers[0]! : model;
    this.ids = first instanceof Embedding;
    this.width = (first as Lstm | Gru | Bidirectional | Dense | Embedding).inputSize; // a Sequential never starts with a reshaping layer
    const cellParts = (l: Lstm | Gru, prefix: string[]) => (l.cell === 'lstm' ? ['h', 'c'] : ['h']).map((part) => ({ path: [...prefix, part], units: l.units }));
    this.stateParts =
      model instanceof Bidirectional ? [...cellParts(model.forwardLayer, ['forward']), ...cellParts(model.backwardLayer, ['backward'])]
      : model instanceof Sequential ? []
      : cellParts(model, []);
  }

  forward(input: TensorLike, options?: BatchOptions<M>): Promise<BatchResult<M>> {
    if (this.closed) return Promise.reject(new LstmError('ERR_LSTM_DISPOSED', 'batcher.forward(): this batcher has been closed; create another'));
    this.stats.requests++;
    return new Promise<BatchResult<M>>((resolve, reject) => {
      const request = this.read(input, options);
      const call = { input, options, resolve: resolve as (r: never) => void, reject };
      if (!request) {
        this.track(this.runAlone(call));
        return;
      }
      this.enqueue({ ...call, ...request });
    });
  }

  /**
   * Adds a call to the batch of its key; a batch runs when the next call would not fit, when it is
   * full, or maxDelayMs after the first call was queued.
   */
  private enqueue(request: Request): void {
    let batch = this.batches.get(request.key);
    if (batch && batch.rows + request.rows > this.maxBatch) {
      this.run(request.key);
      batch = undefined;
    }
    if (!batch) this.batches.set(request.key, (batch = { requests: [], rows: 0 }));
    batch.requests.push(request);
    batch.rows += request.rows;
    if (batch.rows === this.maxBatch) this.run(request.key);
    else if (!this.scheduled) {
      this.scheduled = true;
      later(() => this.flush(), this.maxDelayMs);
    }
  }

  /** Starts the batch of one key. */
  private run(key: string): void {
    this.track(this.runBatch(this.batches.get(key)!.requests));
    this.batches.delete(key);
  }

  /** Starts every batch. */
  private flush(): void {
    this.scheduled = false;
    for (const key of [...this.batches.keys()]) this.run(key);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    // A failed batch reruns its calls alone, which adds work while this waits.
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /**
   * A call as arrays the batch can stack, or null for one to run alone: what is not plainly a call
   * this model accepts is left to the model, which refuses it with its own error.
   */
  private read(input: TensorLike, options: object | undefined): Omit<Request, 'input' | 'options' | 'resolve' | 'reject'> | null {
    try {
      const o = (options ?? {}) as { initialState?: unknown; mask?: TensorLike | Uint8Array; sequenceLengths?: ArrayLike<number>; shape?: readonly number[] };
      checkOptions(o, this.model instanceof Sequential ? ['mask', 'sequenceLengths'] : LAYER_KEYS);
      const t = readTensor(input, 'input');
      if (o.shape && t.shape) return null; // the model checks that the two agree
      const shape = o.shape ?? t.shape;
      if (!shape || shape.length !== (this.ids ? 2 : 3) || (!this.ids && shape[2] !== this.width) || t.data.length !== shape[0]! * shape[1]! * this.width) return null;
      const [rows, steps] = shape as [number, number];
      if (rows < 1 || steps < 1 || rows > this.maxBatch || firstNonFinite(t.data) >= 0) return null;
      const mask = o.mask === undefined ? null : readMask(o.mask, rows, steps);
      let lengths: Int32Array | null = null;
      if (o.sequenceLengths !== undefined) {
        const l = o.sequenceLengths;
        if (!(Array.isArray(l) || l instanceof Int32Array) || l.length !== rows || !Array.from(l).every((v) => Number.isInteger(v) && v >= 0 && v <= steps)) return null;
        lengths = Int32Array.from(l);
      }
      let state: Float32Array[] | null = null;
      if (o.initialState !== undefined) {
        state = this.stateParts.map(({ path, units }) => {
          const value = path.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], o.initialState);
          return readShaped(value, 'initialState', [rows, units]);
        });
        if (state.some((s) => firstNonFinite(s) >= 0)) return null;
      }
      // Masked calls batch with masked calls of their length: a masked step past a row's end would
      // not leave its last output alone (zeroOutputForMask), and the model's masks by value need the real steps.
      const key = mask ? `mask ${steps}` : this.pads ? 'lengths' : `lengths ${steps}`;
      return { key, data: t.data, rows, steps, mask, lengths, state };
    } catch (error) {
      if (error instanceof LstmError) return null;
      throw error;
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async runAlone(call: Pick<Request, 'input' | 'options' | 'resolve' | 'reject'>): Promise<void> {
    this.stats.modelCalls++;
    try {
      call.resolve((await this.model.forwardAsync(call.input as never, call.options as never)) as never);
    } catch (error) {
      call.reject(error);
    }
  }

  private async runBatch(batch: Request[]): Promise<void> {
    if (batch.length === 1) return this.runAlone(batch[0]!);
    const B = batch.reduce((n, r) => n + r.rows, 0);
    const T = Math.max(...batch.map((r) => r.steps));
    const W = this.width;
    const input = new Float32Array(B * T * W);
    const masked = batch[0]!.mask !== null; // a batch's calls are all masked or none is
    const mask = masked ? new Uint8Array(B * T) : null;
    const padded = batch.some((r) => r.steps < T || r.lengths);
    const lengths = padded ? new Int32Array(B) : null;
    const states = batch.some((r) => r.state) ? this.stateParts.map(({ units }) => new Float32Array(B * units)) : null;
    let row = 0;
    for (const r of batch) {
      for (let b = 0; b < r.rows; b++) input.set(r.data.subarray(b * r.steps * W, (b + 1) * r.steps * W), (row + b) * T * W);
      if (mask) mask.set(r.mask!, row * T); // masked calls share their length: no padding
      if (lengths) lengths.set(r.lengths ?? new Int32Array(r.rows).fill(r.steps), row);
      if (states && r.state) states.forEach((s, k) => s.set(r.state![k]!, row * this.stateParts[k]!.units));
      row += r.rows;
    }
    const options: Record<string, unknown> = {};
    if (mask) options.mask = mask;
    if (lengths) options.sequenceLengths = lengths;
    if (states) options.initialState = nest(this.stateParts.map((p, k) => [p.path, { data: states[k]!, shape: [B, p.units] }]));
    let result: unknown;
    try {
      this.stats.modelCalls++;
      result = await this.model.forwardAsync({ data: input, shape: this.ids ? [B, T] : [B, T, W] }, options as never);
    } catch {
      // Every call was read as one the model accepts, so this is rare (ids out of range, say): each
      // call runs alone and gets its own result or error.
      await Promise.all(batch.map((r) => this.runAlone(r)));
      return;
    }
    row = 0;
    for (const r of batch) {
      r.resolve(rowsOf(result, B, row, r.rows, T, r.steps) as never);
      row += r.rows;
    }
  }
}

/** { forward: { h }, ... } from [['forward', 'h'], value] pairs. */
function nest(entries: [string[], unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of entries) {
    let at = out;
    path.slice(0, -1).forEach((key) => (at = (at[key] ??= {}) as Record<string, unknown>));
    at[path[path.length - 1]!] = value;
  }
  return out;
}

const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && (v as Tensor).data instanceof Float32Array && Array.isArray((v as Tensor).shape);

/**
 * One call's part of a batched result, in the result's own structure: rows [row, row + rows) of
 * every tensor, and of a sequence [B, T, ...] its first `steps` steps (past them is padding: zeros).
 */
function rowsOf(value: unknown, B: number, row: number, rows: number, T: number, steps: number): unknown {
  if (isTensor(value)) {
    if (value.shape[0] !== B) return value;
    const rowSize = value.data.length / B;
    const sequence = value.shape.length >= 3 && value.shape[1] === T;
    const keep = sequence ? (rowSize / T) * steps : rowSize;
    const data = new Float32Array(rows * keep);
    for (let b = 0; b < rows; b++) data.set(value.data.subarray((row + b) * rowSize, (row + b) * rowSize + keep), b * keep);
    return { data, shape: sequence ? [rows, steps, ...value.shape.slice(2)] : [rows, ...value.shape.slice(1)] };
  }
  if (Array.isArray(value)) return value.map((v) => rowsOf(v, B, row, rows, T, steps));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rowsOf(v, B, row, rows, T, steps)]));
  return value;
}
