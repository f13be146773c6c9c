// ONNX graphs run whole (loadOnnxGraph): small graphs built with onnx.helper and run by onnxruntime
// (scripts/gen-onnx-graph-fixtures.py), on every backend: two inputs and three outputs through
// reflection padding, a grouped, strided, dilated Conv and an LSTM with a given state; an If on
// the input's length whose branches hold GRUs reading the outer graph's weights.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadOnnxGraph, LstmError } from '../lib/index.js';
import { expectClose, implementations } from './helpers.js';

const DIR = fileURLToPath(new URL('./fixtures/onnx-graph/', import.meta.url));
const TOL = { abs: 1e-5, rel: 1e-5 };

interface Json {
  dtype: string;
  shape: number[];
  data: number[];
}
interface Case {
  inputs: Record<string, Json>;
  outputs: Record<string, Json>;
}
/** A case's inputs as tensors (integer inputs as their values). */
const tensors = (c: Case) => Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, { data: Float32Array.from(v.data), shape: v.shape }]));
const cases = (name: string) => (JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')) as { cases: Case[] }).cases;
const bytes = (name: string) => new Uint8Array(readFileSync(`${DIR}${name}.onnx`));

describe.each(await implementations())('ONNX graphs against onnxruntime on %s', (backend) => {
  it.each(['conv-lstm', 'branches', 'bidirectional', 'front-end'])('%s: every output of every case within 1e-5', async (name) => {
    const model = await loadOnnxGraph(bytes(name), { backend });
    for (const c of cases(name)) {
      const inputs = tensors(c);
      const { outputs, output } = model.forward(inputs);
      expect(Object.keys(outputs)).toEqual(Object.keys(c.outputs));
      for (const [k, want] of Object.entries(c.outputs)) {
        expect(outputs[k]!.shape).toEqual(want.shape);
        expectClose(outputs[k]!.data, want.data, TOL, `${name} ${k}`);
      }
      expect(output).toEqual(outputs[model.outputNames[0]!]);
      // By position too, and again (a second call runs the program learnt on the first).
      const again = model.forward(model.inputNames.map((n) => inputs[n]!));
      for (const k of Object.keys(c.outputs)) expect(Array.from(again.outputs[k]!.data)).toEqual(Array.from(outputs[k]!.data));
    }
    model.dispose();
  });

  it('a bidirectional LSTM in layout 1 (batch first, which onnxruntime does not run) gives the layout-0 results, transposed', async () => {
    const model = await loadOnnxGraph(bytes('bidirectional-layout1'), { backend });
    const c = cases('bidirectional')[0]!;
    const { x, lens, h0, c0 } = c.inputs as Record<string, Json>;
    const [T, B, I] = x!.shape as [number, number, number];
    const U = 4;
    // [P,Q,...rest] -> [Q,P,...rest]
    const swap = (data: number[], P: number, Q: number, rest: number) => Array.from({ length: data.length }, (_, k) => {
      const [q, p, r] = [Math.floor(k / (P * rest)), Math.floor(k / rest) % P, k % rest];
      return data[(p * Q + q) * rest + r]!;
    });
    const { outputs } = model.forward({
      x: { data: Float32Array.from(swap(x!.data, T, B, I)), shape: [B, T, I] },
      lens: { data: Int32Array.from(lens!.data), shape: [B] },
      h0: { data: Float32Array.from(swap(h0!.data, 2, B, U)), shape: [B, 2, U] },
      c0: { data: Float32Array.from(swap(c0!.data, 2, B, U)), shape: [B, 2, U] },
    });
    // Y [T,D,B,U] -> [B,T,D,U]: T and B swap around D*U.
    const Y = c.outputs.Y!;
    const want = Array.from({ length: Y.data.length }, (_, k) => {
      const [b, t, du] = [Math.floor(k / (T * 2 * U)), Math.floor(k / (2 * U)) % T, k % (2 * U)];
      const [d, u] = [Math.floor(du / U), du % U];
      return Y.data[((t * 2 + d) * B + b) * U + u]!;
    });
    expect(outputs.Y!.shape).toEqual([B, T, 2, U]);
    expectClose(outputs.Y!.data, want, TOL, 'Y');
    expect(outputs.Y_h!.shape).toEqual([B, 2, U]);
    expectClose(outputs.Y_h!.data, swap(c.outputs.Y_h!.data, 2, B, U), TOL, 'Y_h');
    expectClose(outputs.Y_c!.data, swap(c.outputs.Y_c!.data, 2, B, U), TOL, 'Y_c');
    model.dispose();
  });

  it('traces each recurrent node by name', async () => {
    const model = await loadOnnxGraph(bytes('conv-lstm'), { backend });
    const c = cases('conv-lstm')[0]!;
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, { data: Float32Array.from(v.data), shape: v.shape }]));
    const { trace, outputs } = model.forward(inputs, { trace: true });
    const names = Object.keys(trace!);
    expect(names).toHaveLength(1);
    const t = trace![names[0]!]!;
    // The trace's last h is the node's Y_h.
    const h = (t as { h: { data: Float32Array; shape: number[] } }).h;
    const [B, T, U] = h.shape as [number, number, number];
    for (let b = 0; b < B; b++) expectClose(h.data.subarray((b * T + T - 1) * U, (b * T + T) * U), Array.from(outputs.Y_h!.data.subarray(b * U, (b + 1) * U)), { abs: 1e-6, rel: 1e-6 }, 'h');
    model.dispose();
  });
});

describe('ONNX graphs refuse what they cannot run', () => {
  it('names the operators it lacks, with the nodes', async () => {
    // A Conv graph with its Relu swapped for an operator outside the set.
    const onnx = bytes('conv-lstm');
    const text = Buffer.from(onnx);
    const at = text.indexOf('Relu');
    text.write('Selu', at);
    await expect(loadOnnxGraph(new Uint8Array(text))).rejects.toThrow(/runs operators lstm-runtime does not: Selu/);
    await expect(loadOnnxGraph(new Uint8Array(text))).rejects.toBeInstanceOf(LstmError);
  });

  it('a shape the graph cannot take, as an LstmError naming the node', async () => {
    const model = await loadOnnxGraph(bytes('conv-lstm'));
    const c = cases('conv-lstm')[0]!;
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, { data: Float32Array.from(v.data), shape: v.shape }]));
    // 3 channels where the model declares 4.
    expect(() => model.forward({ ...inputs, x: { data: new Float32Array(2 * 3 * 17), shape: [2, 3, 17] } })).toThrow(/inputs.x: expected shape \[batch, 4, steps\], got shape \[2, 3, 17\]/);
    // Two steps: too few for the reflection padding of 2 in front.
    const short = () => model.forward({ ...inputs, x: { data: new Float32Array(2 * 4 * 2), shape: [2, 4, 2] } });
    expect(short).toThrow(LstmError);
    expect(short).toThrow(/node 'Pad -> padded' \(Pad\): reflect pads of 2 on an axis of 2/);
    model.dispose();
  });
});
