// Shape arithmetic on the data's dimensions, symbolically: the subgraphs exporters build to size a
// Reshape or an initial state from the input at run time (torch's dynamo exporter: Shape -> Slice ->
// Mul -> Concat -> Reshape after every LSTM; Shape -> Concat -> Expand for the zero states) are
// evaluated here on ShapeVectors whose entries are numbers or the atoms they measure (batch, time,
// directions, features), so the Reshape they feed is read as what it does to the axes.
import { shapeText } from '../tensor.js';
import { intsOf, type Const } from './onnx-constants.js';
import type { Fail } from './onnx-decode.js';
import { axisSize, describeDim, describeValue, isSingleton, type Axis, type ShapeVector, type Value } from './onnx-values.js';

type Dim = number | Axis;

/** A shape operand: a ShapeVector, or integer constants (a scalar or a vector) mixed in. */
function entriesOf(v: Value | undefined, op: string, fail: Fail): { dims: Dim[]; scalar: boolean } {
  if (v?.kind === 'shape') return v;
  if (v?.kind === 'const' && v.shape.length <= 1) return { dims: intsOf(v, `${op}'s constant`, fail), scalar: v.shape.length === 0 };
  return fail(`expected ${op} of shape entries and integer constants, got ${describeValue(v)}`);
}

/** An entry's value where it is known now (a number, or atoms of known sizes). */
const known = (d: Dim): number | null => (typeof d === 'number' ? d : axisSize(d));

function product(a: Dim, b: Dim): Dim {
  if (known(a) === 1) return b;
  if (known(b) === 1) return a;
  if (typeof a !== 'number' && typeof b !== 'number') return [...a, ...b].filter((atom) => !isSingleton(atom));
  const [x, y] = [known(a), known(b)];
  return x !== null && y !== null ? x * y : NaN;
}

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Div: (a, b) => Math.trunc(a / b),
};

/**
 * Add, Sub, Mul, Div of shape entries, entry by entry (a one-entry operand broadcast). Mul of
 * dimensions keeps the atoms it multiplies (directions * features is a bidirectional output's
 * width); the rest is computed where the sizes are known now, and refused where one is known only
 * at run time (batch + 1 is no dimension a Sequential has).
 */
export function shapeArithmetic(op: string, a: Value | undefined, b: Value | undefined, fail: Fail): ShapeVector {
  const [x, y] = [entriesOf(a, op, fail), entriesOf(b, op, fail)];
  const n = Math.max(x.dims.length, y.dims.length);
  if ((x.dims.length !== n && x.dims.length !== 1) || (y.dims.length !== n && y.dims.length !== 1)) {
    fail(`expected ${op} of shapes of one length (or one entry), got ${x.dims.length} and ${y.dims.length} entries`);
  }
  const dims = Array.from({ length: n }, (_, k): Dim => {
    const [p, q] = [x.dims[x.dims.length === 1 ? 0 : k]!, y.dims[y.dims.length === 1 ? 0 : k]!];
    const out = op === 'Mul' ? product(p, q) : known(p) !== null && known(q) !== null ? ARITHMETIC[op]!(known(p)!, known(q)!) : NaN;
    if (typeof out === 'number' && !Number.isFinite(out)) {
      fail(`computes ${describeDim(p)} ${({ Add: '+', Sub: '-', Mul: '*', Div: '/' } as Record<string, string>)[op]} ${describeDim(q)} from the data's shape, a size known only at run time that no Sequential's axes hold`);
    }
    return out;
  });
  return { kind: 'shape', dims, scalar: x.scalar && y.scalar };
}

/** A Reshape of a shape vector itself (torch's Reshape of a Mul's result to [-1]): only its rank changes. */
export function reshapeShapeVector(x: ShapeVector, target: Value | undefined, fail: Fail): ShapeVector {
  if (target?.kind !== 'const') return fail(`expected the target of a Reshape of a shape to be constant, got ${describeValue(target)}`);
  const to = intsOf(target as Const, 'Reshape shape', fail);
  const n = x.dims.length;
  if (to.length === 0 && n === 1) return { ...x, scalar: true };
  if (to.length === 1 && (to[0] === -1 || to[0] === n)) return { ...x, scalar: false };
  return fail(`expected a Reshape of ${n} shape entries to [${n}], [-1] or (one entry) [], got ${shapeText(to)}`);
}
