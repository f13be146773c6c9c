// A functional graph of layers (Keras' functional Model): named inputs, layers called on one or
// more tensors, named outputs. Each layer's call is Sequential's own (callLayer: masks, lengths,
// traces); merges and custom layers join in between. A layer's output may feed any number of layers.
import { Bidirectional } from './bidirectional.js';
import { Dense } from './dense.js';
import { Embedding } from './embedding.js';
import { describe, fail, LstmError } from './errors.js';
import { Gru } from './gru.js';
import { Lstm } from './lstm.js';
import { Merge } from './merge.js';
import { checkOptions, readMask, refuseNull, type RecurrentStream } from './recurrent.js';
import { Flatten, GlobalPooling1D, RepeatVector } from './sequence-ops.js';
import { callLayer, drive, driveAsync, type Flow, type LayerRun, type SequentialLayer } from './sequential.js';
import { readTensor, type Tensor, type TensorLike } from './tensor.js';

/**
 * A layer of the user's own (loadModel's `customLayers`, or a node of `Model.create`): what a Model
 * needs of it. `forward` takes the layer's input (an array of them when the node has several) with
 * the mask of its steps when there is one ([batch, steps] bytes, 1 = a step that counts), and gives
 * the output: a Tensor, or `{ output, mask? }` to pass a mask on (without one, the steps' mask ends
 * here). `step` (one timestep, [batch, features] in and out) lets `model.stream()` run through it.
 */
export interface CustomLayer {
  name?: string;
  forward(input: Tensor | Tensor[], options: { mask?: Uint8Array }): Tensor | { output: Tensor; mask?: Uint8Array };
  step?(input: Tensor | Tensor[]): Tensor;
  dispose?(): void;
}

/** Every layer a Model runs. */
export type ModelLayer = SequentialLayer | Merge | CustomLayer;

/** One call of a layer in the graph: on the tensors named (model inputs or other nodes). */
export interface ModelNode {
  layer: ModelLayer;
  /** The tensors the layer takes: model input names or other nodes' names, in order. */
  inputs: string | readonly string[];
  /** The node's name, which other nodes and the outputs use: the layer's own name when omitted. */
  name?: string;
}

export interface ModelGraph {
  /** The model's inputs by name, in the order forward takes them by position. */
  inputs: readonly string[];
  /** The nodes, in any order (they run in an order where each comes after what it takes). */
  nodes: readonly ModelNode[];
  /** The nodes (or inputs) whose tensors forward returns, by these names. */
  outputs: readonly string[];
}

/** Inputs by position, by input name, or (a model of one input) the tensor itself. */
export type ModelInputs = TensorLike | readonly TensorLike[] | Readonly<Record<string, TensorLike>>;

export interface ModelForwardOptions {
  /** Collect every recurrent layer's trace, by layer name. */
  trace?: boolean;
  /** [B,T] mask of the steps, for every input sequence. */
  mask?: TensorLike | Uint8Array;
  /** Valid steps per row, for every input sequence. */
  sequenceLengths?: readonly number[] | Int32Array;
}

export interface ModelResult {
  /** Every output by name. */
  outputs: Record<string, Tensor>;
  /** The first output. */
  output: Tensor;
  /** Each recurrent layer's trace by its name. */
  trace?: Record<string, unknown>;
}

interface Node {
  name: string;
  layer: ModelLayer;
  inputs: string[];
}

const isBuiltIn = (l: unknown): l is SequentialLayer =>
  l instanceof Lstm || l instanceof Gru || l instanceof Bidirectional || l instanceof Dense || l instanceof Embedding || l instanceof RepeatVector || l instanceof Flatten || l instanceof GlobalPooling1D;
const isCustom = (l: unknown): l is CustomLayer => typeof l === 'object' && l !== null && !isBuiltIn(l) && !(l instanceof Merge) && typeof (l as CustomLayer).forward === 'function';
// A custom layer of a class is named by it ('AttentionWeightedAverage'), a plain object as what it is.
const className = (l: ModelLayer) => (isCustom(l) && (l.constructor === Object || l.constructor === undefined) ? 'custom layer' : l.constructor.name);

/** The AND of the masks given (a missing one counts every step), as Keras merges masks. */
function mergeMasks(flows: readonly Flow[], shape: readonly number[]): Uint8Array | undefined {
  if (shape.length !== 3 || flows.every((f) => f.mask === undefined)) return undefined;
  const [B, T] = shape as [number, number];
  const out = new Uint8Array(B * T).fill(1);
  for (const f of flows) {
    if (f.mask === undefined) continue;
    const m = readMask(f.mask, B, T);
    for (let k = 0; k < out.length; k++) out[k]! &= m[k]!;
  }
  return out;
}

/**
 * @internal The inputs by name, from an array (by position), an object (by name) or, with one input, the
 * tensor itself (a nested array is that tensor, unless it is [tensor] of a { data, shape } one).
 */
export function inputsByName<T = TensorLike>(names: readonly string[], given: unknown, what: string): Map<string, T> {
  const isTensor = (v: unknown) => ArrayBuffer.isView(v) || (typeof v === 'object' && v !== null && 'data' in v);
  const list = `${names.length} tensor${names.length === 1 ? '' : 's'} as an array (${names.map((n) => `'${n}'`).join(', ')}) or an object by those names`;
  if (names.length === 1 && (isTensor(given) || (Array.isArray(given) && !(given.length === 1 && isTensor(given[0]))))) return new Map([[names[0]!, given as T]]);
  if (Array.isArray(given)) {
    if (given.length !== names.length) fail('ERR_LSTM_INPUT', what, list, `${given.length} tensors`);
    return new Map(names.map((n, k) => [n, given[k] as T]));
  }
  if (typeof given !== 'object' || given === null || isTensor(given)) fail('ERR_LSTM_INPUT', what, list, describe(given));
  const byName = given as Record<string, T>;
  for (const key of Object.keys(byName)) if (!names.includes(key)) fail('ERR_LSTM_INPUT', what, `the model's input names (${names.map((n) => `'${n}'`).join(', ')})`, `'${key}'`);
  for (const n of names) if (byName[n] === undefined) fail('ERR_LSTM_INPUT', `${what}.${n}`, 'a tensor', 'nothing');
  return new Map(names.map((n) => [n, byName[n]!]));
}

/**
 * Features per step each node passes on, where they are known (not an input's, a Flatten's or a
 * custom layer's), checked against what each layer takes: a graph that cannot run is refused
 * when it is made, naming the node, as Sequential does for a chain.
 */
function checkSizes(nodes: readonly Node[]): void {
  const sizes = new Map<string, number | null>();
  for (const { name, layer, inputs } of nodes) {
    const given = inputs.map((s) => sizes.get(s) ?? null);
    const takes = layer instanceof Lstm || layer instanceof Gru || layer instanceof Bidirectional || layer instanceof Dense ? layer.inputSize : null;
    if (takes !== null && given[0] !== null && given[0] !== takes) fail('ERR_LSTM_CONFIG', `node '${name}' (${className(layer)})`, `input size ${takes}`, `'${inputs[0]}', which passes on ${given[0]} features per step`);
    let size: number | null = null;
    if (layer instanceof Merge) {
      const known = given.filter((g): g is number => g !== null);
      if (layer.op === 'concatenate') size = layer.axis === -1 && known.length === given.length ? known.reduce((a, b) => a + b, 0) : null;
      else {
        if (known.some((g) => g !== known[0])) fail('ERR_LSTM_CONFIG', `node '${name}' (${layer.op})`, 'inputs of one size', `sizes ${given.map((g, k) => `${g ?? '?'} ('${inputs[k]}')`).join(', ')}`);
        size = known[0] ?? null;
      }
    } else if (layer instanceof Bidirectional) size = layer.outputSize;
    else if (layer instanceof Lstm || layer instanceof Gru || layer instanceof Dense || layer instanceof Embedding) size = layer.units;
    else if (layer instanceof RepeatVector || layer instanceof GlobalPooling1D) size = given[0]!;
    sizes.set(name, size);
  }
}

/** A concatenation along time's mask: each input's steps (all of them without a mask) one after another, per row. */
function joinedMasks(flows: readonly Flow[]): Uint8Array | undefined {
  if (flows.every((f) => f.mask === undefined)) return undefined;
  const shapes = flows.map((f) => (f.x as Tensor).shape as [number, number]);
  const B = shapes[0]![0];
  const T = shapes.reduce((sum, s) => sum + s[1], 0);
  const out = new Uint8Array(B * T);
  let at = 0;
  flows.forEach((f, k) => {
    const steps = shapes[k]![1];
    const m = f.mask === undefined ? null : readMask(f.mask, B, steps);
    for (let b = 0; b < B; b++) for (let t = 0; t < steps; t++) out[b * T + at + t] = m ? m[b * steps + t]! : 1;
    at += steps;
  });
  return out;
}

/** Layers called on named tensors: Keras' functional Model. */
export class Model {
  /** The nodes, in an order where each runs after what it takes. */
  private constructor(
    private readonly nodes: readonly Node[],
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /** Every layer, in the order they first run (a layer in several nodes once). */
  get layers(): readonly ModelLayer[] {
    return [...new Set(this.nodes.map((n) => n.layer))];
  }

  /**
   * A model of `graph`: ERR_LSTM_CONFIG for a name used twice, a tensor no input or node gives, a
   * cycle, or a layer given the wrong number of inputs.
   */
  static async create(graph: ModelGraph): Promise<Model> {
    checkOptions(graph, ['inputs', 'nodes', 'outputs'], 'graph');
    const names = (v: unknown, what: string): string[] => {
      if (!Array.isArray(v) || v.length === 0 || !v.every((n) => typeof n === 'string')) fail('ERR_LSTM_CONFIG', what, 'a non-empty array of names', describe(v));
      return [...(v as string[])];
    };
    const inputs = names(graph.inputs, 'graph.inputs');
    const outputs = names(graph.outputs, 'graph.outputs');
    if (!Array.isArray(graph.nodes)) fail('ERR_LSTM_CONFIG', 'graph.nodes', 'an array of { layer, inputs, name? }', describe(graph.nodes));
    const known = new Map<string, string>(); // a name by what gave it
    for (const name of inputs) {
      if (known.has(name)) fail('ERR_LSTM_CONFIG', 'graph.inputs', 'distinct names', `'${name}' twice`);
      known.set(name, 'an input');
    }
    const nodes: Node[] = graph.nodes.map((n, k) => {
      const where = `graph.nodes[${k}]`;
      if (typeof n !== 'object' || n === null) fail('ERR_LSTM_CONFIG', where, '{ layer, inputs, name? }', describe(n));
      const { layer } = n;
      if (!(isBuiltIn(layer) || layer instanceof Merge || isCustom(layer))) {
        fail('ERR_LSTM_CONFIG', `${where}.layer`, 'a layer of this library (Lstm, Gru, Bidirectional, Dense, Embedding, Merge, ...) or a custom layer with forward(input)', describe(layer));
      }
      const name = n.name ?? layer.name;
      if (typeof name !== 'string' || name === '') fail('ERR_LSTM_CONFIG', `${where}.name`, "a name (a custom layer has none of its own)", describe(name));
      if (known.has(name)) fail('ERR_LSTM_CONFIG', `${where}.name`, 'a name no input or other node has', `'${name}', the name of ${known.get(name)} too`);
      known.set(name, `graph.nodes[${k}]`);
      const from = typeof n.inputs === 'string' ? [n.inputs] : n.inputs;
      if (!Array.isArray(from) || from.length === 0 || !from.every((s) => typeof s === 'string')) fail('ERR_LSTM_CONFIG', `${where}.inputs`, 'a name or a non-empty array of names', describe(n.inputs));
      const arity = layer instanceof Merge ? layer.arity : isCustom(layer) ? { min: 1, max: Infinity } : { min: 1, max: 1 };
      if (from.length < arity.min || from.length > arity.max) {
        fail('ERR_LSTM_CONFIG', `${where}.inputs`, `${arity.max === 1 ? 'one tensor' : arity.max === 2 ? 'two tensors' : `at least ${arity.min} tensors`} for '${name}' (${className(layer)})`, `${from.length}`);
      }
      if (layer instanceof Bidirectional && layer.mergeMode === null) fail('ERR_LSTM_CONFIG', `${where}.layer.mergeMode`, 'a merge mode (a node passes one tensor on)', 'null');
      return { name, layer, inputs: [...from] };
    });
    for (const n of nodes) {
      for (const s of n.inputs) if (!known.has(s)) fail('ERR_LSTM_CONFIG', `node '${n.name}' inputs`, `names of inputs or nodes (${[...known.keys()].map((k) => `'${k}'`).join(', ')})`, `'${s}'`);
    }
    for (const o of outputs) if (!known.has(o)) fail('ERR_LSTM_CONFIG', 'graph.outputs', `names of inputs or nodes (${[...known.keys()].map((k) => `'${k}'`).join(', ')})`, `'${o}'`);
    // Each node after what it takes (Kahn's order); what is left over lies on a cycle.
    const ordered: Node[] = [];
    const ready = new Set(inputs);
    let pending = nodes;
    while (pending.length > 0) {
      const next = pending.filter((n) => n.inputs.every((s) => ready.has(s)));
      if (next.length === 0) fail('ERR_LSTM_CONFIG', 'graph.nodes', 'no cycles (each node taking only inputs and nodes before it)', `a cycle through ${pending.map((n) => `'${n.name}'`).join(', ')}`);
      for (const n of next) {
        ordered.push(n);
        ready.add(n.name);
      }
      pending = pending.filter((n) => !next.includes(n));
    }
    // A layer in several nodes (Keras' shared layer) runs each call alone, unless it carries its
    // state from one call to the next.
    const seen = new Set<ModelLayer>();
    for (const n of ordered) {
      if (seen.has(n.layer) && (n.layer as { stateful?: boolean }).stateful === true) fail('ERR_LSTM_CONFIG', `node '${n.name}'`, 'a stateful layer in one node only (its state would pass between its calls)', 'the layer of another node too');
      seen.add(n.layer);
    }
    checkSizes(ordered);
    return new Model(ordered, inputs, outputs);
  }

  /** The layer of the node of that name; ERR_LSTM_CONFIG listing the names there are when none has it. */
  getLayer(name: string): ModelLayer {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) fail('ERR_LSTM_CONFIG', 'getLayer(name)', `the name of one of the model's layers (${this.nodes.map((n) => `'${n.name}'`).join(', ')})`, describe(name));
    return node.layer;
  }

  /**
   * Runs every node on the inputs (an array in `inputNames` order, an object by name, or the one
   * input alone): every output by name, the first as `output`, and with `trace` each recurrent
   * layer's trace by its name. ERR_LSTM_INPUT for missing, extra or unknown inputs; a layer's
   * error names it.
   */
  forward(inputs: ModelInputs, options: ModelForwardOptions = {}): ModelResult {
    return this.result(drive(this.calls(inputs, options)), options);
  }

  /** The same as forward, each recurrent layer off the JS thread where its backend allows it. */
  async forwardAsync(inputs: ModelInputs, options: ModelForwardOptions = {}): Promise<ModelResult> {
    return this.result(await driveAsync(this.calls(inputs, options)), options);
  }

  private result(run: { flows: Map<string, Flow>; traces: Record<string, unknown> }, options: ModelForwardOptions): ModelResult {
    const outputs: Record<string, Tensor> = {};
    for (const name of this.outputNames) {
      const t = readTensor(run.flows.get(name)!.x, name);
      outputs[name] = { data: t.data, shape: t.shape ?? [t.data.length] };
    }
    const result: ModelResult = { outputs, output: outputs[this.outputNames[0]!]! };
    if (options.trace) result.trace = run.traces;
    return result;
  }

  /** Every node in order, each recurrent layer's call yielded (as Sequential's stack does). */
  private *calls(given: ModelInputs, options: ModelForwardOptions): LayerRun<{ flows: Map<string, Flow>; traces: Record<string, unknown> }> {
    checkOptions(options, ['trace', 'mask', 'sequenceLengths']);
    refuseNull(options, 'forward options');
    const flows = new Map<string, Flow>();
    for (const [name, x] of inputsByName(this.inputNames, given, 'inputs')) flows.set(name, { x, mask: options.mask, sequenceLengths: options.sequenceLengths });
    const traces: Record<string, unknown> = {};
    for (const node of this.nodes) {
      const taken = node.inputs.map((s) => flows.get(s)!);
      try {
        flows.set(node.name, yield* this.callNode(node, taken, options.trace === true, traces));
      } catch (error) {
        if (!(error instanceof LstmError)) throw error;
        throw new LstmError(error.code, `layer '${node.name}' (${className(node.layer)}): ${error.message}`, { cause: error });
      }
    }
    return { flows, traces };
  }

  private *callNode(node: Node, taken: Flow[], trace: boolean, traces: Record<string, unknown>): LayerRun<Flow> {
    const { layer } = node;
    if (layer instanceof Merge) {
      const x = layer.forward(taken.map((f) => f.x)).output;
      if (layer.op === 'concatenate' && x.shape.length === 3 && (layer.axis === 1 || layer.axis === -2)) {
        // Along time: the steps of one input, then the other's; lengths no longer describe them.
        return { x, mask: joinedMasks(taken.map((f) => ({ ...f, x: readTensor(f.x, 'input') as Tensor }))), sequenceLengths: undefined };
      }
      // Lengths pass when every input has the same ones (the forward options gave them).
      const lengths = taken.every((f) => f.sequenceLengths === taken[0]!.sequenceLengths) && x.shape.length === 3 ? taken[0]!.sequenceLengths : undefined;
      return { x, mask: mergeMasks(taken, x.shape), sequenceLengths: lengths };
    }
    if (isCustom(layer)) {
      const xs = taken.map((f, k) => {
        const t = readTensor(f.x, `input ${k}`);
        return { data: t.data, shape: t.shape ?? [t.data.length] };
      });
      const first = xs[0]!;
      const mask = first.shape.length === 3 ? mergeMasks(taken, first.shape) : undefined;
      const out = layer.forward(xs.length === 1 ? first : xs, mask === undefined ? {} : { mask });
      const result = typeof out === 'object' && out !== null && 'output' in out ? out : { output: out, mask: undefined };
      const t = readTensor(result.output, 'the custom layer\'s output');
      return { x: { data: t.data, shape: t.shape ?? [t.data.length] }, mask: result.mask, sequenceLengths: undefined };
    }
    const call = yield* callLayer(layer, taken[0]!, trace, false);
    if (trace && call.recurrent) traces[node.name] = call.trace;
    return call.flow;
  }

  /**
   * Steps every layer one timestep at a time, where every path is causal: recurrent layers
   * (not Bidirectional), Dense, Embedding without maskZero, merges along features, custom layers with step().
   */
  stream(batch = 1): ModelStream {
    const steps = this.nodes.map((node): StreamNode => {
      const { layer } = node;
      const refuse = (why: string): never => {
        throw new LstmError('ERR_LSTM_UNSUPPORTED', `Model.stream(): layer '${node.name}' (${className(layer)}) ${why}; use forward()`);
      };
      if (layer instanceof Merge) {
        if (layer.op === 'concatenate' && layer.axis !== -1 && layer.axis !== 2) refuse(`joins along axis ${layer.axis}, not the features`);
        return { node, run: (xs) => layer.forward(xs, -1).output };
      }
      if (isCustom(layer)) {
        if (typeof layer.step !== 'function') refuse('has no step(input) to run one timestep');
        return { node, run: (xs) => layer.step!(xs.length === 1 ? xs[0]! : xs) };
      }
      if (layer instanceof Embedding) {
        if (layer.maskZero) refuse('masks steps (maskZero), which stepping does not do');
        return { node, run: (xs) => layer.forward(xs[0]!).output };
      }
      if (layer instanceof Dense) return { node, run: (xs) => layer.forward(xs[0]!).output };
      if (layer instanceof Lstm || layer instanceof Gru) {
        const stream = layer.stream(batch);
        return { node, run: (xs) => stream.step(xs[0]!), stream };
      }
      return refuse('needs the whole sequence');
    });
    return new ModelStream(steps, this.inputNames, this.outputNames, batch);
  }

  resetStates(): void {
    for (const l of this.layers) if (l instanceof Lstm || l instanceof Gru || l instanceof Bidirectional) l.resetStates();
  }

  dispose(): void {
    for (const l of this.layers) l.dispose?.();
  }
}

interface StreamNode {
  node: Node;
  run: (xs: Tensor[]) => Tensor;
  stream?: RecurrentStream;
}

export class ModelStream {
  /** @internal Streams are made by `model.stream()`. */
  constructor(private readonly steps: StreamNode[], readonly inputNames: readonly string[], readonly outputNames: readonly string[], readonly batch: number) {}

  /** One timestep: each input [batch, features] (ids [batch]) by position, by name, or alone -> every output for this step. */
  step(inputs: ModelInputs): { outputs: Record<string, Tensor>; output: Tensor } {
    const values = new Map<string, Tensor>();
    for (const [n, x] of inputsByName(this.inputNames, inputs, 'step(inputs)')) {
      const t = readTensor(x, n);
      values.set(n, { data: t.data, shape: t.shape ?? [t.data.length] });
    }
    for (const { node, run } of this.steps) {
      try {
        values.set(node.name, run(node.inputs.map((s) => values.get(s)!)));
      } catch (error) {
        if (!(error instanceof LstmError)) throw error;
        throw new LstmError(error.code, `layer '${node.name}': ${error.message}`, { cause: error });
      }
    }
    const outputs: Record<string, Tensor> = {};
    for (const o of this.outputNames) outputs[o] = values.get(o)!;
    return { outputs, output: outputs[this.outputNames[0]!]! };
  }

  reset(): void {
    for (const s of this.steps) s.stream?.reset();
  }

  dispose(): void {
    for (const s of this.steps) s.stream?.dispose();
  }
}
