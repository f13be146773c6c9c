// What a loaded model is and what its gates do: its layers, then a random input run with every
// gate traced and summarised by gateStats (lib/explain/gate-stats.ts). `lstm-runtime inspect` prints it.
import { Bidirectional } from '../bidirectional.js';
import { AveragePooling1D, Conv1D, MaxPooling1D, ZeroPadding1D } from '../conv.js';
import { Dense } from '../dense.js';
import { Embedding } from '../embedding.js';
import { gateStats, layerTraces, type LayerGateStats } from '../explain/gate-stats.js';
import { Gru } from '../gru.js';
import { Lstm } from '../lstm.js';
import { BatchNormalization, LayerNormalization } from '../normalization.js';
import { Flatten, GlobalPooling1D, RepeatVector } from '../sequence-ops.js';
import type { Sequential, SequentialLayer } from '../sequential.js';
import type { Tensor } from '../tensor.js';
import { modelInput, randomInput } from './model-input.js';

/** One line about a layer, e.g. 'Lstm 3 -> 8 on native/avx2, sequences'. */
export function describeLayer(layer: SequentialLayer): string {
  if (layer instanceof Embedding) return `Embedding ${layer.inputDim} ids -> ${layer.units}${layer.maskZero ? ', id 0 masked' : ''}`;
  if (layer instanceof Dense) return `Dense ${layer.inputSize} -> ${layer.units}`;
  if (layer instanceof Bidirectional) return `Bidirectional(${layer.forwardLayer.constructor.name} ${layer.forwardLayer.units}) ${layer.mergeMode}`;
  if (layer instanceof RepeatVector) return `RepeatVector ${layer.n} steps`;
  if (layer instanceof Flatten) return 'Flatten';
  if (layer instanceof GlobalPooling1D) return `Global ${layer.mode} pooling over the steps${layer.maskAware ? ' (masked steps left out)' : ''}`;
  if (layer instanceof Conv1D) return `Conv1D ${layer.inputSize} -> ${layer.units}, kernel ${layer.kernelSize}, strides ${layer.strides}, dilation ${layer.dilationRate}${layer.groups > 1 ? `, ${layer.groups} groups` : ''}, padding ${JSON.stringify(layer.padding)} on ${layer.backend}`;
  if (layer instanceof MaxPooling1D || layer instanceof AveragePooling1D) return `${layer.mode === 'max' ? 'Max' : 'Average'} pooling ${layer.poolSize} steps, strides ${layer.strides}, padding ${JSON.stringify(layer.padding)}`;
  if (layer instanceof BatchNormalization || layer instanceof LayerNormalization) return `${layer.constructor.name} over ${layer.units} channels`;
  if (layer instanceof ZeroPadding1D) return `ZeroPadding1D ${layer.padding[0]} steps before, ${layer.padding[1]} after`;
  return `${layer.constructor.name} ${layer.inputSize} -> ${layer.units} on ${layer.backend}${layer.returnSequences ? ', sequences' : ''}`;
}

export interface Inspection {
  /** One line per layer: its name, then describeLayer's line. */
  layers: string[];
  input: Tensor;
  timeMajor: boolean;
  output: Tensor;
  /** Each recurrent layer's gate statistics (a Bidirectional: forward, then backward). */
  gates: InspectedLayer[];
}

/** A layer's gateStats, and (LSTM) the units holding the most cell state. */
export interface InspectedLayer extends LayerGateStats {
  /** LSTM: the units of largest |c| at the last step of the first row, largest first (5). */
  largestCell?: { unit: number; value: number }[];
}

/** The `top` units of largest |c| at the last step of the first row of a layer's trace. */
function largestCell(c: Tensor, top = 5): { unit: number; value: number }[] {
  const [, T, U] = c.shape as [number, number, number];
  return Array.from(c.data.subarray((T - 1) * U, T * U), (value, unit) => ({ unit, value }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
    .slice(0, top);
}

/**
 * Runs the model on a random input of one sequence ([1, steps, ...]; ids for a model of ids)
 * with every gate traced, and summarises each recurrent layer's gates.
 */
export function inspectModel(model: Sequential, options: { steps?: number; seed?: number } = {}): Inspection {
  const input = randomInput(model, { steps: options.steps ?? 20, seed: options.seed });
  const { output, trace = [] } = model.forward(input, { trace: true });
  const traces = layerTraces(model, trace);
  const gates = gateStats(trace, { model }).map((stats, k): InspectedLayer => {
    const c = traces[k]!.tensors.c;
    return c ? { ...stats, largestCell: largestCell(c) } : stats;
  });
  return { layers: model.layers.map((l) => `'${l.name}' ${describeLayer(l)}`), input, timeMajor: modelInput(model).timeMajor, output, gates };
}

const percent = (x: number) => (100 * x).toFixed(1).padStart(5) + '%';

/** The inspection as text; `name` (the model file) heads it. */
export function formatInspection(inspection: Inspection, name = 'model'): string {
  const { layers, input, output, gates, timeMajor } = inspection;
  const lines = [`${name}: ${layers.length} layers, input ${JSON.stringify(input.shape)}${timeMajor ? ' (time-major)' : ''}`];
  layers.forEach((d, k) => lines.push(`  ${k}. ${d}`));
  lines.push(`output shape ${JSON.stringify(output.shape)}, first values ${Array.from(output.data.slice(0, 5), (v) => v.toFixed(4)).join(', ')}`);
  lines.push('gates, over every step and unit:');
  for (const g of gates) {
    const title = `${g.layer}. ${g.layerName === undefined ? '' : `'${g.layerName}' `}${g.direction ?? (g.cell === 'lstm' ? 'Lstm' : 'Gru')}`;
    lines.push(`  ${title}`);
    // The sigmoid gates, over every unit and step that ran.
    for (const { label, all } of Object.values(g.gates)) {
      if (all.shut !== undefined) lines.push(`    ${label.padEnd(12)} mean ${all.mean.toFixed(3)}   shut ${percent(all.shut)}   open ${percent(all.open!)}`);
    }
    if (g.largestCell) lines.push(`    largest |c| at the last step: ${g.largestCell.map(({ unit, value }) => `unit ${unit} ${value.toFixed(3)}`).join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

/** The values of a layer's weights as it runs them (a cuDNN LSTM's two biases counted once, summed). */
export function layerParameters(layer: SequentialLayer): number {
  const recurrent = (l: Lstm | Gru) => {
    const w = l.parts.weights;
    return w.kernel.length + w.recurrentKernel.length + (w.bias?.length ?? 0) + (w.recurrentBias?.length ?? 0) + (w.peepholes?.length ?? 0);
  };
  if (layer instanceof Lstm || layer instanceof Gru) return recurrent(layer);
  if (layer instanceof Bidirectional) return recurrent(layer.forwardLayer) + recurrent(layer.backwardLayer);
  if (layer instanceof Dense) return layer.kernel.length + (layer.bias?.length ?? 0);
  if (layer instanceof Embedding) return layer.inputDim * layer.units;
  if (layer instanceof Conv1D) return layer.kernelSize * (layer.inputSize / layer.groups) * layer.units + layer.units;
  if (layer instanceof BatchNormalization || layer instanceof LayerNormalization) return 2 * layer.units;
  return 0;
}

/** Each layer's output for one sequence of `steps` (no batch axis): [steps, features] or [features]. */
export function layerOutputShapes(model: Sequential, steps: number): number[][] {
  const first = model.layers[0]!;
  let shape = [steps, 'inputSize' in first ? first.inputSize : 1];
  return model.layers.map((layer) => {
    const sequence = (units: number, keep: boolean) => (keep ? [shape[0]!, units] : [units]);
    if (layer instanceof Embedding) shape = [steps, layer.units];
    else if (layer instanceof Lstm || layer instanceof Gru) shape = sequence(layer.units, layer.returnSequences);
    else if (layer instanceof Bidirectional) shape = sequence(layer.outputSize, layer.forwardLayer.returnSequences);
    else if (layer instanceof Dense) shape = [...shape.slice(0, -1), layer.units];
    else if (layer instanceof RepeatVector) shape = [layer.n, ...shape];
    else if (layer instanceof Flatten) shape = [shape.reduce((a, b) => a * b, 1)];
    else if (layer instanceof GlobalPooling1D) shape = shape.slice(1);
    else if (layer instanceof Conv1D) shape = [layer.outputSteps(shape[0]!), layer.units];
    else if (layer instanceof MaxPooling1D || layer instanceof AveragePooling1D || layer instanceof ZeroPadding1D) shape = [layer.outputSteps(shape[0]!), shape[1]!];
    return shape;
  });
}
