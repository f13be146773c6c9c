// Timing lstm-runtime's own backends: every implementation that loads here (native/avx2 and
// native/scalar apart, wasm-relaxed, wasm-simd, wasm, js) on the standard configurations S1..S5 of
// shared/bench/CONFIGS.md (plus a GRU and a bidirectional LSTM at the sizes of S2 and S3), or on
// a loaded model with a random input. bench/run.mjs times the same configurations against peers.
import { Bidirectional } from '../bidirectional.js';
import { LstmError } from '../errors.js';
import { Gru } from '../gru.js';
import { loadModel, sequentialOnly } from '../load/index.js';
import type { ModelSource } from '../load/source.js';
import { Lstm } from '../lstm.js';
import { backends } from '../registry.js';
import type { Tensor } from '../tensor.js';
import { formatMicroseconds } from './benchmark-report.js';
import { randomInput, seededRandom } from './model-input.js';
import { bestFirst } from './system.js';

export type BenchKind = 'lstm' | 'gru' | 'bilstm';

/** One configuration: batch B, steps T, input features I, units U; `stream`: T steps of one call each. */
export interface BenchConfig {
  id: string;
  name: string;
  kind?: BenchKind;
  B: number;
  T: number;
  I: number;
  U: number;
  stream?: boolean;
}

/** S1..S5 (shared/bench/CONFIGS.md); G2, G3 a GRU (reset_after) and B2, B3 a bidirectional LSTM ('concat') at the sizes of S2, S3. */
export const BENCH_CONFIGS: readonly BenchConfig[] = [
  { id: 'S1', name: 'stream', B: 1, T: 1, I: 40, U: 128, stream: true },
  { id: 'S2', name: 'seq-small', B: 1, T: 100, I: 32, U: 64 },
  { id: 'S3', name: 'seq-medium', B: 1, T: 100, I: 256, U: 256 },
  { id: 'S4', name: 'seq-large', B: 1, T: 50, I: 512, U: 1024 },
  { id: 'S5', name: 'batch', B: 64, T: 50, I: 128, U: 256 },
  { id: 'G2', name: 'gru-small', kind: 'gru', B: 1, T: 100, I: 32, U: 64 },
  { id: 'G3', name: 'gru-medium', kind: 'gru', B: 1, T: 100, I: 256, U: 256 },
  { id: 'B2', name: 'bilstm-small', kind: 'bilstm', B: 1, T: 100, I: 32, U: 64 },
  { id: 'B3', name: 'bilstm-medium', kind: 'bilstm', B: 1, T: 100, I: 256, U: 256 },
];
/** What `lstm-runtime bench` runs when no configuration is named. */
export const STANDARD_CONFIGS: readonly string[] = ['S1', 'S2', 'S3', 'S4', 'S5'];

export const FLOPS_FORMULA: Readonly<Record<BenchKind, string>> = { lstm: '2*B*T*4U*(I+U)', gru: '2*B*T*3U*(I+U)', bilstm: '2 * 2*B*T*4U*(I+U)' };

/** Matmul FLOPs per call (S1: per step): 4 gates for an LSTM, 3 for a GRU, two LSTMs for the bidirectional one. */
export function flopsPerCall(cfg: BenchConfig): number {
  const { B, T, I, U } = cfg;
  const kind = cfg.kind ?? 'lstm';
  return (kind === 'bilstm' ? 2 : 1) * 2 * B * T * (kind === 'gru' ? 3 : 4) * U * (I + U);
}

export interface BenchData {
  weights: { kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array };
  backwardWeights?: BenchData['weights'];
  /** Sequence configurations: [B, T, I]. */
  x?: Float32Array;
  /** Stream configurations: `steps` inputs of [1, I], one after another. */
  xs?: Float32Array;
  steps?: number;
}

const SEED_BASE: Record<string, number> = { S: 0, G: 100, B: 200 };

/**
 * Weights uniform in [-0.1, 0.1] (Keras layout) and inputs uniform in [-1, 1] from a fixed seed
 * per configuration: the same numbers bench/run.mjs draws.
 */
export function benchData(cfg: BenchConfig, streamSteps = 1000): BenchData {
  const { B, T, I, U } = cfg;
  const rand = seededRandom(0x5eed + (SEED_BASE[cfg.id[0]!] ?? 300) + (Number(cfg.id.slice(1)) || 0));
  const uniform = (n: number, lo: number, hi: number) => {
    const a = new Float32Array(n);
    for (let k = 0; k < n; k++) a[k] = lo + (hi - lo) * rand();
    return a;
  };
  const G = (cfg.kind === 'gru' ? 3 : 4) * U;
  const weights = () => ({ kernel: uniform(I * G, -0.1, 0.1), recurrentKernel: uniform(U * G, -0.1, 0.1), bias: uniform(cfg.kind === 'gru' ? 2 * G : G, -0.1, 0.1) });
  const data: BenchData = { weights: weights() };
  if (cfg.kind === 'bilstm') data.backwardWeights = weights();
  if (cfg.stream) {
    data.steps = streamSteps;
    data.xs = uniform(streamSteps * I, -1, 1);
  } else {
    data.x = uniform(B * T * I, -1, 1);
  }
  return data;
}

/** Options a benchmarked layer or model is created with besides its backend. */
export interface BenchLayerOptions {
  threads?: number;
  weightPrecision?: 'f32' | 'f16' | 'int8';
}

/** The layer of a configuration on `backend`, returning full sequences. */
export function createBenchLayer(cfg: BenchConfig, data: BenchData, backend: string, options: BenchLayerOptions = {}): Promise<Lstm | Gru | Bidirectional> {
  const { I, U } = cfg;
  const G = (cfg.kind === 'gru' ? 3 : 4) * U;
  const keras = (w: BenchData['weights']) => ({
    kernel: { data: w.kernel, shape: [I, G] },
    recurrentKernel: { data: w.recurrentKernel, shape: [U, G] },
    bias: cfg.kind === 'gru' ? { data: w.bias, shape: [2, G] } : w.bias,
  });
  const common = { returnSequences: true, backend, ...options };
  if (cfg.kind === 'gru') return Gru.create({ weights: keras(data.weights), ...common });
  if (cfg.kind === 'bilstm') return Bidirectional.create({ layer: { weights: keras(data.weights), ...common }, backwardWeights: keras(data.backwardWeights!), mergeMode: 'concat' });
  return Lstm.create({ weights: keras(data.weights), ...common });
}

/** A row of the benchmark: one backend or native implementation. */
export interface BenchTarget {
  /** What is asked for: 'native/avx2', 'native/scalar', 'wasm-relaxed', 'wasm-simd', 'wasm' or 'js'. */
  backend: string;
  available: boolean;
  /** Why it cannot load. */
  reason?: string;
}

/**
 * Every backend there is, the native one split into its implementations, best first. `filter`
 * keeps the named ones: a backend ('native': each of its implementations) or an implementation
 * ('native/scalar'); an unknown name is ERR_LSTM_CONFIG.
 */
export async function benchTargets(filter?: readonly string[]): Promise<BenchTarget[]> {
  const all: BenchTarget[] = [];
  for (const b of await backends()) {
    if (!b.available) all.push({ backend: b.name, available: false, reason: b.reason ?? 'it did not load' });
    else if (b.name === 'native') for (const impl of bestFirst(b.implementation!, b.implementations)) all.push({ backend: impl, available: true });
    else all.push({ backend: b.name, available: true });
  }
  if (!filter) return all;
  for (const name of filter) {
    if (!all.some((t) => t.backend === name || t.backend.split('/')[0] === name)) {
      throw new LstmError('ERR_LSTM_CONFIG', `backends: expected names among ${all.map((t) => `'${t.backend}'`).join(', ')} (or 'native' for every native implementation), got '${name}'`);
    }
  }
  return all.filter((t) => filter.includes(t.backend) || filter.includes(t.backend.split('/')[0]!));
}

/** How long to measure. */
export interface BenchMode {
  quick: boolean;
  /** Untimed calls first. */
  warmups: number;
  /** Timed calls at least... */
  iterations: number;
  /** ... and for at least this long. */
  minTimeMs: number;
  /** A cell whose first call takes longer is skipped. */
  skipMs: number;
  /** Steps per S1 call (a loop of single steps, state carried). */
  streamSteps: number;
}

export const BENCH_MODES: Readonly<Record<'full' | 'quick', BenchMode>> = {
  full: { quick: false, warmups: 3, iterations: 20, minTimeMs: 500, skipMs: 2000, streamSteps: 1000 },
  quick: { quick: true, warmups: 1, iterations: 5, minTimeMs: 0, skipMs: 500, streamSteps: 200 },
};

export interface BenchCell {
  status: 'ok' | 'skipped' | 'unsupported' | 'unavailable' | 'error';
  /** Why not 'ok'. */
  note?: string;
  /** Time per call (S1: per step), microseconds. */
  medianUs?: number;
  minUs?: number;
  meanUs?: number;
  samples?: number;
  /** Matrix-product GFLOP/s at the median (the S, G and B configurations). */
  gflops?: number;
  /** The column's baseline median / this median (> 1: faster). */
  speedup?: number;
  /** Largest difference of this output from the first row's (S1: its first 20 steps). */
  maxAbsDiff?: number;
}

export interface BenchColumn {
  /** 'S1'..'B3', or 'model'. */
  id: string;
  /** e.g. 'S2 seq-small (B1 T100 I32 U64)'. */
  title: string;
  config?: BenchConfig;
  flops?: number;
  /** The row this column's speedups are against: js where it ran, else the first row that ran. */
  baseline?: string;
}

export interface BenchRow {
  backend: string;
  cells: Record<string, BenchCell>;
}

export interface BenchReport {
  mode: BenchMode;
  columns: BenchColumn[];
  rows: BenchRow[];
  /** What a call is, and how FLOPs are counted. */
  notes: string[];
}

export interface BenchOptions extends BenchLayerOptions {
  /** Backends or implementations to run (see benchTargets); every one by default. */
  backends?: readonly string[];
  /** Fewer calls (BENCH_MODES.quick). */
  quick?: boolean;
  /** Called with a line of progress as each cell starts and ends. */
  onProgress?: (message: string) => void;
}

/** One cell being measured: a call to time, its output for the check, and the cleanup. */
interface Subject {
  call: () => unknown;
  check: () => Float32Array;
  /** Calls a timed call stands for (S1: the steps of its loop). */
  perCall: number;
  dispose: () => void;
}

const errorLine = (e: unknown) => (e instanceof LstmError ? `${e.code}: ` : '') + String((e as Error)?.message ?? e).split('\n')[0];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k]! - b[k]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

const median = (sorted: number[]) => {
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
};

/** Times `subject.call` as `mode` says; the first call decides whether it is skipped. */
function measure(subject: Subject, mode: BenchMode): BenchCell {
  const time = () => {
    const t = performance.now();
    subject.call();
    return performance.now() - t;
  };
  const first = time();
  if (first > mode.skipMs) return { status: 'skipped', note: `one call took ${(first / 1000).toFixed(2)} s, over ${mode.skipMs / 1000} s` };
  for (let k = 1; k < mode.warmups; k++) time();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < mode.iterations || (performance.now() - start < mode.minTimeMs && samples.length < 100 * mode.iterations)) samples.push(time());
  samples.sort((a, b) => a - b);
  const us = (ms: number) => (ms * 1000) / subject.perCall;
  return { status: 'ok', medianUs: us(median(samples)), minUs: us(samples[0]!), meanUs: us(samples.reduce((s, x) => s + x, 0) / samples.length), samples: samples.length };
}

/** Runs every target on every column: set up, check against the first row, time, dispose. */
async function runGrid(columns: BenchColumn[], targets: BenchTarget[], mode: BenchMode, setup: (column: BenchColumn, backend: string) => Promise<Subject>, onProgress: (m: string) => void, notes: string[]): Promise<BenchReport> {
  const rows: BenchRow[] = targets.map((t) => ({ backend: t.backend, cells: {} }));
  for (const column of columns) {
    let reference: Float32Array | null = null;
    targets.forEach((t, k) => {
      if (!t.available) rows[k]!.cells[column.id] = { status: 'unavailable', note: t.reason! };
    });
    for (const [k, target] of targets.entries()) {
      if (!target.available) continue;
      onProgress(`${column.id} ${target.backend}: setting up ...`);
      let subject: Subject;
      try {
        subject = await setup(column, target.backend);
      } catch (e) {
        const unsupported = e instanceof LstmError && e.code === 'ERR_LSTM_UNSUPPORTED';
        rows[k]!.cells[column.id] = { status: unsupported ? 'unsupported' : 'error', note: errorLine(e) };
        onProgress(`${column.id} ${target.backend}: ${rows[k]!.cells[column.id]!.status}: ${errorLine(e)}`);
        continue;
      }
      let cell: BenchCell;
      try {
        const out = subject.check();
        const diff = reference ? maxAbsDiff(out, reference) : 0;
        reference ??= out.slice();
        cell = { ...measure(subject, mode), maxAbsDiff: diff };
        if (cell.status === 'ok' && column.flops) cell.gflops = column.flops / (cell.medianUs! * 1e3);
      } catch (e) {
        cell = { status: 'error', note: errorLine(e) };
      } finally {
        subject.dispose();
      }
      rows[k]!.cells[column.id] = cell;
      onProgress(`${column.id} ${target.backend}: ${cell.status === 'ok' ? `${formatMicroseconds(cell.medianUs!)} per call${cell.gflops ? `, ${cell.gflops.toFixed(2)} GFLOP/s` : ''} (${cell.samples} calls)` : `${cell.status}: ${cell.note}`}`);
    }
  }
  for (const column of columns) {
    // Against js where it ran, else against the first row that did.
    const ran = (r: BenchRow) => r.cells[column.id]?.status === 'ok';
    const base = rows.find((r) => r.backend === 'js' && ran(r)) ?? rows.find(ran);
    if (!base) continue;
    column.baseline = base.backend;
    for (const row of rows) {
      const cell = row.cells[column.id]!;
      if (cell.status === 'ok') cell.speedup = base.cells[column.id]!.medianUs! / cell.medianUs!;
    }
  }
  return { mode, columns, rows, notes };
}

const configTitle = (c: BenchConfig) => `${c.id} ${c.name} (${c.kind === 'gru' ? 'GRU ' : c.kind === 'bilstm' ? 'BiLSTM ' : ''}B${c.B} T${c.T} I${c.I} U${c.U})`;

/**
 * Times every available backend (native implementations apart) on the standard configurations
 * (STANDARD_CONFIGS, or `configs` by id: any of BENCH_CONFIGS): median time per call (S1: per
 * step), GFLOP/s, and the speedup over the js backend (where js did not run, the first row that did).
 */
export async function runBenchmark(options: BenchOptions & { configs?: readonly string[] } = {}): Promise<BenchReport> {
  const ids = options.configs ?? STANDARD_CONFIGS;
  const configs = ids.map((id) => {
    const config = BENCH_CONFIGS.find((c) => c.id === id.toUpperCase());
    if (!config) throw new LstmError('ERR_LSTM_CONFIG', `configs: expected ids among ${BENCH_CONFIGS.map((c) => c.id).join(', ')}, got '${id}'`);
    return config;
  });
  const mode = options.quick ? BENCH_MODES.quick : BENCH_MODES.full;
  const targets = await benchTargets(options.backends);
  const layerOptions: BenchLayerOptions = {};
  if (options.threads !== undefined) layerOptions.threads = options.threads;
  if (options.weightPrecision !== undefined) layerOptions.weightPrecision = options.weightPrecision;
  const columns = configs.map((config) => ({ id: config.id, title: configTitle(config), config, flops: flopsPerCall(config) }));
  const data = new Map(configs.map((c) => [c.id, benchData(c, mode.streamSteps)]));
  const setup = async (column: BenchColumn, backend: string): Promise<Subject> => {
    const cfg = column.config!;
    const d = data.get(cfg.id)!;
    const layer = await createBenchLayer(cfg, d, backend, layerOptions);
    if (cfg.stream) {
      if (layer instanceof Bidirectional) throw new LstmError('ERR_LSTM_UNSUPPORTED', 'a Bidirectional layer does not stream');
      const stream = layer.stream(1);
      const xs = Array.from({ length: d.steps! }, (_, t) => d.xs!.subarray(t * cfg.I, (t + 1) * cfg.I));
      const run = (n: number, out?: Float32Array) => {
        stream.reset();
        for (let t = 0; t < n; t++) {
          const h = stream.step(xs[t]!).data;
          out?.set(h, t * cfg.U);
        }
        return out;
      };
      const checkSteps = Math.min(20, d.steps!);
      return { call: () => run(d.steps!), check: () => run(checkSteps, new Float32Array(checkSteps * cfg.U))!, perCall: d.steps!, dispose: () => layer.dispose() };
    }
    const input = { data: d.x!, shape: [cfg.B, cfg.T, cfg.I] };
    const call = () => (layer.forward(input).output as Tensor).data;
    return { call, check: call, perCall: 1, dispose: () => layer.dispose() };
  };
  const notes = [
    `median time per call over ${mode.iterations}+ timed calls after ${mode.warmups} warm-up${mode.warmups > 1 ? 's' : ''}; S1: per step, from ${mode.streamSteps}-step loops with the state carried`,
    `GFLOP/s counts the matrix products: LSTM ${FLOPS_FORMULA.lstm}, GRU ${FLOPS_FORMULA.gru}, bidirectional LSTM ${FLOPS_FORMULA.bilstm} per call`,
  ];
  return runGrid(columns, targets, mode, setup, options.onProgress ?? (() => {}), notes);
}

/**
 * Times a model (any file loadModel reads) on every available backend with a random input of
 * `batch` sequences of `steps` (ids for a model of ids; a Flatten's fixed steps win).
 */
export async function benchmarkModel(source: ModelSource, options: BenchOptions & { steps?: number; batch?: number; name?: string } = {}): Promise<BenchReport> {
  const mode = options.quick ? BENCH_MODES.quick : BENCH_MODES.full;
  const targets = await benchTargets(options.backends);
  const steps = options.steps ?? 100;
  const batch = options.batch ?? 1;
  const name = options.name ?? (typeof source === 'string' ? source : source instanceof URL ? source.href : 'model');
  const columns: BenchColumn[] = [{ id: 'model', title: `${name} (B${batch} T${steps})` }];
  const setup = async (_column: BenchColumn, backend: string): Promise<Subject> => {
    const model = sequentialOnly(await loadModel(source, { backend, ...(options.threads !== undefined && { threads: options.threads }), ...(options.weightPrecision !== undefined && { weightPrecision: options.weightPrecision }) }), 'benchmarkModel');
    try {
      const input = randomInput(model, { steps, batch, seed: 1 });
      columns[0]!.title = `${name} (input ${JSON.stringify(input.shape)})`;
      const call = () => model.forward(input).output.data;
      return { call, check: call, perCall: 1, dispose: () => model.dispose() };
    } catch (e) {
      model.dispose();
      throw e;
    }
  };
  return runGrid(columns, targets, mode, setup, options.onProgress ?? (() => {}), [`median time per forward call over ${mode.iterations}+ timed calls after ${mode.warmups} warm-up${mode.warmups > 1 ? 's' : ''}, on a random input`]);
}
