// Gate statistics over a traced forward call: per recurrent layer and unit, how open each gate is,
// how much it moves, how often it saturates, how long an LSTM remembers, and which units stay silent.
import { TRACE_NAMES, type CellKind } from '../backend.js';
import { Bidirectional } from '../bidirectional.js';
import { describe, fail } from '../errors.js';
import { Gru } from '../gru.js';
import { splitGates, type LstmWeights, type WeightLayout } from '../layouts.js';
import { Lstm } from '../lstm.js';
import { checkOptions } from '../recurrent.js';
import { Sequential } from '../sequential.js';
import { readTensor, shapeText, type Tensor } from '../tensor.js';

/** One recurrent layer's (or one direction's) trace, named as `run --out x.npz` names it. */
export interface LayerTrace {
  /** The layer's index in model.layers (without a model: its index among the trace's entries). */
  layer: number;
  cell: CellKind;
  direction?: 'forward' | 'backward';
  /** '0_lstm', '2_gru', '1_bidirectional/forward', ... */
  name: string;
  /** With a model: the name of model.layers[layer] ('lstm_2'; a Bidirectional's for both directions). */
  layerName?: string;
  /** LSTM: i, f, g (c~), o, c, h; GRU: z, r, g (h~), h; each [batch, steps, units]. */
  tensors: Record<string, Tensor>;
}

type DirectionTraces = { forward: Record<string, Tensor>; backward: Record<string, Tensor> };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !ArrayBuffer.isView(x);
const isBidirectional = (x: unknown): x is DirectionTraces => isObject(x) && 'forward' in x && 'backward' in x;

/** The cell a single layer's trace comes from, by its names (LSTM: i, f, g, o, c, h; GRU: z, r, g, h). */
function cellOf(t: unknown, what: string): CellKind {
  if (!isObject(t) || Array.isArray(t)) return fail('ERR_LSTM_INPUT', what, "a forward call's trace (an object of tensors i, f, g, o, c, h or z, r, g, h)", describe(t));
  const keys = Object.keys(t).sort().join(',');
  for (const cell of ['lstm', 'gru'] as const) if ([...TRACE_NAMES[cell]].sort().join(',') === keys) return cell;
  return fail('ERR_LSTM_INPUT', what, "a forward call's trace: tensors i, f, g, o, c, h (LSTM) or z, r, g, h (GRU)", describe(t));
}

/**
 * Pairs `trace` (SequentialResult.trace: one entry per recurrent layer, in order) with the
 * model's layers; a Bidirectional gives two entries, forward then backward. A trace that is not
 * the model's (another count of layers, a Bidirectional's where a layer's is, another cell)
 * throws ERR_LSTM_CONFIG naming `what`.
 */
export function layerTraces(model: Sequential, trace: readonly unknown[], what = 'model'): LayerTrace[] {
  const out: LayerTrace[] = [];
  let r = 0;
  const notOf = (k: number, given: string): never => fail('ERR_LSTM_CONFIG', what, 'the model whose trace this is', `a model whose layer ${k} is ${given}`);
  model.layers.forEach((layer, k) => {
    if (layer instanceof Bidirectional) {
      const t = trace[r++];
      if (!isBidirectional(t)) return notOf(k, `a Bidirectional where trace[${r - 1}] is not a Bidirectional's`);
      const cell = layer.forwardLayer.cell;
      out.push({ layer: k, cell, direction: 'forward', name: `${k}_bidirectional/forward`, layerName: layer.name, tensors: t.forward });
      out.push({ layer: k, cell, direction: 'backward', name: `${k}_bidirectional/backward`, layerName: layer.name, tensors: t.backward });
    } else if (layer instanceof Lstm || layer instanceof Gru) {
      const t = trace[r++];
      if (isBidirectional(t)) notOf(k, `${layer.cell === 'lstm' ? 'an LSTM' : 'a GRU'} where trace[${r - 1}] is a Bidirectional's`);
      out.push({ layer: k, cell: layer.cell, name: `${k}_${layer.cell}`, layerName: layer.name, tensors: t as Record<string, Tensor> });
    }
  });
  if (r !== trace.length) fail('ERR_LSTM_CONFIG', what, `the model whose trace this is (${trace.length} recurrent layer traces)`, `a model with ${r} recurrent layers`);
  return out;
}

/** The layers of any trace: a Sequential's (an array), a Bidirectional's ({ forward, backward }) or one layer's. */
function tracesOf(trace: unknown): LayerTrace[] {
  const one = (t: unknown, layer: number, what: string, direction?: 'forward' | 'backward'): LayerTrace => {
    const cell = cellOf(t, what);
    const name = direction ? `${layer}_bidirectional/${direction}` : `${layer}_${cell}`;
    return { layer, cell, name, tensors: t as Record<string, Tensor>, ...(direction && { direction }) };
  };
  const entry = (t: unknown, k: number, what: string): LayerTrace[] =>
    isBidirectional(t) ? [one(t.forward, k, `${what}.forward`, 'forward'), one(t.backward, k, `${what}.backward`, 'backward')] : [one(t, k, what)];
  return Array.isArray(trace) ? trace.flatMap((t, k) => entry(t, k, `trace[${k}]`)) : entry(trace, 0, 'trace');
}

export const GATE_LABELS: Readonly<Record<CellKind, Readonly<Record<string, string>>>> = {
  lstm: { i: 'input gate', f: 'forget gate', g: 'candidate', o: 'output gate' },
  gru: { z: 'update gate', r: 'reset gate', g: 'candidate' },
};

/**
 * One gate's statistics over the counted steps: per unit (arrays of `units` values), and over all
 * units. NaN when no step counted (every step masked).
 */
export interface GateStatistics {
  /** 'input gate', 'forget gate', 'candidate', ... */
  label: string;
  /** Per unit: the mean over every counted (row, step). */
  mean: number[];
  /** Per unit: the population standard deviation (divided by the count, not count - 1). */
  std: number[];
  /** Sigmoid gates only (not the candidate): per unit, the share of counted steps below `shut` (0.05). */
  shut?: number[];
  /** Sigmoid gates only: per unit, the share of counted steps above `open` (0.95). */
  open?: number[];
  /** The same over every unit and counted step of the layer together. */
  all: { mean: number; std: number; shut?: number; open?: number };
}

/** Per-unit L2 norms of one gate's weights: `W` (input kernel column), `U` (recurrent kernel column), `b` (|bias|). */
export interface GateWeightNorms {
  W: number[];
  U: number[];
  b: number[];
}

/** What {@link gateStats} returns for one recurrent layer, or one direction of a Bidirectional. */
export interface LayerGateStats {
  /** The layer's index in `options.model.layers`; without a model, its index among the trace's entries. */
  layer: number;
  cell: CellKind;
  /** For a Bidirectional's directions. */
  direction?: 'forward' | 'backward';
  /** As `lstm-runtime run --out x.npz` names the layer's trace: '0_lstm', '1_bidirectional/backward', ... */
  name: string;
  /** With `options.model`: the name of model.layers[layer] ('lstm_2'; a Bidirectional's for both directions). */
  layerName?: string;
  units: number;
  /** (row, step) pairs counted: the steps that ran. Masked steps and steps past a sequence's length are left out. */
  steps: number;
  /** Keyed by the trace's names: LSTM i, f, g (c~), o; GRU z, r, g (h~). */
  gates: Record<string, GateStatistics>;
  /**
   * LSTM, per unit: the forget gate's memory time constant -1 / ln(mean f), in steps: how many
   * steps the cell state takes to shrink by a factor e with the gate at its mean. `Infinity` when
   * mean f is 1 (the unit never forgets), 0 when it is 0 (it forgets at once), NaN when no step counted.
   */
  timeConstant?: number[];
  /** LSTM, per unit: the smallest and largest cell state c over the counted steps. */
  cellRange?: { min: number[]; max: number[] };
  /**
   * Units that never activate: |h| < `options.inactiveBelow` (default 0.01) at every counted step
   * of every row. Empty when no step counted.
   */
  inactiveUnits: number[];
  /**
   * Per gate, per unit weight norms: with `options.model`, from each layer's own weights (LSTM i, f,
   * g, o; GRU z, r, g); with `options.weights`, an LSTM's (i, f, g = splitGates' c, o).
   */
  weightNorms?: Record<string, GateWeightNorms>;
}

/** Options of {@link gateStats}. */
export interface GateStatsOptions {
  /**
   * The Sequential the trace came from (`model.forward(x, { trace: true })`): names each entry by
   * its layer ('2_gru', '1_bidirectional/forward') and checks that the trace is that model's.
   */
  model?: Sequential;
  /**
   * The cell the trace must come from. `'lstm'` asks for the LSTM-only statistics (time constant,
   * cell state's range) and refuses a GRU's trace; `'gru'` refuses an LSTM's.
   */
  cell?: CellKind;
  /** The layer's weights, when the trace is one LSTM layer's: adds `weightNorms` (via splitGates). */
  weights?: LstmWeights;
  /** The layout of `weights` ('keras' by default), as `splitGates` takes it. */
  weightLayout?: WeightLayout;
  /** A sigmoid gate below this counts as shut (0.05). */
  shut?: number;
  /** A sigmoid gate above this counts as open (0.95). */
  open?: number;
  /** A unit whose |h| stays below this at every counted step is inactive (0.01). */
  inactiveBelow?: number;
}

const KEYS = ['model', 'cell', 'weights', 'weightLayout', 'shut', 'open', 'inactiveBelow'];

function threshold(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail('ERR_LSTM_CONFIG', what, 'a finite number', describe(value));
  return value;
}

/** The memory time constant of a forget gate open `meanF` on average; see LayerGateStats.timeConstant. */
export function timeConstant(meanF: number): number {
  if (Number.isNaN(meanF)) return NaN;
  if (meanF >= 1) return Infinity; // ln 1 = 0: -1/0 would be -Infinity
  return meanF <= 0 ? 0 : -1 / Math.log(meanF);
}

/** The trace's tensors, checked: every name present, each [B, T, U] with the same shape. */
function readLayer(t: LayerTrace, what: string): { data: Record<string, Float32Array>; B: number; T: number; U: number } {
  const data: Record<string, Float32Array> = {};
  let shape: number[] | null = null;
  for (const name of TRACE_NAMES[t.cell]) {
    const w = `${what}.${name}`;
    const r = readTensor(t.tensors[name], w);
    if (r.shape === null || r.shape.length !== 3) fail('ERR_LSTM_SHAPE', w, 'a tensor [batch, steps, units]', r.shape ? `shape ${shapeText(r.shape)}` : 'a flat array');
    if (shape && r.shape.some((d, k) => d !== shape![k])) fail('ERR_LSTM_SHAPE', w, `shape ${shapeText(shape)}, as the trace's other tensors`, `shape ${shapeText(r.shape)}`);
    shape = r.shape;
    data[name] = r.data;
  }
  const [B, T, U] = shape as [number, number, number];
  return { data, B, T, U };
}

/** Per-unit L2 norms of each gate's weights, keyed by the trace's names. */
function weightNorms(weights: LstmWeights, layout: WeightLayout | undefined, units: number): Record<string, GateWeightNorms> {
  const split = splitGates(weights, layout);
  if (split.i.b.shape[0] !== units) fail('ERR_LSTM_CONFIG', 'gateStats options.weights', `the weights of the traced layer (${units} units)`, `weights of ${split.i.b.shape[0]} units`);
  const columnNorms = (m: Tensor): number[] => {
    const [rows, cols] = m.shape as [number, number];
    return Array.from({ length: cols }, (_, u) => {
      let s = 0;
      for (let k = 0; k < rows; k++) s += m.data[k * cols + u]! ** 2;
      return Math.sqrt(s);
    });
  };
  const norms = (g: { W: Tensor; U: Tensor; b: Tensor }): GateWeightNorms => ({ W: columnNorms(g.W), U: columnNorms(g.U), b: Array.from(g.b.data, Math.abs) });
  return { i: norms(split.i), f: norms(split.f), g: norms(split.c), o: norms(split.o) };
}

/**
 * Per-unit L2 norms of each gate's weights from a built layer's own float32 weights (Keras layout,
 * gates in the trace's order: LSTM i, f, g, o; GRU z, r, g); `b` is the input-side bias.
 */
function layerWeightNorms(layer: Lstm | Gru): Record<string, GateWeightNorms> {
  const { kernel, recurrentKernel, bias, inputSize: I, units: U } = layer.parts.weights;
  const names = TRACE_NAMES[layer.cell].filter((n) => n !== 'c' && n !== 'h');
  const GU = names.length * U;
  const columnNorm = (m: Float32Array, rows: number, col: number) => {
    let s = 0;
    for (let k = 0; k < rows; k++) s += m[k * GU + col]! ** 2;
    return Math.sqrt(s);
  };
  return Object.fromEntries(
    names.map((name, g) => {
      const cols = Array.from({ length: U }, (_, u) => g * U + u);
      return [name, { W: cols.map((j) => columnNorm(kernel, I, j)), U: cols.map((j) => columnNorm(recurrentKernel, U, j)), b: cols.map((j) => Math.abs(bias ? bias[j]! : 0)) }];
    }),
  );
}

/**
 * Statistics of every gate of every unit over a traced forward call: how open each gate is (mean),
 * how much it moves (std), how often a sigmoid gate is shut (< 0.05) or open (> 0.95); for an
 * LSTM the forget gate's memory time constant and the cell state's range; the units that never
 * activate; and, given the layer's weights, per-gate weight norms.
 *
 * `trace` is what a forward call with `{ trace: true }` returns: one layer's (`Lstm`, `Gru`), a
 * `Bidirectional`'s (`{ forward, backward }`: two entries) or a `Sequential`'s (an array, one
 * entry per recurrent layer). The result has one entry per layer (per direction).
 *
 * Only steps that ran count: a masked step (`mask`) or a step past a sequence's length
 * (`sequenceLengths`, or an Embedding's `mask_zero` inside a model) is left out. The trace marks
 * them itself: every backend writes 0 to every gate of every unit of a row at a step it skips,
 * which a step that ran cannot give (the candidate c~ or h~ would have to be exactly 0 in every
 * unit with every sigmoid gate exactly 0), so no mask need be passed again.
 *
 * @throws LstmError `ERR_LSTM_INPUT` when `trace` is no trace, `ERR_LSTM_SHAPE` when its tensors'
 * shapes disagree, `ERR_LSTM_CONFIG` for a bad option (a `model` or `cell` the trace is not of,
 * `weights` of another size, or given for more than one layer), `ERR_LSTM_UNSUPPORTED` for
 * `weights` with a GRU's trace (splitGates splits LSTM weights).
 */
export function gateStats(trace: unknown, options: GateStatsOptions = {}): LayerGateStats[] {
  checkOptions(options, KEYS, 'gateStats options');
  const shut = threshold(options.shut, 'gateStats options.shut', 0.05);
  const open = threshold(options.open, 'gateStats options.open', 0.95);
  const inactiveBelow = threshold(options.inactiveBelow, 'gateStats options.inactiveBelow', 0.01);
  if (options.cell !== undefined && options.cell !== 'lstm' && options.cell !== 'gru') fail('ERR_LSTM_CONFIG', 'gateStats options.cell', "'lstm' or 'gru'", describe(options.cell));
  let layers: LayerTrace[];
  if (options.model !== undefined) {
    if (!(options.model instanceof Sequential)) fail('ERR_LSTM_CONFIG', 'gateStats options.model', 'a Sequential', describe(options.model));
    if (!Array.isArray(trace)) fail('ERR_LSTM_INPUT', 'trace', "a Sequential's trace (an array) with options.model", describe(trace));
    layers = layerTraces(options.model, trace, 'gateStats options.model');
    for (const l of layers) {
      const cell = cellOf(l.tensors, `trace entry ${l.name}`);
      if (cell !== l.cell) fail('ERR_LSTM_CONFIG', 'gateStats options.model', 'the model whose trace this is', `a model whose layer ${l.layer} is ${l.cell === 'lstm' ? 'an LSTM' : 'a GRU'} where the trace holds ${cell === 'lstm' ? 'an LSTM' : 'a GRU'}'s`);
    }
  } else {
    layers = tracesOf(trace);
  }
  if (options.weights !== undefined && layers.length !== 1) fail('ERR_LSTM_CONFIG', 'gateStats options.weights', "the weights of a single layer's trace", `a trace of ${layers.length} layers`);

  return layers.map((l) => {
    const what = Array.isArray(trace) ? `trace entry ${l.name}` : l.direction ? `trace.${l.direction}` : 'trace';
    if (options.cell !== undefined && options.cell !== l.cell) fail('ERR_LSTM_CONFIG', 'gateStats options.cell', `a trace of ${options.cell === 'lstm' ? 'an LSTM' : 'a GRU'}`, `${what} of ${l.cell === 'lstm' ? 'an LSTM' : 'a GRU'}`);
    const { data, B, T, U } = readLayer(l, what);
    const gateNames = TRACE_NAMES[l.cell].filter((n) => n !== 'c' && n !== 'h');

    // The (row, step) pairs that ran: a skipped one has every gate of every unit at 0.
    const ran: number[] = [];
    for (let bt = 0; bt < B * T; bt++) {
      if (gateNames.some((n) => data[n]!.subarray(bt * U, (bt + 1) * U).some((v) => v !== 0))) ran.push(bt);
    }
    const n = ran.length;

    // Sums in float64 per unit, over the counted rows.
    const perUnit = (values: Float32Array, visit: (u: number, v: number) => void) => {
      for (const bt of ran) for (let u = 0; u < U; u++) visit(u, values[bt * U + u]!);
    };
    const gates: Record<string, GateStatistics> = {};
    for (const name of gateNames) {
      const sigmoid = name !== 'g';
      const sum = new Float64Array(U);
      const sq = new Float64Array(U);
      const nShut = new Float64Array(U);
      const nOpen = new Float64Array(U);
      perUnit(data[name]!, (u, v) => {
        sum[u] = sum[u]! + v;
        sq[u] = sq[u]! + v * v;
        if (v < shut) nShut[u] = nShut[u]! + 1;
        if (v > open) nOpen[u] = nOpen[u]! + 1;
      });
      const mean = Array.from(sum, (s) => s / n);
      // E[x^2] - E[x]^2 in float64 over float32 values; clamped at 0 against rounding.
      const std = Array.from(sq, (s, u) => Math.sqrt(Math.max(0, s / n - mean[u]! ** 2)));
      const total = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
      const allMean = total(sum) / (n * U);
      const stats: GateStatistics = {
        label: GATE_LABELS[l.cell][name]!,
        mean,
        std,
        all: { mean: allMean, std: Math.sqrt(Math.max(0, total(sq) / (n * U) - allMean ** 2)) },
      };
      if (sigmoid) {
        stats.shut = Array.from(nShut, (k) => k / n);
        stats.open = Array.from(nOpen, (k) => k / n);
        stats.all.shut = total(nShut) / (n * U);
        stats.all.open = total(nOpen) / (n * U);
      }
      gates[name] = stats;
    }

    const active = new Uint8Array(U);
    perUnit(data.h!, (u, v) => {
      if (Math.abs(v) >= inactiveBelow) active[u] = 1;
    });
    const result: LayerGateStats = {
      layer: l.layer,
      cell: l.cell,
      ...(l.direction && { direction: l.direction }),
      name: l.name,
      ...(l.layerName !== undefined && { layerName: l.layerName }),
      units: U,
      steps: n,
      gates,
      inactiveUnits: n === 0 ? [] : [...active.keys()].filter((u) => !active[u]),
    };
    if (l.cell === 'lstm') {
      result.timeConstant = gates.f!.mean.map(timeConstant);
      const min = new Array<number>(U).fill(n ? Infinity : NaN);
      const max = new Array<number>(U).fill(n ? -Infinity : NaN);
      perUnit(data.c!, (u, v) => {
        if (v < min[u]!) min[u] = v;
        if (v > max[u]!) max[u] = v;
      });
      result.cellRange = { min, max };
    }
    if (options.weights !== undefined) {
      if (l.cell !== 'lstm') fail('ERR_LSTM_UNSUPPORTED', 'gateStats options.weights', "an LSTM layer's trace (splitGates splits LSTM weights)", 'a GRU trace');
      result.weightNorms = weightNorms(options.weights, options.weightLayout, U);
    } else if (options.model !== undefined) {
      const layer = options.model.layers[l.layer];
      const cell = layer instanceof Bidirectional ? (l.direction === 'backward' ? layer.backwardLayer : layer.forwardLayer) : layer;
      if (cell instanceof Lstm || cell instanceof Gru) result.weightNorms = layerWeightNorms(cell);
    }
    return result;
  });
}
