// Whatever a caller passes, every entry point either works or throws LstmError: never another
// exception, a crash or a hang (the sanitizer run repeats this against the ASan/UBSan addon).
import { describe, expect, it } from 'vitest';
import { Gru, Lstm, LstmError } from '../lib/index.js';
import { implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const r = rng(99);
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;

const WEIRD: unknown[] = [
  undefined, null, 0, -1, 2.5, NaN, Infinity, '', 'abc', true, {}, [], [[]], [[[]]], [1, [2]], () => 1,
  new Float32Array(0), new Float32Array(7), new Int8Array(3), new Uint8Array(6), { data: [1, 2], shape: [3] },
  { data: new Float32Array(6), shape: [1, 2, -3] }, { data: new Float32Array(6), shape: [1e9, 1e9, 2] }, { shape: [1, 1, 2] },
  [[[1, 2]], [[3]]], [[[1, 'x']]], [[[1e38, -1e38]]], [[[NaN, 0]]],
];

/** A plausible-looking but randomly broken value for an input of shape [B, T, I]. */
function randomInput(B: number, T: number, I: number): unknown {
  const good = Array.from({ length: B }, () => r.matrix(T, I, -3, 3));
  switch (Math.floor(r.next() * 6)) {
    case 0: return good;
    case 1: return pick(WEIRD);
    case 2: return { data: Float32Array.from(good.flat(2)), shape: [B, T, I + pick([-1, 0, 1])] };
    case 3: return good.map((row) => row.slice(0, Math.max(1, T - 1)));
    case 4: return [good[0]!.map((step) => step.map((v) => (r.next() < 0.1 ? pick([NaN, Infinity, 1e30]) : v)))];
    default: return { data: Float32Array.from(good.flat(2)), shape: [B, T, I] };
  }
}

function randomOptions(B: number, T: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (r.next() < 0.3) o.mask = r.next() < 0.5 ? Array.from({ length: B }, () => Array.from({ length: T }, () => +(r.next() < 0.7))) : pick(WEIRD);
  if (r.next() < 0.3) o.sequenceLengths = r.next() < 0.5 ? Array.from({ length: B }, () => Math.floor(r.next() * (T + 2)) - 1) : pick(WEIRD);
  if (r.next() < 0.3) o.initialState = r.next() < 0.5 ? { h: r.matrix(B, 5), c: r.matrix(B, 5) } : pick(WEIRD);
  if (r.next() < 0.2) o.trace = pick([true, false, 'yes']);
  if (r.next() < 0.05) o[pick(['traces', 'steps'])] = 1;
  return o;
}

function expectLstmErrorOrResult(run: () => unknown, what: string): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof LstmError)) throw new Error(`${what} threw ${String(e)} instead of an LstmError`);
    expect(e.message.length).toBeGreaterThan(10);
  }
}

describe.each(IMPLEMENTATIONS)('random misuse on %s', (backend) => {
  it('300 random calls to forward and stream give a result or an LstmError', async () => {
    const lstm = await Lstm.create({ weights: { kernel: r.matrix(4, 20), recurrentKernel: r.matrix(5, 20), bias: r.matrix(1, 20)[0]! }, returnSequences: true, threads: backend.startsWith('native') ? 2 : 1, backend });
    const gru = await Gru.create({ weights: { kernel: r.matrix(4, 15), recurrentKernel: r.matrix(5, 15), bias: r.matrix(2, 15) }, backend });
    for (let k = 0; k < 300; k++) {
      const layer = k % 2 ? lstm : gru;
      const [B, T] = [1 + Math.floor(r.next() * 3), 1 + Math.floor(r.next() * 4)];
      const input = randomInput(B, T, 4);
      const options = randomOptions(B, T);
      expectLstmErrorOrResult(() => layer.forward(input as never, options as never), `forward #${k}`);
      if (k % 10 === 0) {
        const stream = layer.stream(B);
        expectLstmErrorOrResult(() => stream.step(randomInput(1, 1, 4) as never), `step #${k}`);
        expectLstmErrorOrResult(() => stream.setState(pick(WEIRD) as never), `setState #${k}`);
      }
    }
    lstm.dispose();
    gru.dispose();
  });

  it('random options to create give a layer or an LstmError', async () => {
    for (let k = 0; k < 60; k++) {
      const options: Record<string, unknown> = { weights: { kernel: r.matrix(2, 8), recurrentKernel: r.matrix(2, 8), bias: r.matrix(1, 8)[0]! }, backend };
      const key = pick(['inputSize', 'units', 'activation', 'recurrentActivation', 'weightLayout', 'useBias', 'clip', 'threads', 'weightPrecision', 'weights', 'goBackwards']);
      options[key] = pick(WEIRD);
      try {
        (await Lstm.create(options as never)).dispose();
      } catch (e) {
        if (!(e instanceof LstmError)) throw new Error(`create with ${key}=${String(options[key])} threw ${String(e)}`);
      }
    }
  });
});
