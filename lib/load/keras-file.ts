// readKerasLayers: every layer of a Keras file with its weights, for models loadModel does not run
// whole (branches, layers of the user's own) and for files with weights only. Four layouts:
// Keras 2's HDF5 (model_weights/<layer> with weight_names, under the root in a save_weights file),
// Keras 3's (layers/<key>/.../vars/<n> in .weights.h5 and inside a .keras archive), each with or
// without the model config. The config, where there is one, says what each layer is; without it
// the weights' names and shapes do.
import type { Activation } from '../activations.js';
import type { CellKind } from '../backend.js';
import type { BidirectionalOptions, MergeMode } from '../bidirectional.js';
import { LstmError } from '../errors.js';
import type { GruOptions } from '../gru.js';
import { cudnnToKeras } from '../layouts.js';
import type { LstmOptions } from '../lstm.js';
import type { Tensor } from '../tensor.js';
import { readHdf5 } from './hdf5.js';
import type { Hdf5Node } from './hdf5-snapshot.js';
import { attribute, h5HardSigmoid, h5LayerWeights, isGroup, keras3LayerGroup, member, openKerasArchive, variables } from './keras.js';
import { configLayers, kerasLayerSpec, saveKeys, WEIGHTED_CLASSES, type HardSigmoid, type KerasLayerConfig, type KerasModel } from './keras-layers.js';
import { modelError, parseJson, type LayerSpec } from './spec.js';
import type { ModelFile } from './source.js';

/** A recurrent layer's weights in Keras' layout (get_weights(): kernel, recurrent_kernel, bias). */
export interface KerasRecurrentWeights {
  /** [inputSize, G*units], gates i, f, c, o (LSTM) or z, r, h (GRU). */
  kernel: Tensor;
  /** [units, G*units]. */
  recurrentKernel: Tensor;
  /** [G*units]; a GRU with resetAfter [2, G*units] (input and recurrent rows). Absent without bias. */
  bias?: Tensor;
}

/** What every layer of a Keras file has. */
export interface KerasFileLayerBase {
  /** The layer's name in the file (Keras' layer.name). */
  name: string;
  /** Its Keras class ('LSTM', 'CuDNNLSTM', 'Dense', ...) when the file holds the model config; undefined in a weights-only file. */
  className?: string;
  /** Its config as the file holds it, when there is one. */
  config?: Record<string, unknown>;
}

/** One direction of a recurrent layer: `Lstm.create({ weights, ...options })` (`Gru.create` for a GRU). */
export interface KerasRecurrentDirection<O> {
  weights: KerasRecurrentWeights;
  options: O;
}

/**
 * A layer of a Keras file. `kind` says which `create` builds it:
 * - 'lstm', 'gru': `Lstm.create({ weights: layer.weights, ...layer.options })` (`Gru.create`);
 * - 'bidirectional': `Bidirectional.create({ ...layer.options, layer: { type: layer.cell, weights: layer.directions[0].weights, ...layer.directions[0].options }, backwardWeights: layer.directions[1].weights })`;
 * - 'dense', 'embedding': `Dense.create({ ...layer.weights, ...layer.options })` (`Embedding.create`);
 * - 'other': a layer this library does not run (its weights as the file lists them, with their names).
 *
 * Options carry the layer's name, and, from the model config, everything Keras' layer would run
 * with; a weights-only file tells only what its weights show (units, useBias, resetAfter): set
 * returnSequences, goBackwards and the activations as the model's code does (Keras 2's LSTM and
 * GRU defaulted recurrent_activation to hard_sigmoid, which is `{ name: 'hard_sigmoid', alpha:
 * 0.2, beta: 0.5 }` here). CuDNNLSTM and CuDNNGRU weights come re-laid out as the LSTM and GRU
 * Keras 2 converts them to (sigmoid and tanh, a GRU with resetAfter).
 */
export type KerasFileLayer =
  | (KerasFileLayerBase & { kind: 'lstm'; weights: KerasRecurrentWeights; options: Omit<LstmOptions, 'weights'> })
  | (KerasFileLayerBase & { kind: 'gru'; weights: KerasRecurrentWeights; options: Omit<GruOptions, 'weights'> })
  | (KerasFileLayerBase & {
      kind: 'bidirectional';
      cell: CellKind;
      /** Forward, then backward (whose options have goBackwards, to build it alone). */
      directions: [KerasRecurrentDirection<Omit<LstmOptions & GruOptions, 'weights'>>, KerasRecurrentDirection<Omit<LstmOptions & GruOptions, 'weights'>>];
      options: { name: string; mergeMode?: MergeMode; zeroOutputForMask?: boolean };
    })
  | (KerasFileLayerBase & { kind: 'dense'; weights: { kernel: Tensor; bias?: Tensor }; options: { name: string; activation?: Activation | 'softmax' } })
  | (KerasFileLayerBase & { kind: 'embedding'; weights: { embeddings: Tensor }; options: { name: string; maskZero?: boolean } })
  | (KerasFileLayerBase & { kind: 'other'; weights: Tensor[]; weightNames: string[] });

/** A layer as the file stores it: its weights in get_weights() order and their names there. */
interface StoredLayer {
  name: string;
  config?: KerasLayerConfig;
  tensors: Tensor[];
  /** Keras 2: the weight names ('rnn_1/kernel:0'); Keras 3: paths under the layer's group ('cell/vars/0'). */
  names: string[];
  /** Keras 3 without a config: the save key ('lstm_1'), which is the class in snake_case. */
  key?: string;
}

/** The layers of a Keras .h5, .weights.h5 or .keras file. */
export async function readKerasFileLayers(file: ModelFile, format: 'h5' | 'keras'): Promise<KerasFileLayer[]> {
  let stored: StoredLayer[];
  let hardSigmoid: HardSigmoid;
  if (format === 'keras') {
    const archive = await openKerasArchive(file);
    hardSigmoid = archive.hardSigmoid;
    stored = keras3Layers(file.name, await readHdf5(file.name, archive.weights, ['layers']), archive.config);
  } else {
    const root = await readHdf5(file.name, file.bytes, ['']);
    hardSigmoid = h5HardSigmoid(file.name, root);
    stored = h5Layers(file.name, root);
  }
  const layers: KerasFileLayer[] = [];
  for (const [index, layer] of stored.entries()) layers.push(await fileLayer(file.name, hardSigmoid, layer, index));
  return layers;
}

/** An HDF5 file in Keras 2's layout (a model, or save_weights' layer_names) or Keras 3's .weights.h5. */
function h5Layers(file: string, root: Hdf5Node): StoredLayer[] {
  const config = attribute(file, root, 'model_config');
  if (config !== undefined) {
    const weightsGroup = member(root, 'model_weights');
    return configLayers(file, parseJson(file, config, 'model_config')).layers.map((layer, k) => {
      const name = typeof layer.config.name === 'string' ? layer.config.name : `layers[${k}]`;
      const group = member(weightsGroup ?? root, name);
      return { name, config: layer, ...(isGroup(group) ? h5LayerWeights(file, group) : { names: [], tensors: [] }) };
    });
  }
  const listed = attribute(file, root, 'layer_names');
  if (listed !== undefined) {
    const names = Array.isArray(listed) ? listed : [listed];
    if (!names.every((n) => typeof n === 'string')) return modelError(file, `expected layer_names as strings, got ${JSON.stringify(listed)}`);
    return (names as string[]).map((name) => {
      const group = member(root, name);
      if (!isGroup(group)) return modelError(file, `expected the weights of layer '${name}' (listed in layer_names) at /${name}, got nothing there`);
      return { name, ...h5LayerWeights(file, group) };
    });
  }
  if (isGroup(member(root, 'layers'))) return keras3Layers(file, root, undefined);
  return modelError(file, `expected a Keras HDF5 file (a model's model_config, save_weights' layer_names, or Keras 3's layers group), got none of these at its root (members: ${Object.keys(root.children ?? {}).join(', ') || 'none'})`);
}

const RECURRENT_CLASSES = new Set(['LSTM', 'GRU', 'CuDNNLSTM', 'CuDNNGRU']);

const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** Keras 3's layout: with the config, its layers by their save keys; without, every key (in natural order, as the file keeps no other). */
function keras3Layers(file: string, root: Hdf5Node, config: unknown): StoredLayer[] {
  if (config !== undefined) {
    const { layers, functional } = configLayers(file, config);
    const keys = saveKeys(layers, functional);
    return layers.map((layer, k) => {
      const name = typeof layer.config.name === 'string' ? layer.config.name : `layers[${k}]`;
      const key = keys.get(layer);
      // A layer without weights (InputLayer, Dropout) may have no group at all.
      const group = key === undefined ? undefined : member(root, `layers/${key}`);
      return { name, config: layer, ...(isGroup(group) || WEIGHTED_CLASSES.has(layer.class_name) ? variables(file, keras3LayerGroup(file, root, key, name)) : { names: [], tensors: [] }) };
    });
  }
  const layers = member(root, 'layers')!;
  return Object.keys(layers.children ?? {})
    .sort(naturalOrder)
    .map((key) => {
      const group = member(layers, key)!;
      // Keras 3.x records the layer's own name on its vars group; earlier files only have the key.
      const vars = member(group, 'vars');
      const own = vars ? attribute(file, vars, 'name') : undefined;
      return { name: typeof own === 'string' ? own : key, key, ...variables(file, group) };
    });
}

/** A layer of the file, as a spec from its config or told by its weights. */
async function fileLayer(file: string, hardSigmoid: HardSigmoid, layer: StoredLayer, index: number): Promise<KerasFileLayer> {
  const base: KerasFileLayerBase = { name: layer.name, ...(layer.config && { className: layer.config.class_name, config: layer.config.config }) };
  const other = (): KerasFileLayer => ({ ...base, kind: 'other', weights: layer.tensors, weightNames: layer.names });
  if (layer.config) {
    // A wrapper runs here only around what kerasLayerSpec runs: TimeDistributed(Dense), Bidirectional(LSTM or GRU).
    const wrapped = String((layer.config.config.layer as { class_name?: unknown } | undefined)?.class_name);
    const { class_name: className } = layer.config;
    if (!WEIGHTED_CLASSES.has(className) || (className === 'TimeDistributed' && wrapped !== 'Dense') || (className === 'Bidirectional' && !RECURRENT_CLASSES.has(wrapped))) return other();
    const model: KerasModel = { file, layers: [layer.config], hardSigmoid, framework: 'keras', weights: async () => layer.tensors };
    const spec = await kerasLayerSpec(model, layer.config, index);
    return spec === null || spec === 'activation' ? other() : inKerasLayout(file, base, spec);
  }
  const told = toldByWeights(layer);
  return told ? inKerasLayout(file, base, told) : other();
}

type WeightedSpec = Extract<LayerSpec, { type: 'lstm' | 'gru' | 'bidirectional' | 'dense' | 'embedding' }>;

/** The spec's weights apart from its options, CuDNN weights converted to Keras' layout. */
function inKerasLayout(file: string, base: KerasFileLayerBase, spec: LayerSpec): KerasFileLayer {
  const where = `layer '${base.name}'${base.className ? ` (${base.className})` : ''}`;
  const direction = (cell: CellKind, given: Record<string, unknown>) => {
    const { weights, weightLayout, type: _type, ...options } = given as { weights: KerasRecurrentWeights; weightLayout?: string; type?: string };
    try {
      return { weights: weightLayout === 'cudnn' ? cudnnToKeras(weights, cell) : weights, options: { ...options, weightLayout: 'keras' as const } };
    } catch (error) {
      if (error instanceof LstmError) return modelError(file, `${where}: ${error.message}`, error);
      throw error;
    }
  };
  const s = spec as WeightedSpec;
  switch (s.type) {
    case 'lstm':
    case 'gru': {
      const { weights, options } = direction(s.type, s.options as unknown as Record<string, unknown>);
      return { ...base, kind: s.type, weights, options: { name: base.name, ...options } } as KerasFileLayer;
    }
    case 'bidirectional': {
      const { layer, backwardWeights, mergeMode, zeroOutputForMask } = s.options as BidirectionalOptions;
      const cell: CellKind = layer.type === 'gru' ? 'gru' : 'lstm';
      const forward = direction(cell, layer as unknown as Record<string, unknown>);
      const backward = direction(cell, { ...layer, weights: backwardWeights, goBackwards: !layer.goBackwards });
      return {
        ...base,
        kind: 'bidirectional',
        cell,
        directions: [forward, backward] as never,
        options: { name: base.name, ...(mergeMode !== undefined && { mergeMode }), ...(zeroOutputForMask !== undefined && { zeroOutputForMask }) },
      };
    }
    case 'dense': {
      const { kernel, bias, activation } = s.options;
      return { ...base, kind: 'dense', weights: { kernel, ...(bias && { bias }) } as never, options: { name: base.name, ...(activation !== undefined && { activation }) } };
    }
    case 'embedding': {
      const { embeddings, maskZero } = s.options;
      return { ...base, kind: 'embedding', weights: { embeddings } as never, options: { name: base.name, ...(maskZero !== undefined && { maskZero }) } };
    }
  }
  return modelError(file, `${where}: expected a layer with weights, got a ${spec.type}`);
}

/** The last part of a weight's name, Keras 2's 'rnn_1/kernel:0' -> 'kernel'; undefined for Keras 3's numbered vars. */
const weightName = (name: string) => (/\/vars\/\d+$|^vars\/\d+$/.test(name) ? undefined : name.replace(/:\d+$/, '').split('/').pop());
/** Keras 3's save key to the class it was made from ('lstm_2' -> 'lstm'). */
const keyBase = (key: string | undefined) => key?.replace(/_\d+$/, '');

/**
 * A weights-only layer's kind, from its weights' shapes and (Keras 2) names or (Keras 3) its save
 * key, as a spec with what the weights show; undefined when they do not say.
 */
function toldByWeights(layer: StoredLayer): LayerSpec | undefined {
  const { tensors, names, name } = layer;
  const named = names.map(weightName);
  const has = (k: number, expected: string) => named[k] === undefined || named[k] === expected;
  // A Bidirectional: its weights under forward_* and backward_* (Keras 2's forward_lstm_1, Keras 3's forward_layer).
  const half = tensors.length / 2;
  const side = (n: string) => (/(^|\/)forward_/.test(n) ? 'forward' : /(^|\/)backward_/.test(n) ? 'backward' : null);
  if (tensors.length > 0 && names.slice(0, half).every((n) => side(n) === 'forward') && names.slice(half).every((n) => side(n) === 'backward')) {
    const forward = recurrentOf(tensors.slice(0, half), named.slice(0, half));
    const backward = recurrentOf(tensors.slice(half), named.slice(half));
    if (!forward || !backward || forward.cell !== backward.cell || JSON.stringify(forward.options) !== JSON.stringify(backward.options)) return undefined;
    const options = { layer: { type: forward.cell, weights: forward.weights, ...forward.options }, backwardWeights: backward.weights } as BidirectionalOptions;
    return { type: 'bidirectional', name, options };
  }
  const recurrent = recurrentOf(tensors, named);
  if (recurrent) return { type: recurrent.cell, name, options: { weights: recurrent.weights, ...recurrent.options } } as LayerSpec;
  const [kernel, bias] = tensors as [Tensor, Tensor | undefined];
  const base = keyBase(layer.key);
  if (tensors.length === 2 && kernel.shape.length === 2 && bias!.shape.length === 1 && bias!.shape[0] === kernel.shape[1] && has(0, 'kernel') && has(1, 'bias') && (base === undefined || base === 'dense' || base === 'time_distributed')) {
    return { type: 'dense', name, options: { kernel, bias: bias! } };
  }
  if (tensors.length === 1 && kernel.shape.length === 2) {
    if (named[0] === 'kernel' || base === 'dense' || base === 'time_distributed') return { type: 'dense', name, options: { kernel } };
    if (named[0] === 'embeddings' || base === 'embedding') return { type: 'embedding', name, options: { embeddings: kernel } };
  }
  return undefined;
}

/** [kernel [I, GU], recurrent kernel [U, GU], bias?] of an LSTM (G 4) or GRU (G 3), CuDNN's told by a bias of 2GU. */
function recurrentOf(tensors: Tensor[], named: (string | undefined)[]) {
  if (tensors.length !== 2 && tensors.length !== 3) return undefined;
  const [kernel, recurrentKernel, bias] = tensors as [Tensor, Tensor, Tensor | undefined];
  if (named[0] !== undefined && named[0] !== 'kernel') return undefined;
  if (named[1] !== undefined && named[1] !== 'recurrent_kernel') return undefined;
  if (kernel.shape.length !== 2 || recurrentKernel.shape.length !== 2) return undefined;
  const [U, GU] = recurrentKernel.shape as [number, number];
  const G = GU / U;
  if (kernel.shape[1] !== GU || (G !== 3 && G !== 4)) return undefined;
  const cell: CellKind = G === 4 ? 'lstm' : 'gru';
  const options: Record<string, unknown> = { units: U, useBias: bias !== undefined };
  if (!bias) {
    if (cell === 'gru') options.resetAfter = false;
    return { cell, weights: { kernel, recurrentKernel }, options };
  }
  if (named[2] !== undefined && named[2] !== 'bias') return undefined;
  const flat = bias.shape.length === 1;
  if (flat && bias.shape[0] === 2 * GU) options.weightLayout = 'cudnn';
  else if (cell === 'gru' && bias.shape.length === 2 && bias.shape[0] === 2 && bias.shape[1] === GU) options.resetAfter = true;
  else if (!(flat && bias.shape[0] === GU)) return undefined;
  if (cell === 'gru') options.resetAfter ??= options.weightLayout === 'cudnn' || false;
  return { cell, weights: { kernel, recurrentKernel, bias }, options };
}
