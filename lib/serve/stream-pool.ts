// Stream pools: many independent streaming sessions, each a row of one batched stream, so that the
// steps pending across sessions run as one kernel step.
import { Embedding } from '../embedding.js';
import { describe, fail, LstmError } from '../errors.js';
import { Gru } from '../gru.js';
import { Lstm } from '../lstm.js';
import { checkOptions, optionalInt, type RecurrentStream } from '../recurrent.js';
import { Sequential, type SequentialStream } from '../sequential.js';
import { firstNonFinite, readShaped, type Tensor, type TensorLike } from '../tensor.js';
import { later } from './schedule.js';

/** What a stream pool steps: a recurrent layer or a Sequential stack that streams. */
export type StreamModel = Lstm | Gru | Sequential;

export interface StreamPoolOptions {
  /** The most sessions open at once (the rows of the batched stream). */
  capacity: number;
}

export interface StreamSession {
  /**
   * One timestep of this session: x [1, inputSize] (a model of ids: [1]) -> the model's output for
   * it, [1, units]. Steps of one session run in the order they were made. The output is the
   * caller's to keep, but its data may be a view of a buffer shared with other outputs: copy it
   * (`data.slice()`) before transferring its buffer to a worker.
   */
  step(x: TensorLike): Promise<Tensor>;
  /** Back to the zero state, after the steps already made. */
  reset(): void;
  /** Runs the steps already made, then frees the session's row; later steps are refused (ERR_LSTM_DISPOSED). */
  close(): Promise<void>;
}

export interface StreamPool {
  /** A new session, starting from the zero state; ERR_LSTM_RESOURCES when `capacity` sessions are open. */
  open(): StreamSession;
  /** Runs every pending step, closes the sessions and frees the batched stream; later opens are refused. */
  close(): Promise<void>;
  readonly capacity: number;
  /** Sessions open now. */
  readonly size: number;
  /** Batched steps run, and the session steps they carried. */
  readonly stats: { ticks: number; steps: number };
}

/**
 * `createStreamPool(model, { capacity })`: sessions opened and closed at any time, each holding its
 * state in one row of a batched `model.stream(capacity)`; the steps pending across sessions run as one
 * step of that stream (rows of sessions without a step keep their state), once the calls of the
 * current turn of the event loop are made.
 */
export function createStreamPool(model: StreamModel, options: StreamPoolOptions): StreamPool {
  checkOptions(options, ['capacity']);
  const capacity = optionalInt(options.capacity, 'options.capacity');
  if (capacity === undefined) fail('ERR_LSTM_CONFIG', 'options.capacity', 'an integer >= 1 (the most sessions open at once)', 'nothing');
  if (!(model instanceof Lstm || model instanceof Gru || model instanceof Sequential)) fail('ERR_LSTM_CONFIG', 'createStreamPool(model)', 'an Lstm, Gru or Sequential', describe(model));
  return new Pool(model, capacity);
}

type Pending = { step: Float32Array; resolve: (y: Tensor) => void; reject: (error: unknown) => void } | 'reset';

class Session implements StreamSession {
  /** Steps and resets not run yet, in order. */
  readonly queue: Pending[] = [];
  closing = false;
  private closed: Promise<void> | null = null;
  /** Resolves close() once the last pending step has run. */
  drained: (() => void) | null = null;

  constructor(private readonly pool: Pool, readonly row: number) {}

  step(x: TensorLike): Promise<Tensor> {
    if (this.closing) return Promise.reject(new LstmError('ERR_LSTM_DISPOSED', 'session.step(): this session has been closed; open another'));
    try {
      const step = this.pool.readStep(x);
      return new Promise((resolve, reject) => {
        this.queue.push({ step, resolve, reject });
        this.pool.schedule();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  reset(): void {
    if (this.closing) throw new LstmError('ERR_LSTM_DISPOSED', 'session.reset(): this session has been closed; open another');
    if (this.queue.length === 0) this.pool.zeroRow(this.row);
    else this.queue.push('reset');
  }

  close(): Promise<void> {
    this.closing = true;
    this.closed ??= this.pool.drain(this);
    return this.closed;
  }
}

class Pool implements StreamPool {
  private stream: RecurrentStream | SequentialStream | null;
  /** Rows no session holds, the lowest last (taken first). */
  private readonly free: number[];
  private readonly sessions = new Set<Session>();
  private readonly input: Float32Array;
  private readonly width: number;
  private readonly ids: Embedding | null;
  /** Rows of sessions opened or reset since the last step. */
  private readonly toZero = new Set<number>();
  private readonly outputs = new Slab();
  private scheduled = false;
  private closing = false;
  readonly stats = { ticks: 0, steps: 0 };

  constructor(model: StreamModel, readonly capacity: number) {
    this.stream = model.stream(capacity);
    const first = model instanceof Sequential ? model.layers[0]! : model;
    this.ids = first instanceof Embedding ? first : null;
    this.width = (first as Lstm | Gru | Embedding).inputSize; // Sequential.stream() refused any other first layer
    this.input = new Float32Array(capacity * this.width);
    this.free = Array.from({ length: capacity }, (_, k) => capacity - 1 - k);
  }

  get size(): number {
    return this.sessions.size;
  }

  open(): StreamSession {
    if (this.closing || !this.stream) throw new LstmError('ERR_LSTM_DISPOSED', 'pool.open(): this stream pool has been closed; create another');
    const row = this.free.pop();
    if (row === undefined) throw new LstmError('ERR_LSTM_RESOURCES', `pool.open(): all ${this.capacity} sessions of this pool are open; close one, or create the pool with a larger capacity`);
    // A row is zeroed when taken (before its next step), not when freed: a closing session keeps its row as is.
    this.zeroRow(row);
    const session = new Session(this, row);
    this.sessions.add(session);
    return session;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.sessions].map((s) => s.close()));
    this.stream?.dispose();
    this.stream = null;
  }

  /** One session's step input, checked here so that a bad one fails alone. */
  readStep(x: TensorLike): Float32Array {
    const data = readShaped(x, 'step(x)', this.ids ? [1] : [1, this.width]);
    if (this.ids) this.ids.ids(data);
    else if (firstNonFinite(data) >= 0) fail('ERR_LSTM_INPUT', 'step(x)', 'finite values', 'NaN or infinity');
    return data;
  }

  /** Zeroes a row's state before the next step (one write for all the rows a tick zeroes). */
  zeroRow(row: number): void {
    this.toZero.add(row);
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    later(() => this.tick(), 0);
  }

  /** Frees a closing session's row now, or once its pending steps have run. */
  drain(session: Session): Promise<void> {
    if (session.queue.length > 0) return new Promise<void>((resolve) => (session.drained = resolve));
    this.release(session);
    return Promise.resolve();
  }

  private release(session: Session): void {
    this.sessions.delete(session);
    this.free.push(session.row);
    session.drained?.();
  }

  /** One batched step: the first pending step of every session, resets before it applied. */
  private tick(): void {
    this.scheduled = false;
    const stream = this.stream;
    if (!stream) return;
    const stepping: { session: Session; step: Exclude<Pending, 'reset'> }[] = [];
    const idle: number[] = [];
    for (const session of this.sessions) {
      while (session.queue[0] === 'reset') {
        session.queue.shift();
        this.zeroRow(session.row);
      }
      const step = session.queue.shift() as Exclude<Pending, 'reset'> | undefined;
      if (step) stepping.push({ session, step });
      else idle.push(session.row);
    }
    if (stepping.length > 0) {
      if (this.toZero.size > 0) stream.restoreRows([...this.toZero], null);
      this.toZero.clear();
      this.run(stream, stepping, idle);
    }
    for (const session of [...this.sessions]) {
      if (session.queue.length > 0) this.schedule();
      else if (session.closing) this.release(session);
    }
  }

  private run(stream: RecurrentStream | SequentialStream, stepping: { session: Session; step: Exclude<Pending, 'reset'> }[], idle: number[]): void {
    const saved = idle.length > 0 ? stream.saveRows(idle) : null;
    this.input.fill(0);
    for (const { session, step } of stepping) this.input.set(step.step, session.row * this.width);
    let output: Tensor;
    try {
      output = stream.step({ data: this.input, shape: this.ids ? [this.capacity] : [this.capacity, this.width] });
    } catch (error) {
      // Every input was checked: what fails here (a disposed model) fails every step alike.
      for (const { step } of stepping) step.reject(error);
      return;
    } finally {
      if (saved) stream.restoreRows(idle, saved);
    }
    this.stats.ticks++;
    this.stats.steps += stepping.length;
    const size = output.data.length / this.capacity;
    const shape = output.shape.slice(1);
    for (const { session, step } of stepping) {
      const data = this.outputs.take(size);
      data.set(output.data.subarray(session.row * size, (session.row + 1) * size));
      step.resolve({ data, shape: [1, ...shape] });
    }
  }
}

/**
 * Float32Arrays carved one after another from shared blocks of 1 MiB. A fresh ArrayBuffer per
 * session step (or per tick) costs more than the batched step itself in V8, through the
 * external-memory garbage collections it triggers; a block lives until its last output is dropped.
 */
class Slab {
  private block = new Float32Array(0);
  private used = 0;

  take(length: number): Float32Array {
    if (this.used + length > this.block.length) {
      this.block = new Float32Array(Math.max(length, 1 << 18));
      this.used = 0;
    }
    this.used += length;
    return this.block.subarray(this.used - length, this.used);
  }
}
