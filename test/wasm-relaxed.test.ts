// The relaxed-SIMD WebAssembly build (wasm/dist/lstm-relaxed.wasm, backend 'wasm-relaxed'): picked
// where the engine runs relaxed SIMD, passed over without a word where it does not. vitest.config.ts
// runs this file twice: in the 'node' project (Node 20 as it comes, without relaxed SIMD: the
// fallback) and in the 'relaxed' project (--experimental-wasm-relaxed-simd: the backend itself).
// The golden and conformance cases run on it in golden.test.ts, in the 'relaxed' project.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backends, configureWasm, Gru, Lstm, LstmError } from '../lib/index.js';
import { runsRelaxedSimd } from '../lib/backends/wasm-source.js';
import { expectClose, rng } from './helpers.js';

const WASM_DIR = new URL('../wasm/dist/', import.meta.url);
// What Node itself says: V8 ships relaxed SIMD from Node 22; Node 20 has it behind a flag.
const nodeRunsRelaxed = Number(process.versions.node.split('.')[0]) >= 22 || process.execArgv.includes('--experimental-wasm-relaxed-simd');

const cpuHasAvx2 = (await backends()).find((b) => b.name === 'native')?.implementations?.includes('native/avx2') ?? false;

const savedAddon = process.env.LSTM_RUNTIME_ADDON;
afterEach(() => {
  if (savedAddon === undefined) delete process.env.LSTM_RUNTIME_ADDON;
  else process.env.LSTM_RUNTIME_ADDON = savedAddon;
  vi.restoreAllMocks();
});

/** A fresh Node entry whose native addon cannot load: 'auto' must choose among the WebAssembly builds. */
async function entryWithoutNative() {
  process.env.LSTM_RUNTIME_ADDON = '/nonexistent/lstm_runtime.node';
  vi.resetModules();
  const entry = await import('../lib/index.js');
  const warnings: string[] = [];
  vi.spyOn(process, 'emitWarning').mockImplementation(((message: string) => void warnings.push(message)) as typeof process.emitWarning);
  return { entry, warnings };
}

const r = rng(16);
const lstmWeights = (i: number, u: number) => ({ kernel: r.matrix(i, 4 * u, -0.5, 0.5), recurrentKernel: r.matrix(u, 4 * u, -0.5, 0.5), bias: r.matrix(1, 4 * u)[0]! });

it('the probe finds relaxed SIMD exactly where Node runs it', () => {
  expect(runsRelaxedSimd()).toBe(nodeRunsRelaxed);
});

it('lstm-relaxed.wasm uses relaxed SIMD: an engine without it refuses the module, and compiles lstm-simd.wasm', () => {
  const check = `const fs = require('node:fs');
    const ok = (f) => { try { new WebAssembly.Module(fs.readFileSync(new URL(f, ${JSON.stringify(WASM_DIR.href)}))); return 'compiles'; } catch (e) { return e.message; } };
    console.log(JSON.stringify([ok('lstm-relaxed.wasm'), ok('lstm-simd.wasm')]));`;
  const child = spawnSync(process.execPath, ['--no-experimental-wasm-relaxed-simd', '-e', check], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  const [relaxed, simd] = JSON.parse(child.stdout);
  expect(relaxed).toMatch(/relaxed/);
  expect(simd).toBe('compiles');
});

// Node 20 without the flag: the 'node' project.
describe.skipIf(nodeRunsRelaxed)('where the engine has no relaxed SIMD', () => {
  it('backends() lists wasm-relaxed, unavailable, with the reason and what would run it', async () => {
    const list = await backends();
    expect(list.map((b) => b.name)).toEqual(['native', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js']);
    const relaxed = list[1]!;
    expect(relaxed).toMatchObject({ available: false, priority: 35 });
    expect(relaxed.reason).toBe('this JavaScript engine does not run WebAssembly relaxed SIMD (it runs in Chromium >= 114 and Node >= 22)');
    expect(relaxed.fix).toBe('run Node >= 22, or Node 20 with --experimental-wasm-relaxed-simd');
  });

  it("an explicit backend: 'wasm-relaxed' is ERR_LSTM_BACKEND naming why", async () => {
    const error = await Lstm.create({ weights: lstmWeights(3, 5), backend: 'wasm-relaxed' }).catch((e) => e);
    expect(error).toBeInstanceOf(LstmError);
    expect(error.code).toBe('ERR_LSTM_BACKEND');
    expect(error.message).toBe("backend 'wasm-relaxed' cannot load: this JavaScript engine does not run WebAssembly relaxed SIMD (it runs in Chromium >= 114 and Node >= 22)");
  });

  it('the module is not even read: a missing file makes no difference', async () => {
    try {
      configureWasm({ relaxed: new URL('no-such-relaxed.wasm', WASM_DIR) });
      const relaxed = (await backends()).find((b) => b.name === 'wasm-relaxed')!;
      expect(relaxed.reason).toMatch(/^this JavaScript engine does not run WebAssembly relaxed SIMD/);
    } finally {
      configureWasm({});
    }
  });

  it("'auto' without the native addon runs wasm-simd, and its fallback warning names only native", async () => {
    const { entry, warnings } = await entryWithoutNative();
    const layer = await entry.Lstm.create({ weights: lstmWeights(3, 5) });
    expect(layer.backend).toBe('wasm-simd');
    layer.dispose();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^lstm-runtime: backend 'auto' runs 'wasm-simd', slower than the backends it passed over: native: /);
    expect(warnings[0]).not.toMatch(/relaxed/);
  });
});

// With --experimental-wasm-relaxed-simd (or Node >= 22): the 'relaxed' project.
describe.runIf(nodeRunsRelaxed)('where the engine runs relaxed SIMD', () => {
  it('backends() lists wasm-relaxed, loaded, between native and wasm-simd', async () => {
    const list = await backends();
    expect(list.map((b) => b.name)).toEqual(['native', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js']);
    expect(list[1]).toMatchObject({ available: true, priority: 35, implementation: 'wasm-relaxed', implementations: ['wasm-relaxed'] });
  });

  it("'auto' without the native addon runs wasm-relaxed, and warns of native only", async () => {
    const { entry, warnings } = await entryWithoutNative();
    const layer = await entry.Lstm.create({ weights: lstmWeights(3, 5) });
    expect(layer.backend).toBe('wasm-relaxed');
    layer.dispose();
    expect(warnings).toEqual([expect.stringMatching(/^lstm-runtime: backend 'auto' runs 'wasm-relaxed', slower than the backends it passed over: native: [^;]*$/)]);
  });

  // Fused multiply-adds round once: the results move off SIMD128's (which rounds twice) by a few
  // ulp, within SPEC's 1e-5, and onto native/avx2's, which fuses the same products in the same order.
  // Each case's weights are drawn once, for every backend it runs on.
  const lstm = lstmWeights(40, 128);
  const int8 = lstmWeights(24, 70);
  const gru = { kernel: r.matrix(16, 3 * 33, -0.5, 0.5), recurrentKernel: r.matrix(33, 3 * 33, -0.5, 0.5), bias: r.matrix(2, 3 * 33) };
  const cases: { what: string; tolerance: number; create: (backend: string) => Promise<Lstm | Gru> }[] = [
    { what: 'LSTM', tolerance: 1e-5, create: (backend: string) => Lstm.create({ weights: lstm, returnSequences: true, backend }) },
    // A state moved by an ulp can round to the next int16 step: backends agree on int8 within 1e-4 (golden.test.ts).
    { what: 'LSTM with int8 weights', tolerance: 1e-4, create: (backend: string) => Lstm.create({ weights: int8, weightPrecision: 'int8', returnSequences: true, backend }) },
    { what: 'GRU', tolerance: 1e-5, create: (backend: string) => Gru.create({ weights: gru, returnSequences: true, backend }) },
  ];
  it.each(cases)('$what: fused, within $tolerance of wasm-simd, and as native/avx2 computes it', async ({ tolerance, create }) => {
    const layers = await Promise.all(['wasm-relaxed', 'wasm-simd', 'js', ...(cpuHasAvx2 ? ['native/avx2'] : [])].map(create));
    const input = [0, 1].map(() => r.matrix(30, layers[0]!.inputSize, -2, 2));
    const [relaxed, simd, js, avx2] = layers.map((l) => l.forward(input).output.data as Float32Array);
    expect(layers[0]!.backend).toBe('wasm-relaxed');
    expectClose(relaxed!, simd!, { abs: tolerance, rel: tolerance }, 'wasm-relaxed vs wasm-simd');
    expectClose(relaxed!, js!, { abs: tolerance, rel: tolerance }, 'wasm-relaxed vs js');
    const differs = relaxed!.filter((v, k) => v !== simd![k]).length;
    expect(differs, 'outputs that rounding once moved').toBeGreaterThan(relaxed!.length / 10);
    // V8 fuses relaxed_madd wherever the CPU has FMA3, which native/avx2 needs too.
    if (cpuHasAvx2) expect(relaxed).toEqual(avx2);
    for (const l of layers) l.dispose();
  });
});
