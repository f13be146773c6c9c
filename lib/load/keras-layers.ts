// Keras layer configs (what TF.js model.json, Keras .h5 and .keras files hold) to layer specs.
// The three formats differ in where the weights sit, not in what the layers mean, so each reader
// hands over the topology and a function giving one layer's weights in get_weights() order.
import type { Activation } from '../activations.js';
import { describe } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { modelError, type LayerSpec } from './spec.js';

/** A Keras layer as its config describes it: { class_name, config }. */
export interface KerasLayerConfig {
  class_name: string;
  config: Record<string, unknown>;
}

/**
 * What hard_sigmoid means in the file: Keras 1/2 and TF.js clip(0.2x + 0.5, 0, 1); Keras 3
 * clip(x/6 + 0.5, 0, 1). A model runs as the framework that wrote it ran it.
 */
export type HardSigmoid = 'keras2' | 'keras3';

export interface KerasModel {
  file: string;
  layers: readonly KerasLayerConfig[];
  hardSigmoid: HardSigmoid;
  /** The layer's weights in get_weights() order (a Bidirectional's forward ones, then its backward ones). */
  weights(layer: KerasLayerConfig, index: number): Promise<Tensor[]>;
}

// Layers that do nothing at inference.
const PASS_THROUGH = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization']);

/** The layer list of a Sequential's config: Keras 2.0-2.1 wrote the list itself, later ones { layers }. */
export function sequentialLayers(file: string, modelConfig: unknown): KerasLayerConfig[] {
  const model = modelConfig as { class_name?: unknown; config?: unknown } | null;
  if (typeof model !== 'object' || model === null || typeof model.class_name !== 'string') {
    return modelError(file, `expected a Keras model config { class_name, config }, got ${describe(modelConfig)}`);
  }
  if (model.class_name !== 'Sequential') {
    return modelError(file, `expected a Sequential model (a chain of layers), got a '${model.class_name}' model`);
  }
  const list = Array.isArray(model.config) ? model.config : (model.config as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(list)) return modelError(file, `expected the Sequential's layers as a list, got ${describe(list)}`);
  return list.map((layer, k) => {
    const l = layer as Partial<KerasLayerConfig> | null;
    if (typeof l !== 'object' || l === null || typeof l.class_name !== 'string' || typeof l.config !== 'object' || l.config === null) {
      return modelError(file, `layers[${k}]: expected { class_name, config }, got ${describe(layer)}`);
    }
    return l as KerasLayerConfig;
  });
}

function layerName(layer: KerasLayerConfig, index: number): string {
  return typeof layer.config.name === 'string' ? layer.config.name : `layers[${index}]`;
}

/** Keras' activation names to ours; softmax only where the caller allows it (Dense). */
function activation(model: KerasModel, where: string, value: unknown, allowSoftmax: boolean): Activation | 'softmax' {
  // Keras 3 writes built-ins as strings; a serialized function object carries its name in config.
  const name = typeof value === 'object' && value !== null ? (value as { config?: { name?: unknown }; class_name?: unknown }).config?.name ?? (value as { class_name?: unknown }).class_name : value;
  switch (name) {
    case null:
    case undefined:
    case 'linear':
      return 'linear';
    case 'tanh':
    case 'sigmoid':
    case 'relu':
    case 'softsign':
    case 'elu':
      return name;
    case 'hard_sigmoid':
      return model.hardSigmoid === 'keras2' ? { name: 'hard_sigmoid', alpha: 0.2, beta: 0.5 } : 'hard_sigmoid';
    case 'softmax':
      if (allowSoftmax) return 'softmax';
  }
  return modelError(model.file, `${where}: expected one of linear, tanh, sigmoid, hard_sigmoid, relu, softsign, elu${allowSoftmax ? ', softmax' : ''}, got activation ${describe(name)}`);
}

const bool = (value: unknown, fallback: boolean) => (typeof value === 'boolean' ? value : fallback);

function expectWeights(model: KerasModel, where: string, weights: Tensor[], counts: readonly number[]): void {
  if (!counts.includes(weights.length)) {
    modelError(model.file, `${where}: expected ${counts.join(' or ')} weight arrays, got ${weights.length}`);
  }
}

type Recurrent = { type: 'lstm' | 'gru'; options: Record<string, unknown> & { weights: object } };

/** An LSTM, GRU, CuDNNLSTM or CuDNNGRU config with its weights [kernel, recurrent_kernel, bias?]. */
function recurrent(model: KerasModel, where: string, layer: KerasLayerConfig, weights: Tensor[]): Recurrent {
  const c = layer.config;
  const cudnn = layer.class_name.startsWith('CuDNN');
  const type = layer.class_name.endsWith('LSTM') ? 'lstm' : 'gru';
  if (c.time_major === true) modelError(model.file, `${where}: expected batch-major input, got time_major: true`);
  const useBias = cudnn || bool(c.use_bias, true);
  expectWeights(model, where, weights, useBias ? [3] : [2]);
  const [kernel, recurrentKernel, bias] = weights as [Tensor, Tensor, Tensor | undefined];
  const options: Recurrent['options'] = {
    weights: bias ? { kernel, recurrentKernel, bias } : { kernel, recurrentKernel },
    weightLayout: cudnn ? 'cudnn' : 'keras',
    useBias,
    returnSequences: bool(c.return_sequences, false),
    goBackwards: bool(c.go_backwards, false),
    stateful: bool(c.stateful, false),
  };
  if (typeof c.units === 'number') options.units = c.units;
  if (!cudnn) {
    // CuDNN layers are fixed to tanh and sigmoid, our defaults.
    options.activation = activation(model, `${where}.activation`, c.activation ?? 'tanh', false);
    options.recurrentActivation = activation(model, `${where}.recurrent_activation`, c.recurrent_activation ?? (model.hardSigmoid === 'keras2' ? 'hard_sigmoid' : 'sigmoid'), false);
  }
  // GRU: Keras before 2.3 (and TF.js) had no reset_after and applied r before the product.
  if (type === 'gru') options.resetAfter = cudnn || bool(c.reset_after, false);
  return { type, options };
}

function dense(model: KerasModel, where: string, name: string, c: Record<string, unknown>, weights: Tensor[]): LayerSpec {
  const useBias = bool(c.use_bias, true);
  expectWeights(model, where, weights, useBias ? [2] : [1]);
  const [kernel, bias] = weights as [Tensor, Tensor | undefined];
  return { type: 'dense', name, options: { kernel, ...(bias ? { bias } : {}), activation: activation(model, `${where}.activation`, c.activation, true) } };
}

const MERGE_MODES = new Set(['concat', 'sum', 'mul', 'ave']);

async function layerSpec(model: KerasModel, layer: KerasLayerConfig, index: number): Promise<LayerSpec | 'activation' | null> {
  const name = layerName(layer, index);
  const where = `layer '${name}' (${layer.class_name})`;
  const c = layer.config;
  // Keras 1 named units output_dim and stored weights per gate under other names.
  if ('output_dim' in c) return modelError(model.file, `${where}: expected a Keras 2 or 3 config (units), got a Keras 1 one (output_dim): load its weights with weightLayout 'keras1'`);
  switch (layer.class_name) {
    case 'LSTM':
    case 'GRU':
    case 'CuDNNLSTM':
    case 'CuDNNGRU': {
      const { type, options } = recurrent(model, where, layer, await model.weights(layer, index));
      return { type, name, options } as LayerSpec;
    }
    case 'Bidirectional': {
      const inner = c.layer as KerasLayerConfig | undefined;
      if (!inner || !['LSTM', 'GRU', 'CuDNNLSTM', 'CuDNNGRU'].includes(inner.class_name)) {
        return modelError(model.file, `${where}: expected it to wrap an LSTM or GRU, got ${describe(inner?.class_name)}`);
      }
      const mergeMode = c.merge_mode ?? null;
      if (!MERGE_MODES.has(mergeMode as string)) {
        return modelError(model.file, `${where}: expected merge_mode concat, sum, mul or ave (a Sequential passes one tensor on), got ${describe(mergeMode)}`);
      }
      const weights = await model.weights(layer, index);
      if (weights.length % 2 !== 0) modelError(model.file, `${where}: expected as many backward weight arrays as forward ones, got ${weights.length} in all`);
      const half = weights.length / 2;
      const forward = recurrent(model, where, inner, weights.slice(0, half));
      const backward = recurrent(model, where, (c.backward_layer as KerasLayerConfig | undefined) ?? inner, weights.slice(half));
      return {
        type: 'bidirectional',
        name,
        options: { layer: { ...forward.options, type: forward.type } as never, backwardWeights: backward.options.weights as never, mergeMode: mergeMode as 'concat' },
      };
    }
    case 'TimeDistributed': {
      // Dense already runs per timestep on [B, T, F].
      const inner = c.layer as KerasLayerConfig | undefined;
      if (inner?.class_name !== 'Dense') return modelError(model.file, `${where}: expected it to wrap a Dense, got ${describe(inner?.class_name)}`);
      return dense(model, where, name, inner.config, await model.weights(layer, index));
    }
    case 'Dense':
      return dense(model, where, name, c, await model.weights(layer, index));
    case 'Activation':
      return 'activation';
    default:
      if (PASS_THROUGH.has(layer.class_name)) return null;
      return modelError(model.file, `${where}: expected LSTM, GRU, CuDNNLSTM, CuDNNGRU, Bidirectional, Dense, TimeDistributed(Dense), Activation, Dropout or InputLayer, got an unsupported layer`);
  }
}

/** The model's layers as specs; an Activation layer joins the Dense before it. */
export async function kerasLayerSpecs(model: KerasModel): Promise<LayerSpec[]> {
  const specs: LayerSpec[] = [];
  for (const [index, layer] of model.layers.entries()) {
    const spec = await layerSpec(model, layer, index);
    if (spec === null) continue;
    if (spec === 'activation') {
      const previous = specs[specs.length - 1];
      const where = `layer '${layerName(layer, index)}' (Activation)`;
      if (previous?.type !== 'dense' || (previous.options.activation ?? 'linear') !== 'linear') {
        return modelError(model.file, `${where}: expected it right after a Dense without an activation, got it after ${previous ? `'${previous.name}' (${previous.type})` : 'nothing'}`);
      }
      previous.options.activation = activation(model, `${where}.activation`, layer.config.activation, true);
      continue;
    }
    specs.push(spec);
  }
  return specs;
}
