// ONNX LSTM and GRU nodes: their attributes and folded weights, checked, as layer options per direction;
// and the walk through a whole model, subgraphs included, that finds them all (readOnnxRecurrent).
import type { Activation } from '../activations.js';
import { LstmError } from '../errors.js';
import { shapeText, sizeOf, type Tensor } from '../tensor.js';
import type { OnnxRecurrentNode, OnnxRecurrentOptions, OnnxWeightTensors } from './onnx.js';
import { FOLDABLE, floatTensor, foldNode, range, readTensorProto, type Const } from './onnx-constants.js';
import { Attributes, defaultOpset, isDefaultDomain, nodeLabel, type Fail } from './onnx-decode.js';
import type { OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './onnx-schema.js';
import { modelError } from './spec.js';

export interface RecurrentParts {
  cell: 'lstm' | 'gru';
  direction: 'forward' | 'reverse' | 'bidirectional';
  layout: 0 | 1;
  inputSize: number;
  hiddenSize: number;
  weights: OnnxWeightTensors;
  directions: { weights: OnnxWeightTensors; options: OnnxRecurrentOptions }[];
}

/**
 * ONNX activations as lstm-runtime activations. alpha and beta are taken in order by the
 * activations that use them, with ONNX's defaults when the list runs out (what onnxruntime does).
 */
function activationsOf(names: string[], alphas: number[], betas: number[], fail: Fail): Activation[] {
  let nextAlpha = 0;
  let nextBeta = 0;
  const alpha = (fallback: number) => alphas[nextAlpha++] ?? fallback;
  const beta = (fallback: number) => betas[nextBeta++] ?? fallback;
  return names.map((name) => {
    const lower = name.toLowerCase();
    const unsupported = (params: string): never =>
      fail(`activation '${name}'${params} is not one lstm-runtime runs: expected Sigmoid, Tanh, Relu, Softsign, HardSigmoid, Elu, or Affine/LeakyRelu/ThresholdedRelu/ScaledTanh with parameters that make them one of these`);
    switch (lower) {
      case 'sigmoid':
      case 'tanh':
      case 'relu':
      case 'softsign':
        return lower;
      case 'hardsigmoid':
        return { name: 'hard_sigmoid', alpha: alpha(0.2), beta: beta(0.5) };
      case 'elu':
        return { name: 'elu', alpha: alpha(1) };
      case 'affine': {
        const [a, b] = [alpha(0), beta(0)];
        return a === 1 && b === 0 ? 'linear' : unsupported(` (alpha ${a}, beta ${b})`);
      }
      case 'leakyrelu': {
        const a = alpha(0.01);
        return a === 0 ? 'relu' : unsupported(` (alpha ${a})`);
      }
      case 'thresholdedrelu': {
        const a = alpha(0);
        return a === 0 ? 'relu' : unsupported(` (alpha ${a})`);
      }
      case 'scaledtanh': {
        const [a, b] = [alpha(0), beta(0)];
        return a === 1 && b === 1 ? 'tanh' : unsupported(` (alpha ${a}, beta ${b})`);
      }
      default:
        return unsupported('');
    }
  });
}

/** An LSTM/GRU node's attributes and constant weights, checked, per direction. */
export function recurrentParts(node: OnnxNode, inputs: { W: Const; R: Const; B?: Const; P?: Const }, fail: Fail): RecurrentParts {
  const cell = node.opType === 'LSTM' ? 'lstm' : 'gru';
  const attrs = new Attributes(node, fail);
  const direction = attrs.string('direction', 'forward');
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') fail(`expected direction forward, reverse or bidirectional, got '${direction}'`);
  const D = direction === 'bidirectional' ? 2 : 1;
  const G = cell === 'lstm' ? 4 : 3;
  const layout = attrs.int('layout', 0);
  if (layout !== 0 && layout !== 1) fail(`expected layout 0 or 1, got ${layout}`);

  const W = floatTensor(inputs.W, 'W', fail);
  const R = floatTensor(inputs.R, 'R', fail);
  if (W.shape.length !== 3 || W.shape[0] !== D || W.shape[1]! % G !== 0 || W.shape[1] === 0) fail(`expected W of shape [${D}, ${G}*hidden_size, input_size], got ${shapeText(W.shape)}`);
  const U = attrs.has('hidden_size') ? attrs.int('hidden_size', 0) : W.shape[1]! / G;
  const I = W.shape[2]!;
  if (U < 1 || W.shape[1] !== G * U) fail(`expected W of shape [${D}, ${G * U}, input_size] (hidden_size ${U}), got ${shapeText(W.shape)}`);
  if (I < 1) fail(`expected an input size >= 1, got W of shape ${shapeText(W.shape)}`);
  const expect = (t: Tensor | undefined, name: string, shape: number[]) => {
    if (t && shapeText(t.shape) !== shapeText(shape)) fail(`expected ${name} of shape ${shapeText(shape)}, got ${shapeText(t.shape)}`);
  };
  expect(R, 'R', [D, G * U, U]);
  const B = inputs.B && floatTensor(inputs.B, 'B', fail);
  expect(B, 'B', [D, 2 * G * U]);
  const P = inputs.P && floatTensor(inputs.P, 'P', fail);
  if (P && cell === 'gru') fail('a GRU has no peepholes');
  expect(P, 'P', [D, 3 * U]);

  const defaults = cell === 'lstm' ? ['Sigmoid', 'Tanh', 'Tanh'] : ['Sigmoid', 'Tanh'];
  let names = attrs.strings('activations') ?? [...defaults, ...(D === 2 ? defaults : [])];
  if (D === 2 && names.length === defaults.length) names = [...names, ...names]; // one set given for both directions
  if (names.length !== D * defaults.length) fail(`expected ${D * defaults.length} activations (${defaults.length} per direction), got ${names.length}: ${names.join(', ')}`);
  const activations = activationsOf(names, attrs.floats('activation_alpha') ?? [], attrs.floats('activation_beta') ?? [], fail);

  const clip = attrs.has('clip') ? attrs.float('clip', 0) : undefined;
  if (clip !== undefined && !(clip > 0 && Number.isFinite(clip))) fail(`expected clip > 0, got ${clip}`);
  const inputForget = attrs.int('input_forget', 0);
  const linearBeforeReset = attrs.int('linear_before_reset', 0);

  const part = (t: Tensor, d: number): Tensor => {
    const n = sizeOf(t.shape.slice(1));
    return { data: t.data.slice(d * n, (d + 1) * n), shape: [1, ...t.shape.slice(1)] };
  };
  const directions = range(D).map((d) => {
    const [f, g, h] = activations.slice(d * defaults.length, (d + 1) * defaults.length);
    const options: OnnxRecurrentOptions = { weightLayout: 'onnx', units: U, activation: g!, recurrentActivation: f! };
    if (cell === 'lstm') options.cellActivation = h!;
    if (clip !== undefined) options.clip = clip;
    if (cell === 'lstm' && inputForget) options.inputForget = true;
    if (cell === 'gru') options.resetAfter = linearBeforeReset !== 0;
    // A backward direction's Y is in input order, as ONNX gives it.
    if (direction === 'reverse' || d === 1) Object.assign(options, { goBackwards: true, outputOrder: 'input' });
    const weights: OnnxWeightTensors = { W: part(W, d), R: part(R, d) };
    if (B) weights.B = part(B, d);
    if (P) weights.P = part(P, d);
    return { weights, options };
  });
  const weights: OnnxWeightTensors = { W, R };
  if (B) weights.B = B;
  if (P) weights.P = P;
  return { cell, direction, layout, inputSize: I, hiddenSize: U, weights, directions };
}

const RECURRENT_WEIGHT_INPUTS = { W: 1, R: 2, B: 3, P: 7 } as const;
export const RECURRENT_OPS = new Set(['LSTM', 'GRU']);

// ---------------------------------------------------------------- readOnnxRecurrent: all nodes

type ScopeEntry = Const | { kind: 'unknown'; why: string };

/** Names visible in a graph: its own values, then its parent's (subgraphs see their outer graphs). */
class Scope {
  private readonly values = new Map<string, ScopeEntry>();
  private readonly initializers = new Map<string, OnnxTensor>();

  constructor(readonly parent: Scope | null, graph: OnnxGraph, private readonly fail: Fail) {
    for (const t of graph.initializer) this.initializers.set(t.name, t);
    for (const s of graph.sparseInitializer) if (s.values) this.values.set(s.values.name, { kind: 'unknown', why: `'${s.values.name}' is a sparse initializer, which lstm-runtime does not read` });
    for (const input of graph.input) if (!this.initializers.has(input.name)) this.values.set(input.name, { kind: 'unknown', why: `'${input.name}' is an input of the graph, given at run time` });
  }

  set(name: string, entry: ScopeEntry): void {
    this.values.set(name, entry);
  }

  get(name: string): ScopeEntry | undefined {
    const own = this.values.get(name);
    if (own) return own;
    const t = this.initializers.get(name);
    if (t) {
      const c = readTensorProto(t, `initializer '${name}'`, this.fail);
      this.values.set(name, c);
      return c;
    }
    return this.parent?.get(name);
  }
}

export function findRecurrentNodes(file: string, model: OnnxModel): OnnxRecurrentNode[] {
  const opset = defaultOpset(file, model);
  const found: OnnxRecurrentNode[] = [];
  const walk = (graph: OnnxGraph, parent: Scope | null, path: string[]) => {
    const scope = new Scope(parent, graph, (what) => modelError(file, what));
    for (const node of graph.node) {
      const at = `${path.length ? `${path.join(' > ')} > ` : ''}node ${nodeLabel(node)}`;
      const fail: Fail = (what) => modelError(file, `${at}: ${what}`);
      for (const a of node.attribute) {
        if (a.g) walk(a.g, scope, [...path, `${node.name || node.opType}.${a.name}`]);
        a.graphs.forEach((g, k) => walk(g, scope, [...path, `${node.name || node.opType}.${a.name}[${k}]`]));
      }
      if (isDefaultDomain(node) && (node.opType === 'LSTM' || node.opType === 'GRU')) found.push(recurrentNode(node, scope, path, fail));
      const outputs = foldOutputs(node, scope, opset, at, fail);
      node.output.forEach((name, k) => name && scope.set(name, outputs[k] ?? { kind: 'unknown', why: `output ${k} of ${at}` }));
    }
  };
  walk(model.graph!, null, []);
  return found;
}

/** A node's outputs where it can be folded; otherwise (or where the fold fails) they are not constants here. */
function foldOutputs(node: OnnxNode, scope: Scope, opset: number, at: string, fail: Fail): ScopeEntry[] {
  const unknown = (why: string): ScopeEntry[] => node.output.map(() => ({ kind: 'unknown', why }));
  if (!isDefaultDomain(node) || !FOLDABLE.has(node.opType)) return unknown(`computed by ${at}`);
  try {
    const inputs: (Const | undefined)[] = [];
    for (const name of node.input) {
      const v = name === '' ? undefined : scope.get(name);
      if (name !== '' && v === undefined) return unknown(`'${name}' is not produced by any earlier node`);
      if (v?.kind === 'unknown') return unknown(v.why);
      inputs.push(v);
    }
    return foldNode(node, inputs, opset, fail);
  } catch (error) {
    if (!(error instanceof LstmError)) throw error;
    return unknown(error.message);
  }
}

function recurrentNode(node: OnnxNode, scope: Scope, path: string[], fail: Fail): OnnxRecurrentNode {
  const constant = (key: keyof typeof RECURRENT_WEIGHT_INPUTS, required: boolean): Const | undefined => {
    const name = node.input[RECURRENT_WEIGHT_INPUTS[key]] ?? '';
    if (name === '') return required ? fail(`expected input ${key}, got none`) : undefined;
    const v = scope.get(name);
    if (v === undefined) return fail(`input ${key} ('${name}') is not produced by any earlier node, initializer or outer graph`);
    if (v.kind !== 'const') return fail(`expected input ${key} ('${name}') to be a constant (folded from initializers), got one that is not: ${v.why}`);
    return v;
  };
  const W = constant('W', true)!;
  const R = constant('R', true)!;
  const B = constant('B', false);
  const P = node.opType === 'LSTM' ? constant('P', false) : undefined;
  const parts = recurrentParts(node, { W, R, ...(B && { B }), ...(P && { P }) }, fail);
  return {
    name: node.name || `${node.opType} -> ${node.output[0] ?? '?'}`,
    opType: node.opType as 'LSTM' | 'GRU',
    graph: path,
    direction: parts.direction,
    layout: parts.layout,
    inputSize: parts.inputSize,
    hiddenSize: parts.hiddenSize,
    weights: parts.weights,
    options: parts.directions[0]!.options,
    directions: parts.directions,
    inputs: [...node.input],
    outputs: [...node.output],
  };
}
