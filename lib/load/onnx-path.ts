// readOnnx's main path: PathReader follows the data from the graph's input to its first output through
// the nodes it maps, and returns the layers of the Sequential that computes the same (onnx.ts tells how).
import { LstmError } from '../errors.js';
import type { Activation } from '../activations.js';
import type { BidirectionalOptions } from '../bidirectional.js';
import type { DenseOptions } from '../dense.js';
import { checkAllocation, shapeText, type Tensor } from '../tensor.js';
import {
  axisOf, checkPermutation, constAxes, floatTensor, FOLDABLE, foldNode, intsOf, range, readTensorProto, sliceIndices, sliceSpec, transposeConst, type Const,
} from './onnx-constants.js';
import { Attributes, DATA_TYPE, defaultOpset, int, isDefaultDomain, nodeLabel, type Fail } from './onnx-decode.js';
import { FRONT_END_OPS, frontEndNode } from './onnx-front.js';
import { RECURRENT_OPS, recurrentParts } from './onnx-recurrent.js';
import type { OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './onnx-schema.js';
import {
  axisSize, describeAtom, describeAxes, describeValue, isSingleton, ONE, ROLE_NAMES, sameAtom, sameAxes, type Atom, type Axis, type Blocked, type Flow, type Ids, type Role, type Stack, type Value,
} from './onnx-values.js';
import { reshapeShapeVector, shapeArithmetic } from './onnx-shapes.js';
import { modelError, type LayerSpec } from './spec.js';

const ACTIVATION_OPS: Record<string, (attrs: Attributes) => Activation | 'softmax'> = {
  Relu: () => 'relu',
  Sigmoid: () => 'sigmoid',
  Tanh: () => 'tanh',
  Softsign: () => 'softsign',
  Elu: (a) => ({ name: 'elu', alpha: a.float('alpha', 1) }),
  HardSigmoid: (a) => ({ name: 'hard_sigmoid', alpha: a.float('alpha', 0.2), beta: a.float('beta', 0.5) }),
  Softmax: () => 'softmax',
};

/** Ops the main path maps (beyond the constant ones, which are folded when all inputs are constants). */
const PATH_OPS = new Set([
  ...FOLDABLE, 'If', 'Dropout', 'LSTM', 'GRU', 'Gemm', 'MatMul', ...Object.keys(ACTIVATION_OPS), ...FRONT_END_OPS,
]);

/** A Slice along one axis, classified: the whole axis, one element, or anything else. */
type Pick = 'all' | { index: number } | 'other';
const TO_END = 2 ** 31 - 1;

function classifySlice(start: number, end: number, step: number, size: number | null): Pick {
  if (size !== null) {
    const picked = sliceIndices(start, end, step, size);
    if (picked.length === size && picked.every((p, k) => p === k)) return 'all';
    return picked.length === 1 ? { index: picked[0]! } : 'other';
  }
  if (step !== 1) return 'other';
  if (start === 0 && end >= TO_END) return 'all';
  if (start === -1 && end >= TO_END) return { index: -1 };
  if (end === start + 1 && (start >= 0 || end < 0)) return { index: start };
  return 'other';
}

/**
 * The input, read as [batch, time, ...], reaches the first recurrent node with batch and time
 * swapped: the model takes it time-major, and the path is read again that way.
 */
export class TimeMajorInput extends Error {}

/** The graph holds operators a Sequential cannot run: loadModel then runs it whole (an OnnxGraph). */
export class NotAChain extends LstmError {
  readonly runsAsGraph = true;
  constructor(message: string) {
    super('ERR_LSTM_MODEL', message);
  }
}

export class PathReader {
  private readonly opset: number;
  private readonly graph: OnnxGraph;
  private readonly values = new Map<string, Value>();
  private readonly initializers = new Map<string, OnnxTensor>();
  private readonly unsupported = new Map<string, string[]>();

  /** timeMajor: the graph input is [time, batch, features] (ids [time, batch]). */
  constructor(private readonly file: string, model: OnnxModel, private readonly timeMajor: boolean) {
    this.opset = defaultOpset(file, model);
    this.graph = model.graph!;
  }

  private fail(what: string, node?: OnnxNode): never {
    return modelError(this.file, node ? `node ${nodeLabel(node)}: ${what}` : what);
  }

  layers(): LayerSpec[] {
    const graph = this.graph;
    const initialized = new Set(graph.initializer.map((t) => t.name));
    for (const input of graph.input) if (!initialized.has(input.name)) this.values.set(input.name, this.inputValue(input));
    const output = graph.output[0]!.name;
    this.evaluateGraph(graph, [output]);
    if (this.unsupported.size > 0) {
      const list = [...this.unsupported].map(([op, names]) => `${op} (${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''})`);
      throw new NotAChain(
        `${this.file}: expected a Sequential's operators between the input and the output '${output}' (LSTM, GRU, Gemm, MatMul, Add, Relu/Sigmoid/Tanh/Softmax, 1-D Conv, MaxPool, AveragePool, BatchNormalization, LayerNormalization, Pad of the time axis and the Transpose/Squeeze/Reshape/Gather/Slice exporters put around them), got ${list.join(', ')}. ` +
          'For an LSTM or GRU inside a larger model, readOnnxRecurrent() gives its weights and options.',
      );
    }
    return this.finish(output, this.lookup(output));
  }

  /**
   * Graph inputs: the data (assumed [batch, time, features], [time, batch, features] when time-major,
   * or [batch, features]), integer ids (assumed [batch, time], or [time, batch]), or something the
   * path must not use.
   */
  private inputValue(input: OnnxGraph['input'][number]): Value {
    const tensor = input.type?.tensorType;
    const dims = tensor?.shape?.dim;
    if (!tensor || !dims) return { kind: 'blocked', why: `the graph input '${input.name}', whose shape the model does not give` };
    const sizes = dims.map((d) => (d.dimParam === '' && int(d.dimValue) > 0 ? int(d.dimValue) : null));
    if (tensor.elemType === DATA_TYPE.INT64 || tensor.elemType === DATA_TYPE.INT32) {
      if (sizes.length !== 2) return { kind: 'blocked', why: `the graph input '${input.name}' of integer ids of rank ${sizes.length} (a model of ids takes [batch, time])` };
      const roles: Role[] = this.timeMajor ? ['T', 'B'] : ['B', 'T'];
      return { kind: 'ids', source: input.name, axes: roles.map((role, k) => [{ role, size: sizes[k]! }]) };
    }
    if (tensor.elemType !== DATA_TYPE.FLOAT) return { kind: 'blocked', why: `the graph input '${input.name}' of data type ${tensor.elemType} (a Sequential's input is float32, or int64/int32 ids)` };
    const roles: Role[] | undefined = ({ 3: this.timeMajor ? ['T', 'B', 'F'] : ['B', 'T', 'F'], 2: ['B', 'F'] } as Record<number, Role[]>)[sizes.length];
    if (!roles) return { kind: 'blocked', why: `the graph input '${input.name}' of rank ${sizes.length} (a Sequential's input is [batch, time, features] or [batch, features])` };
    return { kind: 'flow', source: input.name, axes: roles.map((role, k) => [{ role, size: sizes[k]! }]), layers: [], ranBackwards: false };
  }

  /** Evaluates the nodes of a graph (the main graph or a branch of an If) that its outputs depend on. */
  private evaluateGraph(graph: OnnxGraph, outputs: string[]): void {
    for (const t of graph.initializer) this.initializers.set(t.name, t);
    for (const s of graph.sparseInitializer) if (s.values) this.values.set(s.values.name, { kind: 'blocked', why: `the sparse initializer '${s.values.name}', which lstm-runtime does not read` });
    const needed = this.nodesNeededFor(graph, outputs);
    for (const node of graph.node) {
      if (!needed.has(node)) continue;
      const inputs = node.input.map((name) => (name === '' ? undefined : this.lookup(name, node)));
      const results = this.evaluate(node, inputs);
      node.output.forEach((name, k) => name && this.values.set(name, results[k] ?? { kind: 'blocked', why: `output ${k} of node ${nodeLabel(node)}` }));
    }
  }

  /** A graph's nodes its outputs depend on, through subgraphs' references to outer values too. */
  private nodesNeededFor(graph: OnnxGraph, outputs: string[]): Set<OnnxNode> {
    const producer = new Map<string, OnnxNode>();
    for (const node of graph.node) for (const o of node.output) if (o) producer.set(o, node);
    const needed = new Set<OnnxNode>();
    const pending = [...outputs];
    while (pending.length > 0) {
      const node = producer.get(pending.pop()!);
      if (!node || needed.has(node)) continue;
      needed.add(node);
      for (const name of node.input) if (name !== '') pending.push(name);
      for (const a of node.attribute) for (const g of [a.g, ...a.graphs]) if (g) for (const name of outerNames(g)) pending.push(name);
    }
    return needed;
  }

  private lookup(name: string, node?: OnnxNode): Value {
    const v = this.values.get(name);
    if (v) return v;
    const t = this.initializers.get(name);
    if (t) {
      const c = readTensorProto(t, `initializer '${name}'`, (what) => this.fail(what));
      this.values.set(name, c);
      return c;
    }
    return this.fail(`'${name}' is not produced by any earlier node, initializer or graph input`, node);
  }

  private noteUnsupported(op: string, node: OnnxNode): void {
    this.unsupported.set(op, [...(this.unsupported.get(op) ?? []), node.name || node.output[0] || '?']);
  }

  private evaluate(node: OnnxNode, inputs: (Value | undefined)[]): Value[] {
    const fail: Fail = (what) => this.fail(what, node);
    const blockedOutputs = (why: string): Value[] => node.output.map(() => ({ kind: 'blocked', why }));
    if (!isDefaultDomain(node) || !PATH_OPS.has(node.opType)) {
      this.noteUnsupported(isDefaultDomain(node) ? node.opType : `${node.domain}.${node.opType}`, node);
      return blockedOutputs(`the unsupported node ${nodeLabel(node)}`);
    }
    // An If whose condition is known now (PyTorch's squeeze of a size-1 axis) is its branch; otherwise it is not a Sequential.
    if (node.opType === 'If') {
      const condition = inputs[0];
      if (condition?.kind !== 'const' || condition.data.length !== 1) {
        this.noteUnsupported('If', node);
        return blockedOutputs(`the If ${nodeLabel(node)}, on a condition known only at run time`);
      }
      const branch = new Attributes(node, fail).graph(condition.data[0] ? 'then_branch' : 'else_branch') ?? fail('expected then_branch and else_branch');
      const outputs = branch.output.map((o) => o.name);
      this.evaluateGraph(branch, outputs);
      return outputs.map((name) => this.lookup(name, node));
    }
    // A recurrent node's state and length inputs get their own message (in recurrent()).
    const blocked = inputs.find((v, k): v is Blocked => v?.kind === 'blocked' && !(RECURRENT_OPS.has(node.opType) && k >= 4 && k <= 6));
    if (blocked) return node.output.map(() => blocked);
    if (node.opType === 'Equal') return [this.equal(inputs, fail)];
    if (inputs.every((v) => v === undefined || v.kind === 'const')) {
      if (FOLDABLE.has(node.opType)) return foldNode(node, inputs as (Const | undefined)[], this.opset, fail);
      this.noteUnsupported(`${node.opType} of constants`, node);
      return blockedOutputs(`the constant computation ${nodeLabel(node)}, which lstm-runtime does not fold`);
    }
    const attrs = new Attributes(node, fail);
    const x = inputs[0] ?? fail('expected a first input, got none');
    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        if (node.opType === 'Dropout' && inputs[2] && !(inputs[2].kind === 'const' && inputs[2].data.every((v) => v === 0))) fail('expected Dropout in inference mode (training_mode absent or false)');
        return [x, { kind: 'blocked', why: `the mask of Dropout ${nodeLabel(node)}` }];
      case 'Cast':
        if (x.kind === 'flow' && attrs.int('to', 0) !== DATA_TYPE.FLOAT) fail(`expected a Cast of the data to float32, got a Cast to type ${attrs.int('to', 0)}`);
        return [x];
      case 'Transpose':
        return [this.transpose(x, attrs, fail)];
      case 'Squeeze':
        return [this.squeeze(x, constAxes(inputs[1], attrs, this.opset, 'Squeeze', fail), fail)];
      case 'Unsqueeze':
        return [this.unsqueeze(x, constAxes(inputs[1], attrs, this.opset, 'Unsqueeze', fail) ?? fail('Unsqueeze without axes'), fail)];
      case 'Reshape':
        return [this.reshape(x, inputs[1], attrs.int('allowzero', 0) === 1, fail)];
      case 'Flatten':
        return [this.flatten(x, attrs.int('axis', 1), fail)];
      case 'Gather':
        return [this.gather(x, inputs[1], attrs.int('axis', 0), node, fail)];
      case 'Slice':
        return [this.slice(x, inputs, attrs, fail)];
      case 'Concat':
        return [this.concat(inputs.filter((v): v is Value => v !== undefined), attrs.int('axis', 0), fail)];
      case 'Shape':
        return [this.shape(x, attrs, fail)];
      case 'Size':
        return [{ kind: 'blocked', why: `Size ${nodeLabel(node)} of the data` }];
      case 'ConstantOfShape': {
        const value = attrs.tensor('value');
        const fill = value ? readTensorProto(value, 'the value of ConstantOfShape', fail) : undefined;
        if (fill && fill.data.some((v) => v !== 0)) return [{ kind: 'blocked', why: `a ConstantOfShape of value ${fill.data[0]} (${nodeLabel(node)})` }];
        return [{ kind: 'zeros' }];
      }
      case 'Expand':
        if (x.kind === 'zeros' || (x.kind === 'const' && x.data.every((v) => v === 0))) return [{ kind: 'zeros' }];
        return fail(`expected an Expand of zeros (an initial state), got an Expand of ${describeValue(x)}`);
      case 'LSTM':
      case 'GRU':
        return this.recurrent(node, inputs, fail);
      case 'Conv':
      case 'MaxPool':
      case 'AveragePool':
      case 'Pad':
        // Zeros are a ZeroPadding1D; reflect and edge padding (an STFT's) no layer computes.
        if (attrs.string('mode', 'constant') !== 'constant') {
          this.noteUnsupported('Pad', node);
          return blockedOutputs(`the ${attrs.string('mode', 'constant')} Pad ${nodeLabel(node)}`);
        }
        return frontEndNode(node, inputs, attrs, fail);
      case 'BatchNormalization':
      case 'LayerNormalization':
        return frontEndNode(node, inputs, attrs, fail);
      case 'Gemm':
        return [this.gemm(inputs, attrs, node, fail)];
      case 'MatMul':
        return [this.matmul(inputs, node, fail)];
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        if (inputs.some((v) => v?.kind === 'shape')) return [shapeArithmetic(node.opType, inputs[0], inputs[1], fail)];
        if (node.opType === 'Add' || node.opType === 'Sub') return [this.addBias(inputs, node, fail)];
        this.noteUnsupported(node.opType, node); // a scaling of the data: no layer of a Sequential
        return blockedOutputs(`the unsupported node ${nodeLabel(node)}`);
    }
    const activation = ACTIVATION_OPS[node.opType];
    if (activation) return [this.activate(x, activation(attrs), attrs, node, fail)];
    this.noteUnsupported(`${node.opType} of the data`, node); // an op folded on constants only (Not, Size...)
    return blockedOutputs(`the unsupported node ${nodeLabel(node)}`);
  }

  // -- plumbing

  private flowOf(v: Value | undefined, what: string, fail: Fail): Flow {
    if (v?.kind !== 'flow') fail(`expected ${what} to be the model's data, got ${describeValue(v)}`);
    return v;
  }

  private transpose(x: Value, attrs: Attributes, fail: Fail): Value {
    if (x.kind === 'zeros' || x.kind === 'shape') return x;
    const f = this.flowOf(x, 'the input of Transpose', fail);
    const perm = attrs.ints('perm') ?? range(f.axes.length).reverse();
    checkPermutation(perm, f.axes.length, fail);
    return { ...f, axes: perm.map((p) => f.axes[p]!) };
  }

  private squeeze(x: Value, axes: number[] | undefined, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (x.kind === 'shape') {
      if (x.dims.length !== 1) fail(`expected a Squeeze of a one-entry shape, got ${x.dims.length} entries`);
      return { ...x, scalar: true };
    }
    const f = this.flowOf(x, 'the input of Squeeze', fail);
    const rank = f.axes.length;
    const drop = axes
      ? new Set(axes.map((a) => axisOf(a, rank, 'Squeeze axes', fail)))
      : new Set(range(rank).filter((a) => f.axes[a]!.every(isSingleton)));
    for (let a = 0; a < rank; a++) {
      const axis = f.axes[a]!;
      if (drop.has(a) && !axis.every(isSingleton)) fail(`expected Squeeze to remove size-1 axes, got axis ${a}, the ${axis.map(describeAtom).join('*')} axis of ${describeAxes(f.axes)}`);
      if (!axes && !drop.has(a) && axis.some((atom) => atom.size === null || atom.size === 1)) {
        fail(`expected Squeeze to name its axes: without them it would also remove ${describeAtom(axis[0]!)} when its size is 1 (${describeAxes(f.axes)})`);
      }
    }
    return { ...f, axes: f.axes.filter((_, a) => !drop.has(a)) };
  }

  private unsqueeze(x: Value, axes: number[], fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (x.kind === 'shape') {
      if (!x.scalar || axes.length !== 1) fail('expected an Unsqueeze of one entry of a shape');
      return { ...x, scalar: false };
    }
    const f = this.flowOf(x, 'the input of Unsqueeze', fail);
    const rank = f.axes.length + axes.length;
    const at = new Set(axes.map((a) => axisOf(a, rank, 'Unsqueeze axes', fail)));
    const out: Axis[] = [];
    let k = 0;
    for (let a = 0; a < rank; a++) out.push(at.has(a) ? [ONE] : f.axes[k++]!);
    return { ...f, axes: out };
  }

  private flatten(x: Value, axis: number, fail: Fail): Value {
    const f = this.flowOf(x, 'the input of Flatten', fail);
    const at = axis < 0 ? axis + f.axes.length : axis;
    if (at < 0 || at > f.axes.length) fail(`Flatten axis ${axis} of ${describeAxes(f.axes)}`);
    const groups = [f.axes.slice(0, at).flat(), f.axes.slice(at).flat()];
    return { ...f, axes: groups.map((g) => this.mergeAxis(g, f, fail)) };
  }

  private reshape(x: Value, shape: Value | undefined, allowzero: boolean, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (x.kind === 'shape') return reshapeShapeVector(x, shape, fail);
    const f = this.flowOf(x, 'the input of Reshape', fail);
    type Target = { n: number } | { atoms: Atom[] } | 'infer';
    let dims: (number | Axis)[];
    if (shape?.kind === 'const') dims = intsOf(shape, 'Reshape shape', fail);
    else if (shape?.kind === 'shape' && !shape.scalar) dims = shape.dims;
    else return fail(`expected Reshape's shape to be constant or taken from the data's shape, got ${describeValue(shape)}`);
    const targets: Target[] = dims.map((d, k) => {
      if (typeof d !== 'number') return { atoms: d };
      if (d > 0) return { n: d };
      if (d === -1) return 'infer';
      if (d === 0 && !allowzero) return { atoms: f.axes[k] ?? fail(`Reshape copies axis ${k} of ${describeAxes(f.axes)}`) };
      return fail(`expected Reshape dimensions > 0, 0 (copy) or -1, got ${d}`);
    });
    if (targets.filter((t) => t === 'infer').length > 1) fail('Reshape with more than one -1');
    const atoms = f.axes.flat();
    const describeTarget = () => `[${dims.map((d) => (typeof d === 'number' ? d : d.map(describeAtom).join('*'))).join(', ')}]`;
    const mismatch = (): never => fail(`cannot map Reshape of ${describeAxes(f.axes)} to ${describeTarget()} onto the model's axes`);

    // How many atoms (from `from`, in order) one target dimension takes.
    const take = (list: Atom[], from: number, t: Exclude<Target, 'infer'>): number => {
      if ('n' in t) {
        if (t.n === 1) return from < list.length && list[from]!.size === 1 ? 1 : 0;
        let product = 1;
        let k = from;
        while (product < t.n) {
          const a = list[k++];
          if (a?.size === null) {
            fail(`Reshape of ${describeAxes(f.axes)} to ${describeTarget()} puts a fixed ${t.n} where the data has ${describeAtom(a)}, whose size the graph's input leaves open: ` +
              'the exporter wrote the example input\'s size into the graph, which then computes wrong shapes for other sizes (onnxruntime gives them too). ' +
              `Export it again so that the graph computes the ${ROLE_NAMES[a.role]} size (torch: batch_first=True, or dynamo=False with dynamic_axes)`);
          }
          if (!a) return mismatch();
          product *= a.size;
        }
        return product === t.n ? k - from : mismatch();
      }
      const want = t.atoms.filter((a) => !isSingleton(a));
      if (want.length === 0) return take(list, from, { n: 1 });
      let k = from;
      while (k < list.length && isSingleton(list[k]!)) k++; // size-1 axes in between go with it
      for (const w of want) {
        if (k >= list.length || !sameAtom(list[k]!, w)) return mismatch();
        k++;
      }
      return k - from;
    };
    const inferAt = targets.indexOf('infer');
    const before = (inferAt < 0 ? targets : targets.slice(0, inferAt)) as Exclude<Target, 'infer'>[];
    const after = (inferAt < 0 ? [] : targets.slice(inferAt + 1)) as Exclude<Target, 'infer'>[];
    const groups: Atom[][] = [];
    let lo = 0;
    for (const t of before) {
      const n = take(atoms, lo, t);
      groups.push(atoms.slice(lo, lo + n));
      lo += n;
    }
    // Dimensions after the -1 are matched from the end (on the reversed lists).
    const reversedAtoms = [...atoms].reverse();
    const tail: Atom[][] = [];
    let fromEnd = 0;
    for (const t of [...after].reverse()) {
      const n = take(reversedAtoms, fromEnd, 'atoms' in t ? { atoms: [...t.atoms].reverse() } : t);
      tail.unshift(atoms.slice(atoms.length - fromEnd - n, atoms.length - fromEnd));
      fromEnd += n;
    }
    const hi = atoms.length - fromEnd;
    if (hi < lo) mismatch();
    const middle = atoms.slice(lo, hi);
    if (inferAt >= 0) groups.push(middle);
    else if (!middle.every(isSingleton)) mismatch();
    groups.push(...tail);
    return { ...f, axes: groups.map((g) => this.mergeAxis(g, f, fail)) };
  }

  /** Atoms a Reshape puts in one axis: size-1 atoms vanish; directions then features is the concat of a bidirectional output. */
  private mergeAxis(group: Atom[], f: Flow, fail: Fail): Axis {
    const real = group.filter((a) => !isSingleton(a));
    if (real.length === 0) return [group[0] ?? ONE];
    if (real.length === 1) return real;
    const [outer, inner] = real;
    if (real.length === 2 && outer!.role === 'D' && inner!.role === 'F' && inner!.size !== null) return [{ role: 'F', size: outer!.size! * inner!.size }];
    if (real.every((a) => a.role === 'B' || a.role === 'T')) return real;
    return fail(`expected a Reshape that keeps the features on their own axis (or joins a bidirectional output's directions, then features), got one merging ${real.map(describeAtom).join(' and ')} of ${describeAxes(f.axes)}`);
  }

  private gather(x: Value, indices: Value | undefined, axisAttr: number, node: OnnxNode, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (indices?.kind === 'ids') return this.embedding(x, indices, axisAttr, node, fail);
    if (indices?.kind !== 'const') return fail(`expected Gather indices to be constants, got ${describeValue(indices)}`);
    const picked = intsOf(indices, 'Gather indices', fail);
    if (x.kind === 'shape') {
      const dims = picked.map((i) => x.dims[i < 0 ? i + x.dims.length : i] ?? fail(`Gather index ${i} of a ${x.dims.length}-entry shape`));
      return { kind: 'shape', dims, scalar: indices.shape.length === 0 };
    }
    if (picked.length !== 1 || indices.shape.length > 1) fail(`expected Gather of one index on the model's data, got indices of shape ${shapeText(indices.shape)}`);
    const keep = indices.shape.length === 1;
    if (x.kind === 'stack') return this.pickFromStack(x, axisAttr, picked[0]!, keep, fail);
    const f = this.flowOf(x, 'the input of Gather', fail);
    return this.pick(f, axisOf(axisAttr, f.axes.length, 'Gather axis', fail), picked[0]!, keep, fail);
  }

  /** PyTorch's nn.Embedding: ids [batch, time] -> rows of a constant table [vocab, dim] -> [batch, time, dim], the model's first layer. */
  private embedding(table: Value, ids: Ids, axisAttr: number, node: OnnxNode, fail: Fail): Flow {
    if (table.kind !== 'const' || table.shape.length !== 2) return fail(`expected an embedding: Gather of the ids from a constant table [vocab, dim], got a Gather from ${describeValue(table)}`);
    if (axisOf(axisAttr, 2, 'Gather axis', fail) !== 0) fail(`expected an embedding: Gather of the ids on axis 0 of the table (its rows), got axis ${axisAttr}`);
    const embeddings = floatTensor(table, 'the embedding table', fail);
    // ONNX and PyTorch have no masking (padding_idx only keeps a row out of training).
    const spec: LayerSpec = { type: 'embedding', name: node.name || `Gather -> ${node.output[0]}`, options: { embeddings, maskZero: false } };
    return { kind: 'flow', source: ids.source, axes: [...ids.axes, [{ role: 'F', size: table.shape[1]! }]], layers: [spec], ranBackwards: false };
  }

  /** One element of one axis of the data (Gather or Slice): the last timestep, one direction, or a size-1 axis. */
  private pick(f: Flow, axis: number, index: number, keep: boolean, fail: Fail): Flow {
    const atoms = f.axes[axis]!;
    const atom = atoms.length === 1 ? atoms[0]! : fail(`expected Gather/Slice on a single axis, got one on the ${atoms.map(describeAtom).join('*')} axis of ${describeAxes(f.axes)}`);
    const size = atom.size;
    const axes = keep ? f.axes.map((a, k) => (k === axis ? [ONE] : a)) : f.axes.filter((_, k) => k !== axis);
    if (size !== null && (index < -size || index >= size)) fail(`index ${index} on the ${describeAtom(atom)} axis of ${describeAxes(f.axes)}`);
    const normalized = size !== null && index < 0 ? index + size : index;
    switch (atom.role) {
      case 'T':
        return { ...f, axes, layers: this.endAtLastStep(f, normalized, size, fail), ranBackwards: false };
      case 'D':
        if (size === 1) return { ...f, axes };
        if (f.half) fail('picks a direction twice');
        return { ...f, axes, half: { of: f, direction: normalized === 0 ? 0 : 1 } };
      case '1':
        return { ...f, axes };
      default:
        return fail(`expected Gather/Slice on the time or directions axis, got one on the ${describeAtom(atom)} axis of ${describeAxes(f.axes)} (index ${index}): a Sequential cannot select ${ROLE_NAMES[atom.role]}`);
    }
  }

  /** Taking the last timestep of a recurrent layer's sequence is that layer with returnSequences false. */
  private endAtLastStep(f: Flow, index: number, size: number | null, fail: Fail): LayerSpec[] {
    const last = f.ranBackwards ? index === 0 || (size !== null && index === -size) : index === -1 || (size !== null && index === size - 1);
    if (!last) {
      fail(f.ranBackwards
        ? `takes timestep ${index} of a reverse-direction Y, which ONNX keeps in input order: only index 0 (the reverse pass's last step) maps onto a layer with returnSequences false`
        : `takes timestep ${index}: only the last one (index -1) maps onto a layer with returnSequences false`);
    }
    const layers = [...f.layers];
    let r = layers.length - 1;
    while (r >= 0 && layers[r]!.type === 'dense') r--; // a Dense works per timestep, so it may sit after the step is taken
    const spec = layers[r];
    if (!spec || spec.type === 'embedding') return fail('takes the last timestep of the model input itself (or of its embedding); a Sequential can only end a recurrent layer there');
    if (spec.type === 'bidirectional') {
      fail(`takes the last timestep of bidirectional node '${spec.name}''s Y: there its backward direction has seen one step only, which is not what a Bidirectional layer with returnSequences false gives (the final state of both directions); export Y_h (h_n) instead`);
    }
    if (spec.type !== 'lstm' && spec.type !== 'gru') return fail('internal: no recurrent layer');
    layers[r] = { ...spec, options: { ...spec.options, returnSequences: false } } as LayerSpec;
    return layers;
  }

  private pickFromStack(s: Stack, axisAttr: number, index: number, keep: boolean, fail: Fail): Value {
    const rank = s.parts[0]!.axes.length;
    if (axisOf(axisAttr, rank, 'Gather/Slice axis', fail) !== s.axis) fail('expected Gather/Slice to pick from the axis a Concat stacked layers\' outputs on');
    const sizes = s.parts.map((p) => axisSize(p.axes[s.axis]!));
    if (sizes.some((n) => n === null)) fail('stacked outputs of unknown size');
    const total = (sizes as number[]).reduce((a, b) => a + b, 0);
    let i = index < 0 ? index + total : index;
    if (i < 0 || i >= total) fail(`index ${index} of ${total} stacked outputs`);
    for (const [k, part] of s.parts.entries()) {
      if (i < sizes[k]!) return this.pick(part, s.axis, i, keep, fail);
      i -= sizes[k]!;
    }
    return fail('internal: stack index');
  }

  private slice(x: Value, inputs: (Value | undefined)[], attrs: Attributes, fail: Fail): Value {
    if (x.kind === 'zeros') return x;
    if (x.kind === 'shape') {
      const s = sliceSpec(inputs, attrs, this.opset, 1, fail);
      return { ...x, dims: sliceIndices(s.starts[0]!, s.ends[0]!, s.steps[0]!, x.dims.length).map((k) => x.dims[k]!) };
    }
    const rank = x.kind === 'stack' ? x.parts[0]!.axes.length : this.flowOf(x, 'the input of Slice', fail).axes.length;
    const s = sliceSpec(inputs, attrs, this.opset, rank, fail);
    if (x.kind === 'stack') {
      const sizes = x.parts.map((p) => axisSize(p.axes[x.axis]!) ?? NaN);
      const picked = s.axes.length === 1 && s.axes[0] === x.axis ? sliceIndices(s.starts[0]!, s.ends[0]!, s.steps[0]!, sizes.reduce((n, d) => n + d, 0)) : [];
      if (picked.length === 1) return this.pickFromStack(x, x.axis, picked[0]!, true, fail);
      // All of one layer's final states (PyTorch's h_n[-2:], both directions of the last layer).
      let start = 0;
      for (const [k, size] of sizes.entries()) {
        if (picked.length === size && picked.every((p, j) => p === start + j)) return x.parts[k]!;
        start += size;
      }
      return fail('expected a Slice that picks one of the layers\' outputs a Concat stacked, or one element of them');
    }
    let f = this.flowOf(x, 'the input of Slice', fail);
    s.axes.forEach((axis, k) => {
      const atoms = f.axes[axis]!;
      const size = axisSize(atoms);
      const pick = classifySlice(s.starts[k]!, s.ends[k]!, s.steps[k]!, size);
      if (pick === 'all') return;
      if (pick === 'other') fail(`expected a Slice of the whole axis or one element of the time or directions axis, got [${s.starts[k]}:${s.ends[k]}:${s.steps[k]}] of axis ${axis} of ${describeAxes(f.axes)}`);
      f = this.pick(f, axis, pick.index, true, fail);
    });
    return f;
  }

  private concat(parts: Value[], axisAttr: number, fail: Fail): Value {
    if (parts.every((p) => p.kind === 'zeros' || (p.kind === 'const' && p.data.every((v) => v === 0)))) return { kind: 'zeros' };
    if (parts.some((p) => p.kind === 'shape')) {
      const dims = parts.flatMap((p) => {
        if (p.kind === 'shape') return p.dims;
        if (p.kind === 'const' && p.shape.length === 1) return intsOf(p, 'a shape entry', fail);
        return fail(`expected a Concat of shape entries, got ${describeValue(p)}`);
      });
      return { kind: 'shape', dims, scalar: false };
    }
    const flows = parts.map((p) => this.flowOf(p, 'every input of Concat', fail));
    const rank = flows[0]!.axes.length;
    if (flows.some((f) => f.axes.length !== rank)) fail(`Concat of ${flows.map((f) => describeAxes(f.axes)).join(' and ')}`);
    const axis = axisOf(axisAttr, rank, 'Concat axis', fail);
    const [a, b] = flows;
    // The two directions of one bidirectional output put back side by side on the features: Bidirectional's concat.
    if (flows.length === 2 && a!.half && b!.half && a!.half.of === b!.half.of && a!.half.direction === 0 && b!.half.direction === 1 && a!.layers === b!.layers) {
      const feature = a!.axes[axis]!;
      if (sameAxes(a!.axes, b!.axes) && feature.length === 1 && feature[0]!.role === 'F' && feature[0]!.size !== null) {
        return { kind: 'flow', source: a!.source, axes: a!.axes.map((ax, k) => (k === axis ? [{ role: 'F', size: 2 * feature[0]!.size! }] : ax)), layers: a!.layers, ranBackwards: false };
      }
    }
    if (flows.every((f) => !f.half && f.axes[axis]!.every((atom) => atom.role === 'D' || atom.role === '1'))) return { kind: 'stack', axis, parts: flows };
    return fail(`expected a Concat that joins a bidirectional output's two directions (direction 0 then 1) on the features, or stacks layers' final states, got one of ${flows.map((f) => describeValue(f)).join(' and ')} on axis ${axis}`);
  }

  /** Equal of one entry of the data's shape and a number: decided now where that size is known (a size-1 axis). */
  private equal(inputs: (Value | undefined)[], fail: Fail): Value {
    const [a, b] = inputs;
    const [entry, number] = a?.kind === 'shape' ? [a, b] : [b, a];
    if (entry?.kind !== 'shape' || entry.dims.length !== 1 || number?.kind !== 'const' || number.data.length !== 1) {
      return fail(`expected Equal of one entry of a shape and a constant, got ${describeValue(a)} and ${describeValue(b)}`);
    }
    const dim = entry.dims[0]!;
    const size = typeof dim === 'number' ? dim : axisSize(dim);
    if (size === null) return { kind: 'blocked', why: `a comparison of the size of the ${(dim as Axis).map(describeAtom).join('*')} axis, known only at run time` };
    return { kind: 'const', dtype: DATA_TYPE.BOOL, shape: entry.scalar ? [] : [1], data: Float64Array.of(size === number.data[0] ? 1 : 0) };
  }

  private shape(x: Value, attrs: Attributes, fail: Fail): Value {
    const f = x.kind === 'ids' ? x : this.flowOf(x, 'the input of Shape', fail);
    const rank = f.axes.length;
    const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
    return { kind: 'shape', dims: f.axes.slice(clampAxis(attrs.int('start', 0)), clampAxis(attrs.int('end', rank))), scalar: false };
  }

  // -- layers

  private recurrent(node: OnnxNode, inputs: (Value | undefined)[], fail: Fail): Value[] {
    const input = (k: number) => inputs[k];
    const constant = (k: number, name: string): Const | undefined => {
      const v = input(k);
      if (v !== undefined && v.kind !== 'const') fail(`expected ${name} to be a constant, got ${describeValue(v)}`);
      return v;
    };
    const W = constant(1, 'W') ?? fail('expected input W, got none');
    const R = constant(2, 'R') ?? fail('expected input R, got none');
    const B = constant(3, 'B');
    const P = node.opType === 'LSTM' ? constant(7, 'P') : undefined;
    const parts = recurrentParts(node, { W, R, ...(B && { B }), ...(P && { P }) }, fail);
    const x = this.flowOf(input(0), 'X', fail);
    if (x.half) fail('expected X to be a whole sequence, got one direction of a bidirectional output');
    const [T, Bt, F] = parts.layout === 0 ? ['T', 'B', 'F'] : ['B', 'T', 'F'];
    const roles = x.axes.map((axis) => (axis.length === 1 ? axis[0]!.role : '?')).join(',');
    if (roles !== `${T},${Bt},${F}`) {
      // Only layers that work per step (an embedding, a Dense) before the first recurrent node: they fit either layout.
      if (!this.timeMajor && roles === `${Bt},${T},${F}` && x.layers.every((l) => l.type === 'embedding' || l.type === 'dense')) throw new TimeMajorInput();
      fail(`expected X to hold ${parts.layout === 0 ? '[time, batch, features] (layout 0)' : '[batch, time, features] (layout 1)'}, got ${describeAxes(x.axes)}`);
    }
    const feature = x.axes[2]![0]!;
    if (feature.size !== null && feature.size !== parts.inputSize) fail(`expected X with ${parts.inputSize} features (W's input size), got ${feature.size}`);
    if (input(4) !== undefined) fail('expected no sequence_lens: a Sequential runs whole sequences (give sequenceLengths to forward() instead)');
    for (const [k, name] of [[5, 'initial_h'], [6, 'initial_c']] as const) {
      const v = input(k);
      if (v !== undefined && v.kind !== 'zeros' && !(v.kind === 'const' && v.data.every((d) => d === 0))) {
        fail(`expected ${name} to be absent or zeros (a Sequential starts from a zero state), got ${describeValue(v)}; for a model fed its state, build the layer with readOnnxRecurrent() and pass forward(x, { initialState })`);
      }
    }
    const U = parts.hiddenSize;
    const spec = (returnSequences: boolean): LayerSpec => {
      const name = node.name || `${node.opType} -> ${node.output[0] ?? '?'}`;
      const [forward, backward] = parts.directions;
      if (!backward) return { type: parts.cell, name, options: { ...forward!.options, weights: forward!.weights, returnSequences } } as LayerSpec;
      const { goBackwards: _, outputOrder: __, ...backwardOptions } = backward.options;
      if (JSON.stringify(backwardOptions) !== JSON.stringify(forward!.options)) {
        fail('expected both directions to use the same activations: a Bidirectional layer runs one set');
      }
      const layer = { ...(parts.cell === 'gru' ? { type: 'gru' as const } : {}), ...forward!.options, weights: forward!.weights, returnSequences };
      const options = { layer, backwardWeights: backward.weights, mergeMode: 'concat' } as BidirectionalOptions;
      return { type: 'bidirectional', name, options };
    };
    const time = x.axes[parts.layout === 0 ? 0 : 1]!;
    const batch = x.axes[parts.layout === 0 ? 1 : 0]!;
    const directions: Axis = [{ role: 'D', size: parts.directions.length }];
    const features: Axis = [{ role: 'F', size: U }];
    const Y: Flow = {
      kind: 'flow',
      source: x.source,
      axes: parts.layout === 0 ? [time, directions, batch, features] : [batch, time, directions, features],
      layers: [...x.layers, spec(true)],
      ranBackwards: parts.direction === 'reverse',
    };
    const Yh: Flow = { kind: 'flow', source: x.source, axes: parts.layout === 0 ? [directions, batch, features] : [batch, directions, features], layers: [...x.layers, spec(false)], ranBackwards: false };
    return [Y, Yh, { kind: 'blocked', why: `the cell state Y_c of ${nodeLabel(node)} (a Sequential passes h on)` }];
  }

  /** The data as a Dense layer's input: whole (no single direction, no separate directions axis). */
  private denseInput(v: Value | undefined, what: string, fail: Fail): Flow {
    const f = this.flowOf(v, what, fail);
    if (f.half) fail(`expected ${what} to hold both directions of a bidirectional output, got direction ${f.half.direction} only`);
    if (f.axes.some((axis) => axis.some((a) => a.role === 'D' && a.size !== 1))) {
      fail(`expected ${what} to have a bidirectional output's directions joined (Transpose + Reshape or Concat), got ${describeAxes(f.axes)}`);
    }
    return f;
  }

  private featureAxis(f: Flow, fail: Fail, mustBeLast: boolean): number {
    const k = f.axes.findIndex((axis) => axis.length === 1 && axis[0]!.role === 'F');
    if (k < 0 || (mustBeLast && k !== f.axes.length - 1)) fail(`expected the features on the last axis, got ${describeAxes(f.axes)}`);
    return k;
  }

  private addLayer(f: Flow, spec: LayerSpec, features: number, featureAxis: number): Flow {
    return { ...f, axes: f.axes.map((axis, k) => (k === featureAxis ? [{ role: 'F', size: features }] : axis)), layers: [...f.layers, spec] };
  }

  private gemm(inputs: (Value | undefined)[], attrs: Attributes, node: OnnxNode, fail: Fail): Value {
    const a = this.denseInput(inputs[0], 'Gemm\'s A', fail);
    if (a.axes.length !== 2) fail(`expected Gemm's A to be 2-D, got ${describeAxes(a.axes)}`);
    if (attrs.int('transA', 0) !== 0) fail('expected transA 0 (the data as rows)');
    const k = this.featureAxis(a, fail, true);
    const b = inputs[1];
    if (b?.kind !== 'const' || b.shape.length !== 2) return fail(`expected Gemm's B to be a 2-D constant, got ${describeValue(b)}`);
    let kernel = floatTensor(attrs.int('transB', 0) ? transposeConst(b, [1, 0]) : b, 'Gemm B', fail);
    const [K, N] = kernel.shape as [number, number];
    this.checkFeatures(a, k, K, 'Gemm', fail);
    const alpha = attrs.float('alpha', 1);
    if (alpha !== 1) kernel = { data: kernel.data.map((v) => v * alpha), shape: kernel.shape };
    const options: DenseOptions = { kernel };
    const c = inputs[2];
    if (c !== undefined) {
      if (c.kind !== 'const') return fail(`expected Gemm's C to be a constant, got ${describeValue(c)}`);
      const beta = attrs.float('beta', 1);
      const bias = this.biasVector(c, [[ONE], [{ role: 'F', size: N }]], 1, N, 'Gemm\'s C', fail);
      options.bias = { data: bias.map((v) => v * beta), shape: [N] };
    }
    return this.addLayer(a, { type: 'dense', name: node.name || `Gemm -> ${node.output[0]}`, options }, N, k);
  }

  private matmul(inputs: (Value | undefined)[], node: OnnxNode, fail: Fail): Value {
    const a = this.denseInput(inputs[0], 'MatMul\'s A', fail);
    const k = this.featureAxis(a, fail, true);
    const b = inputs[1];
    if (b?.kind !== 'const' || b.shape.length !== 2) return fail(`expected MatMul's B to be a 2-D constant [features, outputs], got ${describeValue(b)}`);
    const kernel = floatTensor(b, 'MatMul B', fail);
    const [K, N] = kernel.shape as [number, number];
    this.checkFeatures(a, k, K, 'MatMul', fail);
    return this.addLayer(a, { type: 'dense', name: node.name || `MatMul -> ${node.output[0]}`, options: { kernel } }, N, k);
  }

  private checkFeatures(f: Flow, axis: number, K: number, op: string, fail: Fail): void {
    const size = f.axes[axis]![0]!.size;
    if (size !== null && size !== K) fail(`expected ${op}'s weights for ${size} features, got [${K}, ...]`);
  }

  /** A constant that broadcasts along the features only, as a [features] vector. */
  private biasVector(c: Const, axes: Axis[], featureAxis: number, N: number, what: string, fail: Fail): Float32Array {
    const shape = c.shape;
    const offset = axes.length - shape.length;
    const ok = offset >= 0 && shape.every((d, j) => d === 1 || (j + offset === featureAxis && d === N));
    if (!ok) fail(`expected ${what} to broadcast along the features only (shape [${N}], [1, ${N}] or a scalar), got shape ${shapeText(shape)} against ${describeAxes(axes)}`);
    const values = floatTensor(c, what, fail).data;
    return values.length === N ? Float32Array.from(values) : new Float32Array(N).fill(values[0] ?? 0);
  }

  private addBias(inputs: (Value | undefined)[], node: OnnxNode, fail: Fail): Value {
    const [x, y] = inputs;
    const subtract = node.opType === 'Sub';
    const flowFirst = x?.kind === 'flow';
    if (subtract && !flowFirst) fail('expected Sub of a constant from the data');
    const f = this.denseInput(flowFirst ? x : y, `${node.opType}'s data`, fail);
    const c = flowFirst ? y : x;
    if (c?.kind !== 'const') return fail(`expected ${node.opType} of the data and a constant bias, got ${describeValue(c)}`);
    const k = this.featureAxis(f, fail, false);
    const N = f.axes[k]![0]!.size ?? fail('a bias on features of unknown size');
    const bias = this.biasVector(c, f.axes, k, N, `${node.opType}'s constant`, fail).map((v) => (subtract ? -v : v));
    const last = f.layers[f.layers.length - 1];
    if (last?.type === 'dense' && (last.options.activation === undefined || last.options.activation === 'linear')) {
      const old = last.options.bias as Tensor | undefined;
      const sum = old ? bias.map((v, j) => v + old.data[j]!) : bias;
      return { ...f, layers: [...f.layers.slice(0, -1), { ...last, options: { ...last.options, bias: { data: sum, shape: [N] } } }] };
    }
    return this.addLayer(f, { type: 'dense', name: node.name || `${node.opType} -> ${node.output[0]}`, options: { kernel: identity(N), bias: { data: bias, shape: [N] } } }, N, k);
  }

  private activate(x: Value, activation: Activation | 'softmax', attrs: Attributes, node: OnnxNode, fail: Fail): Value {
    const f = this.denseInput(x, `${node.opType}'s input`, fail);
    const k = this.featureAxis(f, fail, false);
    if (activation === 'softmax') {
      const rank = f.axes.length;
      const axis = axisOf(attrs.int('axis', this.opset >= 13 ? -1 : 1), rank, 'Softmax axis', fail);
      // Before opset 13, Softmax flattens from `axis` on: it is a softmax over the features only when that is the last axis.
      if (axis !== k || (this.opset < 13 && axis !== rank - 1)) fail(`expected Softmax over the features (axis ${k}), got axis ${attrs.int('axis', this.opset >= 13 ? -1 : 1)} of ${describeAxes(f.axes)}`);
    }
    const N = f.axes[k]![0]!.size ?? fail('an activation on features of unknown size');
    const last = f.layers[f.layers.length - 1];
    if (last?.type === 'dense' && (last.options.activation === undefined || last.options.activation === 'linear')) {
      return { ...f, layers: [...f.layers.slice(0, -1), { ...last, options: { ...last.options, activation } }] };
    }
    // A convolution's activation runs in its kernel.
    if (last?.type === 'conv1d' && activation !== 'softmax' && (last.options.activation === undefined || last.options.activation === 'linear')) {
      return { ...f, layers: [...f.layers.slice(0, -1), { ...last, options: { ...last.options, activation } }] };
    }
    return this.addLayer(f, { type: 'dense', name: node.name || `${node.opType} -> ${node.output[0]}`, options: { kernel: identity(N), activation } }, N, k);
  }

  // -- the end

  private finish(output: string, v: Value): LayerSpec[] {
    if (v.kind === 'blocked') return this.fail(`expected the output '${output}' to be computed from the model's input by the layers of a Sequential, got one that depends on ${v.why}`);
    if (v.kind !== 'flow') return this.fail(`expected the output '${output}' to be computed from the model's input, got ${describeValue(v)}`);
    if (v.half) this.fail(`expected the output '${output}' to hold both directions of bidirectional node '${v.layers[v.layers.length - 1]?.name}', got direction ${v.half.direction} only`);
    if (v.layers.length === 0) this.fail(`expected LSTM, GRU, Gemm or MatMul nodes between the input and the output '${output}', got none`);
    const atoms = v.axes.flat().filter((a) => !isSingleton(a));
    const roles = atoms.map((a) => a.role).join(',');
    if (atoms.some((a) => a.role === 'D')) {
      this.fail(`expected the output '${output}' to join the two directions of bidirectional node '${v.layers[v.layers.length - 1]!.name}' (a Sequential concatenates them), got them on an axis of their own: ${describeAxes(v.axes)}`);
    }
    const [sequence, swapped] = this.timeMajor ? ['T,B,F', 'B,T,F'] : ['B,T,F', 'T,B,F'];
    if (roles === swapped) {
      const [input, out] = this.timeMajor ? ['time-major', 'batch-major'] : ['batch-major', 'time-major'];
      this.fail(`expected the output '${output}' to be a sequence laid out as the input '${v.source}' is (${input}) or [batch, features], got ${describeAxes(v.axes)}: ` +
        `a ${input} input turned into a ${out} sequence, which no Sequential computes (its timeMajor option lays out both)`);
    }
    if (roles !== sequence && roles !== 'B,F') {
      this.fail(this.timeMajor
        ? `expected the output '${output}' to be [time, batch, features] or [batch, features] (a time-major Sequential's output), got ${describeAxes(v.axes)}`
        : `expected the output '${output}' to be [batch, time, features] or [batch, features] (a Sequential's output), got ${describeAxes(v.axes)}`);
    }
    return this.timeMajor ? [{ type: 'input', name: v.source, options: { timeMajor: true } }, ...v.layers] : [...v.layers];
  }
}

function identity(n: number): Tensor {
  const data = new Float32Array(checkAllocation(`the identity kernel [${n}, ${n}] of a bias on ${n} features`, n * n));
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return { data, shape: [n, n] };
}

/** Names a subgraph uses from the graphs around it. */
function outerNames(graph: OnnxGraph): string[] {
  const own = new Set<string>([...graph.initializer.map((t) => t.name), ...graph.input.map((i) => i.name)]);
  const used: string[] = [];
  for (const node of graph.node) {
    for (const name of node.input) if (name !== '' && !own.has(name)) used.push(name);
    for (const a of node.attribute) for (const g of [a.g, ...a.graphs]) if (g) for (const name of outerNames(g)) if (!own.has(name)) used.push(name);
    for (const o of node.output) own.add(o);
  }
  return used;
}
