// ONNX models as whole graphs: what loadModel runs when a model is more than a Sequential (a
// convolutional front end, an If on the sample rate, a state the caller feeds back, several outputs).
// The reader checks every operator, folds what is constant (exporters compute weights and shapes
// with Slice/Concat/Unsqueeze of initializers, even inside If branches, which see the outer graph's
// constants), and reads each LSTM/GRU node's weights; lib/onnx-graph.ts runs the result.
import { foldNode, FOLDABLE, readTensorProto, type Const } from './onnx-constants.js';
import { Attributes, DATA_TYPE, decode, defaultOpset, guarded, isDefaultDomain, nodeLabel, type Fail } from './onnx-decode.js';
import { readExternalData } from './onnx-external.js';
import { recurrentParts, RECURRENT_OPS, type RecurrentParts } from './onnx-recurrent.js';
import type { OnnxGraph, OnnxNode, OnnxValueInfo } from './onnx-schema.js';
import type { ModelFile } from './source.js';
import { modelError, type LayerSpec } from './spec.js';
import { frontEndSpec } from './onnx-front.js';
import { floatTensor, transposeConst } from './onnx-constants.js';

/** Operators run on data, besides those folded when constant (onnx-constants' FOLDABLE, which run on data too). */
export const COMPUTED = new Set([
  'LSTM', 'GRU', 'Conv', 'Pad', 'If', 'Relu', 'Sigmoid', 'Tanh', 'Sqrt', 'Exp', 'Abs', 'Neg', 'ReduceMean', 'ReduceSum', 'Softmax',
  'MaxPool', 'AveragePool', 'BatchNormalization', 'LayerNormalization', 'Gemm', 'MatMul',
]);

/** Nodes that run as one of the library's layers, their weights constants of the model (Conv: a Conv1D; Gemm, MatMul: a Dense). */
const LAYER_OPS = new Set(['Conv', 'MaxPool', 'AveragePool', 'BatchNormalization', 'LayerNormalization', 'Gemm', 'MatMul']);

/** A graph input: its name, element type and dimensions (a number, a name, or null when free). */
export interface GraphInput {
  name: string;
  dtype: number;
  dims: (number | string | null)[] | null;
}

/** A graph (the model's, or an If branch) with its constants folded. */
export interface GraphPlan {
  /** The nodes left to run, in the file's (topological) order. */
  nodes: OnnxNode[];
  /** Values known when the model loads: initializers, Constant nodes and what folds from them. */
  constants: Map<string, Const>;
  /** An If node's branches. */
  branches: Map<OnnxNode, { then: GraphPlan; else: GraphPlan }>;
  /** An LSTM/GRU node's weights and options. */
  recurrent: Map<OnnxNode, RecurrentParts>;
  /** A node that runs as a layer (Conv, pooling, normalisation, Gemm/MatMul as Dense): its spec. */
  layers: Map<OnnxNode, LayerSpec>;
  /** The names of the values the graph returns. */
  outputs: string[];
}

export interface OnnxGraphSpec {
  file: string;
  opset: number;
  inputs: GraphInput[];
  plan: GraphPlan;
}

/** Reads an ONNX model as a graph to run whole. */
export async function readOnnxGraph(file: ModelFile): Promise<OnnxGraphSpec> {
  const model = await decode(file.name, file.bytes);
  await readExternalData(model, file);
  return guarded(file.name, () => {
    const opset = defaultOpset(file.name, model);
    const graph = model.graph!;
    const unsupported = new Map<string, string[]>();
    const plan = planGraph(file.name, graph, opset, [], new Set(), unsupported);
    if (unsupported.size > 0) {
      const list = [...unsupported].map(([op, names]) => `${op} (${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''})`);
      modelError(file.name, `runs operators lstm-runtime does not: ${list.join(', ')}. It runs ${[...FOLDABLE, ...COMPUTED].sort().join(', ')}`);
    }
    const initialized = new Set(graph.initializer.map((t) => t.name));
    const inputs = graph.input.filter((i) => !initialized.has(i.name)).map((i) => graphInput(file.name, i));
    return { file: file.name, opset, inputs, plan };
  });
}

function graphInput(file: string, input: OnnxValueInfo): GraphInput {
  const tensor = input.type?.tensorType;
  if (!tensor) return modelError(file, `graph input '${input.name}': expected a tensor, got another type`);
  const dims = tensor.shape ? tensor.shape.dim.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue > 0 ? d.dimValue : null)) : null;
  return { name: input.name, dtype: tensor.elemType || DATA_TYPE.FLOAT, dims };
}

/**
 * Folds a graph's constants (`outer`: the constants of the graphs around it, which a branch sees)
 * and checks its operators, noting the unsupported ones by node.
 */
function planGraph(file: string, graph: OnnxGraph, opset: number, outer: Map<string, Const>[], outerNames: ReadonlySet<string>, unsupported: Map<string, string[]>): GraphPlan {
  const constants = new Map<string, Const>();
  const scopes = [constants, ...outer];
  const lookup = (name: string) => {
    for (const scope of scopes) {
      const c = scope.get(name);
      if (c) return c;
    }
    return undefined;
  };
  const fail = (node: OnnxNode | undefined): Fail => (what) => modelError(file, node ? `node ${nodeLabel(node)}: ${what}` : what);
  for (const t of graph.initializer) constants.set(t.name, readTensorProto(t, `initializer '${t.name}'`, fail(undefined)));
  // The runner keeps one value per name: a branch may read its outer graphs' values, not redefine them.
  const names = new Set(outerNames);
  for (const name of [...graph.initializer.map((t) => t.name), ...graph.node.flatMap((n) => n.output)]) {
    if (name === '') continue;
    if (outerNames.has(name)) modelError(file, `value '${name}' is defined again inside a subgraph, hiding the outer graph's (ONNX names each value once)`);
    names.add(name);
  }
  const plan: GraphPlan = { nodes: [], constants, branches: new Map(), recurrent: new Map(), layers: new Map(), outputs: graph.output.map((o) => o.name) };
  for (const node of graph.node) {
    const op = node.opType;
    if (!isDefaultDomain(node) || (!FOLDABLE.has(op) && !COMPUTED.has(op))) {
      const key = isDefaultDomain(node) ? op : `${node.domain}.${op}`;
      unsupported.set(key, [...(unsupported.get(key) ?? []), node.name || node.output[0] || '?']);
      continue;
    }
    const inputs = node.input.map((name) => (name === '' ? undefined : lookup(name)));
    const known = node.input.every((name, k) => name === '' || inputs[k] !== undefined);
    if (FOLDABLE.has(op) && known) {
      foldNode(node, inputs, opset, fail(node)).forEach((c, k) => constants.set(node.output[k]!, c));
      continue;
    }
    if (op === 'If') {
      const attrs = new Attributes(node, fail(node));
      const then = attrs.graph('then_branch');
      const otherwise = attrs.graph('else_branch');
      if (!then || !otherwise) return fail(node)('expected then_branch and else_branch graphs');
      plan.branches.set(node, { then: planGraph(file, then, opset, scopes, names, unsupported), else: planGraph(file, otherwise, opset, scopes, names, unsupported) });
    }
    if (RECURRENT_OPS.has(op)) {
      const [W, R, B] = [inputs[1], inputs[2], inputs[3]];
      if (!W || !R || (node.input[3] && !B) || (node.input[7] && !inputs[7])) {
        return fail(node)('expected W, R, B and P computed from the model\'s constants (weights computed from the data are not supported)');
      }
      plan.recurrent.set(node, recurrentParts(node, { W, R, ...(B && { B }), ...(inputs[7] && { P: inputs[7] }) }, fail(node)));
    }
    if (op === 'Conv' && (!inputs[1] || (node.input[2] && !inputs[2]))) fail(node)('expected the weights W (and bias B) as constants of the model');
    if (LAYER_OPS.has(op)) plan.layers.set(node, layerSpec(node, inputs, fail(node)));
    plan.nodes.push(node);
  }
  return plan;
}


/** A Conv, pooling, normalisation, Gemm or MatMul node as the layer it runs as (Gemm and MatMul: a Dense). */
function layerSpec(node: OnnxNode, inputs: readonly (Const | undefined)[], fail: Fail): LayerSpec {
  const attrs = new Attributes(node, fail);
  const name = node.name || `${node.opType} -> ${node.output[0] ?? '?'}`;
  switch (node.opType) {
    case 'MatMul': {
      const w = inputs[1];
      if (!w || w.shape.length !== 2) fail(`expected B as a constant matrix [in, out] (a product with weights), got ${w ? `shape [${w.shape.join(', ')}]` : 'data'}`);
      return { type: 'dense', name, options: { kernel: floatTensor(w!, 'B', fail) } };
    }
    case 'Gemm': {
      if (attrs.int('transA', 0) !== 0) fail('expected transA 0 (the data as rows)');
      const b = inputs[1];
      if (!b || b.shape.length !== 2) fail(`expected B as a constant matrix, got ${b ? `shape [${b.shape.join(', ')}]` : 'data'}`);
      const [alpha, beta] = [attrs.float('alpha', 1), attrs.float('beta', 1)];
      const kernel = floatTensor(attrs.int('transB', 0) ? transposeConst(b!, [1, 0]) : b!, 'B', fail);
      kernel.data = kernel.data.map((v) => alpha * v);
      const out = kernel.shape[1]!;
      if (node.input[2] && !inputs[2]) fail('expected C as a constant (a bias)');
      const c = inputs[2];
      if (c && c.data.length !== out && c.data.length !== 1) fail(`expected C of ${out} values (one per output, or one), got shape [${c.shape.join(', ')}]`);
      const bias = c && { data: Float32Array.from({ length: out }, (_, k) => beta * c.data[c.data.length === 1 ? 0 : k]!), shape: [out] };
      return { type: 'dense', name, options: { kernel, ...(bias && { bias }) } };
    }
  }
  return frontEndSpec(node, inputs, attrs, fail);
}
