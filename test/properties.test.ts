// Property-based tests (fast-check) over the public API: random layers (LSTM, GRU, Bidirectional,
// Sequential stacks with Dense), valid and invalid, with random weights, inputs, masks, sequence
// lengths, initial states, goBackwards, returnSequences, stateful calls and streams. On every
// implementation of implementations() each call must agree with the js backend within
// 1e-5 abs + 1e-5 rel (int8 weights: 1e-4, the documented agreement between backends; gates that
// are not sigmoids: see gateTolerance) or throw an LstmError with the same code as js.
//
// The runs are bounded to fit the normal suite; FC_RUNS=<n> runs n per property, FC_SEED=<seed> replays
// a failure (fast-check prints the seed and the counterexample's path on failure; FC_PATH=<path> with
// the seed goes straight to it; FC_DEBUG=1 tallies the scenarios by js' error messages).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Bidirectional, Dense, Gru, LstmError, Lstm, Sequential, type Tensor } from '../lib/index.js';
import { implementations } from './helpers.js';

const IMPLS = await implementations();
const OTHERS = IMPLS.filter((b) => b !== 'js');
const RUNS = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : undefined;
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.FC_PATH;

/** fast-check's parameters: the seed is chosen here so that it is printed at the start of the run too. */
function params(numRuns: number): fc.Parameters<unknown> {
  return { numRuns: RUNS ?? numRuns, seed: SEED, ...(PATH ? { path: PATH } : {}), endOnFailure: false };
}
console.log(`properties: seed ${SEED} (FC_SEED=${SEED} replays it), implementations ${IMPLS.join(', ')}`);

// ---- what a call gives: named float arrays, or the code of the LstmError it threw --------------

type Outcome = { code: string; message: string } | { arrays: Record<string, Float32Array> };

async function outcome(run: () => Promise<Record<string, Float32Array>> | Record<string, Float32Array>): Promise<Outcome> {
  try {
    return { arrays: await run() };
  } catch (error) {
    if (error instanceof LstmError) return { code: error.code, message: error.message };
    throw error; // anything else is a failure of the property by itself
  }
}

function close(a: number, e: number, tol: number): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= tol + tol * Math.abs(e);
}

/** The backend's outcome matches js': the same error code, or every array within tolerance. */
function agree(backend: string, got: Outcome, want: Outcome, tol: number | null): void {
  if ('code' in want) {
    expect('code' in got ? got.code : 'a result', `${backend} where js threw ${want.code} (${want.message})`).toBe(want.code);
    return;
  }
  if ('code' in got) expect.fail(`${backend} threw ${got.code} (${got.message}) where js gave a result`);
  expect(Object.keys(got.arrays).sort(), `${backend}: the results`).toEqual(Object.keys(want.arrays).sort());
  for (const [name, expected] of Object.entries(want.arrays)) {
    const actual: Float32Array = got.arrays[name]!;
    expect(actual.length, `${backend} ${name}: length`).toBe(expected.length);
    for (let i = 0; tol !== null && i < expected.length; i++) {
      if (!close(actual[i]!, expected[i]!, tol)) expect.fail(`${backend} ${name}[${i}] is ${actual[i]}, js gives ${expected[i]} (tolerance ${tol} + ${tol}*|js|)`);
    }
  }
}

/** Scenarios run, by what js made of them: results (arrays compared), or the error code of the whole scenario. */
const tally = new Map<string, number>();
const count = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1);

/** A tolerance, or one chosen from js' results (null: the values are not compared, only codes and sizes). */
type Tolerance = number | ((arrays: Record<string, Float32Array>) => number | null);

/** Runs `scenario` on js and then on every other implementation, each agreeing with js. */
async function compare(scenario: (backend: string) => Promise<Outcome>, tolerance: Tolerance = 1e-5): Promise<void> {
  const want = await scenario('js');
  const tol = typeof tolerance === 'number' || 'code' in want ? (tolerance as number) : tolerance(want.arrays);
  if (tol === null) count('values not compared (gates outside [-1, 1])');
  if (process.env.FC_DEBUG) count('code' in want ? want.message.replace(/[0-9]+/g, 'N').slice(0, 90) : Object.keys(want.arrays).filter((k) => k.includes('error:')).join('+'));
  count('code' in want ? want.code : Object.keys(want.arrays).some((k) => k.includes('error:')) ? 'results and refused calls' : 'results');
  for (const backend of OTHERS) agree(backend, await scenario(backend), want, typeof tol === 'number' ? tol : null);
}

const copy = (t: Tensor | undefined): Float32Array => Float32Array.from(t?.data ?? []);

// ---- generators --------------------------------------------------------------------------------

const ACTIVATIONS = ['tanh', 'sigmoid', 'hard_sigmoid', 'linear', 'relu', 'softsign', 'elu', { name: 'hard_sigmoid', alpha: 0.2, beta: 0.5 }] as const;
const activation = fc.constantFrom(...ACTIVATIONS);
/** Gates whose values stay in [0, 1]. */
const SIGMOID_GATES = ['sigmoid', 'hard_sigmoid', { name: 'hard_sigmoid', alpha: 0.2, beta: 0.5 }] as const;
const sigmoidGate = fc.constantFrom(...SIGMOID_GATES);

/** n float32 values in [-scale, scale] (fast-check's edge values included: zeros, subnormals, the bounds). */
const floats = (n: number, scale: number) => fc.float32Array({ minLength: n, maxLength: n, min: -scale, max: scale, noNaN: true, noDefaultInfinity: true });

type Cell = 'lstm' | 'gru';
interface LayerSpec {
  cell: Cell;
  I: number;
  U: number;
  options: Record<string, unknown>;
  weights: Record<string, { data: Float32Array; shape: number[] }>;
}

/** A valid recurrent layer: sizes around the kernels' tile edges (8 lanes of AVX2, 4 of WASM). */
function layerSpec(cell: Cell, I: number, U: number, scale: number, gates: fc.Arbitrary<unknown> = activation) {
  const G = cell === 'lstm' ? 4 : 3;
  return fc
    .record({
      activation,
      recurrentActivation: gates,
      cellActivation: activation,
      useBias: fc.boolean(),
      clip: fc.oneof(fc.constant(undefined), fc.constantFrom(0.5, 1, 3)),
      inputForget: fc.boolean(),
      resetAfter: fc.boolean(),
      kernel: floats(I * G * U, scale),
      recurrentKernel: floats(U * G * U, scale),
      bias: floats(2 * G * U, scale),
    })
    .map((r): LayerSpec => {
      const options: Record<string, unknown> = { activation: r.activation, recurrentActivation: r.recurrentActivation, useBias: r.useBias };
      if (r.clip !== undefined && cell === 'lstm') options.clip = r.clip;
      if (cell === 'lstm') {
        options.cellActivation = r.cellActivation;
        if (r.inputForget) options.inputForget = true;
      } else {
        options.resetAfter = r.resetAfter;
      }
      const weights: LayerSpec['weights'] = {
        kernel: { data: r.kernel, shape: [I, G * U] },
        recurrentKernel: { data: r.recurrentKernel, shape: [U, G * U] },
      };
      if (r.useBias) {
        weights.bias = cell === 'gru' && r.resetAfter ? { data: r.bias, shape: [2, G * U] } : { data: r.bias.slice(0, G * U), shape: [G * U] };
      }
      return { cell, I, U, options, weights };
    });
}

const SIZES = fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 16, 17);
const layerFlags = fc.record({ returnSequences: fc.boolean(), goBackwards: fc.boolean(), zeroOutputForMask: fc.boolean() });

/** Per-call inputs of a [B,T,I] sequence: values, an optional mask, lengths and initial state. */
function callSpec(B: number, T: number, I: number, U: number, scale: number) {
  return fc.record({
    x: floats(B * T * I, 1),
    mask: fc.option(fc.array(fc.constantFrom(0, 1, 1), { minLength: B * T, maxLength: B * T }), { nil: undefined }),
    lengths: fc.option(fc.array(fc.integer({ min: 0, max: T }), { minLength: B, maxLength: B }), { nil: undefined }),
    h: fc.option(floats(B * U, scale), { nil: undefined }),
    c: floats(B * U, scale),
    trace: fc.boolean(),
  });
}

type Call = { x: Float32Array; mask?: number[]; lengths?: number[]; h?: Float32Array; c: Float32Array; trace: boolean };

/** How one call of a scenario may be broken (what the facade must refuse, the same way on every backend). */
const BREAKS = ['none', 'length-negative', 'length-past', 'length-fraction', 'mask-value', 'mask-shape', 'state-shape', 'input-nan', 'input-shape'] as const;
type Break = (typeof BREAKS)[number];
/** Three calls in four are valid. */
const callBreak = fc.oneof({ arbitrary: fc.constant<Break>('none'), weight: 3 }, { arbitrary: fc.constantFrom(...BREAKS), weight: 1 });

function forwardOptions(call: Call, B: number, T: number, U: number, cell: Cell, brk: Break): Record<string, unknown> {
  const o: Record<string, unknown> = { trace: call.trace };
  if (call.mask) o.mask = { data: call.mask, shape: [B, T] };
  if (call.lengths) o.sequenceLengths = call.lengths;
  if (call.h) o.initialState = cell === 'lstm' ? { h: { data: call.h, shape: [B, U] }, c: { data: call.c, shape: [B, U] } } : { h: { data: call.h, shape: [B, U] } };
  if (brk === 'length-negative') o.sequenceLengths = Array.from({ length: B }, (_, b) => (b === 0 ? -1 : T));
  if (brk === 'length-past') o.sequenceLengths = Array.from({ length: B }, () => T + 1);
  if (brk === 'length-fraction') o.sequenceLengths = Array.from({ length: B }, () => T - 0.5);
  if (brk === 'mask-value') o.mask = { data: Array.from({ length: B * T }, (_, k) => (k === 0 ? 0.5 : 1)), shape: [B, T] };
  if (brk === 'mask-shape') o.mask = { data: Array.from({ length: B * (T + 1) }, () => 1), shape: [B, T + 1] };
  if (brk === 'state-shape') o.initialState = { h: { data: new Float32Array(B * (U + 1)), shape: [B, U + 1] }, c: { data: new Float32Array(B * (U + 1)), shape: [B, U + 1] } };
  return o;
}

function input(call: Call, B: number, T: number, I: number, brk: Break): { data: Float32Array; shape: number[] } {
  if (brk === 'input-shape') return { data: new Float32Array(B * T * (I + 1)), shape: [B, T, I + 1] };
  if (brk === 'input-nan') {
    const x = Float32Array.from(call.x);
    x[x.length - 1] = NaN;
    return { data: x, shape: [B, T, I] };
  }
  return { data: call.x, shape: [B, T, I] };
}

/** How a layer's options may be broken. */
const CONFIG_BREAKS = ['none', 'units', 'inputSize', 'activation', 'clip', 'kernel-short', 'bias-long', 'unknown-option', 'threads'] as const;
type ConfigBreak = (typeof CONFIG_BREAKS)[number];
/** Three layers in four are valid. */
const configBreak = fc.oneof({ arbitrary: fc.constant<ConfigBreak>('none'), weight: 3 }, { arbitrary: fc.constantFrom(...CONFIG_BREAKS), weight: 1 });

function layerOptions(spec: LayerSpec, backend: string, brk: ConfigBreak, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const o: Record<string, unknown> = { ...spec.options, ...extra, weights: { ...spec.weights }, backend };
  const w = o.weights as LayerSpec['weights'];
  if (brk === 'units') o.units = spec.U + 1;
  if (brk === 'inputSize') o.inputSize = spec.I + 1;
  if (brk === 'activation') o.activation = 'swish';
  if (brk === 'clip') o.clip = -1;
  if (brk === 'kernel-short') w.kernel = { data: w.kernel!.data.slice(1), shape: [w.kernel!.data.length - 1] };
  if (brk === 'bias-long') w.bias = { data: new Float32Array(spec.U * 5), shape: [spec.U * 5] };
  if (brk === 'unknown-option') o.returnSequence = true;
  if (brk === 'threads') o.threads = 0;
  return o;
}

const isSigmoid = (a: unknown) => a === 'sigmoid' || a === 'hard_sigmoid' || (typeof a === 'object' && (a as { name?: string })?.name === 'hard_sigmoid');

/**
 * The tolerance of a layer, from js' results (which then hold its trace): 1e-5 abs + 1e-5 rel where
 * the gates are sigmoids (values in [0, 1]). Gates of another activation (linear, relu, elu, softsign,
 * tanh) can exceed 1 or go negative: a state is then multiplied by more than 1 at each step (a GRU's
 * 1 - z by up to 2 with tanh gates) and the backends' float32 roundings (FMA or not, the order of the
 * sums; js keeps float64 between operations) grow with it. Those are compared within `other` times
 * the largest value of the call's results and trace (at least 1) while every gate of the trace stays
 * in [-1, 1], and not at all past that (a GRU with linear gates reached 21.2 after 3 steps, 3.5e-5
 * apart; one with relu gates up to 4 gave -1.2e-3 where js gave 6.9e-5; one with tanh gates and a
 * linear candidate gave 0.04068 on AVX2 where js gave 0.04078).
 */
function gateTolerance(spec: LayerSpec, other: number, sigmoid = 1e-5): Tolerance {
  if (isSigmoid(spec.options.recurrentActivation)) return sigmoid;
  return (arrays) => {
    let largest = 1;
    for (const [name, a] of Object.entries(arrays)) {
      if (/trace\.(i|f|o|z|r)$/.test(name) && a.some((v) => !(Math.abs(v) <= 1))) return null;
      for (const v of a) if (Math.abs(v) > largest && Number.isFinite(v)) largest = Math.abs(v);
    }
    // Relative to the largest value the call went through: a sum of large terms can end near 0.
    return other * largest;
  };
}

const create = (cell: Cell, options: Record<string, unknown>) => (cell === 'lstm' ? Lstm.create(options as never) : Gru.create(options as never));

// ---- the properties ------------------------------------------------------------------------------

describe('properties: every backend agrees with js or throws the same LstmError code', () => {
  afterEach((context) => {
    console.log(`properties: ${context.task.name.split(':')[0]}: ${[...tally].map(([k, n]) => `${n} ${k}`).join(', ')}`);
    tally.clear();
  });

  it('LSTM and GRU layers: forward with masks, lengths, initial states, goBackwards, returnSequences, traces; stateful calls', async () => {
    const scenario = fc
      .record({ cell: fc.constantFrom<Cell>('lstm', 'gru'), I: SIZES, U: SIZES, B: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 5 }), scale: fc.constantFrom(0.25, 0.5, 1) })
      .chain(({ cell, I, U, B, T, scale }) =>
        fc.record({
          spec: layerSpec(cell, I, U, scale),
          flags: layerFlags,
          stateful: fc.boolean(),
          configBreak,
          calls: fc.array(fc.record({ call: callSpec(B, T, I, U, scale), brk: callBreak }), { minLength: 1, maxLength: 2 }),
          B: fc.constant(B),
          T: fc.constant(T),
        }),
      );
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { spec, B, T } = s;
        await compare(async (backend) => {
          let layer: Lstm | Gru | undefined;
          const created = await outcome(async () => {
            layer = await create(spec.cell, layerOptions(spec, backend, s.configBreak, { ...s.flags, stateful: s.stateful }));
            return {};
          });
          if ('code' in created) return created;
          try {
            const arrays: Record<string, Float32Array> = {};
            for (const [k, { call, brk }] of s.calls.entries()) {
              const got = await outcome(() => {
                // Without sigmoid gates the trace decides the tolerance (gateTolerance).
                const options = { ...forwardOptions(call, B, T, spec.U, spec.cell, brk), ...(isSigmoid(spec.options.recurrentActivation) ? {} : { trace: true }) };
                const r = layer!.forward(input(call, B, T, spec.I, brk) as never, options as never) as { output: Tensor; h: Tensor; c?: Tensor; trace?: Record<string, Tensor> };
                const out: Record<string, Float32Array> = { output: copy(r.output), h: copy(r.h) };
                if (r.c) out.c = copy(r.c);
                for (const [name, t] of Object.entries(r.trace ?? {})) out[`trace.${name}`] = copy(t);
                return out;
              });
              if ('code' in got) arrays[`call${k}.error:${got.code}`] = new Float32Array();
              else for (const [name, a] of Object.entries(got.arrays)) arrays[`call${k}.${name}`] = a;
            }
            return { arrays };
          } finally {
            layer!.dispose();
          }
        }, gateTolerance(spec, 1e-4));
      }),
      params(5000),
    );
  });

  it('int8 weights: backends agree within 1e-4', async () => {
    const scenario = fc
      .record({ cell: fc.constantFrom<Cell>('lstm', 'gru'), I: SIZES, U: SIZES, B: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 4 }) })
      .chain(({ cell, I, U, B, T }) => fc.record({ spec: layerSpec(cell, I, U, 1), flags: layerFlags, call: callSpec(B, T, I, U, 1), B: fc.constant(B), T: fc.constant(T) }));
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { spec, B, T, call } = s;
        await compare(async (backend) => {
          return run(backend);
        }, gateTolerance(spec, 1e-4, 1e-4));
        async function run(backend: string): Promise<Outcome> {
          let layer: Lstm | Gru | undefined;
          return outcome(async () => {
            layer = await create(spec.cell, layerOptions(spec, backend, 'none', { ...s.flags, weightPrecision: 'int8' }));
            try {
              const opts = { ...forwardOptions(call, B, T, spec.U, spec.cell, 'none'), trace: true };
              const r = layer.forward(input(call, B, T, spec.I, 'none') as never, opts as never) as unknown as { output: Tensor; h: Tensor; trace: Record<string, Tensor> };
              const out: Record<string, Float32Array> = { output: copy(r.output), h: copy(r.h) };
              for (const [name, t] of Object.entries(r.trace)) out[`trace.${name}`] = copy(t);
              return out;
            } finally {
              layer.dispose();
            }
          });
        }
      }),
      params(1500),
    );
  });

  it('streams: single steps with resets and states set, as forward over the same steps', async () => {
    const scenario = fc
      .record({ cell: fc.constantFrom<Cell>('lstm', 'gru'), I: SIZES, U: SIZES, B: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 8 }) })
      .chain(({ cell, I, U, B, T }) =>
        fc.record({
          spec: layerSpec(cell, I, U, 1, sigmoidGate),
          steps: fc.array(fc.record({ x: floats(B * I, 1), op: fc.constantFrom('step', 'step', 'step', 'reset', 'set', 'bad-input') }), { minLength: T, maxLength: T }),
          state: floats(B * U, 1),
          B: fc.constant(B),
        }),
      );
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { spec, B } = s;
        await compare(async (backend) => {
          const layer = await create(spec.cell, layerOptions(spec, backend, 'none'));
          const stream = layer.stream(B);
          try {
            const arrays: Record<string, Float32Array> = {};
            for (const [k, st] of s.steps.entries()) {
              const got = await outcome(() => {
                if (st.op === 'reset') stream.reset();
                if (st.op === 'set') {
                  const t = { data: s.state, shape: [B, spec.U] };
                  stream.setState((spec.cell === 'lstm' ? { h: t, c: t } : { h: t }) as never);
                }
                const h = stream.step(st.op === 'bad-input' ? { data: st.x, shape: [B + 1, spec.I] } : { data: st.x, shape: [B, spec.I] });
                return { h: Float32Array.from(h.data), ...(stream.state.c ? { c: copy(stream.state.c) } : {}) };
              });
              if ('code' in got) arrays[`step${k}.error:${got.code}`] = new Float32Array();
              else for (const [name, a] of Object.entries(got.arrays)) arrays[`step${k}.${name}`] = a;
            }
            return { arrays };
          } finally {
            stream.dispose();
            layer.dispose();
          }
        });
      }),
      params(1500),
    );
  });

  it('Bidirectional layers (every merge mode) and Sequential stacks with Dense', async () => {
    const scenario = fc
      .record({ cell: fc.constantFrom<Cell>('lstm', 'gru'), cell2: fc.constantFrom<Cell>('lstm', 'gru'), I: SIZES, U: SIZES, U2: fc.integer({ min: 1, max: 9 }), D: fc.integer({ min: 1, max: 5 }), B: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 5 }) })
      .chain(({ cell, cell2, I, U, U2, D, B, T }) =>
        fc.record({
          forward: layerSpec(cell, I, U, 1, sigmoidGate),
          second: layerSpec(cell2, U, U2, 1, sigmoidGate),
          mergeMode: fc.constantFrom('concat', 'sum', 'mul', 'ave', null),
          bidiFirst: fc.boolean(),
          returnSequences: fc.boolean(),
          dense: floats(U2 * D, 1),
          denseBias: floats(D, 1),
          denseActivation: fc.constantFrom('linear', 'softmax', 'tanh', 'relu'),
          backwardUnits: fc.constantFrom(0, 0, 0, 1), // 1: backward weights of other units (must be refused)
          call: callSpec(B, T, I, U, 1),
          brk: callBreak,
          B: fc.constant(B),
          T: fc.constant(T),
        }),
      );
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { B, T, call } = s;
        const I = s.forward.I, U = s.forward.U, cell = s.forward.cell;
        // The backward direction: the forward weights' values reversed, in the same shapes.
        const reversed = Object.fromEntries(Object.entries(s.forward.weights).map(([k, t]) => [k, { data: t.data.slice().reverse(), shape: t.shape }]));
        await compare(async (backend) => {
          // Bidirectional alone (states and both outputs compared).
          const bidiOutcome = await outcome(async () => {
            const backwardWeights = s.backwardUnits ? { kernel: { data: new Float32Array(I * (cell === 'lstm' ? 4 : 3) * (U + 1)), shape: [I, (cell === 'lstm' ? 4 : 3) * (U + 1)] }, recurrentKernel: { data: new Float32Array((U + 1) * (U + 1) * (cell === 'lstm' ? 4 : 3)), shape: [U + 1, (cell === 'lstm' ? 4 : 3) * (U + 1)] } } : reversed;
            const { weights: _w, ...rest } = s.forward.options;
            const bi = await Bidirectional.create({ layer: { ...rest, ...(cell === 'gru' ? { type: 'gru' } : {}), weights: s.forward.weights, returnSequences: s.returnSequences, backend } as never, backwardWeights: backwardWeights as never, mergeMode: s.mergeMode as never });
            try {
              const opts = forwardOptions(call, B, T, U, cell, s.brk);
              const initialState = opts.initialState ? { forward: opts.initialState, backward: opts.initialState } : undefined;
              const r = bi.forward(input(call, B, T, I, s.brk), { ...opts, initialState, trace: false } as never);
              const outs = Array.isArray(r.output) ? r.output : [r.output];
              const arrays: Record<string, Float32Array> = { 'forward.h': copy(r.states.forward.h), 'backward.h': copy(r.states.backward.h) };
              outs.forEach((o, k) => (arrays[`output${k}`] = copy(o)));
              return arrays;
            } finally {
              bi.dispose();
            }
          });
          // Sequential: [Bidirectional (concat) or a recurrent layer, a second recurrent layer, Dense].
          const seqOutcome = await outcome(async () => {
            const layers: (Lstm | Gru | Bidirectional | Dense)[] = [];
            try {
              if (s.bidiFirst) {
                const { weights: _w, ...rest } = s.forward.options;
                layers.push(await Bidirectional.create({ layer: { ...rest, ...(cell === 'gru' ? { type: 'gru' } : {}), weights: s.forward.weights, returnSequences: true, backend } as never, backwardWeights: reversed as never, mergeMode: 'sum' }));
              } else {
                layers.push(await create(cell, layerOptions(s.forward, backend, 'none', { returnSequences: true })));
              }
              layers.push(await create(s.second.cell, layerOptions(s.second, backend, 'none', { returnSequences: s.returnSequences })));
              const D = s.denseBias.length;
              layers.push(await Dense.create({ kernel: { data: s.dense, shape: [s.second.U, D] }, bias: { data: s.denseBias, shape: [D] }, activation: s.denseActivation as never }));
              const model = await Sequential.create(layers as never);
              const opts = forwardOptions(call, B, T, U, cell, s.brk);
              const r = model.forward(input(call, B, T, I, s.brk), { mask: opts.mask, sequenceLengths: opts.sequenceLengths } as never);
              return { output: copy(r.output) };
            } finally {
              for (const l of layers) (l as { dispose?: () => void }).dispose?.();
            }
          });
          const arrays: Record<string, Float32Array> = {};
          for (const [what, o] of [['bidi', bidiOutcome], ['seq', seqOutcome]] as const) {
            if ('code' in o) arrays[`${what}.error:${o.code}`] = new Float32Array();
            else for (const [name, a] of Object.entries(o.arrays)) arrays[`${what}.${name}`] = a;
          }
          return { arrays };
        });
      }),
      params(1500),
    );
  });
});
