// What the inspection report shows, gathered from the library: one traced forward pass, gateStats
// over it, attribute() of one output, and the model's layers; then renderReport (lib/report) draws it.
import { Bidirectional } from '../bidirectional.js';
import { describe, fail } from '../errors.js';
import { attribute, type AttributionMethod } from '../explain/attribute.js';
import { gateStats, layerTraces } from '../explain/gate-stats.js';
import { Gru } from '../gru.js';
import { Lstm } from '../lstm.js';
import { checkOptions } from '../recurrent.js';
import { visibleCharacter } from '../report/escape.js';
import { renderReport, type RenderOptions, type ReportData, type ReportRecurrentLayer } from '../report/report.js';
import type { Sequential } from '../sequential.js';
import { readTensor, shapeText, type Tensor, type TensorLike } from '../tensor.js';
import { describeLayer, layerOutputShapes, layerParameters } from './inspect.js';
import { fitInput, modelInput } from './model-input.js';
import type { Vocabulary } from './text-input.js';

/** Options of {@link inspectReport} and {@link reportData}. */
export interface InspectReportOptions extends RenderOptions {
  /** The report's heading (the model file's name, say). Default 'model'. */
  title?: string;
  /** Attribution method (default 'integrated-gradients'). */
  method?: AttributionMethod;
  /** The output explained (default: the model's largest output at the explained step). */
  target?: number;
  /** For a sequence output, the step explained (default the last; negative counts from the end). */
  targetStep?: number;
  /** Integrated gradients: Gauss-Legendre steps (default 50). */
  igSteps?: number;
  /** Names the input's steps (a model of ids: tokens; one-hot input: characters), its features and its outputs. */
  vocabulary?: Vocabulary;
  /** A label per input step (timestamps, say), instead of the ones the vocabulary or step numbers give. */
  labels?: readonly string[];
}

const KEYS = ['title', 'method', 'target', 'targetStep', 'igSteps', 'vocabulary', 'labels', 'topUnits', 'maxColumns'];

const label = (vocabulary: Vocabulary | undefined, index: number): string | undefined => {
  const token = vocabulary?.tokens[index];
  return token === undefined ? undefined : visibleCharacter(token);
};

/** The first sequence of a (fitted) input: [1, steps, ...] batch-major, [steps, 1, ...] time-major. */
function firstSequence(model: Sequential, input: Tensor): Tensor {
  const m = modelInput(model);
  const rank = m.kind === 'ids' ? 2 : 3;
  if (input.shape.length !== rank) fail('ERR_LSTM_SHAPE', 'input', m.kind === 'ids' ? 'ids [batch, steps] or [steps]' : 'a tensor [batch, steps, features] or [steps, features]', `shape ${shapeText(input.shape)}`);
  const [a, b] = input.shape as [number, number];
  const F = m.kind === 'ids' ? 1 : input.shape[2]!;
  if (m.timeMajor) {
    if (b === 1) return input;
    const data = new Float32Array(a * F);
    for (let t = 0; t < a; t++) data.set(input.data.subarray(t * b * F, t * b * F + F), t * F);
    return { data, shape: [a, 1, ...input.shape.slice(2)] };
  }
  return a === 1 ? input : { data: input.data.slice(0, b * F), shape: [1, b, ...input.shape.slice(2)] };
}

/** Step labels: given ones, tokens of ids, characters of one-hot rows, or step numbers. */
function stepLabels(model: Sequential, x: Tensor, T: number, options: InspectReportOptions): Pick<ReportData, 'stepLabels' | 'labelKind'> {
  if (options.labels !== undefined) {
    if (!Array.isArray(options.labels) || options.labels.length !== T) fail('ERR_LSTM_CONFIG', 'options.labels', `an array of ${T} labels, one per step`, describe(options.labels));
    return { stepLabels: options.labels.map(String), labelKind: 'given' };
  }
  const m = modelInput(model);
  const vocabulary = options.vocabulary;
  if (m.kind === 'ids') {
    const ids = Array.from(x.data);
    if (vocabulary) return { stepLabels: ids.map((id) => label(vocabulary, id) ?? `#${id}`), labelKind: 'tokens' };
    return { stepLabels: ids.map(String), labelKind: 'ids' };
  }
  if (vocabulary) {
    // One-hot rows (a single 1, zeros elsewhere) are characters.
    const F = m.features;
    const chars: string[] = [];
    for (let t = 0; t < T; t++) {
      const row = x.data.subarray(t * F, (t + 1) * F);
      const hot = row.indexOf(1);
      if (hot < 0 || row.some((v, j) => j !== hot && v !== 0)) break;
      chars.push(label(vocabulary, hot) ?? `#${hot}`);
    }
    if (chars.length === T) return { stepLabels: chars, labelKind: 'characters' };
  }
  return { stepLabels: Array.from({ length: T }, (_, t) => String(t)), labelKind: 'steps' };
}

/** A [1, T, U] trace tensor as [T, U], flipped to input order if the layer ran backwards. */
function inInputOrder(t: Tensor, reversed: boolean): Float32Array {
  const [, T, U] = t.shape as [number, number, number];
  if (!reversed) return t.data.slice(0, T * U);
  const out = new Float32Array(T * U);
  for (let s = 0; s < T; s++) out.set(t.data.subarray(s * U, (s + 1) * U), (T - 1 - s) * U);
  return out;
}

/**
 * Everything the report shows for the first sequence of `input` (a tensor the model takes; one
 * axis short is one sequence): the model's layers, a traced forward pass with gateStats per
 * recurrent layer, and attribute() of one output (by default the largest one at the last step,
 * by integrated gradients).
 */
export async function reportData(model: Sequential, input: TensorLike, options: InspectReportOptions = {}): Promise<ReportData> {
  if (typeof options !== 'object' || options === null) fail('ERR_LSTM_CONFIG', 'inspectReport options', 'an object', describe(options));
  checkOptions(options, KEYS, 'inspectReport options');
  const read = readTensor(input, 'input');
  const fitted = fitInput(model, { data: read.data, shape: read.shape ?? [read.data.length] });
  const x = firstSequence(model, fitted);
  const T = model.timeMajor ? x.shape[0]! : x.shape[1]!;
  const { output, trace = [] } = model.forward(x, { trace: true });

  // The explained step: the last unless one is given; the target: the largest output there.
  const sequenceOut = output.shape.length === 3;
  const outSteps = sequenceOut ? output.shape[model.timeMajor ? 0 : 1]! : 1;
  const K = output.shape[output.shape.length - 1]!;
  let step = options.targetStep ?? -1;
  if (sequenceOut) {
    if (!Number.isInteger(step) || step < -outSteps || step >= outSteps) fail('ERR_LSTM_CONFIG', 'options.targetStep', `an integer from ${-outSteps} to ${outSteps - 1}`, describe(options.targetStep));
    if (step < 0) step += outSteps;
  }
  // One sequence: [1, T, K] and [T, 1, K] hold the same values in the same order.
  const row = output.data.subarray(sequenceOut ? step * K : 0, (sequenceOut ? step : 0) * K + K);
  const argmax = row.reduce((best, v, k) => (v > row[best]! ? k : best), 0);
  const method = options.method ?? 'integrated-gradients';
  const target = options.target ?? argmax;
  const igSteps = options.igSteps ?? 50;
  const attribution = await attribute(model, x, { method, target, ...(sequenceOut && { targetStep: step }), ...(method === 'integrated-gradients' && { steps: igSteps }) });
  // attribute() is batch-major: [1, T, F].
  const F = attribution.scores.shape[2]!;

  const vocabulary = options.vocabulary;
  const m = modelInput(model);
  const featureLabels = Array.from({ length: F }, (_, j) => (m.kind === 'ids' ? `e${j}` : (label(vocabulary, j) ?? `x${j}`)));
  const stats = gateStats(trace, { model });
  const traces = layerTraces(model, trace);
  const recurrent: ReportRecurrentLayer[] = traces.map((lt, k) => {
    const layer = model.layers[lt.layer]!;
    const cellLayer = layer instanceof Bidirectional ? (lt.direction === 'backward' ? layer.backwardLayer : layer.forwardLayer) : (layer as Lstm | Gru);
    const maps: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(lt.tensors)) maps[name] = inInputOrder(t, cellLayer.goBackwards);
    const [, steps, units] = lt.tensors.h!.shape as [number, number, number];
    const kind = layer instanceof Bidirectional ? `Bidirectional, ${lt.direction} direction` : layer.constructor.name;
    return { title: `${lt.layer}. '${layer.name}' ${kind}`, cell: lt.cell, units, steps, maps, reversed: cellLayer.goBackwards, stats: stats[k]! };
  });
  const outputs = Array.from(row, (value, index) => ({ index, value })).sort((a, b) => b.value - a.value).slice(0, 5);
  const shapes = layerOutputShapes(model, T);
  const backends = [...new Set(model.layers.flatMap((l) => (l instanceof Lstm || l instanceof Gru ? [l.backend] : l instanceof Bidirectional ? [l.forwardLayer.backend] : [])))];

  return {
    title: options.title ?? 'model',
    backends,
    inputShape: x.shape,
    outputShape: output.shape,
    layers: model.layers.map((l, k) => ({ name: l.name, description: describeLayer(l), outputShape: shapes[k]!, parameters: layerParameters(l) })),
    steps: T,
    ...stepLabels(model, x, T, options),
    predictions: outputs.map((p) => ({ ...p, ...(label(vocabulary, p.index) !== undefined && K === vocabulary!.tokens.length && { label: label(vocabulary, p.index) }) })),
    recurrent,
    attribution: {
      method,
      ...(method === 'integrated-gradients' && { igSteps }),
      target,
      ...(vocabulary && K === vocabulary.tokens.length && label(vocabulary, target) !== undefined && { targetLabel: label(vocabulary, target) }),
      ...(sequenceOut && { targetStep: step }),
      targetValue: row[target]!,
      targetIsArgmax: options.target === undefined,
      featureKind: m.kind === 'ids' ? 'embedding' : 'input',
      featureLabels,
      scores: attribution.scores.data,
      perStep: attribution.perStep.data,
      ...(attribution.delta && { delta: attribution.delta.data[0]! }),
    },
  };
}

/**
 * The inspection report of `model` on the first sequence of `input`, as one self-contained HTML
 * document: the layers (shapes, parameters, backend), the input as labels, the attribution of one
 * output over steps x features with a bar per step, and per recurrent layer the gate statistics
 * and heatmaps of every gate and state over steps x units (sortable, the value on hover).
 */
export async function inspectReport(model: Sequential, input: TensorLike, options: InspectReportOptions = {}): Promise<string> {
  return renderReport(await reportData(model, input, options), options);
}
