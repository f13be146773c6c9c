// Keras' merge layers (Concatenate, Add, Subtract, Multiply, Average, Maximum): several tensors of
// one shape in, one out. They have no weights and work on each step alone, so a Model streams them.
import { describe, fail } from './errors.js';
import { checkOptions } from './recurrent.js';
import { checkAllocation, readTensor, shapeText, type Tensor, type TensorLike } from './tensor.js';

export type MergeOp = 'concatenate' | 'add' | 'subtract' | 'multiply' | 'average' | 'maximum';
const OPS: readonly MergeOp[] = ['concatenate', 'add', 'subtract', 'multiply', 'average', 'maximum'];

export interface MergeOptions {
  op: MergeOp;
  /** Concatenate: the axis joined (negative counts from the last; -1, Keras' default). */
  axis?: number;
  name?: string;
}

/** The element-wise ops, on float64 (the sum of an Average rounds once, as Keras' float32 sum of two does). */
const ELEMENTWISE: Record<Exclude<MergeOp, 'concatenate'>, { first: (v: number) => number; next: (acc: number, v: number) => number; last?: (acc: number, n: number) => number }> = {
  add: { first: (v) => v, next: (a, v) => a + v },
  subtract: { first: (v) => v, next: (a, v) => a - v },
  multiply: { first: (v) => v, next: (a, v) => a * v },
  average: { first: (v) => v, next: (a, v) => a + v, last: (a, n) => a / n },
  maximum: { first: (v) => v, next: (a, v) => Math.max(a, v) },
};

let counter = 0;

export class Merge {
  readonly kind = 'merge';
  private constructor(readonly name: string, readonly op: MergeOp, readonly axis: number) {}

  static async create(options: MergeOptions): Promise<Merge> {
    checkOptions(options, ['op', 'axis', 'name']);
    if (!OPS.includes(options.op)) fail('ERR_LSTM_CONFIG', 'options.op', OPS.map((o) => `'${o}'`).join(', '), describe(options.op));
    const axis = options.axis ?? -1;
    if (!Number.isInteger(axis)) fail('ERR_LSTM_CONFIG', 'options.axis', 'an integer', describe(options.axis));
    if (options.axis !== undefined && options.op !== 'concatenate') fail('ERR_LSTM_CONFIG', 'options.axis', `no axis for ${options.op} (only concatenate joins along one)`, describe(options.axis));
    if (options.name !== undefined && typeof options.name !== 'string') fail('ERR_LSTM_CONFIG', 'options.name', 'a string', describe(options.name));
    return new Merge(options.name ?? `${options.op}_${++counter}`, options.op, axis);
  }

  /** Subtract takes exactly two inputs, the others two or more. */
  get arity(): { min: number; max: number } {
    return this.op === 'subtract' ? { min: 2, max: 2 } : { min: 2, max: Infinity };
  }

  /** The tensors merged into one; `axis` overrides the layer's (a stream's steps have no time axis). */
  forward(inputs: readonly TensorLike[], axis = this.axis): { output: Tensor } {
    if (!Array.isArray(inputs) || inputs.length < this.arity.min || inputs.length > this.arity.max) {
      fail('ERR_LSTM_INPUT', `${this.name} (${this.op}) inputs`, this.arity.max === 2 ? 'exactly 2 tensors' : 'a list of at least 2 tensors', describe(inputs));
    }
    const tensors = inputs.map((x, k) => {
      const t = readTensor(x, `input ${k}`);
      return { data: t.data, shape: t.shape ?? [t.data.length] };
    });
    const rank = tensors[0]!.shape.length;
    return { output: this.op === 'concatenate' ? this.concatenate(tensors, rank, axis) : this.elementwise(tensors) };
  }

  private concatenate(tensors: Tensor[], rank: number, given: number): Tensor {
    const axis = given < 0 ? rank + given : given;
    if (axis < 0 || axis >= rank) fail('ERR_LSTM_CONFIG', `${this.name} axis`, `an axis of rank-${rank} inputs (from ${-rank} to ${rank - 1})`, String(given));
    const first = tensors[0]!.shape;
    tensors.forEach((t, k) => {
      if (t.shape.length !== rank || t.shape.some((d, a) => a !== axis && d !== first[a])) {
        fail('ERR_LSTM_SHAPE', `${this.name} input ${k}`, `the shape of input 0 (${shapeText(first)}) but along axis ${axis}`, `shape ${shapeText(t.shape)}`);
      }
    });
    // Each tensor is `outer` blocks of its own `inner * shape[axis]` values, put side by side.
    const outer = first.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = first.slice(axis + 1).reduce((a, b) => a * b, 1);
    const widths = tensors.map((t) => t.shape[axis]! * inner);
    const row = widths.reduce((a, b) => a + b, 0);
    const out = new Float32Array(checkAllocation(`${this.name} output`, outer * row));
    for (let o = 0; o < outer; o++) {
      let at = o * row;
      tensors.forEach((t, k) => {
        out.set(t.data.subarray(o * widths[k]!, (o + 1) * widths[k]!), at);
        at += widths[k]!;
      });
    }
    const shape = [...first];
    shape[axis] = tensors.reduce((s, t) => s + t.shape[axis]!, 0);
    return { data: out, shape };
  }

  private elementwise(tensors: Tensor[]): Tensor {
    const first = tensors[0]!;
    tensors.forEach((t, k) => {
      if (shapeText(t.shape) !== shapeText(first.shape)) fail('ERR_LSTM_SHAPE', `${this.name} input ${k}`, `the shape of input 0, ${shapeText(first.shape)}`, `shape ${shapeText(t.shape)}`);
    });
    const { first: start, next, last } = ELEMENTWISE[this.op as Exclude<MergeOp, 'concatenate'>];
    const out = new Float32Array(first.data.length);
    for (let i = 0; i < out.length; i++) {
      let acc = start(first.data[i]!);
      for (let k = 1; k < tensors.length; k++) acc = next(acc, tensors[k]!.data[i]!);
      out[i] = last ? last(acc, tensors.length) : acc;
    }
    return { data: out, shape: [...first.shape] };
  }

  dispose(): void {}
}
