// createStreamPool: sessions stepped together as rows of one batched stream give what each
// session's own stream(1) gives, on every backend, through opens, resets, closes and row reuse.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bidirectional, createStreamPool, Dense, Embedding, Gru, Lstm, Sequential, type StreamModel, type StreamSession, type Tensor } from '../lib/index.js';
import { expectClose, implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const I = 5;
const U = 7;
const TOL = { abs: 1e-6, rel: 1e-6 };

const r = rng(11);
const lstmWeights = (i: number, u: number) => ({ kernel: r.matrix(i, 4 * u), recurrentKernel: r.matrix(u, 4 * u), bias: r.matrix(1, 4 * u)[0]! });
const gruWeights = (i: number, u: number) => ({ kernel: r.matrix(i, 3 * u), recurrentKernel: r.matrix(u, 3 * u), bias: r.matrix(2, 3 * u) });

const MODELS: { name: string; make: (backend: string) => Promise<StreamModel>; ids?: number }[] = [
  { name: 'LSTM', make: (backend) => Lstm.create({ weights: lstmWeights(I, U), backend }) },
  { name: 'GRU', make: (backend) => Gru.create({ weights: gruWeights(I, U), backend }) },
  {
    name: 'Sequential LSTM > GRU > Dense',
    make: async (backend) => Sequential.create([await Lstm.create({ weights: lstmWeights(I, 6), returnSequences: true, backend }), await Gru.create({ weights: gruWeights(6, 4), backend }), await Dense.create({ kernel: r.matrix(4, 3), bias: [0.1, 0, -0.1], activation: 'softmax' })]),
  },
  { name: 'Sequential Embedding > LSTM', make: async (backend) => Sequential.create([await Embedding.create({ embeddings: r.matrix(9, I) }), await Lstm.create({ weights: lstmWeights(I, U), backend })]), ids: 9 },
];

/** A session's steps checked against its own stream(1), stepped as the session's calls are made. */
class Checked {
  private readonly reference;
  readonly results: Promise<void>[] = [];
  constructor(model: StreamModel, readonly session: StreamSession) {
    this.reference = model.stream(1);
  }
  step(x: number[], what: string): void {
    const expected = Float32Array.from(this.reference.step(x.length === 1 ? x : [x]).data);
    this.results.push(this.session.step(x.length === 1 ? x : [x]).then((y: Tensor) => expectClose(y, expected, TOL, what)));
  }
  reset(): void {
    this.reference.reset();
    this.session.reset();
  }
  close(): Promise<void> {
    this.reference.dispose();
    return this.session.close();
  }
}

const stepInput = (g: { next: () => number }, ids: number | undefined) => (ids ? [1 + Math.floor(g.next() * (ids - 1))] : Array.from({ length: I }, () => Math.fround(2 * g.next() - 1)));

describe.each(IMPLEMENTATIONS)('%s', (backend) => {
  it.each(MODELS.map((m) => [m.name, m] as const))('%s: sessions stepped together match their own streams, through reset, close and row reuse', async (_, m) => {
    const model = await m.make(backend);
    const g = rng(3);
    const pool = createStreamPool(model, { capacity: 3 });
    const [a, b, c] = [0, 1, 2].map(() => new Checked(model, pool.open()));
    for (let t = 0; t < 3; t++) for (const [k, s] of [a!, b!, c!].entries()) s.step(stepInput(g, m.ids), `tick ${t} session ${k}`);
    await Promise.all([a!, b!, c!].flatMap((s) => s.results));
    expect(pool.stats).toEqual({ ticks: 3, steps: 9 });
    // a steps twice without waiting (in order, over two ticks); b resets between steps; c closes with a step pending.
    a!.step(stepInput(g, m.ids), 'a first');
    a!.step(stepInput(g, m.ids), 'a second');
    b!.step(stepInput(g, m.ids), 'b before reset');
    b!.reset();
    b!.step(stepInput(g, m.ids), 'b after reset');
    c!.step(stepInput(g, m.ids), 'c last');
    const closed = c!.close();
    expect(() => pool.open()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_RESOURCES' }));
    await closed;
    expect(pool.size).toBe(2);
    // c's row, reused, starts from the zero state; a, stepping alone, moves no other row.
    const d = new Checked(model, pool.open());
    d.step(stepInput(g, m.ids), 'd first');
    await Promise.all([...d.results, ...a!.results, ...b!.results, ...c!.results]);
    a!.step(stepInput(g, m.ids), 'a alone');
    await Promise.all(a!.results);
    b!.step(stepInput(g, m.ids), 'b after a alone');
    d.step(stepInput(g, m.ids), 'd after a alone');
    await Promise.all([...b!.results, ...d.results]);
    await pool.close();
    model.dispose();
  });

  it('random interleavings of open, step, reset and close equal each session stepping its own stream (fast-check)', async () => {
    const model = await MODELS[2]!.make(backend);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('open' as const) }),
      fc.record({ kind: fc.constant('step' as const), session: fc.nat(7), x: fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: I, maxLength: I }) }),
      fc.record({ kind: fc.constantFrom('reset' as const, 'close' as const, 'await' as const), session: fc.nat(7) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const pool = createStreamPool(model, { capacity: 3 });
        const live: Checked[] = [];
        const all: Promise<void>[] = [];
        const closing = new Set<Promise<void>>();
        for (const [n, o] of ops.entries()) {
          if (o.kind === 'open') {
            if (live.length === 3) expect(() => pool.open()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_RESOURCES' }));
            else if (closing.size === 0) live.push(new Checked(model, pool.open()));
            else {
              // A closing session holds its row until its last step has run.
              try {
                live.push(new Checked(model, pool.open()));
              } catch (error) {
                expect(error).toMatchObject({ code: 'ERR_LSTM_RESOURCES' });
              }
            }
            continue;
          }
          if (o.kind === 'await') {
            await Promise.all(all);
            continue;
          }
          const s = live[o.session % Math.max(1, live.length)];
          if (!s) continue;
          if (o.kind === 'step') s.step(o.x.map(Math.fround), `op ${n}`);
          else if (o.kind === 'reset') s.reset();
          else {
            live.splice(live.indexOf(s), 1);
            const closed = s.close().then(() => void closing.delete(closed));
            closing.add(closed);
            all.push(closed);
          }
          all.push(...s.results.splice(0));
        }
        await Promise.all(all);
        await pool.close();
        expect(pool.size).toBe(0);
      }),
      { numRuns: 60 },
    );
    model.dispose();
  });

  it('a bad step fails alone; the others of its tick run', async () => {
    const model = await MODELS[0]!.make(backend);
    const pool = createStreamPool(model, { capacity: 4 });
    const [a, b, c, d] = [0, 1, 2, 3].map(() => pool.open());
    const x = [[0.1, 0.2, 0.3, 0.4, 0.5]];
    const results = await Promise.allSettled([a!.step(x), b!.step([[0.1, NaN, 0.3, 0.4, 0.5]]), c!.step([[1, 2]]), d!.step(x)]);
    expect(results.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(results.slice(1, 3).map((s) => (s as PromiseRejectedResult).reason.code)).toEqual(['ERR_LSTM_INPUT', 'ERR_LSTM_SHAPE']);
    expect(pool.stats).toEqual({ ticks: 1, steps: 2 });
    const alone = model.stream(1).step(x);
    for (const s of [results[0]!, results[3]!]) expectClose((s as PromiseFulfilledResult<Tensor>).value, alone.data, TOL, 'good step');
    // The failed sessions' rows did not move: their next step is a first step.
    expectClose(await b!.step(x), alone.data, TOL, 'b after its bad step');
    await pool.close();
    model.dispose();
  });
});

describe('stream pool lifecycle', () => {
  const make = () => Lstm.create({ weights: lstmWeights(I, U), backend: 'js' });
  const x = [[0.1, 0.2, 0.3, 0.4, 0.5]];

  it('close() runs the pending steps, then refuses opens and steps', async () => {
    const model = await make();
    const pool = createStreamPool(model, { capacity: 2 });
    const s = pool.open();
    const steps = [s.step(x), s.step(x), s.step(x)];
    let done = 0;
    steps.forEach((p) => p.then(() => done++));
    await pool.close();
    expect(done).toBe(3);
    expect(pool.size).toBe(0);
    expect(() => pool.open()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_DISPOSED' }));
    await expect(s.step(x)).rejects.toMatchObject({ code: 'ERR_LSTM_DISPOSED', message: expect.stringMatching(/closed/) });
    expect(() => s.reset()).toThrow(expect.objectContaining({ code: 'ERR_LSTM_DISPOSED' }));
    model.dispose();
  });

  it('refuses models that cannot stream and bad options', async () => {
    const model = await make();
    expect(() => createStreamPool(model, { capacity: 0 })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/options.capacity/) }));
    expect(() => createStreamPool(model, {} as never)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG', message: expect.stringMatching(/options.capacity/) }));
    const bi = await Bidirectional.create({ layer: { weights: lstmWeights(I, U), backend: 'js' }, backwardWeights: lstmWeights(I, U) });
    expect(() => createStreamPool(bi as never, { capacity: 2 })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG' }));
    expect(() => createStreamPool(Sequential.create([bi]) as never, { capacity: 2 })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG' }));
    const stacked = await Sequential.create([bi]);
    expect(() => createStreamPool(stacked, { capacity: 2 })).toThrow(expect.objectContaining({ code: 'ERR_LSTM_UNSUPPORTED', message: expect.stringMatching(/Bidirectional/) }));
    model.dispose();
  });
});
