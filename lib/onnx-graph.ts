// An ONNX model run whole, node by node, as lib/load/onnx-graph.ts planned it: the recurrent nodes
// on lstm-runtime's layers (every backend), convolutions on the core's conv kernel, and the small
// operators around them (shapes, slices, padding, elementwise maths, If) on typed arrays.
import { describe, fail as failWith, LstmError } from './errors.js';
import { Gru, type GruTrace } from './gru.js';
import { Lstm, type LstmTrace } from './lstm.js';
import { inputsByName, type ModelInputs } from './model.js';
import { firstNonFinite, readTensor, shapeText, sizeOf, type Tensor, type TensorLike } from './tensor.js';
import { foldNode, FOLDABLE, intsOf, transposeConst, type Const } from './load/onnx-constants.js';
import { layerNode, pad, reduce, softmax, specialize, UNARY, type LayerNode, type Step } from './onnx-ops.js';
import { createLayer } from './load/spec.js';
import { Attributes, DATA_TYPE, nodeLabel, type Fail } from './load/onnx-decode.js';
import type { GraphInput, GraphPlan, OnnxGraphSpec } from './load/onnx-graph.js';
import type { OnnxNode } from './load/onnx-schema.js';
import type { RecurrentRunOptions } from './load/spec.js';

/** A graph's inputs: by name, or in the order of `inputNames`. Integer inputs take numbers, bigints or integer arrays. */
export type GraphInputs = Record<string, GraphValue> | GraphValue[];
export type GraphValue = TensorLike | number | bigint | { data: ArrayLike<number | bigint>; shape: readonly number[] };

export interface GraphForwardOptions {
  /** Every recurrent node's gates, by node name. */
  trace?: boolean;
}

export interface GraphResult {
  /** Every output of the graph by name (integer outputs as float32 values). */
  outputs: Record<string, Tensor>;
  /** The first output. */
  output: Tensor;
  /** With `trace`: each recurrent node's layer's trace by layer name (a bidirectional node's second direction: `name/backward`). */
  trace?: Record<string, LstmTrace | GruTrace>;
}

type Scope = Map<string, Const>;
/** What the graph asks of a recurrent layer: Lstm and Gru both give it. */
interface AnyRecurrent {
  readonly name: string;
  forward(input: Tensor, options: { initialState?: { h: Tensor; c?: Tensor }; sequenceLengths?: number[]; trace?: boolean; out?: { output?: Float32Array; h?: Float32Array; c?: Float32Array } }): { output: Tensor; h: Tensor; c?: Tensor; trace?: LstmTrace | GruTrace };
  dispose(): void;
}
type Trace = Record<string, LstmTrace | GruTrace>;
const FLOAT = DATA_TYPE.FLOAT;
/** Operators whose outputs' shapes follow from their inputs' shapes alone (not from any input's values). */
const SHAPES_FROM_SHAPES = new Set(['Identity', 'Cast', 'Relu', 'Sigmoid', 'Tanh', 'Sqrt', 'Exp', 'Abs', 'Neg', 'Not', 'Equal', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Concat', 'Transpose', 'Conv', 'LSTM', 'GRU', 'Shape', 'Size', 'Flatten']);
/** Signatures of input shapes whose programs are kept (a model called with ever new shapes keeps the latest). */
const MAX_SIGNATURES = 16;

/** What a graph runs for one signature of input shapes, learnt on its first call. */
interface Program {
  /** Nodes whose outputs follow from the model and the input shapes alone, with those outputs. */
  kept: Map<OnnxNode, Const[]>;
  /** Those outputs by name (ONNX names a value once in a model, subgraphs included). */
  keptValues: Map<string, Const>;
  /** Each graph's nodes left to run once its first run is learnt. */
  todo: Map<GraphPlan, OnnxNode[]>;
  /** Nodes on data: their specialised step, or null to run them as any call would. */
  steps: Map<OnnxNode, Step | null>;
}

/** An ONNX model's graph, run whole: `forward({ input, state, sr })` returns every output by name. */
export class OnnxGraph {
  private disposed = false;
  /**
   * Exporters compute shapes, axes and branch conditions with dozens of small nodes (Shape,
   * Gather, Equal, Concat...) that give the same values whenever the inputs have the same shapes:
   * their outputs are kept per signature of input shapes, so a stream of same-sized chunks runs
   * only the nodes that read data, each specialised to its shapes (onnx-ops.ts).
   */
  private readonly programs = new Map<string, Program>();
  /** Values that follow from the model and the input shapes alone. */
  private readonly fixed = new WeakSet<Const>();
  /** Values whose shapes follow from the input shapes alone. */
  private readonly shaped = new WeakSet<Const>();

  /** Every graph's constants, by name. */
  private readonly constants: Map<string, Const>;

  private constructor(
    private readonly spec: OnnxGraphSpec,
    /** Each recurrent node's layers, one per direction. */
    private readonly recurrentNodes: Map<OnnxNode, AnyRecurrent[]>,
    /** Each node that runs as a layer (Conv, pooling, normalisation, Gemm/MatMul). */
    private readonly nodeLayers: Map<OnnxNode, LayerNode & { dispose?(): void }>,
  ) {
    this.constants = allConstants(spec.plan);
    for (const c of this.constants.values()) this.fixed.add(c), this.shaped.add(c);
  }

  /** Builds the layers of every branch (recurrent, convolutions and the rest) on the chosen backend. */
  static async create(spec: OnnxGraphSpec, run: RecurrentRunOptions = {}): Promise<OnnxGraph> {
    const layers = new Map<OnnxNode, AnyRecurrent[]>();
    const nodeLayers = new Map<OnnxNode, LayerNode & { dispose?(): void }>();
    const visit = async (plan: GraphPlan) => {
      for (const [node, spec] of plan.layers) {
        try {
          nodeLayers.set(node, (await createLayer(spec as Parameters<typeof createLayer>[0], run)) as unknown as LayerNode);
        } catch (error) {
          if (!(error instanceof LstmError)) throw error;
          throw new LstmError('ERR_LSTM_MODEL', `${spec.name}: ${error.message}`, { cause: error });
        }
      }
      for (const [node, parts] of plan.recurrent) {
        const made: AnyRecurrent[] = [];
        for (const [d, { weights, options }] of parts.directions.entries()) {
          const name = `${node.name || node.output[0]}${d === 1 ? '/backward' : ''}`;
          const common = { ...options, ...run, name, weights, inputSize: parts.inputSize, returnSequences: true };
          made.push((parts.cell === 'lstm' ? await Lstm.create(common) : await Gru.create(common)) as AnyRecurrent);
        }
        layers.set(node, made);
      }
      for (const { then, else: otherwise } of plan.branches.values()) {
        await visit(then);
        await visit(otherwise);
      }
    };
    try {
      await visit(spec.plan);
    } catch (error) {
      for (const made of layers.values()) for (const l of made) l.dispose();
      for (const l of nodeLayers.values()) l.dispose?.();
      throw error;
    }
    return new OnnxGraph(spec, layers, nodeLayers);
  }

  get inputNames(): string[] {
    return this.spec.inputs.map((i) => i.name);
  }
  get outputNames(): string[] {
    return [...this.spec.plan.outputs];
  }
  /** Its recurrent nodes' layers (named after their nodes; a bidirectional node's second direction `name/backward`). */
  get layers(): readonly (Lstm | Gru)[] {
    return [...this.recurrentNodes.values()].flat() as unknown[] as (Lstm | Gru)[];
  }

  forward(inputs: GraphInputs | ModelInputs, options: GraphForwardOptions = {}): GraphResult {
    if (this.disposed) throw new LstmError('ERR_LSTM_DISPOSED', 'OnnxGraph.forward: the model was disposed');
    if (typeof options !== 'object' || options === null) failWith('ERR_LSTM_CONFIG', 'forward options', 'an object { trace? }', describe(options));
    const scope: Scope = new Map();
    this.readInputs(inputs, scope);
    for (const v of scope.values()) this.shaped.add(v);
    const signature = [...scope.values()].map((v) => shapeText(v.shape)).join(' ');
    let program = this.programs.get(signature);
    if (!program) {
      if (this.programs.size >= MAX_SIGNATURES) this.programs.clear();
      this.programs.set(signature, (program = { kept: new Map(), keptValues: new Map(), todo: new Map(), steps: new Map() }));
    }
    const trace = options.trace ? {} : undefined;
    const results = this.runGraph(this.spec.plan, scope, program, trace);
    const outputs: Record<string, Tensor> = {};
    this.spec.plan.outputs.forEach((name, k) => (outputs[name] = asTensor(results[k]!)));
    const result: GraphResult = { outputs, output: outputs[this.spec.plan.outputs[0]!]! };
    if (trace) result.trace = trace;
    return result;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const made of this.recurrentNodes.values()) for (const l of made) l.dispose();
    for (const l of this.nodeLayers.values()) l.dispose?.();
  }

  private readInputs(inputs: GraphInputs | ModelInputs, scope: Scope): void {
    const given = inputsByName<GraphValue>(this.inputNames, inputs, 'inputs');
    for (const d of this.spec.inputs) scope.set(d.name, readInput(d, given.get(d.name)));
  }

  /** Runs a graph's nodes (a branch's too, into the same `values`); its outputs' values. */
  private runGraph(plan: GraphPlan, values: Scope, program: Program, trace: Trace | undefined): Const[] {
    // ONNX names each value once in a model, subgraphs included: one map serves every scope.
    const lookup = (name: string): Const | undefined => values.get(name) ?? program.keptValues.get(name) ?? this.constants.get(name);
    const todo = program.todo.get(plan);
    for (const node of todo ?? plan.nodes) {
      const inputs: (Const | undefined)[] = [];
      for (const name of node.input) inputs.push(name === '' ? undefined : (lookup(name) ?? this.nodeError(node, `its input '${name}' was not computed`)));
      const step = program.steps.get(node);
      let outputs: Const[];
      if (step) {
        outputs = step(inputs);
      } else {
        const fail: Fail = (what) => this.nodeError(node, what);
        outputs = this.runNode(node, inputs, plan, values, program, trace, fail);
        if (step === undefined) this.learn(node, inputs, outputs, program, fail);
      }
      for (let k = 0; k < outputs.length; k++) if (node.output[k]) values.set(node.output[k]!, outputs[k]!);
    }
    if (!todo) program.todo.set(plan, plan.nodes.filter((node) => !program.kept.has(node)));
    return plan.outputs.map((name) => lookup(name) ?? failWith('ERR_LSTM_INPUT', `${this.spec.file}: graph output '${name}'`, 'a computed value', 'none'));
  }

  private nodeError(node: OnnxNode, what: string): never {
    throw new LstmError('ERR_LSTM_INPUT', `${this.spec.file}: node ${nodeLabel(node)}: ${what}`);
  }

  /**
   * After a node's first run in a signature: marks what its outputs follow from, and keeps them
   * when that is the input shapes alone, or else specialises it to its shapes when they follow from
   * the input shapes (its other inputs fixed).
   */
  private learn(node: OnnxNode, inputs: (Const | undefined)[], outputs: Const[], program: Program, fail: Fail): void {
    if (node.opType === 'If') return; // its branch's nodes learnt, and its outputs are theirs (If itself always runs)
    const given = inputs.filter((v): v is Const => v !== undefined);
    const shapesKnown = given.every((v) => this.shaped.has(v)) && (SHAPES_FROM_SHAPES.has(node.opType) || given.slice(1).every((v) => this.fixed.has(v)));
    if (shapesKnown) for (const v of outputs) this.shaped.add(v);
    const fixed = node.opType === 'Shape' || node.opType === 'Size' ? shapesKnown : FOLDABLE.has(node.opType) && given.every((v) => this.fixed.has(v));
    if (fixed) {
      for (const v of outputs) this.fixed.add(v);
      program.kept.set(node, outputs);
      outputs.forEach((v, k) => node.output[k] && program.keptValues.set(node.output[k]!, v));
      return;
    }
    const step = shapesKnown ? specialize(node, inputs, outputs, (c) => this.fixed.has(c), this.spec.opset, fail) : undefined;
    program.steps.set(node, step ?? null);
  }

  private runNode(node: OnnxNode, inputs: (Const | undefined)[], plan: GraphPlan, values: Scope, program: Program, trace: Trace | undefined, fail: Fail): Const[] {
    const op = node.opType;
    const x = inputs[0] ?? fail('expected an input, got none');
    if (op in UNARY) {
      const f = UNARY[op]!;
      return [{ kind: 'const', dtype: x.dtype, shape: x.shape, data: x.data.map(f) }];
    }
    switch (op) {
      case 'If': {
        const branches = plan.branches.get(node)!;
        const taken = x.data[0] ? branches.then : branches.else;
        return this.runGraph(taken, values, program, trace);
      }
      case 'LSTM':
      case 'GRU':
        return this.recurrent(node, inputs, plan, trace, fail);
      case 'Pad':
        return [pad(node, x, inputs, this.spec.opset, fail)];
      case 'Softmax':
        return [softmax(node, x, this.spec.opset, fail)];
      case 'Conv':
      case 'MaxPool':
      case 'AveragePool':
      case 'BatchNormalization':
      case 'LayerNormalization':
      case 'Gemm':
      case 'MatMul':
        return [layerNode(node, this.nodeLayers.get(node)!, x, fail)];
      case 'ReduceMean':
      case 'ReduceSum':
        return [reduce(node, x, inputs[1], this.spec.opset, fail)];
    }
    if (FOLDABLE.has(op)) return foldNode(node, inputs, this.spec.opset, fail);
    return fail('is not run by lstm-runtime');
  }

  /** An LSTM/GRU node: X [T,B,I] (layout 0) or [B,T,I]; Y [T,D,B,U] (or [B,T,D,U]), Y_h and Y_c [D,B,U] (or [B,D,U]). */
  private recurrent(node: OnnxNode, inputs: (Const | undefined)[], plan: GraphPlan, trace: Trace | undefined, fail: Fail): Const[] {
    const parts = plan.recurrent.get(node)!;
    const layers = this.recurrentNodes.get(node)!;
    const x = inputs[0]!;
    if (x.shape.length !== 3 || x.shape[2] !== parts.inputSize) fail(`expected X of shape [${parts.layout ? 'batch, time' : 'time, batch'}, ${parts.inputSize}], got ${shapeText(x.shape)}`);
    const timeMajor = parts.layout === 0;
    const [T, B] = timeMajor ? [x.shape[0]!, x.shape[1]!] : [x.shape[1]!, x.shape[0]!];
    const U = parts.hiddenSize;
    const D = layers.length;
    // [T,B,I] -> [B,T,I]: the same memory when either is 1 (a streamed step, one row).
    const batchMajor = floats((timeMajor && T > 1 && B > 1 ? transposeConst(x, [1, 0, 2]) : x).data);
    const lengths = inputs[4] && intsOf(inputs[4], 'sequence_lens', fail);
    const state = (k: number, what: string) => {
      const s = inputs[k];
      if (s && shapeText(s.shape) !== shapeText(timeMajor ? [D, B, U] : [B, D, U])) fail(`expected ${what} of shape ${shapeText(timeMajor ? [D, B, U] : [B, D, U])}, got ${shapeText(s.shape)}`);
      return s && floats(timeMajor || D === 1 ? s.data : swapOuter(floats(s.data), B, D, U));
    };
    const [h0, c0] = [state(5, 'initial_h'), state(6, 'initial_c')];
    // One direction whose Y needs no reordering (T or B is 1, or layout 1) writes Y, Y_h and Y_c in place.
    const direct = D === 1 && (!timeMajor || T === 1 || B === 1);
    const y = new Float32Array(T * D * B * U);
    const yh = new Float32Array(D * B * U);
    const yc = parts.cell === 'lstm' ? new Float32Array(D * B * U) : undefined;
    layers.forEach((layer, d) => {
      const slice = (s: Float32Array | undefined) => s && { data: s.subarray(d * B * U, (d + 1) * B * U), shape: [B, U] };
      const initialState = h0 || c0 ? { h: slice(h0) ?? zeros([B, U]), ...(parts.cell === 'lstm' && { c: slice(c0) ?? zeros([B, U]) }) } : undefined;
      const out = { output: direct ? y : new Float32Array(B * T * U), h: yh.subarray(d * B * U, (d + 1) * B * U), ...(yc && { c: yc.subarray(d * B * U, (d + 1) * B * U) }) };
      const result = layer.forward({ data: batchMajor, shape: [B, T, parts.inputSize] }, {
        out,
        ...(initialState && { initialState }),
        ...(lengths && { sequenceLengths: lengths }),
        ...(trace && { trace: true }),
      });
      if (trace && result.trace) trace[layer.name] = result.trace;
      if (direct) return;
      // Y: [T,D,B,U] from the direction's [B,T,U] (layout 1: [B,T,D,U]).
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const at = timeMajor ? ((t * D + d) * B + b) * U : ((b * T + t) * D + d) * U;
          y.set(out.output.subarray((b * T + t) * U, (b * T + t + 1) * U), at);
        }
      }
    });
    const states = timeMajor ? [D, B, U] : [B, D, U];
    const outputs: Const[] = [
      { kind: 'const', dtype: FLOAT, shape: timeMajor ? [T, D, B, U] : [B, T, D, U], data: y },
      { kind: 'const', dtype: FLOAT, shape: states, data: timeMajor || D === 1 ? yh : swapOuter(yh, D, B, U) },
    ];
    if (yc) outputs.push({ kind: 'const', dtype: FLOAT, shape: states, data: timeMajor || D === 1 ? yc : swapOuter(yc, D, B, U) });
    return outputs;
  }
}

/** [P,Q,U] -> [Q,P,U] (layout 1 keeps a node's states batch first: [B,D,U]). */
function swapOuter(x: Float32Array, P: number, Q: number, U: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let p = 0; p < P; p++) for (let q = 0; q < Q; q++) out.set(x.subarray((p * Q + q) * U, (p * Q + q + 1) * U), (q * P + p) * U);
  return out;
}

/** The constants of a graph and of every branch inside it, by name (names are unique in a model). */
function allConstants(plan: GraphPlan, into = new Map<string, Const>()): Map<string, Const> {
  for (const [name, c] of plan.constants) into.set(name, c);
  for (const { then, else: otherwise } of plan.branches.values()) allConstants(then, into), allConstants(otherwise, into);
  return into;
}

/** A graph input from what the caller gave, as its declared type and (fixed) dimensions. */
function readInput(d: GraphInput, value: GraphValue | undefined): Const {
  const what = `inputs.${d.name}`;
  const integer = d.dtype !== FLOAT && d.dtype !== DATA_TYPE.DOUBLE && d.dtype !== DATA_TYPE.FLOAT16;
  let data: Float32Array | Float64Array;
  let shape: number[];
  if (typeof value === 'number' || typeof value === 'bigint') {
    data = integer || d.dtype === DATA_TYPE.DOUBLE ? Float64Array.of(Number(value)) : Float32Array.of(Number(value));
    shape = [];
  } else if (integer && typeof value === 'object' && value !== null && 'data' in value && ArrayBuffer.isView(value.data)) {
    const t = value as { data: ArrayLike<number | bigint>; shape: unknown };
    if (!Array.isArray(t.shape) || !t.shape.every((n) => Number.isSafeInteger(n) && n >= 0)) failWith('ERR_LSTM_SHAPE', `${what}.shape`, 'an array of non-negative integers', describe(t.shape));
    data = Float64Array.from(Array.from(t.data, Number));
    shape = [...(t.shape as number[])];
  } else {
    const t = readTensor(value, what, 'ERR_LSTM_INPUT');
    shape = t.shape ?? [t.data.length];
    data = integer || d.dtype === DATA_TYPE.DOUBLE ? Float64Array.from(t.data) : t.data;
  }
  if (sizeOf(shape) !== data.length) failWith('ERR_LSTM_SHAPE', what, `${sizeOf(shape)} values for shape ${shapeText(shape)}`, `${data.length}`);
  if (integer && !data.every(Number.isInteger)) failWith('ERR_LSTM_INPUT', what, 'integers (the model declares an integer input)', 'a value with a fraction');
  if (!integer && firstNonFinite(data as Float32Array) >= 0) failWith('ERR_LSTM_INPUT', what, 'finite values', `NaN or an infinity at index ${firstNonFinite(data as Float32Array)}`);
  const dims = d.dims;
  if (dims && (dims.length !== shape.length || dims.some((n, a) => typeof n === 'number' && n !== shape[a]))) {
    failWith('ERR_LSTM_SHAPE', what, `shape [${dims.map((n) => n ?? '?').join(', ')}]`, `shape ${shapeText(shape)}`);
  }
  return { kind: 'const', dtype: d.dtype, shape, data };
}

const floats = (data: Float32Array | Float64Array): Float32Array => (data instanceof Float32Array ? data : Float32Array.from(data));
const zeros = (shape: number[]): Tensor => ({ data: new Float32Array(sizeOf(shape)), shape });
/** An output as the caller's own copy (kept values must not change under the model). */
const asTensor = (c: Const): Tensor => ({ data: Float32Array.from(c.data), shape: [...c.shape] });

