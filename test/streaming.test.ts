// stream().step(), stateful layers and forwardAsync agree with plain forward calls.
import { describe, expect, it } from 'vitest';
import { Lstm } from '../lib/index.js';
import { expectClose, implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const I = 5;
const U = 9;
const B = 2;
const T = 6;
const r = rng(21);
const weights = { kernel: r.matrix(I, 4 * U), recurrentKernel: r.matrix(U, 4 * U), bias: r.matrix(1, 4 * U)[0]! };
const input = Array.from({ length: B }, () => r.matrix(T, I, -1, 1));
const stepInput = (t: number) => input.map((row) => row[t]!);
const TOL = { abs: 1e-6, rel: 1e-6 };

describe.each(IMPLEMENTATIONS)('%s', (backend) => {
  // int8 quantizes the state afresh at every step, in a stream as in a sequence.
  it.each(['f32', 'int8'] as const)('stream().step() matches forward with returnSequences, step by step (%s weights)', async (weightPrecision) => {
    const layer = await Lstm.create({ weights, returnSequences: true, backend, weightPrecision });
    const full = layer.forward(input);
    const stream = layer.stream(B);
    for (let t = 0; t < T; t++) {
      const h = stream.step(stepInput(t));
      expect(h.shape).toEqual([B, U]);
      const expected = Array.from({ length: B }, (_, b) => Array.from(full.output.data.subarray((b * T + t) * U, (b * T + t + 1) * U)));
      expectClose(h, expected, TOL, `step ${t}`);
    }
    expectClose(stream.state.h, full.h.data, TOL, 'state.h');
    expectClose(stream.state.c!, full.c.data, TOL, 'state.c');
    layer.dispose();
  });

  it('step() reuses its output tensor; state is a copy', async () => {
    const layer = await Lstm.create({ weights, backend });
    const stream = layer.stream(B);
    const a = stream.step(stepInput(0));
    const kept = a.data.slice();
    const state = stream.state;
    const b = stream.step(stepInput(1));
    expect(b).toBe(a);
    expect(Array.from(a.data)).not.toEqual(Array.from(kept));
    expect(Array.from(state.h.data)).toEqual(Array.from(kept));
    layer.dispose();
  });

  it('setState() and reset() steer the stream like initialState does forward', async () => {
    const layer = await Lstm.create({ weights, backend });
    const h0 = r.matrix(B, U);
    const c0 = r.matrix(B, U);
    const expected = layer.forward([[stepInput(2)[0]!], [stepInput(2)[1]!]], { initialState: { h: h0, c: c0 } });
    const stream = layer.stream(B);
    stream.step(stepInput(0));
    stream.setState({ h: h0, c: c0 });
    expectClose(stream.step(stepInput(2)), expected.h.data, TOL, 'after setState');
    stream.reset();
    const fresh = layer.forward([[stepInput(2)[0]!], [stepInput(2)[1]!]]);
    expectClose(stream.step(stepInput(2)), fresh.h.data, TOL, 'after reset');
    layer.dispose();
  });

  it('two streams of one layer keep separate states', async () => {
    const layer = await Lstm.create({ weights, backend });
    const s1 = layer.stream(B);
    const s2 = layer.stream(B);
    const solo = layer.stream(B);
    for (let t = 0; t < T; t++) {
      s1.step(stepInput(t));
      s2.step(stepInput(T - 1 - t));
      solo.step(stepInput(t));
    }
    expect(Array.from(s1.state.h.data)).toEqual(Array.from(solo.state.h.data));
    expect(Array.from(s2.state.h.data)).not.toEqual(Array.from(solo.state.h.data));
    s2.dispose();
    expect(() => s2.step(stepInput(0))).toThrow(/disposed/);
    expect(s1.step(stepInput(0)).shape).toEqual([B, U]);
    layer.dispose();
  });

  it('a stateful layer carries state across calls until resetStates()', async () => {
    const whole = await Lstm.create({ weights, returnSequences: true, backend });
    const expected = whole.forward(input);
    const layer = await Lstm.create({ weights, returnSequences: true, stateful: true, backend });
    const first = layer.forward(input.map((row) => row.slice(0, 2)));
    const second = layer.forward(input.map((row) => row.slice(2)));
    expectClose(second.h, expected.h.data, TOL, 'h after two calls');
    expectClose(layer.states!.c!, expected.c.data, TOL, 'states.c');
    expect(first.output.shape).toEqual([B, 2, U]);
    layer.resetStates();
    expect(layer.states).toBeNull();
    const again = layer.forward(input.map((row) => row.slice(0, 2)));
    expect(Array.from(again.h.data)).toEqual(Array.from(first.h.data));
    layer.resetStates({ h: first.h, c: first.c });
    expectClose(layer.forward(input.map((row) => row.slice(2))).h, expected.h.data, TOL, 'after resetStates(state)');
    whole.dispose();
    layer.dispose();
  });

  it('forwardAsync gives exactly what forward gives, also many at once', async () => {
    const layer = await Lstm.create({ weights, returnSequences: true, backend });
    const sync = layer.forward(input, { trace: true });
    const results = await Promise.all(Array.from({ length: 8 }, () => layer.forwardAsync(input, { trace: true })));
    for (const res of results) {
      expect(Array.from(res.output.data)).toEqual(Array.from(sync.output.data));
      expect(Array.from(res.trace!.f.data)).toEqual(Array.from(sync.trace!.f.data));
    }
    layer.dispose();
  });

  it('options.out: results written into the given arrays, the same values, sync and async', async () => {
    const layer = await Lstm.create({ weights, returnSequences: true, backend });
    const plain = layer.forward(input);
    for (const call of ['forward', 'forwardAsync'] as const) {
      const out = { output: new Float32Array(B * T * U).fill(NaN), h: new Float32Array(B * U).fill(NaN), c: new Float32Array(B * U).fill(NaN) };
      const res = await layer[call](input, { out });
      expect(res.output.data).toBe(out.output);
      expect(res.h.data).toBe(out.h);
      expect(res.c.data).toBe(out.c);
      expect(res.output.shape).toEqual([B, T, U]);
      expect(Array.from(out.output)).toEqual(Array.from(plain.output.data));
      expect(Array.from(out.h)).toEqual(Array.from(plain.h.data));
      expect(Array.from(out.c)).toEqual(Array.from(plain.c.data));
    }
    layer.dispose();
  });

  it('options.out may be the initial state itself: a sequence in chunks, with no allocation for the state', async () => {
    const layer = await Lstm.create({ weights, returnSequences: false, backend });
    const whole = layer.forward(input);
    const state = { h: new Float32Array(B * U), c: new Float32Array(B * U) };
    const output = new Float32Array(B * U);
    const chunk = (t0: number, t1: number) => input.map((row) => row.slice(t0, t1));
    layer.forward(chunk(0, 2), { out: { ...state, output } });
    layer.forward(chunk(2, T), { initialState: { h: { data: state.h, shape: [B, U] }, c: { data: state.c, shape: [B, U] } }, out: { ...state, output } });
    expectClose(state.h, whole.h.data, TOL, 'h');
    expectClose(state.c, whole.c.data, TOL, 'c');
    expectClose(output, whole.output.data, TOL, 'output');
    layer.dispose();
  });

  it('dispose() during a forwardAsync still completes that call', async () => {
    const layer = await Lstm.create({ weights, returnSequences: true, backend });
    const expected = layer.forward(input);
    const pending = layer.forwardAsync(input);
    layer.dispose();
    expect(Array.from((await pending).output.data)).toEqual(Array.from(expected.output.data));
  });
});
