// Where the native addon comes from, and what a user is told when none fits: never a silent fall
// to WebAssembly. Each case runs in its own Node process, as a user's program would.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs an ES module as a new process importing the package; `env` on top of this one's, less
 * LSTM_RUNTIME_ADDON (the sanitizer run's explicit addon): these tests are about the package's own search.
 */
function run(code: string, env: Record<string, string> = {}) {
  const { LSTM_RUNTIME_ADDON: _, ...inherited } = process.env;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', env: { ...inherited, LSTM_RUNTIME_BACKEND: '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TWO_LAYERS = `
  import { Lstm, backends } from 'lstm-runtime';
  const weights = { kernel: [[0.1, 0.2, 0.3, 0.4]], recurrentKernel: [[0.5, 0.6, 0.7, 0.8]], bias: [0, 1, 0, 0] };
  const first = await Lstm.create({ weights });
  const second = await Lstm.create({ weights });
  const native = (await backends()).find((b) => b.name === 'native');
  console.log(JSON.stringify({ backends: [first.backend, second.backend], native }));`;

// node-gyp-build looks for builds under LSTM_RUNTIME_PREBUILD instead of the package when it is set:
// an empty folder stands for a platform with no prebuilt binary and no compiler.
const NO_BUILD = { LSTM_RUNTIME_PREBUILD: '/nonexistent/lstm-runtime' };

describe('the native addon', () => {
  it('says where it loaded from', () => {
    const r = run(TWO_LAYERS);
    expect(r.status, r.stderr).toBe(0);
    const { backends, native } = JSON.parse(r.stdout);
    expect(backends[0]).toMatch(/^native\//);
    expect(native).toMatchObject({ available: true, origin: expect.stringMatching(/^(compiled|prebuilt)$/), path: expect.stringMatching(/\.node$/) });
    expect(r.stderr, 'no warning when native runs').not.toMatch(/LSTM_RUNTIME_FALLBACK/);
  });

  it("when none fits, 'auto' runs wasm-simd with one process warning saying why and how to fix it", () => {
    const r = run(TWO_LAYERS, NO_BUILD);
    expect(r.status, r.stderr).toBe(0);
    const { backends, native } = JSON.parse(r.stdout);
    expect(backends).toEqual(['wasm-simd', 'wasm-simd']);
    expect(native.available).toBe(false);
    expect(native.reason).toMatch(new RegExp(`no prebuilt binary in lstm-runtime fits ${process.platform}-${process.arch}.*and none was compiled here`));
    expect(native.fix).toMatch(/--build-from-source/);
    expect(native.fix).toMatch(/npm_config_nodedir/);
    const warnings = r.stderr.match(/\[LSTM_RUNTIME_FALLBACK\]/g) ?? [];
    expect(warnings, r.stderr).toHaveLength(1); // two layers, one warning
    expect(r.stderr).toMatch(/backend 'auto' runs 'wasm-simd'.*native: no prebuilt binary.*fix: compile it/);
  });

  it("asked for by name when none fits, it is ERR_LSTM_BACKEND with the reason", () => {
    const r = run(`
      import { Lstm } from 'lstm-runtime';
      const weights = { kernel: [[0.1, 0.2, 0.3, 0.4]], recurrentKernel: [[0.5, 0.6, 0.7, 0.8]], bias: [0, 1, 0, 0] };
      try { await Lstm.create({ weights, backend: 'native' }); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`, NO_BUILD);
    const { code, message } = JSON.parse(r.stdout);
    expect(code).toBe('ERR_LSTM_BACKEND');
    expect(message).toMatch(/backend 'native' cannot load: no prebuilt binary/);
  });
});
