// Backend choice: 'auto', forced backends and instruction sets, LSTM_RUNTIME_BACKEND, and what
// happens when a backend cannot load.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backends, Lstm, LstmError, nativeKernelCalls } from '../lib/index.js';
import { rng } from './helpers.js';

const r = rng(9);
const weights = { kernel: r.matrix(4, 28), recurrentKernel: r.matrix(7, 28), bias: r.matrix(1, 28)[0]! };
const input = [r.matrix(3, 4, -1, 1)];
const cpuHasAvx2 = (await backends()).find((b) => b.name === 'native')?.implementations?.includes('native/avx2') ?? false;

const savedEnv = { LSTM_RUNTIME_BACKEND: process.env.LSTM_RUNTIME_BACKEND, LSTM_RUNTIME_ADDON: process.env.LSTM_RUNTIME_ADDON };
afterEach(() => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('backend choice', () => {
  it('lists every backend of the Node entry, in priority order, all loaded', async () => {
    const list = await backends();
    expect(list.map((b) => b.name)).toEqual(['native', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js']);
    // wasm-relaxed loads where the engine runs relaxed SIMD: test/wasm-relaxed.test.ts.
    for (const b of list.filter((b) => b.name !== 'wasm-relaxed')) expect(b.available, `${b.name}: ${b.reason}`).toBe(true);
    expect(list[0]!.implementations).toContain('native/scalar');
  });

  it("'auto' runs the native addon with the best instruction set", async () => {
    const layer = await Lstm.create({ weights });
    expect(layer.backend).toBe(cpuHasAvx2 ? 'native/avx2' : 'native/scalar');
    layer.dispose();
  });

  it.each(['native/scalar', ...(cpuHasAvx2 ? ['native/avx2'] : [])])('forcing %s runs that kernel and no other', async (forced) => {
    const layer = await Lstm.create({ weights, backend: forced });
    expect(layer.backend).toBe(forced);
    const before = nativeKernelCalls();
    layer.forward(input);
    layer.forward(input);
    const after = nativeKernelCalls();
    for (const isa of Object.keys(after)) expect(after[isa]! - before[isa]!, isa).toBe(isa === forced ? 2 : 0);
    layer.dispose();
  });

  it.each(['wasm-simd', 'wasm', 'js'])('forcing %s runs it', async (name) => {
    const layer = await Lstm.create({ weights, backend: name });
    expect(layer.backend).toBe(name);
    layer.dispose();
  });

  it('LSTM_RUNTIME_BACKEND sets the default; an explicit option still wins', async () => {
    process.env.LSTM_RUNTIME_BACKEND = 'wasm';
    const fromEnv = await Lstm.create({ weights });
    expect(fromEnv.backend).toBe('wasm');
    const explicit = await Lstm.create({ weights, backend: 'js' });
    expect(explicit.backend).toBe('js');
    process.env.LSTM_RUNTIME_BACKEND = 'native/scalar';
    const forced = await Lstm.create({ weights });
    expect(forced.backend).toBe('native/scalar');
    for (const l of [fromEnv, explicit, forced]) l.dispose();
  });
});

describe('when a backend cannot load', () => {
  async function freshEntry() {
    vi.resetModules();
    return import('../lib/index.js');
  }

  it('a forced native addon that fails names the cause; auto falls back and says why', async () => {
    process.env.LSTM_RUNTIME_ADDON = '/nonexistent/lstm_runtime.node';
    const m = await freshEntry();
    const error = await m.Lstm.create({ weights, backend: 'native' }).catch((e) => e);
    expect(error).toBeInstanceOf(m.LstmError);
    expect(error.code).toBe('ERR_LSTM_BACKEND');
    expect(error.message).toMatch(/backend 'native' cannot load: LSTM_RUNTIME_ADDON=\/nonexistent\/lstm_runtime.node did not load/);
    const auto = await m.Lstm.create({ weights });
    expect(auto.backend).toBe('wasm-simd');
    auto.dispose();
    const native = (await m.backends()).find((b) => b.name === 'native')!;
    expect(native.available).toBe(false);
    expect(native.reason).toMatch(/did not load/);
  });

  it('with nothing loadable, the error lists every backend and why', async () => {
    vi.resetModules();
    const registry = await import('../lib/registry.js');
    const { Lstm: FreshLstm } = await import('../lib/lstm.js');
    registry.registerBackend('native', 40, () => {
      throw new Error('no addon in this test');
    });
    registry.registerBackend('wasm', 20, async () => {
      throw new Error('no WebAssembly in this test');
    });
    const error = await FreshLstm.create({ weights }).catch((e) => e);
    expect(error.code).toBe('ERR_LSTM_BACKEND');
    expect(error.message).toMatch(/no backend could load:\n  native: no addon in this test\n  wasm: no WebAssembly in this test/);
    const missing = await FreshLstm.create({ weights, backend: 'js' }).catch((e) => e);
    expect(missing.message).toMatch(/backend 'js' is not part of this build/);
  });

  it('errors are LstmError instances with a stable code', () => {
    const e = new LstmError('ERR_LSTM_SHAPE', 'x');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('LstmError');
    expect(e.code).toBe('ERR_LSTM_SHAPE');
  });
});
