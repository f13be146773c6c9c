// The CNN front end of ONNX graphs on readOnnx's main path (onnx-path.ts): 1-D Conv, MaxPool,
// AveragePool, BatchNormalization and LayerNormalization. ONNX runs them channels first ([batch,
// channels, time]); the layers here run channels last. The path tracks what each axis holds, not
// where the values lie, so a node only has to find the channels and the time on the axes ONNX
// puts them, and the exporter's Transposes around it cost nothing.
import { floatTensor, intsOf, transposeConst, type Const } from './onnx-constants.js';
import type { Attributes, Fail } from './onnx-decode.js';
import type { OnnxNode } from './onnx-schema.js';
import type { Tensor } from '../tensor.js';
import { describeAxes, describeValue, type Axis, type Flow, type Value } from './onnx-values.js';
import type { LayerSpec } from './spec.js';

export const FRONT_END_OPS = new Set(['Conv', 'MaxPool', 'AveragePool', 'BatchNormalization', 'LayerNormalization', 'Pad']);

const roleOf = (axis: Axis) => (axis.length === 1 ? axis[0]!.role : '?');
const labelOf = (node: OnnxNode) => node.name || `${node.opType} -> ${node.output[0] ?? '?'}`;

function constant(v: Value | undefined, what: string, fail: Fail): Const {
  if (v?.kind !== 'const') return fail(`expected ${what} to be a constant, got ${describeValue(v)}`);
  return v;
}

/** The data as ONNX's 1-D layout [batch, channels, time]. */
function channelsFirst(x: Value | undefined, op: string, fail: Fail): Flow {
  if (x?.kind !== 'flow') return fail(`expected ${op}'s input to be the model's data, got ${describeValue(x)}`);
  const roles = x.axes.map(roleOf).join(',');
  if (x.half || roles !== 'B,F,T') fail(`expected ${op}'s input as [batch, channels, time] (a 1-D ${op}), got ${describeAxes(x.axes)}`);
  return x;
}

/** One value of a 1-D attribute list (kernel_shape, strides, dilations), or its default. */
function one(attrs: Attributes, name: string, fallback: number, fail: Fail): number {
  const v = attrs.ints(name);
  if (v === undefined) return fallback;
  if (v.length !== 1 || !(v[0]! >= 1)) fail(`expected ${name} of one positive value (a 1-D node), got [${v.join(', ')}]`);
  return v[0]!;
}

/** pads / auto_pad as the layers' padding. */
function padding(attrs: Attributes, pool: boolean, fail: Fail): [number, number] | 'same' | 'valid' {
  const auto = attrs.string('auto_pad', 'NOTSET');
  if (auto === 'VALID') return 'valid';
  // SAME_UPPER puts the odd zero after, as Keras' 'same'.
  if (auto === 'SAME_UPPER') return 'same';
  if (auto !== 'NOTSET') fail(`expected auto_pad NOTSET, VALID or SAME_UPPER, got ${auto}`);
  const pads = attrs.ints('pads') ?? [0, 0];
  if (pads.length !== 2 || pads.some((p) => !(p >= 0))) fail(`expected pads [begin, end] of a 1-D ${pool ? 'pooling' : 'Conv'}, got [${pads.join(', ')}]`);
  return [pads[0]!, pads[1]!];
}

/** The time axis after a window of `span` steps moved by `stride` over `padding` (null when the time is not known). */
function timeAfter(size: number | null, span: number, stride: number, pad: readonly [number, number] | 'same' | 'valid'): number | null {
  if (size === null) return null;
  if (pad === 'same') return Math.ceil(size / stride);
  const [l, r] = pad === 'valid' ? [0, 0] : pad;
  return Math.max(Math.floor((size + l + r - span) / stride) + 1, 0);
}

const withLayer = (x: Flow, spec: LayerSpec, channels: number | null, time: number | null | undefined): Flow => ({
  ...x,
  axes: x.axes.map((axis) => {
    const role = roleOf(axis);
    if (role === 'F' && channels !== null) return [{ role: 'F', size: channels }];
    if (role === 'T' && time !== undefined) return [{ role: 'T', size: time }];
    return axis;
  }),
  layers: [...x.layers, spec],
});

/**
 * The layer a Conv, pooling or normalisation node runs as, from its attributes and its constant
 * inputs (weights, statistics, scales; the data, input 0, is not read): shared by readOnnx's main
 * path and the graphs loadModel runs whole (lib/onnx-graph.ts), which run it channels last too.
 */
export function frontEndSpec(node: OnnxNode, inputs: readonly (Const | undefined)[], attrs: Attributes, fail: Fail): LayerSpec {
  const name = labelOf(node);
  switch (node.opType) {
    case 'Conv': {
      const W = inputs[1] ?? fail("expected Conv's W as a constant");
      if (W.shape.length !== 3) fail(`expected W [out, in / group, kernel] of a 1-D Conv, got shape [${W.shape.join(', ')}]`);
      const K = W.shape[2]!;
      const kernelShape = one(attrs, 'kernel_shape', K, fail);
      if (kernelShape !== K) fail(`expected kernel_shape [${K}] (W's), got [${kernelShape}]`);
      // [out, in / group, K] -> the layer's [K, in / group, out]
      const kernel = floatTensor(transposeConst(W, [2, 1, 0]), 'Conv\'s W', fail);
      const bias = inputs[2] === undefined ? undefined : floatTensor(inputs[2], 'Conv\'s B', fail);
      const [strides, dilationRate, groups, pad] = [one(attrs, 'strides', 1, fail), one(attrs, 'dilations', 1, fail), attrs.int('group', 1), padding(attrs, false, fail)];
      return { type: 'conv1d', name, options: { kernel, ...(bias && { bias }), strides, dilationRate, groups, padding: pad } };
    }
    case 'MaxPool':
    case 'AveragePool': {
      if (attrs.int('ceil_mode', 0) !== 0) fail('expected ceil_mode 0 (windows that fit), got 1');
      if (one(attrs, 'dilations', 1, fail) !== 1) fail('expected dilations [1] on a pooling');
      if (node.opType === 'MaxPool' && node.output.length > 1 && node.output[1]) fail('expected MaxPool without its Indices output');
      const poolSize = one(attrs, 'kernel_shape', 0, fail) || fail('expected kernel_shape');
      const strides = one(attrs, 'strides', 1, fail);
      const pad = padding(attrs, true, fail);
      return node.opType === 'AveragePool'
        ? { type: 'average-pooling-1d', name, options: { poolSize, strides, padding: pad, countIncludePad: attrs.int('count_include_pad', 0) === 1 } }
        : { type: 'max-pooling-1d', name, options: { poolSize, strides, padding: pad } };
    }
    case 'BatchNormalization': {
      if (attrs.int('training_mode', 0) !== 0) fail('expected BatchNormalization in inference mode (training_mode 0)');
      const [gamma, beta, movingMean, movingVariance] = [1, 2, 3, 4].map((k) => floatTensor(inputs[k] ?? fail(`expected BatchNormalization input ${k} as a constant`), `BatchNormalization input ${k}`, fail));
      return { type: 'batch-normalization', name, options: { gamma: gamma!, beta: beta!, movingMean: movingMean!, movingVariance: movingVariance!, epsilon: attrs.float('epsilon', 1e-5) } };
    }
    case 'LayerNormalization': {
      const gamma = floatTensor(inputs[1] ?? fail("expected LayerNormalization's Scale as a constant"), 'Scale', fail);
      const beta = inputs[2] === undefined ? undefined : floatTensor(inputs[2], 'B', fail);
      return { type: 'layer-normalization', name, options: { gamma, ...(beta && { beta }), epsilon: attrs.float('epsilon', 1e-5) } };
    }
  }
  return fail(`not a Conv, pooling or normalisation node: ${node.opType}`);
}

/** A front-end node on the data: its layer spec added, its outputs (the statistics outputs blocked). */
export function frontEndNode(node: OnnxNode, inputs: (Value | undefined)[], attrs: Attributes, fail: Fail): Value[] {
  const name = labelOf(node);
  const extra = node.output.slice(1).map((): Value => ({ kind: 'blocked', why: `a statistics output of ${name}` }));
  switch (node.opType) {
    case 'Conv': {
      const x = channelsFirst(inputs[0], 'Conv', fail);
      constant(inputs[1], 'Conv\'s W', fail);
      if (inputs[2] !== undefined) constant(inputs[2], 'Conv\'s B', fail);
      const spec = frontEndSpec(node, inputs as (Const | undefined)[], attrs, fail) as Extract<LayerSpec, { type: 'conv1d' }>;
      const { kernel, groups = 1, strides = 1, dilationRate = 1, padding: pad = 'valid' } = spec.options;
      const [K, perGroup, out] = (kernel as Tensor).shape as [number, number, number];
      const channels = x.axes[1]![0]!.size;
      if (channels !== null && channels !== perGroup * groups) fail(`expected W for ${channels} input channels in ${groups} group(s), got shape [${out}, ${perGroup}, ${K}]`);
      return [withLayer(x, spec, out, timeAfter(x.axes[2]![0]!.size, (K - 1) * dilationRate + 1, strides, pad as Exclude<typeof pad, 'causal'>))];
    }
    case 'MaxPool':
    case 'AveragePool': {
      const x = channelsFirst(inputs[0], node.opType, fail);
      const spec = frontEndSpec(node, inputs.map((v) => (v?.kind === 'const' ? v : undefined)), attrs, fail) as Extract<LayerSpec, { type: 'max-pooling-1d' | 'average-pooling-1d' }>;
      const { poolSize = 2, strides = poolSize, padding: pad = 'valid' } = spec.options;
      return [withLayer(x, spec, null, timeAfter(x.axes[2]![0]!.size, poolSize, strides, pad))];
    }
    case 'Pad': {
      // Zeros on the time axis only (PyTorch's F.pad before a causal convolution): ZeroPadding1D.
      const x = inputs[0];
      if (x?.kind !== 'flow' || x.half) return fail(`expected Pad's input to be the model's data, got ${describeValue(x)}`);
      const value = inputs[2];
      if (value !== undefined && !(value.kind === 'const' && value.data.every((v) => v === 0))) fail(`expected Pad with the constant 0, got ${describeValue(value)}`);
      if (inputs[3] !== undefined) fail('expected Pad without axes (pads for every axis)');
      const rank = x.axes.length;
      const pads = inputs[1] === undefined ? attrs.ints('pads') ?? fail('expected pads') : intsOf(constant(inputs[1], 'Pad\'s pads', fail), 'Pad\'s pads', fail);
      if (pads.length !== 2 * rank) fail(`expected ${2 * rank} pads for ${describeAxes(x.axes)}, got ${pads.length}`);
      const time = x.axes.findIndex((axis) => roleOf(axis) === 'T');
      if (time < 0 || pads.some((p, k) => p !== 0 && k % rank !== time) || pads.some((p) => p < 0)) {
        fail(`expected Pad to add zero steps on the time axis only (no cropping), got pads [${pads.join(', ')}] on ${describeAxes(x.axes)}`);
      }
      const [before, after] = [pads[time]!, pads[rank + time]!];
      const size = x.axes[time]![0]!.size;
      const spec: LayerSpec = { type: 'zero-padding-1d', name, options: { padding: [before, after] } };
      return [withLayer(x, spec, null, size === null ? null : size + before + after)];
    }
    case 'BatchNormalization': {
      const x = inputs[0];
      if (x?.kind !== 'flow' || x.half || roleOf(x.axes[1] ?? []) !== 'F' || x.axes.length < 2 || x.axes.length > 3) {
        return fail(`expected BatchNormalization's input as [batch, channels] or [batch, channels, time], got ${describeValue(x)}`);
      }
      for (const k of [1, 2, 3, 4]) constant(inputs[k], `BatchNormalization input ${k}`, fail);
      return [withLayer(x, frontEndSpec(node, inputs as (Const | undefined)[], attrs, fail), null, undefined), ...extra];
    }
    case 'LayerNormalization': {
      const x = inputs[0];
      if (x?.kind !== 'flow' || x.half) return fail(`expected LayerNormalization's input to be the model's data, got ${describeValue(x)}`);
      const rank = x.axes.length;
      const axis = attrs.int('axis', -1);
      if ((axis !== -1 && axis !== rank - 1) || roleOf(x.axes[rank - 1]!) !== 'F') fail(`expected LayerNormalization over the features on the last axis (axis -1), got axis ${axis} of ${describeAxes(x.axes)}`);
      constant(inputs[1], 'LayerNormalization\'s Scale', fail);
      if (inputs[2] !== undefined) constant(inputs[2], 'LayerNormalization\'s B', fail);
      return [withLayer(x, frontEndSpec(node, inputs as (Const | undefined)[], attrs, fail), null, undefined), ...extra];
    }
  }
  return fail(`not a front-end node: ${node.opType}`);
}
