// The four weight layouts, splitGates, and ONNX's own LSTM node tests (../shared/fixtures).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Gru, Lstm, splitGates, toNested } from '../lib/index.js';
import { expectClose, implementations, rng, SHARED, sharedFor } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const I = 3;
const U = 5;
const r = rng(11);
const keras = { kernel: r.matrix(I, 4 * U), recurrentKernel: r.matrix(U, 4 * U), bias: r.matrix(1, 4 * U)[0]! };
const input = [r.matrix(4, I, -1, 1), r.matrix(4, I, -1, 1)];

/** Gate g (Keras order i, f, c, o) of Keras' kernel as a [U, K] matrix (rows = units). */
const gateRows = (m: number[][], g: number) => Array.from({ length: U }, (_, u) => m.map((row) => row[g * U + u]!));
const gateBias = (g: number) => keras.bias.slice(g * U, (g + 1) * U);
const transpose = (m: number[][]) => m[0]!.map((_, j) => m.map((row) => row[j]!));

// Re-laid out here by hand, independently of lib/layouts.ts.
const pytorch = {
  weight_ih: [0, 1, 2, 3].flatMap((g) => gateRows(keras.kernel, g)), // i, f, g, o
  weight_hh: [0, 1, 2, 3].flatMap((g) => gateRows(keras.recurrentKernel, g)),
  bias_ih: keras.bias.map((b) => b * 0.25),
  bias_hh: keras.bias.map((b) => b * 0.75),
};
const ONNX_ORDER = [0, 3, 1, 2]; // i, o, f, c as Keras gate indices
const onnx = {
  W: [ONNX_ORDER.flatMap((g) => gateRows(keras.kernel, g))],
  R: [ONNX_ORDER.flatMap((g) => gateRows(keras.recurrentKernel, g))],
  B: [[...ONNX_ORDER.flatMap(gateBias), ...Array(4 * U).fill(0)]],
};
const keras1 = Object.fromEntries(
  ['i', 'f', 'c', 'o'].flatMap((name, g) => [
    [`W_${name}`, transpose(gateRows(keras.kernel, g))],
    [`U_${name}`, transpose(gateRows(keras.recurrentKernel, g))],
    [`b_${name}`, gateBias(g)],
  ]),
);

describe.each(IMPLEMENTATIONS)('layouts on %s', (backend) => {
  it('keras, keras1, pytorch, onnx and get_weights() arrays give the same results', async () => {
    const run = async (weights: object, weightLayout: 'keras' | 'keras1' | 'pytorch' | 'onnx') => {
      const layer = await Lstm.create({ weights: weights as never, weightLayout, returnSequences: true, backend });
      const out = layer.forward(input);
      layer.dispose();
      return out;
    };
    const base = await run(keras, 'keras');
    const tol = { abs: 1e-6, rel: 1e-6 };
    for (const [w, l] of [[keras1, 'keras1'], [pytorch, 'pytorch'], [onnx, 'onnx'], [[keras.kernel, keras.recurrentKernel, keras.bias], 'keras']] as const) {
      const out = await run(w, l);
      expectClose(out.output, base.output.data, tol, `${l} output`);
      expectClose(out.c, base.c.data, tol, `${l} c`);
    }
  });
});

describe('splitGates', () => {
  it('returns the same per-gate matrices from every layout', () => {
    const fromKeras = splitGates(keras);
    expect(toNested(fromKeras.f.W)).toEqual(transpose(gateRows(keras.kernel, 1)));
    expect(toNested(fromKeras.o.U)).toEqual(transpose(gateRows(keras.recurrentKernel, 3)));
    expect(Array.from(fromKeras.c.b.data)).toEqual(gateBias(2).map(Math.fround));
    for (const [w, layout] of [[keras1, 'keras1'], [pytorch, 'pytorch'], [onnx, 'onnx']] as const) {
      const split = splitGates(w as never, layout);
      for (const g of ['i', 'f', 'c', 'o'] as const) {
        expect(toNested(split[g].W), `${layout} ${g}.W`).toEqual(toNested(fromKeras[g].W));
        expect(toNested(split[g].U), `${layout} ${g}.U`).toEqual(toNested(fromKeras[g].U));
        expectClose(split[g].b, fromKeras[g].b.data, { abs: 1e-7, rel: 1e-7 }, `${layout} ${g}.b`);
      }
    }
  });
  it('gives zero biases when the weights have none', () => {
    const split = splitGates({ kernel: keras.kernel, recurrentKernel: keras.recurrentKernel });
    expect(Array.from(split.i.b.data)).toEqual(Array(U).fill(0));
  });
});

interface Decoded {
  attributes: { hidden_size: number; layout?: number; linear_before_reset?: number };
  inputs: Record<string, { name: string; shape: number[]; data: unknown }>;
  outputs: Record<string, { name: string; shape: number[]; data: unknown }>;
}
const NODE_TESTS = [
  'test_lstm_defaults', 'test_lstm_with_initial_bias', 'test_lstm_with_peepholes', 'test_lstm_batchwise',
  'test_gru_defaults', 'test_gru_with_initial_bias', 'test_gru_batchwise', 'test_gru_seq_length',
];

describe.skipIf(!sharedFor("ONNX's LSTM and GRU node tests (in ../shared/fixtures)")).each(IMPLEMENTATIONS)("ONNX's LSTM and GRU node tests on %s", (backend) => {
  it.each(NODE_TESTS)('%s', async (name) => {
    const d: Decoded = JSON.parse(readFileSync(`${SHARED}fixtures/onnx-node-tests/${name}/decoded.json`, 'utf8'));
    const byName = Object.fromEntries(Object.values(d.inputs).map((t) => [t.name, t.data]));
    const X = byName.X as number[][][];
    // layout 0 stores [seq, batch, input]; ours is batch-major.
    const x = d.attributes.layout === 1 ? X : transpose(X as never).map((row) => row as unknown as number[][]);
    const options = { weightLayout: 'onnx' as const, returnSequences: true, backend };
    const layer = name.startsWith('test_gru')
      ? await Gru.create({ ...options, weights: { W: byName.W, R: byName.R, B: byName.B } as never, resetAfter: d.attributes.linear_before_reset === 1 })
      : await Lstm.create({ ...options, weights: { W: byName.W, R: byName.R, B: byName.B, P: byName.P } as never });
    const h0 = byName.initial_h as number[][][] | undefined;
    const c0 = byName.initial_c as number[][][] | undefined;
    const out = layer.forward(x, {
      initialState: h0 ? ({ h: h0[0]!, c: c0?.[0] } as never) : undefined,
      sequenceLengths: byName.sequence_lens as number[] | undefined,
    });
    layer.dispose();
    const yh = Object.values(d.outputs).find((o) => o.name === 'Y_h')!;
    // Y_h is [1, batch, hidden] (layout 0) or [batch, 1, hidden] (layout 1): the same numbers either way.
    expectClose(out.h, Float64Array.from((yh.data as number[][][]).flat(2)), { abs: 1e-5, rel: 1e-5 }, `${name} Y_h`);
    expect(out.h.shape).toEqual([x.length, d.attributes.hidden_size]);
  });
});

describe.each(IMPLEMENTATIONS)('CuDNN-trained Keras 2 weights on %s', (backend) => {
  /** Keras 2's CuDNN storage of a Keras [K, G*U] kernel: each gate block holds cuDNN's row-major [U, K] memory. */
  const toCudnnKernel = (m: number[][], G: number, units: number) => {
    const K = m.length;
    const out = m.map((row) => row.slice());
    for (let g = 0; g < G; g++) {
      const flat = Array.from({ length: units }, (_, u) => Array.from({ length: K }, (_, k) => m[k]![g * units + u]!)).flat(); // [U, K] row-major
      for (let p = 0; p < K * units; p++) out[Math.floor(p / units)]![g * units + (p % units)] = flat[p]!;
    }
    return out;
  };
  const toCudnnRecurrent = (m: number[][], G: number, units: number) =>
    m.map((row, a) => row.map((_, col) => m[col % units]![Math.floor(col / units) * units + a]!));

  it('an LSTM gives the Keras results, with the two biases summed', async () => {
    const half = keras.bias.map((b) => b / 2);
    const cudnn = { kernel: toCudnnKernel(keras.kernel, 4, U), recurrentKernel: toCudnnRecurrent(keras.recurrentKernel, 4, U), bias: [...half, ...half] };
    const expected = (await Lstm.create({ weights: keras, returnSequences: true, backend })).forward(input);
    const layer = await Lstm.create({ weights: cudnn, weightLayout: 'cudnn', returnSequences: true, backend });
    expectClose(layer.forward(input).output, expected.output.data, { abs: 1e-6, rel: 1e-6 }, 'cudnn LSTM output');
    layer.dispose();
  });

  it('a GRU gives the Keras reset-after results', async () => {
    const g = rng(12);
    const gru = { kernel: g.matrix(I, 3 * U), recurrentKernel: g.matrix(U, 3 * U), bias: g.matrix(2, 3 * U) };
    const expected = (await Gru.create({ weights: gru, returnSequences: true, backend })).forward(input);
    const cudnn = { kernel: toCudnnKernel(gru.kernel, 3, U), recurrentKernel: toCudnnRecurrent(gru.recurrentKernel, 3, U), bias: gru.bias.flat() };
    const layer = await Gru.create({ weights: cudnn, weightLayout: 'cudnn', returnSequences: true, backend });
    expectClose(layer.forward(input).output, expected.output.data, { abs: 1e-6, rel: 1e-6 }, 'cudnn GRU output');
    layer.dispose();
  });

  it("an 8U bias under the 'keras' layout is refused with the fix", async () => {
    const error = await Lstm.create({ weights: { ...keras, bias: [...keras.bias, ...keras.bias] }, backend }).catch((e) => e);
    expect(error.code).toBe('ERR_LSTM_WEIGHTS');
    expect(error.message).toMatch(/40 is a CuDNNLSTM bias: load such weights with weightLayout 'cudnn'/);
  });
});
