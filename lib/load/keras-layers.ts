// Keras layer configs (what TF.js model.json, Keras .h5 and .keras files hold) to layer specs.
// The three formats differ in where the weights sit, not in what the layers mean, so each reader
// hands over the topology and a function giving one layer's weights in get_weights() order.
import type { Activation } from '../activations.js';
import { describe } from '../errors.js';
import type { MergeOp } from '../merge.js';
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
  /** Which framework runs the file's format (masked steps of a Bidirectional differ). */
  framework: 'keras' | 'tfjs';
  /** The layer's weights in get_weights() order (a Bidirectional's forward ones, then its backward ones). */
  weights(layer: KerasLayerConfig, index: number): Promise<Tensor[]>;
  /** What a refused layer or topology may do instead, appended to the refusal (Keras files: readKerasLayers). */
  wayOut?: string;
  /** Class names loadModel's customLayers builds (a layer of another unknown class is refused). */
  customLayers?: ReadonlySet<string>;
}

/** The way out of loadModel's refusals of a Keras file. */
export const READ_KERAS_LAYERS = 'readKerasLayers(file) gives every layer with its weights and options, to build with Lstm.create, Gru.create, Dense.create';

// Layers that do nothing at inference.
const PASS_THROUGH = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization']);

/** The layers a model runs in order; `functional` when the file held a functional model (a chain). */
export interface KerasLayers {
  layers: KerasLayerConfig[];
  functional: boolean;
}

/** A layer's config as the file holds it, checked: { class_name, config }. */
function layerConfig(file: string, where: string, value: unknown): KerasLayerConfig {
  const l = value as Partial<KerasLayerConfig> | null | undefined;
  if (typeof l !== 'object' || l === null || typeof l.class_name !== 'string' || typeof l.config !== 'object' || l.config === null) {
    return modelError(file, `${where}: expected a layer as { class_name, config }, got ${describe(value)}`);
  }
  return l as KerasLayerConfig;
}

function layerList(file: string, list: unknown): KerasLayerConfig[] {
  if (!Array.isArray(list)) return modelError(file, `expected the model's layers as a list, got ${describe(list)}`);
  return list.map((layer, k) => layerConfig(file, `layers[${k}]`, layer));
}

/** The layers feeding a functional model's layer: Keras 3 keeps them as keras_history in each call's args, Keras 2 and TF.js as [name, node, tensor, kwargs] lists. */
function inboundNames(layer: KerasLayerConfig & { inbound_nodes?: unknown }): { calls: number; names: string[] } {
  const nodes = layer.inbound_nodes ?? (layer.config as { inbound_nodes?: unknown }).inbound_nodes;
  if (!Array.isArray(nodes)) return { calls: 0, names: [] };
  const names: string[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      if (typeof x[0] === 'string' && typeof x[1] === 'number') names.push(x[0]);
      else x.forEach(visit);
    } else if (typeof x === 'object' && x !== null) {
      const history = (x as { config?: { keras_history?: unknown } }).config?.keras_history;
      if (Array.isArray(history) && typeof history[0] === 'string') names.push(history[0]);
      else Object.values(x).forEach(visit);
    }
  };
  visit(nodes);
  return { calls: nodes.length, names };
}

/**
 * Every layer of a Sequential's config (Keras 2.0-2.1 wrote the list itself, later ones { layers })
 * or of a functional model's, in the config's order.
 */
export function configLayers(file: string, modelConfig: unknown): KerasLayers {
  const model = modelConfig as { class_name?: unknown; config?: unknown } | null;
  if (typeof model !== 'object' || model === null || typeof model.class_name !== 'string') {
    return modelError(file, `expected a Keras model config { class_name, config }, got ${describe(modelConfig)}`);
  }
  if (model.class_name === 'Sequential') {
    return { layers: layerList(file, Array.isArray(model.config) ? model.config : (model.config as { layers?: unknown } | null)?.layers), functional: false };
  }
  if (model.class_name !== 'Functional' && model.class_name !== 'Model') {
    return modelError(file, `expected a Sequential or functional model, got a '${model.class_name}' model`);
  }
  return { layers: layerList(file, (model.config as { layers?: unknown } | null)?.layers), functional: true };
}

/**
 * The layers of a Sequential's config, or of a functional model that is one chain from its input
 * to its output, in the order they run. `wayOut` follows a refusal of any other topology.
 */
export function modelLayers(file: string, modelConfig: unknown, wayOut?: string): KerasLayers {
  const all = configLayers(file, modelConfig);
  if (!all.functional) return all;
  const { layers } = all;
  const refuse = (what: string): never => modelError(file, wayOut === undefined ? what : `${what}: ${wayOut}`);
  const chain = new Map<string, KerasLayerConfig>(); // a layer by the layer it reads
  const names = new Set<string>();
  let input: KerasLayerConfig | null = null;
  for (const [k, layer] of layers.entries()) {
    const name = layerName(layer, k);
    if (names.has(name)) modelError(file, `expected layers with distinct names (as Keras requires), got '${name}' twice`);
    names.add(name);
    const { calls, names: sources } = inboundNames(layer);
    if (layer.class_name === 'InputLayer' && calls === 0) {
      if (input) refuse(`expected a functional model with one input, got inputs '${layerName(input, 0)}' and '${name}'`);
      input = layer;
    } else if (calls !== 1 || sources.length !== 1 || chain.has(sources[0]!)) {
      refuse(`expected a functional model that is a chain of layers (each called once on the one before), got layer '${name}' called ${calls} time(s) on ${sources.length ? sources.map((n) => `'${n}'`).join(', ') : 'nothing'}${chain.has(sources[0]!) ? ', a branch' : ''}`);
    } else {
      chain.set(sources[0]!, layer);
    }
  }
  if (!input) return modelError(file, 'expected a functional model with an InputLayer, got none');
  // Names are distinct, so the walk visits each layer at most once (a cycle ends it early).
  const ordered = [input];
  for (let next = chain.get(layerName(input, 0)); next && ordered.length <= layers.length; next = chain.get(layerName(next, 0))) ordered.push(next);
  if (ordered.length !== layers.length) return refuse(`expected every layer of the functional model on the chain from its input, got ${layers.length - ordered.length} off it`);
  return { layers: ordered, functional: true };
}

// (keras.src.utils.naming.to_snake_case, regex for regex)
const snakeCase = (name: string) =>
  name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();

/**
 * Where Keras 3 saves each layer's weights (model.weights.h5 in a .keras file, and the weight
 * names tensorflowjs_converter makes of it): layers/<key>, the key the layer's class in
 * snake_case, counted per key (lstm, lstm_1, dense), whatever the layer's own name. The count
 * follows the model's layer list, which leaves out a Sequential's InputLayer.
 */
export function saveKeys(layers: readonly KerasLayerConfig[], functional: boolean): Map<KerasLayerConfig, string> {
  const keys = new Map<KerasLayerConfig, string>();
  const used = new Map<string, number>();
  for (const layer of layers) {
    if (layer.class_name === 'InputLayer' && !functional) continue;
    const base = snakeCase(layer.class_name);
    const count = used.get(base) ?? 0;
    used.set(base, count + 1);
    keys.set(layer, count === 0 ? base : `${base}_${count}`);
  }
  return keys;
}

export function layerName(layer: KerasLayerConfig, index: number): string {
  return typeof layer.config.name === 'string' ? layer.config.name : `layers[${index}]`;
}

/** Keras' activation names to ours; softmax only where the caller allows it (Dense). */
export function activation(model: KerasModel, where: string, value: unknown, allowSoftmax: boolean): Activation | 'softmax' {
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

/** A boolean config value, its default when absent; anything else is a damaged config. */
function flag(model: KerasModel, where: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') return modelError(model.file, `${where}: expected true or false, got ${describe(value)}`);
  return value;
}

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
  const useBias = cudnn || flag(model, `${where}.use_bias`, c.use_bias, true);
  expectWeights(model, where, weights, useBias ? [3] : [2]);
  const [kernel, recurrentKernel, bias] = weights as [Tensor, Tensor, Tensor | undefined];
  const options: Recurrent['options'] = {
    weights: bias ? { kernel, recurrentKernel, bias } : { kernel, recurrentKernel },
    weightLayout: cudnn ? 'cudnn' : 'keras',
    useBias,
    returnSequences: flag(model, `${where}.return_sequences`, c.return_sequences, false),
    goBackwards: flag(model, `${where}.go_backwards`, c.go_backwards, false),
    stateful: flag(model, `${where}.stateful`, c.stateful, false),
    zeroOutputForMask: flag(model, `${where}.zero_output_for_mask`, c.zero_output_for_mask, false),
  };
  if (typeof c.units === 'number') options.units = c.units;
  if (!cudnn) {
    // CuDNN layers are fixed to tanh and sigmoid, our defaults.
    options.activation = activation(model, `${where}.activation`, c.activation ?? 'tanh', false);
    options.recurrentActivation = activation(model, `${where}.recurrent_activation`, c.recurrent_activation ?? (model.hardSigmoid === 'keras2' ? 'hard_sigmoid' : 'sigmoid'), false);
  }
  // GRU: Keras before 2.3 (and TF.js) had no reset_after and applied r before the product.
  if (type === 'gru') options.resetAfter = cudnn || flag(model, `${where}.reset_after`, c.reset_after, false);
  return { type, options };
}

function dense(model: KerasModel, where: string, name: string, c: Record<string, unknown>, weights: Tensor[]): LayerSpec {
  const useBias = flag(model, `${where}.use_bias`, c.use_bias, true);
  expectWeights(model, where, weights, useBias ? [2] : [1]);
  const [kernel, bias] = weights as [Tensor, Tensor | undefined];
  return { type: 'dense', name, options: { kernel, ...(bias ? { bias } : {}), activation: activation(model, `${where}.activation`, c.activation, true) } };
}

/** A Keras size that may be an int or a one-element list (Keras 3 writes kernel_size: [3]). */
function size1d(model: KerasModel, where: string, value: unknown, fallback?: number): number {
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 1) return modelError(model.file, `${where}: expected a positive integer (or a list of one), got ${describe(value)}`);
  return v as number;
}

function channelsLast(model: KerasModel, where: string, c: Record<string, unknown>): void {
  if ((c.data_format ?? 'channels_last') !== 'channels_last') modelError(model.file, `${where}: expected data_format channels_last, got ${describe(c.data_format)}`);
}

/** The layers of a CNN front end (lib/conv.ts, lib/normalization.ts): Conv1D, pooling, normalisation. */
async function frontEndSpec(model: KerasModel, where: string, name: string, layer: KerasLayerConfig, index: number): Promise<LayerSpec> {
  const c = layer.config;
  const weights = () => model.weights(layer, index);
  switch (layer.class_name) {
    case 'Conv1D': {
      channelsLast(model, where, c);
      const padding = c.padding ?? 'valid';
      if (padding !== 'valid' && padding !== 'same' && padding !== 'causal') return modelError(model.file, `${where}: expected padding valid, same or causal, got ${describe(padding)}`);
      const useBias = flag(model, `${where}.use_bias`, c.use_bias, true);
      const w = await weights();
      expectWeights(model, where, w, useBias ? [2] : [1]);
      // The config and the weights must tell the same convolution (Keras refuses such a file too).
      const shape = w[0]!.shape;
      const kernelSize = size1d(model, `${where}.kernel_size`, c.kernel_size, shape[0]);
      if (shape.length !== 3 || shape[0] !== kernelSize || (typeof c.filters === 'number' && shape[2] !== c.filters)) {
        return modelError(model.file, `${where}: expected a kernel of shape [${kernelSize}, inputChannels / groups, ${typeof c.filters === 'number' ? c.filters : 'filters'}] (kernel_size and filters of its config), got [${shape.join(', ')}]`);
      }
      const options = {
        kernel: w[0]!,
        ...(w[1] && { bias: w[1] }),
        strides: size1d(model, `${where}.strides`, c.strides, 1),
        dilationRate: size1d(model, `${where}.dilation_rate`, c.dilation_rate, 1),
        groups: size1d(model, `${where}.groups`, c.groups, 1),
        padding: padding as 'valid' | 'same' | 'causal',
        activation: activation(model, `${where}.activation`, c.activation, false) as Activation,
      };
      return { type: 'conv1d', name, options };
    }
    case 'MaxPooling1D':
    case 'MaxPool1D':
    case 'AveragePooling1D':
    case 'AvgPool1D': {
      channelsLast(model, where, c);
      const padding = c.padding ?? 'valid';
      if (padding !== 'valid' && padding !== 'same') return modelError(model.file, `${where}: expected padding valid or same, got ${describe(padding)}`);
      const poolSize = size1d(model, `${where}.pool_size`, c.pool_size, 2);
      const options = { poolSize, strides: size1d(model, `${where}.strides`, c.strides, poolSize), padding: padding as 'valid' | 'same' };
      return { type: layer.class_name.startsWith('Max') ? 'max-pooling-1d' : 'average-pooling-1d', name, options };
    }
    case 'ZeroPadding1D': {
      const p = c.padding ?? 1;
      const padding = typeof p === 'number' ? [p, p] : p;
      if (!Array.isArray(padding) || padding.length !== 2 || !padding.every((v) => Number.isInteger(v) && v >= 0)) return modelError(model.file, `${where}: expected padding as a number of steps or [before, after], got ${describe(p)}`);
      return { type: 'zero-padding-1d', name, options: { padding: [padding[0], padding[1]] } };
    }
    case 'BatchNormalization':
    case 'LayerNormalization': {
      // The channels are the last axis of [batch, steps, channels]: -1, or 2 counting the batch.
      const axis = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : (c.axis ?? -1);
      if (axis !== -1 && axis !== 2) return modelError(model.file, `${where}: expected normalisation over the last axis (axis -1), got axis ${describe(c.axis)}`);
      if (c.rms_scaling === true) return modelError(model.file, `${where}: expected rms_scaling false, got true`);
      const center = flag(model, `${where}.center`, c.center, true);
      const scale = flag(model, `${where}.scale`, c.scale, true);
      const epsilon = typeof c.epsilon === 'number' ? c.epsilon : 1e-3;
      const w = await weights();
      const batch = layer.class_name === 'BatchNormalization';
      const count = Number(scale) + Number(center) + (batch ? 2 : 0);
      expectWeights(model, where, w, [count]);
      // get_weights() order: gamma (scale), beta (center), then the moving mean and variance.
      const gamma = scale ? w[0] : undefined;
      const beta = center ? w[Number(scale)] : undefined;
      const params = { ...(gamma && { gamma }), ...(beta && { beta }), epsilon };
      if (batch) return { type: 'batch-normalization', name, options: { ...params, movingMean: w[count - 2]!, movingVariance: w[count - 1]! } };
      return { type: 'layer-normalization', name, options: params };
    }
  }
  return modelError(model.file, `${where}: not a front-end layer`);
}

/** Keras class names of the CNN front end frontEndSpec reads. */
const FRONT_END_CLASSES = new Set(['Conv1D', 'MaxPooling1D', 'MaxPool1D', 'AveragePooling1D', 'AvgPool1D', 'ZeroPadding1D', 'BatchNormalization', 'LayerNormalization']);

/** Refuses a layer loadModel cannot run, saying what the file's reader offers instead. */
const unsupported = (model: KerasModel, what: string): never => modelError(model.file, model.wayOut === undefined ? what : `${what}: ${model.wayOut}`);

const MERGE_MODES = new Set(['concat', 'sum', 'mul', 'ave']);

/** The classes kerasLayerSpec turns into layers with weights (TimeDistributed when it wraps a Dense). */
export const WEIGHTED_CLASSES: ReadonlySet<string> = new Set(['LSTM', 'GRU', 'CuDNNLSTM', 'CuDNNGRU', 'Bidirectional', 'TimeDistributed', 'Dense', 'Embedding']);

/** One layer's spec; 'activation' for an Activation layer, null for one that does nothing at inference. */
export async function kerasLayerSpec(model: KerasModel, layer: KerasLayerConfig, index: number): Promise<LayerSpec | 'activation' | null> {
  const name = layerName(layer, index);
  const where = `layer '${name}' (${layer.class_name})`;
  const c = layer.config;
  // Keras 1 named units output_dim and stored weights per gate under other names (an Embedding's
  // output_dim is its own).
  if ('output_dim' in c && layer.class_name !== 'Embedding') return modelError(model.file, `${where}: expected a Keras 2 or 3 config (units), got a Keras 1 one (output_dim): load its weights with weightLayout 'keras1'`);
  if (FRONT_END_CLASSES.has(layer.class_name)) return frontEndSpec(model, where, name, layer, index);
  switch (layer.class_name) {
    case 'LSTM':
    case 'GRU':
    case 'CuDNNLSTM':
    case 'CuDNNGRU': {
      const { type, options } = recurrent(model, where, layer, await model.weights(layer, index));
      return { type, name, options } as LayerSpec;
    }
    case 'Bidirectional': {
      const inner = layerConfig(model.file, `${where}.layer`, c.layer);
      if (!['LSTM', 'GRU', 'CuDNNLSTM', 'CuDNNGRU'].includes(inner.class_name)) {
        return unsupported(model, `${where}: expected it to wrap an LSTM or GRU, got ${describe(inner.class_name)}`);
      }
      const mergeMode = c.merge_mode ?? null;
      if (!MERGE_MODES.has(mergeMode as string)) {
        return modelError(model.file, `${where}: expected merge_mode concat, sum, mul or ave (a Sequential passes one tensor on), got ${describe(mergeMode)}`);
      }
      const weights = await model.weights(layer, index);
      if (weights.length % 2 !== 0) modelError(model.file, `${where}: expected as many backward weight arrays as forward ones, got ${weights.length} in all`);
      const half = weights.length / 2;
      const forward = recurrent(model, where, inner, weights.slice(0, half));
      const backwardConfig = c.backward_layer === undefined || c.backward_layer === null ? inner : layerConfig(model.file, `${where}.backward_layer`, c.backward_layer);
      const backward = recurrent(model, `${where}.backward_layer`, backwardConfig, weights.slice(half));
      // One set of options runs both directions: a backward layer configured otherwise is refused.
      for (const key of ['units', 'activation', 'recurrentActivation', 'useBias', 'resetAfter', 'weightLayout'] as const) {
        const [f, b] = [JSON.stringify(forward.options[key]), JSON.stringify(backward.options[key])];
        if (forward.type !== backward.type || f !== b) {
          modelError(model.file, `${where}: expected backward_layer configured as the forward one, got ${forward.type !== backward.type ? `a ${backward.type} for a ${forward.type}` : `${key} ${b} against ${f}`}`);
        }
      }
      // Keras zeroes masked steps of both directions when sequences are returned; TF.js repeats
      // the previous output, as any of its recurrent layers does.
      const zeroOutputForMask = model.framework === 'keras' && forward.options.returnSequences === true;
      return {
        type: 'bidirectional',
        name,
        options: { layer: { ...forward.options, type: forward.type, ...(typeof inner.config.name === 'string' && { name: inner.config.name }) } as never, backwardWeights: backward.options.weights as never, mergeMode: mergeMode as 'concat', zeroOutputForMask },
      };
    }
    case 'TimeDistributed': {
      // Dense already runs per timestep on [B, T, F].
      const inner = layerConfig(model.file, `${where}.layer`, c.layer);
      if (inner.class_name !== 'Dense') return unsupported(model, `${where}: expected it to wrap a Dense, got ${describe(inner.class_name)}`);
      return dense(model, where, name, inner.config, await model.weights(layer, index));
    }
    case 'Dense':
      return dense(model, where, name, c, await model.weights(layer, index));
    case 'Activation':
      return 'activation';
    case 'Embedding': {
      const weights = await model.weights(layer, index);
      expectWeights(model, where, weights, [1]);
      return { type: 'embedding', name, options: { embeddings: weights[0]!, maskZero: flag(model, `${where}.mask_zero`, c.mask_zero, false) } };
    }
    case 'RepeatVector': {
      if (!Number.isInteger(c.n) || (c.n as number) < 1 || (c.n as number) > 1 << 16) return modelError(model.file, `${where}: expected n, an integer from 1 to 65536, got ${describe(c.n)}`);
      return { type: 'repeat-vector', name, options: { n: c.n as number } };
    }
    case 'Flatten':
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D': {
      if ((c.data_format ?? 'channels_last') !== 'channels_last') return modelError(model.file, `${where}: expected data_format channels_last, got ${describe(c.data_format)}`);
      if (layer.class_name === 'Flatten') return { type: 'flatten', name };
      if (c.keepdims === true) return modelError(model.file, `${where}: expected keepdims false, got true`);
      const mode = layer.class_name === 'GlobalMaxPooling1D' ? 'max' : 'average';
      // Keras leaves masked steps out of the average; TF.js and both max poolings take every step.
      return { type: 'global-pooling', name, options: { mode, maskAware: mode === 'average' && model.framework === 'keras' } };
    }
    case 'Masking': {
      const value = c.mask_value ?? 0;
      if (typeof value !== 'number') return modelError(model.file, `${where}: expected a numeric mask_value, got ${describe(value)}`);
      return { type: 'input', name, options: { maskValue: value } };
    }
    case 'Concatenate':
    case 'Add':
    case 'Subtract':
    case 'Multiply':
    case 'Average':
    case 'Maximum':
      return mergeSpec(model, where, name, layer.class_name, c);
    default:
      if (PASS_THROUGH.has(layer.class_name)) return null;
      return customSpec(model, where, name, layer, index);
  }
}

/** A layer of a class customLayers builds (by its name, or the Class of Keras 3's 'package>Class'), else refused naming the class. */
async function customSpec(model: KerasModel, where: string, name: string, layer: KerasLayerConfig, index: number): Promise<LayerSpec> {
  const given = layer.class_name;
  const className = model.customLayers?.has(given) ? given : given.slice(given.lastIndexOf('>') + 1);
  if (model.customLayers?.has(className)) return { type: 'custom', name, options: { className, config: layer.config, weights: await model.weights(layer, index) } };
  return unsupported(model, `${where}: expected LSTM, GRU, CuDNNLSTM, CuDNNGRU, Bidirectional, Dense, TimeDistributed(Dense), Activation, Embedding, Masking, RepeatVector, Flatten, GlobalAverage/MaxPooling1D, Conv1D, MaxPooling1D, AveragePooling1D, ZeroPadding1D, BatchNormalization, LayerNormalization, a merge layer (Concatenate, Add, Subtract, Multiply, Average, Maximum), Dropout or InputLayer, got an unsupported layer, of class '${className}' (a layer of your own: loadModel(file, { customLayers: { ${className}: (config, weights) => layer } }))`);
}

const MERGE_OPS: Record<string, MergeOp> = { Concatenate: 'concatenate', Add: 'add', Subtract: 'subtract', Multiply: 'multiply', Average: 'average', Maximum: 'maximum' };

/** A merge layer of a functional model (its inputs come from the graph). */
function mergeSpec(model: KerasModel, where: string, name: string, className: string, c: Record<string, unknown>): LayerSpec {
  const op = MERGE_OPS[className]!;
  if (op !== 'concatenate') return { type: 'merge', name, options: { op } };
  const axis = c.axis ?? -1;
  if (!Number.isInteger(axis)) return modelError(model.file, `${where}: expected an integer axis, got ${describe(axis)}`);
  return { type: 'merge', name, options: { op, axis: axis as number } };
}

/** The model's layers as specs; an Activation layer joins the Dense before it. */
export async function kerasLayerSpecs(model: KerasModel): Promise<LayerSpec[]> {
  const specs: LayerSpec[] = [];
  for (const [index, layer] of model.layers.entries()) {
    const spec = await kerasLayerSpec(model, layer, index);
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
