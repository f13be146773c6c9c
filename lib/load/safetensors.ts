// safetensors holding a PyTorch state dict: the nn.Embedding / nn.LSTM / nn.GRU / nn.Linear tensors,
// and a CNN front end's nn.Conv1d / nn.BatchNorm1d / nn.LayerNorm ones, become layer specs. A state dict has no graph, so a small config names the modules that run, in
// order, and what each one's output is; it comes from loadModel's options or from the file's own
// metadata.
import { describe, fail } from '../errors.js';
import type { PytorchWeights } from '../layouts.js';
import { shapeText, sizeOf } from '../tensor.js';
import { bfloat16ToFloat, halfToFloat, readFloat32 } from './binary.js';
import { SAFETENSORS_CONFIG_KEY } from './index.js';
import { modelError, parseJson, type LayerSpec } from './spec.js';
import type { ModelFile } from './source.js';

/** What an nn.Linear's output goes through (torch.softmax(dim=-1), torch.sigmoid, nn.Hardsigmoid = 'hard_sigmoid', ...). */
export type LinearActivation = 'softmax' | 'sigmoid' | 'tanh' | 'relu' | 'elu' | 'softsign' | 'hard_sigmoid' | 'linear' | null;
const LINEAR_ACTIVATIONS: readonly LinearActivation[] = ['softmax', 'sigmoid', 'tanh', 'relu', 'elu', 'softsign', 'hard_sigmoid', 'linear', null];

/** One module of the state dict that runs. */
export interface SafetensorsLayer {
  /**
   * A pooling over the steps (nn.MaxPool1d, nn.AvgPool1d), which has no tensors: no module then,
   * and kernelSize, stride (default kernelSize), padding (an int pads both sides) and, for an
   * average, countIncludePad (PyTorch's default true) say what it does.
   */
  pool?: 'max' | 'average';
  kernelSize?: number;
  countIncludePad?: boolean;
  /**
   * nn.Conv1d (and a pool): stride (default 1); nn.Conv1d only: dilation (default 1) and groups
   * (default: the input's channels over the weight's in / groups, known after another layer;
   * 1 for a first layer, which has nothing else to tell them).
   */
  stride?: number;
  dilation?: number;
  groups?: number;
  /**
   * nn.Conv1d and pools: zero steps added, an int on both sides as PyTorch's `padding`,
   * [before, after], 'valid', 'same', or (nn.Conv1d) 'causal' for a convolution padded on the
   * left only. Default 0. The model takes [batch, steps, channels] and the convolution runs
   * channels last: the transposes around an nn.Conv1d in the module's forward need no entry.
   */
  padding?: number | [number, number] | 'valid' | 'same' | 'causal';
  /** nn.BatchNorm1d, nn.LayerNorm: eps (default 1e-5, PyTorch's). */
  epsilon?: number;
  /**
   * The module's name in the state dict: the prefix of its tensors ('rnn' for rnn.weight_ih_l0,
   * 'encoder.gru', '0' in an nn.Sequential, '' for the state dict of a bare nn.LSTM).
   */
  module: string;
  /**
   * true: the module is an nn.Embedding (its weight [num_embeddings, dim] alone looks like a
   * bias-free nn.Linear, so the config says it). Only on the first layer: the model then takes
   * ids [batch, steps]. Default false.
   */
  embedding?: boolean;
  /**
   * nn.LSTM / nn.GRU only. false (default): the whole output sequence, as the module returns it.
   * true: only the final step, h_n of the last layer (with sequenceLengths, each entry's last
   * real step, as with packed sequences): `out[:, -1]` for one direction,
   * `torch.cat([h_n[-2], h_n[-1]], 1)` for a bidirectional module (not its `out[:, -1]`, whose
   * backward half has seen one step, which no layer here computes).
   */
  lastStep?: boolean;
  /** nn.Linear (and nn.Conv1d, without softmax): applied to its output (softmax over the last axis). Default none. */
  activation?: LinearActivation;
}

/**
 * Which modules of a PyTorch state dict run, in order: loadModel's `config` option, else the
 * file's own, as JSON under `__metadata__.lstm_runtime`. Inputs are [batch, steps, features]
 * (batch_first=True), or ids [batch, steps] when the first layer is an nn.Embedding; dropout is
 * an inference no-op and needs no entry.
 */
export interface SafetensorsConfig {
  layers: SafetensorsLayer[];
  /**
   * Modules (name prefixes) of the file that deliberately do not run, e.g. an embedding applied
   * before the model. Any other tensor that no layer uses is an error, so a config cannot
   * silently skip part of the model.
   */
  ignore?: string[];
  /**
   * The model takes [steps, batch, features] and returns sequences the same way, as nn.LSTM /
   * nn.GRU with batch_first=False (the default) do: the Sequential is made timeMajor.
   */
  timeMajor?: boolean;
}

// ------------------------------------------------------------------ the file format

/** One tensor's header entry; begin/end are offsets into the data that follows the header. */
interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

interface SafetensorsFile {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** The bytes after the header. */
  data: Uint8Array;
}

/** Bytes per element of the safetensors dtypes (the sub-byte F4/F6 types are not listed). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8, C64: 8,
};
const FLOAT_DTYPES = ['F32', 'F16', 'BF16', 'F64'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** A module name for messages; '' is the state dict's top level (a bare nn.LSTM). */
const quoted = (module: string) => (module === '' ? "'' (the top level)" : `'${module}'`);

/** A layer's name: its module, or for the state dict's top level (module '') the module's kind ('lstm', 'gru', 'linear', 'embedding'). */
const moduleLayerName = (module: string, kind: string) => (module === '' ? kind : module);

/** Parses and checks the header: every entry well-formed, the data covered exactly once. */
function parseSafetensors(file: ModelFile): SafetensorsFile {
  const bad: (what: string) => never = (what) => modelError(file.name, `not a valid safetensors file: ${what}`);
  const { bytes } = file;
  if (bytes.length < 8) bad(`expected an 8-byte header length, got a file of ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) bad(`the header length ${headerLength} is larger than the ${bytes.length - 8} bytes after it`);
  const headerEnd = 8 + Number(headerLength);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch (error) {
    return modelError(file.name, `not a valid safetensors file: expected a JSON header of ${headerLength} bytes, got one that does not parse (${(error as Error).message})`, error);
  }
  if (!isObject(header)) bad(`expected a JSON object as the header, got ${describe(header)}`);

  const data = bytes.subarray(headerEnd);
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) bad(`expected __metadata__ to map names to strings, got ${describe(value)}`);
      metadata = value as Record<string, string>;
      continue;
    }
    if (!isObject(value)) bad(`expected tensor '${name}' to be { dtype, shape, data_offsets }, got ${describe(value)}`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') bad(`tensor '${name}': expected a dtype string, got ${describe(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) bad(`tensor '${name}': expected a shape of non-negative integers, got ${describe(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
      bad(`tensor '${name}': expected data_offsets [begin, end] with 0 <= begin <= end, got ${describe(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > data.length) bad(`tensor '${name}': data_offsets [${begin}, ${end}] reach past the ${data.length} data bytes of the file (truncated?)`);
    const elementBytes = DTYPE_BYTES[dtype];
    const numel = sizeOf(shape as number[]);
    if (elementBytes !== undefined && numel * elementBytes !== end - begin) {
      bad(`tensor '${name}': ${dtype} shape ${shapeText(shape as number[])} needs ${numel * elementBytes} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }

  // As the reference implementation requires: the tensors tile the data, no gap, no overlap.
  let covered = 0;
  let previous: TensorEntry | null = null;
  for (const t of [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.begin < covered) bad(`tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}] and '${t.name}' [${t.begin}, ${t.end}] overlap`);
    if (t.begin > covered) bad(`bytes [${covered}, ${t.begin}) of the data belong to no tensor (before '${t.name}')`);
    covered = t.end;
    previous = t;
  }
  if (covered !== data.length) bad(`the tensors cover ${covered} data bytes, the file holds ${data.length} after the header`);
  return { tensors, metadata, data };
}

/** A tensor's values as float32 (F16, BF16 and F64 converted). */
function readFloats(file: ModelFile, st: SafetensorsFile, t: TensorEntry): Float32Array {
  if (!FLOAT_DTYPES.includes(t.dtype)) {
    modelError(file.name, `tensor '${t.name}': expected dtype ${FLOAT_DTYPES.join(', ')}, got ${t.dtype}`);
  }
  const raw = st.data.subarray(t.begin, t.end);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(sizeOf(t.shape));
  switch (t.dtype) {
    case 'F32':
      return readFloat32(raw, 0, out.length);
    case 'F16':
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case 'BF16':
      for (let i = 0; i < out.length; i++) out[i] = bfloat16ToFloat(view.getUint16(2 * i, true));
      break;
    case 'F64':
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      break;
  }
  return out;
}

// ------------------------------------------------------------------ the config

interface Layer {
  module: string;
  embedding: boolean;
  lastStep: boolean | undefined;
  activation: LinearActivation | undefined;
  /** The front end's fields (pool, kernelSize, stride, dilation, padding, countIncludePad, epsilon) as given, checked by the layers. */
  front: Partial<Record<(typeof FRONT_FIELDS)[number], unknown>>;
  /** Where the entry is, for messages: "options.config.layers[1]". */
  at: string;
}

interface Config {
  layers: Layer[];
  ignore: string[];
  timeMajor: boolean;
  /** 'options.config' or "__metadata__.lstm_runtime". */
  source: string;
}

/** Which modules the file holds, for a message: "'rnn' (nn.LSTM, 2 layers), 'head' (nn.Linear 5 -> 4)". */
function moduleSummary(st: SafetensorsFile): string {
  const modules = new Map<string, Map<string, TensorEntry>>();
  for (const t of st.tensors.values()) {
    const dot = t.name.lastIndexOf('.');
    const prefix = dot < 0 ? '' : t.name.slice(0, dot);
    if (!modules.has(prefix)) modules.set(prefix, new Map());
    modules.get(prefix)!.set(t.name.slice(dot + 1), t);
  }
  if (modules.size === 0) return 'no tensors';
  const MAX_LISTED = 20;
  const listed = [...modules].slice(0, MAX_LISTED).map(([prefix, byLeaf]) => {
    const leaves = [...byLeaf.keys()];
    const hh = byLeaf.get('weight_hh_l0')?.shape;
    const weight = byLeaf.get('weight')?.shape;
    let kind = `tensors ${leaves.join(', ')}`;
    if (hh && hh.length === 2 && hh[1]! > 0) {
      const cell = ({ 4: 'nn.LSTM', 3: 'nn.GRU', 1: 'nn.RNN' } as Record<number, string>)[hh[0]! / hh[1]!] ?? 'recurrent';
      const layers = leaves.filter((leaf) => /^weight_ih_l\d+$/.test(leaf)).length;
      kind = `${cell}, ${layers} layer${layers === 1 ? '' : 's'}${byLeaf.has('weight_ih_l0_reverse') ? ', bidirectional' : ''}`;
    } else if (weight && weight.length === 2 && leaves.every((leaf) => leaf === 'weight' || leaf === 'bias')) {
      kind = `nn.Linear ${weight[1]} -> ${weight[0]}${leaves.length === 1 ? ` or nn.Embedding(${weight[0]}, ${weight[1]})` : ''}`;
    }
    return `${quoted(prefix)} (${kind})`;
  });
  if (modules.size > MAX_LISTED) listed.push(`and ${modules.size - MAX_LISTED} more`);
  return listed.join(', ');
}

const CONFIG_SHAPE = `{ layers: [{ module, embedding: true } first for an nn.Embedding, { module, lastStep? } for nn.LSTM/nn.GRU, { module, activation? } for nn.Linear, { module, stride?, padding?, dilation?, activation? } for nn.Conv1d, { pool, kernelSize, stride?, padding? } for a pooling, ...], ignore?: [module, ...] }`;
const FRONT_FIELDS = ['pool', 'kernelSize', 'stride', 'dilation', 'groups', 'padding', 'countIncludePad', 'epsilon'] as const;

/** The config from the options, else from the file's metadata; checks its fields (not yet the modules). */
function readConfig(file: ModelFile, st: SafetensorsFile, given: unknown): Config {
  const inFile = given === undefined;
  const source = inFile ? `__metadata__.${SAFETENSORS_CONFIG_KEY}` : 'options.config';
  // A malformed config in the options is a bad option; one in the file makes a bad file.
  const bad: (what: string, expected: string, got: string) => never = inFile
    ? (what, expected, got) => modelError(file.name, `${what}: expected ${expected}, got ${got}`)
    : (what, expected, got) => fail('ERR_LSTM_CONFIG', what, expected, got);
  let raw = given;
  if (inFile) {
    const text = st.metadata[SAFETENSORS_CONFIG_KEY];
    if (text === undefined) {
      modelError(file.name, `a state dict does not say which modules run or in what order: expected a config ${CONFIG_SHAPE} in options.config or as JSON in the file's ${source}, got neither; the file holds ${moduleSummary(st)}`);
    }
    raw = parseJson(file.name, text, source);
  }
  if (!isObject(raw)) bad(source, `a config ${CONFIG_SHAPE}`, describe(raw));
  const known = (o: Record<string, unknown>, keys: string[], at: string) => {
    for (const key of Object.keys(o)) if (!keys.includes(key)) bad(`${at}.${key}`, `one of the known fields (${keys.join(', ')})`, 'an unknown field');
  };
  const config = raw as Record<string, unknown>;
  known(config, ['layers', 'ignore', 'timeMajor'], source);
  if (config.timeMajor !== undefined && typeof config.timeMajor !== 'boolean') bad(`${source}.timeMajor`, 'true or false', describe(config.timeMajor));
  if (!Array.isArray(config.layers) || config.layers.length === 0) bad(`${source}.layers`, 'a non-empty array of { module, ... }', describe(config.layers));
  const layers = (config.layers as unknown[]).map((entry, k): Layer => {
    const at = `${source}.layers[${k}]`;
    if (!isObject(entry)) bad(at, '{ module, embedding: true }, { module, lastStep? } or { module, activation? }', describe(entry));
    known(entry, ['module', 'embedding', 'lastStep', 'activation', ...FRONT_FIELDS], at);
    const front = Object.fromEntries(FRONT_FIELDS.filter((f) => entry[f] !== undefined).map((f) => [f, entry[f]]));
    if (entry.pool !== undefined) {
      if (entry.pool !== 'max' && entry.pool !== 'average') bad(`${at}.pool`, "'max' or 'average'", describe(entry.pool));
      if (entry.module !== undefined) bad(`${at}.module`, 'no module on a pooling entry (a pooling has no tensors)', describe(entry.module));
      for (const field of ['embedding', 'lastStep', 'activation', 'dilation', 'groups', 'epsilon'] as const) if (entry[field] !== undefined) bad(`${at}.${field}`, `no ${field} on a pooling entry`, describe(entry[field]));
      return { module: '', embedding: false, lastStep: undefined, activation: undefined, front, at };
    }
    if (typeof entry.module !== 'string') bad(`${at}.module`, "a module name (a prefix of the state dict's names)", describe(entry.module));
    if (entry.embedding !== undefined && typeof entry.embedding !== 'boolean') bad(`${at}.embedding`, 'true or false', describe(entry.embedding));
    if (entry.lastStep !== undefined && typeof entry.lastStep !== 'boolean') bad(`${at}.lastStep`, 'true or false', describe(entry.lastStep));
    if (entry.activation !== undefined && !LINEAR_ACTIVATIONS.includes(entry.activation as LinearActivation)) {
      bad(`${at}.activation`, LINEAR_ACTIVATIONS.map((a) => (a === null ? 'null' : `'${a}'`)).join(', '), describe(entry.activation));
    }
    if (entry.embedding === true) {
      if (k > 0) bad(`${at}.embedding`, 'an nn.Embedding only on layers[0] (it takes the ids the model is given)', `one on layers[${k}]`);
      for (const field of ['lastStep', 'activation'] as const) {
        if (entry[field] !== undefined) bad(`${at}.${field}`, `no ${field} on an nn.Embedding (it passes on every step's vector)`, describe(entry[field]));
      }
    }
    return { module: entry.module as string, embedding: entry.embedding === true, lastStep: entry.lastStep as boolean | undefined, activation: entry.activation as LinearActivation | undefined, front, at };
  });
  const ignore = config.ignore ?? [];
  if (!Array.isArray(ignore) || !ignore.every((m) => typeof m === 'string')) bad(`${source}.ignore`, 'an array of module names', describe(ignore));
  return { layers, ignore: ignore as string[], timeMajor: config.timeMajor === true, source };
}

// ------------------------------------------------------------------ modules -> layer specs

/** The tensors of one module, by their name within it ('weight_ih_l0', 'bias'). */
type ModuleTensors = Map<string, TensorEntry>;

const RECURRENT_LEAF = /^(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$/;

function moduleTensors(st: SafetensorsFile, module: string): ModuleTensors {
  const prefix = module === '' ? '' : `${module}.`;
  const found: ModuleTensors = new Map();
  for (const t of st.tensors.values()) if (t.name.startsWith(prefix)) found.set(t.name.slice(prefix.length), t);
  return found;
}

/** What a module passes on: features per step, and whether it is still a sequence. */
interface Flow {
  features: number | null;
  sequence: boolean;
  /** The module that produced it, for messages. */
  from: string;
}

interface Reader {
  file: ModelFile;
  st: SafetensorsFile;
  used: Set<string>;
}

function expectShape(r: Reader, module: string, leaf: string, t: TensorEntry | undefined, shape: number[], role: string): TensorEntry {
  const name = module === '' ? leaf : `${module}.${leaf}`;
  if (!t) return modelError(r.file.name, `module ${quoted(module)}: expected tensor '${name}' ${shapeText(shape)} (${role}), it is missing`);
  if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
    modelError(r.file.name, `tensor '${name}': expected shape ${shapeText(shape)} (${role}), got ${shapeText(t.shape)}`);
  }
  r.used.add(t.name);
  return t;
}

const asTensor = (r: Reader, t: TensorEntry) => ({ data: readFloats(r.file, r.st, t), shape: t.shape });

/** nn.LSTM / nn.GRU: one LayerSpec per layer (Bidirectional when it has *_reverse weights). */
function recurrentSpecs(r: Reader, layer: Layer, tensors: ModuleTensors, flow: Flow): LayerSpec[] {
  const { module } = layer;
  const wrong: (what: string) => never = (what) => modelError(r.file.name, `module ${quoted(module)}: ${what}`);
  if (layer.activation !== undefined) wrong(`${layer.at}.activation applies to an nn.Linear; this is an nn.LSTM/nn.GRU (activation fixed by the cell)`);
  if (!flow.sequence) wrong(`expected a sequence [batch, steps, features] as input, but ${flow.from} passes on only its last step (lastStep: true)`);

  let numLayers = 0;
  let reverse = false;
  let bias = false;
  for (const [leaf, t] of tensors) {
    const m = RECURRENT_LEAF.exec(leaf);
    if (!m) wrong(`expected only nn.LSTM/nn.GRU tensors (weight_ih_l<k>, weight_hh_l<k>, bias_ih_l<k>, bias_hh_l<k>, *_reverse), got '${t.name}'`);
    if (m![2] === 'hr') wrong(`is an nn.LSTM with proj_size (tensor '${t.name}'): LSTM projections are not supported`);
    numLayers = Math.max(numLayers, Number(m![3]) + 1);
    reverse ||= m![4] !== undefined;
    bias ||= m![1] === 'bias';
  }
  const hh = tensors.get('weight_hh_l0');
  if (!hh || hh.shape.length !== 2 || hh.shape[1]! < 1 || hh.shape[0]! % hh.shape[1]! !== 0) {
    return wrong(`expected weight_hh_l0 of shape [gates * hidden, hidden], got ${hh ? shapeText(hh.shape) : 'none'}`);
  }
  const hidden = hh.shape[1]!;
  const gates = hh.shape[0]! / hidden;
  const cell = gates === 4 ? 'lstm' : gates === 3 ? 'gru' : wrong(`weight_hh_l0 ${shapeText(hh.shape)} has ${gates} gate blocks of ${hidden} rows: expected 4 (nn.LSTM) or 3 (nn.GRU)${gates === 1 ? '; nn.RNN is not supported' : ''}`);
  const directions = reverse ? 2 : 1;
  const rows = gates * hidden;
  const specs: LayerSpec[] = [];
  let features = flow.features;

  for (let k = 0; k < numLayers; k++) {
    const ih = tensors.get(`weight_ih_l${k}`);
    // The first layer's input size is whatever the file says, unless a previous module fixed it.
    const inputSize = k > 0 ? directions * hidden : (features ?? (ih?.shape.length === 2 && ih.shape[1]! >= 1 ? ih.shape[1]! : 0));
    if (inputSize < 1) wrong(`expected weight_ih_l0 of shape [${rows}, inputSize >= 1], got ${ih ? shapeText(ih.shape) : 'none'}`);
    const inputRole = k === 0 && flow.features !== null ? `input size ${inputSize} from ${flow.from}` : `input size ${inputSize}`;
    const direction = (suffix: string) => {
      const get = (leaf: string, shape: number[], role: string) => asTensor(r, expectShape(r, module, `${leaf}_l${k}${suffix}`, tensors.get(`${leaf}_l${k}${suffix}`), shape, role));
      const weights: PytorchWeights = {
        weight_ih: get('weight_ih', [rows, inputSize], `${gates} gates x ${hidden} hidden, ${inputRole}`),
        weight_hh: get('weight_hh', [rows, hidden], `${gates} gates x ${hidden} hidden`),
      };
      if (bias) {
        weights.bias_ih = get('bias_ih', [rows], `${gates} gates x ${hidden} hidden`);
        weights.bias_hh = get('bias_hh', [rows], `${gates} gates x ${hidden} hidden`);
      }
      return weights;
    };
    const returnSequences = k < numLayers - 1 || !layer.lastStep;
    const options = { weights: direction(''), weightLayout: 'pytorch' as const, useBias: bias, returnSequences };
    // A stacked module runs as one layer per level, named by PyTorch's suffix: 'rnn.l0', 'rnn.l1'.
    const name = numLayers > 1 ? `${moduleLayerName(module, cell)}.l${k}` : moduleLayerName(module, cell);
    if (reverse) {
      const backwardWeights = direction('_reverse');
      // PyTorch's bidirectional output is [forward, backward] on the last axis: mergeMode 'concat'.
      specs.push({ type: 'bidirectional', name, options: { layer: cell === 'gru' ? { ...options, type: 'gru' } : options, backwardWeights, mergeMode: 'concat' } });
    } else {
      specs.push(cell === 'gru' ? { type: 'gru', name, options } : { type: 'lstm', name, options });
    }
    features = directions * hidden;
  }
  flow.features = features;
  flow.sequence = !layer.lastStep;
  flow.from = `module ${quoted(module)}`;
  return specs;
}

/** nn.Embedding (first): ids [batch, steps] -> the rows of its weight [num_embeddings, dim]. */
function embeddingSpec(r: Reader, layer: Layer, tensors: ModuleTensors, flow: Flow): LayerSpec {
  const { module } = layer;
  const wrong: (what: string) => never = (what) => modelError(r.file.name, `module ${quoted(module)}: ${what}`);
  for (const [leaf, t] of tensors) {
    if (leaf !== 'weight') wrong(`${layer.at}.embedding: expected an nn.Embedding, whose only tensor is weight [num_embeddings, dim], got '${t.name}'${RECURRENT_LEAF.test(leaf) ? ' of an nn.LSTM/nn.GRU' : ''}`);
  }
  const w = tensors.get('weight')!;
  if (w.shape.length !== 2 || w.shape[0]! < 1 || w.shape[1]! < 1) wrong(`expected weight of shape [num_embeddings, dim], got ${shapeText(w.shape)}`);
  r.used.add(w.name);
  flow.features = w.shape[1]!;
  flow.from = `module ${quoted(module)}`;
  // PyTorch masks nothing (padding_idx only keeps a row out of training).
  return { type: 'embedding', name: moduleLayerName(module, 'embedding'), options: { embeddings: asTensor(r, w), maskZero: false } };
}

/** nn.Linear: a Dense with the transposed weight. */
function linearSpec(r: Reader, layer: Layer, tensors: ModuleTensors, flow: Flow): LayerSpec {
  const { module } = layer;
  const wrong: (what: string) => never = (what) => modelError(r.file.name, `module ${quoted(module)}: ${what}`);
  if (layer.lastStep !== undefined) wrong(`${layer.at}.lastStep applies to an nn.LSTM/nn.GRU; this is an nn.Linear`);
  for (const [leaf, t] of tensors) if (leaf !== 'weight' && leaf !== 'bias') wrong(`expected only nn.Linear tensors (weight, bias), got '${t.name}'`);
  const w = tensors.get('weight')!;
  if (w.shape.length !== 2 || w.shape[0]! < 1 || w.shape[1]! < 1) wrong(`expected weight of shape [out, in], got ${shapeText(w.shape)}`);
  const [out, inputs] = w.shape as [number, number];
  if (flow.features !== null && inputs !== flow.features) wrong(`expected weight [${out}, ${flow.features}] (in = the ${flow.features} features from ${flow.from}), got ${shapeText(w.shape)}`);
  r.used.add(w.name);
  const weight = readFloats(r.file, r.st, w);
  // nn.Linear keeps weight as [out, in]; Dense takes kernel [in, out].
  const kernel = new Float32Array(inputs * out);
  for (let o = 0; o < out; o++) for (let i = 0; i < inputs; i++) kernel[i * out + o] = weight[o * inputs + i]!;
  const spec: LayerSpec & { type: 'dense' } = {
    type: 'dense',
    name: moduleLayerName(module, 'linear'),
    options: { kernel: { data: kernel, shape: [inputs, out] }, activation: layer.activation ?? 'linear' },
  };
  const bias = tensors.get('bias');
  if (bias) spec.options.bias = asTensor(r, expectShape(r, module, 'bias', bias, [out], `${out} outputs`));
  flow.features = out;
  flow.from = `module ${quoted(module)}`;
  return spec;
}

/** PyTorch's padding as the layers take it: an int pads both sides. */
function paddingOf(value: unknown): unknown {
  return typeof value === 'number' ? [value, value] : value;
}

/** Refuses fields that do not apply to the module found. */
function onlyFields(r: Reader, layer: Layer, what: string, allowed: readonly string[]): void {
  for (const field of [...Object.keys(layer.front), ...(layer.lastStep !== undefined ? ['lastStep'] : []), ...(layer.activation !== undefined ? ['activation'] : [])]) {
    if (!allowed.includes(field)) modelError(r.file.name, `${layer.at}.${field}: expected no ${field} on ${what}`);
  }
}

/** nn.Conv1d: weight [out, in / groups, K] -> Conv1D's kernel [K, in / groups, out]; groups from the input's channels. */
function convSpec(r: Reader, layer: Layer, tensors: ModuleTensors, flow: Flow): LayerSpec {
  const { module } = layer;
  const wrong: (what: string) => never = (what) => modelError(r.file.name, `module ${quoted(module)}: ${what}`);
  onlyFields(r, layer, 'an nn.Conv1d', ['stride', 'dilation', 'groups', 'padding', 'activation']);
  if (layer.activation === 'softmax') wrong(`${layer.at}.activation: expected an activation other than softmax on an nn.Conv1d`);
  for (const [leaf, t] of tensors) if (leaf !== 'weight' && leaf !== 'bias') wrong(`expected only nn.Conv1d tensors (weight, bias), got '${t.name}'`);
  const w = tensors.get('weight')!;
  const [out, perGroup, K] = w.shape as [number, number, number];
  if (!flow.sequence) wrong(`expected a sequence [batch, steps, channels] as input, but ${flow.from} passes on only its last step`);
  const groups = layer.front.groups;
  if (groups !== undefined && (!Number.isInteger(groups) || (groups as number) < 1)) wrong(`${layer.at}.groups: expected a positive integer, got ${describe(groups)}`);
  const inputs = flow.features ?? perGroup * ((groups as number | undefined) ?? 1);
  if (groups !== undefined && inputs !== perGroup * (groups as number)) wrong(`${layer.at}.groups: expected ${inputs / perGroup} (${inputs} input channels from ${flow.from} over weight ${shapeText(w.shape)}), got ${groups}`);
  if (perGroup < 1 || inputs % perGroup !== 0 || out % (inputs / perGroup) !== 0) {
    wrong(`expected weight [out, in / groups, kernelSize] for ${inputs} input channels from ${flow.from} (groups dividing both channel counts), got ${shapeText(w.shape)}`);
  }
  r.used.add(w.name);
  const weight = readFloats(r.file, r.st, w);
  const kernel = new Float32Array(weight.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < perGroup; i++) for (let k = 0; k < K; k++) kernel[(k * perGroup + i) * out + o] = weight[(o * perGroup + i) * K + k]!;
  const bias = tensors.get('bias');
  const options = {
    kernel: { data: kernel, shape: [K, perGroup, out] },
    ...(bias && { bias: asTensor(r, expectShape(r, module, 'bias', bias, [out], `${out} output channels`)) }),
    groups: inputs / perGroup,
    ...(layer.front.stride !== undefined && { strides: layer.front.stride as number }),
    ...(layer.front.dilation !== undefined && { dilationRate: layer.front.dilation as number }),
    padding: (paddingOf(layer.front.padding ?? 0)) as [number, number],
    activation: (layer.activation ?? 'linear') as Exclude<LinearActivation, 'softmax'>,
  };
  flow.features = out;
  flow.from = `module ${quoted(module)}`;
  return { type: 'conv1d', name: moduleLayerName(module, 'conv1d'), options };
}

/** nn.BatchNorm1d (running statistics) or nn.LayerNorm (weight and bias of the channels). */
function normSpec(r: Reader, layer: Layer, tensors: ModuleTensors, flow: Flow): LayerSpec {
  const { module } = layer;
  const batch = tensors.has('running_mean');
  const what = batch ? 'an nn.BatchNorm1d' : 'an nn.LayerNorm';
  onlyFields(r, layer, what, ['epsilon']);
  const leaves = batch ? ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'] : ['weight', 'bias'];
  for (const [leaf, t] of tensors) if (!leaves.includes(leaf)) modelError(r.file.name, `module ${quoted(module)}: expected only ${what} tensors (${leaves.join(', ')}), got '${t.name}'`);
  const C = flow.features ?? (tensors.get(batch ? 'running_mean' : 'weight') ?? tensors.get('bias'))!.shape[0]!;
  const get = (leaf: string) => {
    const t = tensors.get(leaf);
    return t ? asTensor(r, expectShape(r, module, leaf, t, [C], `${C} channels${flow.features !== null ? ` from ${flow.from}` : ''}`)) : undefined;
  };
  const gamma = get('weight');
  const beta = get('bias');
  const epsilon = (layer.front.epsilon ?? 1e-5) as number;
  const params = { ...(gamma && { gamma }), ...(beta && { beta }), epsilon };
  flow.features = C;
  flow.from = `module ${quoted(module)}`;
  if (!batch) return { type: 'layer-normalization', name: moduleLayerName(module, 'layer_norm'), options: { ...params, size: C } };
  const tracked = tensors.get('num_batches_tracked');
  if (tracked) r.used.add(tracked.name); // a training counter
  return { type: 'batch-normalization', name: moduleLayerName(module, 'batch_norm'), options: { ...params, movingMean: get('running_mean')!, movingVariance: get('running_var') ?? modelError(r.file.name, `module ${quoted(module)}: expected tensor running_var beside running_mean, it is missing`) } };
}

/** A pooling entry of the config (no tensors). */
function poolSpec(r: Reader, layer: Layer, flow: Flow, index: number): LayerSpec {
  if (!flow.sequence) modelError(r.file.name, `${layer.at}: expected a sequence to pool, but ${flow.from} passes on only its last step`);
  const f = layer.front;
  const average = f.pool === 'average';
  const options = {
    poolSize: f.kernelSize as number,
    ...(f.stride !== undefined && { strides: f.stride as number }),
    padding: paddingOf(f.padding ?? 0) as [number, number],
    // nn.AvgPool1d counts the padding by default.
    ...(average && { countIncludePad: (f.countIncludePad ?? true) as boolean }),
  };
  if (f.kernelSize === undefined) modelError(r.file.name, `${layer.at}.kernelSize: expected the pooling window, got none`);
  if (!average && f.countIncludePad !== undefined) modelError(r.file.name, `${layer.at}.countIncludePad: expected it on an average pooling only`);
  flow.from = `${layer.at} (pooling)`;
  return { type: average ? 'average-pooling-1d' : 'max-pooling-1d', name: `${average ? 'avg' : 'max'}_pool_${index}`, options };
}

/** The layer specs of a PyTorch state dict in safetensors, run as `config` (or the file's own config) says. */
export async function readSafetensors(file: ModelFile, config: SafetensorsConfig | undefined): Promise<LayerSpec[]> {
  const st = parseSafetensors(file);
  const { layers, ignore, timeMajor, source } = readConfig(file, st, config);
  const r: Reader = { file, st, used: new Set() };
  const flow: Flow = { features: null, sequence: true, from: 'the input' };
  const specs: LayerSpec[] = [];
  for (const [index, layer] of layers.entries()) {
    if (layer.front.pool !== undefined) {
      specs.push(poolSpec(r, layer, flow, index));
      continue;
    }
    const tensors = moduleTensors(st, layer.module);
    if (tensors.size === 0) modelError(file.name, `${layer.at}.module: expected a module of the file, got ${quoted(layer.module)}; the file holds ${moduleSummary(st)}`);
    const leaves = [...tensors.keys()];
    if (layer.embedding) specs.push(embeddingSpec(r, layer, tensors, flow));
    else if (leaves.some((leaf) => RECURRENT_LEAF.test(leaf))) {
      onlyFields(r, layer, 'an nn.LSTM/nn.GRU', ['lastStep', 'activation']);
      specs.push(...recurrentSpecs(r, layer, tensors, flow));
    }
    else if (tensors.get('weight')?.shape.length === 3) specs.push(convSpec(r, layer, tensors, flow));
    else if ((tensors.has('running_mean') && tensors.get('weight')?.shape.length !== 2) || tensors.get('weight')?.shape.length === 1) specs.push(normSpec(r, layer, tensors, flow));
    else if (tensors.has('weight')) {
      onlyFields(r, layer, 'an nn.Linear', ['lastStep', 'activation']);
      specs.push(linearSpec(r, layer, tensors, flow));
    }
    else {
      modelError(file.name, `${layer.at}.module: expected an nn.LSTM, nn.GRU, nn.Linear, nn.Conv1d, nn.BatchNorm1d or nn.LayerNorm, got ${quoted(layer.module)} holding ${leaves.slice(0, 8).join(', ')}${leaves.length > 8 ? ', ...' : ''}; the file holds ${moduleSummary(st)}`);
    }
  }

  // Every tensor runs or is ignored on purpose: a forgotten module is an error, not a silently different model.
  for (const m of ignore) {
    if (moduleTensors(st, m).size === 0) modelError(file.name, `${source}.ignore: expected modules of the file, got ${quoted(m)}; the file holds ${moduleSummary(st)}`);
  }
  const ignored = (name: string) => ignore.some((m) => m === '' || name.startsWith(`${m}.`));
  const unused = [...st.tensors.keys()].filter((name) => !r.used.has(name) && !ignored(name));
  if (unused.length > 0) {
    modelError(file.name, `tensors no layer uses: ${unused.slice(0, 8).map((n) => `'${n}'`).join(', ')}${unused.length > 8 ? ` and ${unused.length - 8} more` : ''}; expected every tensor to run (list modules deliberately left out in ${source}.ignore)`);
  }
  // batch_first=False: the layers run batch-major, the Sequential turns input and output around.
  return timeMajor ? [{ type: 'input', name: 'input', options: { timeMajor: true } }, ...specs] : specs;
}
