// What readOnnx's main path (onnx-path.ts) knows of each value of the graph: a constant, the model's
// data with what each of its axes holds, zeros, a shape taken at run time, or why a Sequential cannot compute it.
import { shapeText } from '../tensor.js';
import type { Const } from './onnx-constants.js';
import type { LayerSpec } from './spec.js';

/** What an axis of the data holds: batch, time, features (F, with its size), bidirectional directions (D), or a size-1 axis. */
export type Role = 'B' | 'T' | 'F' | 'D' | '1';
export interface Atom {
  role: Role;
  size: number | null;
}
/** One axis: usually one atom; a Reshape may merge batch and time into one axis. */
export type Axis = Atom[];

/** The model's data on its way from the input: what its axes hold and the layers it has been through. */
export interface Flow {
  kind: 'flow';
  /** The graph input it comes from. */
  source: string;
  axes: Axis[];
  layers: readonly LayerSpec[];
  /**
   * The last recurrent layer ran backwards (ONNX direction reverse): its sequence is in input order
   * as ONNX's Y is (the layer has outputOrder 'input'), so its last step sits at time index 0.
   */
  ranBackwards: boolean;
  /** One direction of a bidirectional node's output, picked by Gather/Slice on its directions axis. */
  half?: { of: Flow; direction: 0 | 1 };
}
/** Outputs of several layers stacked by a Concat (PyTorch's h_n); Gather/Slice pick one back out. */
export interface Stack {
  kind: 'stack';
  axis: number;
  parts: Flow[];
}
/** A tensor known to be all zeros (an initial state made by ConstantOfShape or Expand). */
interface Zeros {
  kind: 'zeros';
}
/**
 * A shape taken from the data at run time (Shape of the data, then Gather/Slice/Concat/Mul...):
 * each entry a number or the atoms whose sizes it multiplies (batch, time, features...), so that a
 * Reshape or an initial state sized from it is understood without running it.
 */
export interface ShapeVector {
  kind: 'shape';
  dims: (number | Axis)[];
  scalar: boolean;
}
/** The graph's integer input [batch, time]: only an embedding (a Gather from a constant table) takes it. */
export interface Ids {
  kind: 'ids';
  source: string;
  axes: Axis[];
}
/** Anything a Sequential cannot compute; why says what. */
export interface Blocked {
  kind: 'blocked';
  why: string;
}
export type Value = Const | Flow | Ids | Stack | Zeros | ShapeVector | Blocked;

export const ONE: Atom = { role: '1', size: 1 };
export const isSingleton = (a: Atom) => a.role === '1' || (a.role === 'D' && a.size === 1);
export const sameAtom = (a: Atom, b: Atom) => a.role === b.role && (a.size === null || b.size === null || a.size === b.size);
export const sameAxes = (a: Axis[], b: Axis[]) => a.length === b.length && a.every((x, k) => x.length === b[k]!.length && x.every((atom, j) => sameAtom(atom, b[k]![j]!)));
/** How many values an axis holds: its atoms' sizes multiplied, null while one is unknown. */
export const axisSize = (axis: Axis): number | null => axis.reduce<number | null>((n, a) => (n === null || a.size === null ? null : n * a.size), 1);
export const ROLE_NAMES: Record<Role, string> = { B: 'batch', T: 'time', F: 'features', D: 'directions', '1': '1' };
export const describeAtom = (a: Atom) => (a.role === 'F' || a.role === 'D' ? `${ROLE_NAMES[a.role]}(${a.size ?? '?'})` : ROLE_NAMES[a.role]);
export const describeAxes = (axes: Axis[]) => `[${axes.map((axis) => axis.map(describeAtom).join('*')).join(', ')}]`;

/** One entry of a ShapeVector, e.g. 'batch', '12' or 'directions(2)*features(6)'. */
export const describeDim = (d: number | Axis) => (typeof d === 'number' ? String(d) : d.length === 0 ? '1' : d.map(describeAtom).join('*'));

export function describeValue(v: Value | undefined): string {
  if (v === undefined) return 'nothing';
  switch (v.kind) {
    case 'const':
      return `a constant of shape ${shapeText(v.shape)}`;
    case 'flow':
      return v.layers.length === 0
        ? `the graph input '${v.source}'`
        : `data computed from the graph input '${v.source}' ${describeAxes(v.axes)}${v.half ? ` (direction ${v.half.direction} only)` : ''}`;
    case 'ids':
      return `the integer ids of the graph input '${v.source}' ${describeAxes(v.axes)}, which only an embedding (a Gather from a constant table on axis 0) takes`;
    case 'stack':
      return 'the outputs of several layers stacked by a Concat (a Sequential gives one layer\'s output)';
    case 'zeros':
      return 'zeros';
    case 'shape':
      return `a shape computed at run time, [${v.dims.map(describeDim).join(', ')}]`;
    case 'blocked':
      return v.why;
  }
}
