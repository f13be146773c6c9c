// What a hostile caller or a busy server does to the native and WebAssembly backends: buffers that
// change under a running forwardAsync, arrays over SharedArrayBuffer, cells that overflow float32,
// a WebAssembly heap that runs out, and threads: 2 on a machine whose other cores are taken. Each
// gives a result or an LstmError, and leaves every layer working. Scenarios that crashed the
// process run in a child process (test/native/*.mjs on dist/). npm run test:sanitize runs this
// file against the ASan/UBSan addon.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, CanonicalWeights, RnnKernel, RnnKernelConfig } from '../lib/backend.js';
import { nativeThreadStats } from '../lib/backends/native.js';
import { WASM_MAX_BLOCK } from '../lib/backends/wasm.js';
import { Gru, Lstm, LstmError, type Tensor } from '../lib/index.js';
import { resolveBackend } from '../lib/registry.js';
import { describeRun, ensureDist, runChild } from './native/child.js';
import { implementations } from './helpers.js';

const IMPLEMENTATIONS = await implementations();
const COMPILED = IMPLEMENTATIONS.filter((b) => b !== 'js');
const WASM = IMPLEMENTATIONS.filter((b) => b.startsWith('wasm'));
const NATIVE = IMPLEMENTATIONS.some((b) => b.startsWith('native/'));

describe.skipIf(!NATIVE)('native forwardAsync: caller buffers that change while the call runs', () => {
  beforeAll(() => {
    expect(ensureDist(), 'dist/ is out of date (npx tsc -p tsconfig.build.json)').toEqual([]);
  }, 120_000);

  interface Report {
    outcome: 'result' | 'error';
    code?: string;
    message?: string;
    worst: number | null;
    sharedOut?: boolean;
  }
  const run = (scenario: string) => {
    const r = runChild<Report>('buffers-child.mjs', [scenario]);
    expect(r.status, `${scenario}: ${describeRun(r)}`).toBe(0);
    return r.report!;
  };

  // The input is copied before the call is queued: what it held when forwardAsync was called is
  // what the call computes on (a transferred input was read after it was freed: wrong numbers).
  it.each(['transfer-input', 'shrink-input'])('%s: the result of the input as it was at the call', (scenario) => {
    expect(run(scenario)).toMatchObject({ outcome: 'result', worst: 0 });
  });

  // The results are written back on completion, if the arrays are still whole (SIGSEGV before).
  it.each([
    ['transfer-out', 'options.out.output'],
    ['transfer-out-h', 'options.out.h'],
    ['shrink-out', 'options.out.output'],
  ])('%s: ERR_LSTM_INPUT naming %s, and the layer still works', (scenario, name) => {
    const report = run(scenario);
    expect(report).toMatchObject({ outcome: 'error', code: 'ERR_LSTM_INPUT', worst: 0 });
    expect(report.message).toContain(`${name} was detached or shrunk while the call ran`);
  });

  it('grow-out: a resizable buffer that grows under a fixed-length out array still gets the result', () => {
    expect(run('grow-out')).toMatchObject({ outcome: 'result', worst: 0 });
  });

  // Arrays over a SharedArrayBuffer are read and written like any other (as weights they aborted
  // the process in napi_get_last_error_info; as input or out they crashed or gave "Invalid argument").
  it.each(['shared-weights', 'shared-input', 'shared-sync'])('%s: the same numbers as plain arrays', (scenario) => {
    expect(run(scenario)).toMatchObject({ outcome: 'result', worst: 0 });
  });

  it('shared-out: results written into SharedArrayBuffer-backed out arrays', () => {
    expect(run('shared-out')).toMatchObject({ outcome: 'result', worst: 0, sharedOut: true });
  });
});

// ---------------------------------------------------------------- overflow

/** NaN, +inf, -inf, or the value: what two backends must agree on. */
const kind = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+inf' : v === -Infinity ? '-inf' : 'finite');

function expectSameIeee(actual: Tensor, expected: Tensor, what: string): void {
  expect(Array.from(actual.data, kind), `${what}: NaN and infinities`).toEqual(Array.from(expected.data, kind));
  actual.data.forEach((v, k) => {
    const e = expected.data[k]!;
    if (Number.isFinite(e)) expect(Math.abs(v - e), `${what}[${k}]: ${v} vs ${e}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e)));
  });
}

const zeros = (n: number) => new Array(n).fill(0);
/** Recurrent weights [U, GU] with `value` on the diagonal of gate `gate` and 0 elsewhere. */
const diagonal = (U: number, G: number, gate: number, value: number) =>
  Array.from({ length: U }, (_, k) => Array.from({ length: G * U }, (_, j) => (j === gate * U + k ? value : 0)));

// Each case overflows float32 in the state or the candidate while some sigmoid gate sits far in
// its saturated tail (pre-activation -30: 9e-14 in float64, exactly 0 in the kernels' float32),
// which the kernels turned into NaN (0 * inf, or inf - inf in the GRU's blend) and js into +-inf.
const OVERFLOWS = [
  {
    // Step 1: c~ = 3e38 (linear) pushes c past float32 to +-inf, h = o * tanh(c) stays finite.
    // Step 2: the forget gate's input drives it to -30, so f * c_prev is a tiny gate times inf.
    name: 'LSTM, linear candidate: a forget gate rounded to 0 keeps c = inf',
    cell: 'lstm',
    options: { activation: 'linear', cellActivation: 'tanh' },
    weights: { kernel: [[0, 0, -30, -30, 0, 0, 0, 0]], recurrentKernel: [zeros(8), zeros(8)], bias: [30, 30, 0, 0, 3e38, -3e38, 30, 30] },
    input: [[[0], [1]]],
    initialState: { h: [[0, 0]], c: [[3e38, -3e38]] },
  },
  {
    // c overflows while the output gate sits at -30: h = o * c is a tiny gate times inf.
    name: 'LSTM, linear: an output gate rounded to 0 keeps h = inf as c overflows',
    cell: 'lstm',
    options: { activation: 'linear' },
    weights: { kernel: [zeros(8)], recurrentKernel: [zeros(8), zeros(8)], bias: [30, 30, 30, 30, 3e38, -3e38, -30, -30] },
    input: [[[0]]],
    initialState: { h: [[0, 0]], c: [[3e38, -3e38]] },
  },
  {
    name: 'LSTM, relu: as linear, and relu(-inf) = 0',
    cell: 'lstm',
    options: { activation: 'relu' },
    weights: { kernel: [zeros(8)], recurrentKernel: [zeros(8), zeros(8)], bias: [30, 30, 30, 30, 3e38, 0, -30, -30] },
    input: [[[0]]],
    initialState: { h: [[0, 0]], c: [[3e38, -Infinity]] },
  },
  {
    // h~ = h.U overflows to +-inf with z = 0.5: the blend z * (h - h~) + h~ gave inf - inf.
    name: 'GRU (resetAfter), linear: h and h~ overflowing together blend to inf',
    cell: 'gru',
    options: { activation: 'linear' },
    weights: { kernel: [zeros(6)], recurrentKernel: diagonal(2, 3, 2, 4), bias: [zeros(6), zeros(6)] },
    input: [[[0]]],
    initialState: { h: [[3e38, -3e38]] },
  },
  {
    name: 'GRU (resetAfter: false), linear: the same',
    cell: 'gru',
    options: { activation: 'linear', resetAfter: false },
    weights: { kernel: [zeros(6)], recurrentKernel: diagonal(2, 3, 2, 8), bias: zeros(6) },
    input: [[[0]]],
    initialState: { h: [[3e38, -3e38]] },
  },
  {
    name: 'GRU (resetAfter), relu: the same, and relu(-inf) = 0',
    cell: 'gru',
    options: { activation: 'relu' },
    weights: { kernel: [zeros(6)], recurrentKernel: diagonal(2, 3, 2, 4), bias: [zeros(6), zeros(6)] },
    input: [[[0]]],
    initialState: { h: [[3e38, -3e38]] },
  },
  {
    // z at -30: the new h is almost all h~ = +-inf, z * h_prev is a gate rounded to 0 times 3e38.
    name: 'GRU (resetAfter), linear: an update gate rounded to 0 keeps h~ = inf',
    cell: 'gru',
    options: { activation: 'linear' },
    weights: { kernel: [zeros(6)], recurrentKernel: diagonal(2, 3, 2, 4), bias: [[-30, -30, 0, 0, 0, 0], zeros(6)] },
    input: [[[0]]],
    initialState: { h: [[3e38, -3e38]] },
  },
  {
    // 1 - z at 9e-14 times an h~ so large that even that overflows (float64 sums in js, +-inf in
    // float32): z rounded to 1 gave 0 * inf.
    name: 'GRU (resetAfter), linear: an update gate rounded to 1 keeps a huge h~ = inf',
    cell: 'gru',
    options: { activation: 'linear' },
    weights: { kernel: [zeros(6)], recurrentKernel: diagonal(2, 3, 2, 1e14), bias: [[30, 30, 0, 0, 0, 0], zeros(6)] },
    input: [[[0]]],
    initialState: { h: [[3e38, -3e38]] },
  },
] as const;

describe('overflowing cells: every backend gives the IEEE result js gives', () => {
  const create = (c: (typeof OVERFLOWS)[number], backend: string) =>
    (c.cell === 'lstm' ? Lstm : Gru).create({ ...c.options, weights: c.weights, backend, returnSequences: true, allowNonFinite: true } as never);

  it.each(COMPILED.flatMap((b) => OVERFLOWS.map((c) => [b, c.name, c] as const)))('%s: %s', async (backend, _, c) => {
    const [reference, layer] = await Promise.all([create(c, 'js'), create(c, backend)]);
    const options = { initialState: c.initialState, trace: true } as never;
    const expected = reference.forward(c.input as never, options) as unknown as { output: Tensor; h: Tensor; c?: Tensor; trace: Record<string, Tensor> };
    // Each case overflows somewhere (else it tests nothing).
    const all = [expected.output, expected.h, ...(expected.c ? [expected.c] : [])].flatMap((t) => Array.from(t.data));
    expect(all.some((v) => !Number.isFinite(v)), 'js overflows').toBe(true);
    for (const result of [layer.forward(c.input as never, options), await layer.forwardAsync(c.input as never, options)] as unknown as (typeof expected)[]) {
      expectSameIeee(result.output, expected.output, 'output');
      expectSameIeee(result.h, expected.h, 'h');
      if (expected.c) expectSameIeee(result.c!, expected.c, 'c');
      for (const [gate, t] of Object.entries(expected.trace)) expectSameIeee(result.trace[gate]!, t, `trace.${gate}`);
    }
  });
});

// ---------------------------------------------------------------- the WebAssembly heap

describe.each(WASM)('the WebAssembly heap (%s)', (name) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = (await resolveBackend(name)).backend;
  });

  const config = (inputSize: number, units: number): RnnKernelConfig => ({
    cell: 'lstm', inputSize, units, activation: [2, 0, 0], cellActivation: [2, 0, 0], recurrentActivation: [1, 0, 0],
    clip: 0, inputForget: false, resetAfter: false, threads: 1, weightPrecision: 'f32',
  });
  const canonical = (I: number, U: number, data = (n: number) => new Float32Array(n)): CanonicalWeights => ({
    inputSize: I, units: U, kernel: data(I * 4 * U), recurrentKernel: data(U * 4 * U), bias: data(4 * U), recurrentBias: null, peepholes: null,
  });
  interface HeapFns {
    malloc(bytes: number): number;
    free(ptr: number): void;
  }
  const heapOf = (kernel: RnnKernel) => (kernel as unknown as { heap: { fns: HeapFns } }).heap.fns;
  /** The largest block the heap can give now (to 64 KiB, up to the 2 GiB a block may have), found by allocating. */
  const largestBlock = (fns: HeapFns) => {
    let [lo, hi] = [0, WASM_MAX_BLOCK];
    while (hi - lo > 65536) {
      const mid = Math.floor((lo + hi) / 2);
      const p = fns.malloc(mid) >>> 0;
      if (p) fns.free(p);
      [lo, hi] = p ? [mid, hi] : [lo, mid];
    }
    return lo;
  };
  /** Takes all of the heap's free memory but `leave` bytes; returns the block to free. */
  const hog = (fns: HeapFns, leave: number) => {
    const blocks: number[] = [];
    // A block is under 2 GiB: take as many as it takes.
    for (let size = largestBlock(fns); size > leave; size = largestBlock(fns)) blocks.push(fns.malloc(size - leave) >>> 0);
    return () => blocks.forEach((p) => fns.free(p));
  };

  const I = 8, U = 32;
  const small = (seed: number) => {
    const w = canonical(I, U, (n) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.7 + seed) * 0.2));
    return { kernel: { data: w.kernel, shape: [I, 4 * U] }, recurrentKernel: { data: w.recurrentKernel, shape: [U, 4 * U] }, bias: w.bias! };
  };
  const input = { data: Float32Array.from({ length: 3 * 5 * I }, (_, k) => Math.cos(k)), shape: [3, 5, I] };
  const expectLikeJs = async (layer: Lstm, weights: object) => {
    const expected = (await Lstm.create({ weights, backend: 'js' } as never)).forward(input);
    const got = layer.forward(input);
    for (const key of ['output', 'h', 'c'] as const) got[key]!.data.forEach((v, k) => expect(Math.abs(v - expected[key]!.data[k]!), key).toBeLessThan(1e-5));
  };

  it('refuses a layer bigger than the 2 GiB heap at once with ERR_LSTM_RESOURCES, before copying it', () => {
    // U = 9000: the recurrent kernel alone is 1.3 GB as given and again packed. (Zero arrays that
    // are never touched: the check reads only their sizes.)
    const U = 9000;
    const started = performance.now();
    let error: unknown;
    try {
      backend.createRnn(config(1, U), canonical(1, U));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LstmError);
    expect(error).toMatchObject({ code: 'ERR_LSTM_RESOURCES', message: expect.stringContaining('this layer needs 2472 MiB of the WebAssembly heap, more than it can give (it grows to 2048 MiB at most') });
    expect(performance.now() - started).toBeLessThan(1000); // it copied 1.3 GB first, then failed
  });

  it('Lstm.create and Gru.create refuse such a layer from its sizes, before reading its weights', async () => {
    // The facade used to convert and check every weight first (2 s for U = 12000), then fail.
    // U = 10000: 3.2 GB (LSTM) and 2.4 GB (GRU) as given and packed.
    const U = 10000;
    for (const [create, G] of [[(o: object) => Lstm.create(o as never), 4], [(o: object) => Gru.create(o as never), 3]] as const) {
      const weights = { kernel: { data: new Float32Array(G * U), shape: [1, G * U] }, recurrentKernel: { data: new Float32Array(U * G * U), shape: [U, G * U] }, bias: new Float32Array(2 * G * U) };
      const started = performance.now();
      const error = await create({ weights, backend: name }).then((layer) => (layer.dispose(), 'created'), (e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_LSTM_RESOURCES', message: expect.stringMatching(/this layer needs \d+ MiB of the WebAssembly heap.*int8 weights/) });
      expect(performance.now() - started, `${G === 4 ? 'Lstm' : 'Gru'}.create took`).toBeLessThan(200);
    }
  });

  it('a create that runs out of heap throws ERR_LSTM_RESOURCES and frees what it had copied', async () => {
    const probe = backend.createRnn(config(I, U), canonical(I, U));
    const fns = heapOf(probe);
    const release = hog(fns, 48 << 20);
    try {
      const free = largestBlock(fns);
      // The kernel (32 MiB) fits, the recurrent kernel (another 32 MiB) does not.
      const weights = { ...canonical(1024, 2048), recurrentKernel: new Float32Array(8 << 20) };
      expect(() => backend.createRnn(config(1024, 2048), weights)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_RESOURCES' }));
      // Under ASan (npm run test:wasm-sanitize) freed blocks wait in a 16 MiB quarantine
      // (wasm/sanitize_options.cc), which the create's own frees push older ones out of: there the
      // free heap may grow. A leaked 32 MiB copy leaves it smaller either way.
      if (process.env.LSTM_RUNTIME_WASM_DIR) expect(largestBlock(fns), 'free heap after the failed create').toBeGreaterThanOrEqual(free);
      else expect(largestBlock(fns), 'free heap after the failed create').toBe(free);
    } finally {
      release();
      probe.dispose();
    }
  });

  it('a batch that exhausts the heap throws ERR_LSTM_RESOURCES; that layer and a new one still give the right numbers', async () => {
    const weights = small(1);
    const layer = await Lstm.create({ weights, backend: name });
    await expectLikeJs(layer, weights);
    const fns = heapOf((layer as unknown as { kernel: RnnKernel }).kernel);
    const release = hog(fns, 24 << 20);
    try {
      // 64 MiB of input to copy in: more than the heap has.
      const huge = { data: new Float32Array(1 << 24), shape: [64, (1 << 24) / 64 / I, I] };
      for (let k = 0; k < 2; k++) expect(() => layer.forward(huge)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_RESOURCES' }));
      await expect(layer.forwardAsync(huge)).rejects.toMatchObject({ code: 'ERR_LSTM_RESOURCES' });
      // The input fits, the kernel's input projection (4 gates x 32 units x 300000 steps) does not.
      const long = { data: new Float32Array(300_000 * I), shape: [1, 300_000, I] };
      expect(() => layer.forward(long)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_RESOURCES', message: expect.stringContaining('this call needs') }));
      await expectLikeJs(layer, weights);
      const other = small(2);
      await expectLikeJs(await Lstm.create({ weights: other, backend: name }), other);
    } finally {
      release();
    }
    await expectLikeJs(layer, weights);
    layer.dispose();
  });
});

// ---------------------------------------------------------------- threads under load

describe.skipIf(!NATIVE)('native threads: 2 and 3 while other processes hold the cores', () => {
  const busy: ChildProcess[] = [];
  beforeAll(() => {
    // One busy loop per core: every helper thread gets descheduled now and then.
    for (let k = 0; k < 2; k++) busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  });
  afterAll(() => {
    for (const p of busy) p.kill('SIGKILL');
  });

  it('give the bits of threads: 1 (helpers that fall behind are taken over), and say so in the counts', async () => {
    const I = 64, U = 256, T = 40;
    const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.61 + s) * 0.15);
    const weights = { kernel: { data: fill(I * 4 * U, 1), shape: [I, 4 * U] }, recurrentKernel: { data: fill(U * 4 * U, 2), shape: [U, 4 * U] }, bias: fill(4 * U, 3) };
    const gruWeights = { kernel: { data: fill(I * 3 * U, 1), shape: [I, 3 * U] }, recurrentKernel: { data: fill(U * 3 * U, 2), shape: [U, 3 * U] }, bias: fill(3 * U, 3) };
    const input = { data: fill(2 * T * I, 4), shape: [2, T, I] };
    const before = nativeThreadStats();
    for (const [Cell, w, extra] of [[Lstm, weights, {}], [Gru, gruWeights, { resetAfter: false }]] as const) {
      const one = await Cell.create({ weights: w, ...extra, backend: 'native', returnSequences: true } as never);
      const expected = one.forward(input, { trace: true });
      for (const threads of [2, 3]) {
        const layer = await Cell.create({ weights: w, ...extra, backend: 'native', threads, returnSequences: true } as never);
        for (let k = 0; k < 20; k++) {
          const r = k % 2 ? await layer.forwardAsync(input, { trace: true }) : layer.forward(input, { trace: true });
          for (const [what, t] of [['output', expected.output], ...Object.entries(expected.trace!).map(([g, t]) => [`trace.${g}`, t] as const)] as const) {
            const got = what === 'output' ? r.output.data : (r.trace as unknown as Record<string, Tensor>)[what.slice(6)]!.data;
            expect(got.findIndex((v, i) => !Object.is(v, t.data[i])), `threads: ${threads} call ${k} ${what}: first bit that differs`).toBe(-1);
          }
        }
      }
    }
    const after = nativeThreadStats();
    // Some calls ran split, and the team noticed helpers falling behind.
    expect(after.split).toBeGreaterThan(before.split);
    expect(after.late + after.alone).toBeGreaterThan(before.late + before.alone);
  });
});
