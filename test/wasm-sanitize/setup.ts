// Vitest setup for `npm run test:wasm-sanitize` (scripts/wasm-sanitize.sh), loaded by
// vitest.config.ts when LSTM_RUNTIME_WASM_DIR is set: the wasm-simd and wasm backends load the
// sanitized modules from that folder, and a sanitizer report fails the test it happened in, even
// when the test expected (and caught) an error, or the report came while a backend loaded.
// Workers and child processes that tests start load wasm/dist's modules, as without this.
import { afterAll, afterEach } from 'vitest';
import { configureWasm } from '../../lib/index.js';
import { REPORTS, needsSanitizerRuntime, sanitizerRuntime, type SanitizerReports } from './runtime.js';

const dir = process.env.LSTM_RUNTIME_WASM_DIR;
if (!dir) throw new Error('test/wasm-sanitize/setup.ts needs LSTM_RUNTIME_WASM_DIR (the folder of the sanitized lstm.wasm and lstm-simd.wasm)');

const shared = sanitizerReports();

/**
 * The library instantiates its module with the release modules' imports; a sanitized module gets
 * the sanitizer runtime's besides (test/wasm-sanitize/runtime.ts). Any other module is untouched.
 */
function install(): SanitizerReports {
  const state: SanitizerReports = { reports: [], instances: 0 };
  const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
  (WebAssembly as { instantiate: unknown }).instantiate = async (source: unknown, imports: WebAssembly.Imports = {}) => {
    if (!(source instanceof WebAssembly.Module) || !needsSanitizerRuntime(source)) return instantiate(source, imports);
    const runtime = sanitizerRuntime((report) => state.reports.push(report));
    const merged: WebAssembly.Imports = {
      env: { ...imports.env, ...runtime.imports.env },
      wasi_snapshot_preview1: { ...imports.wasi_snapshot_preview1, ...runtime.imports.wasi_snapshot_preview1 },
    };
    const instance = (await instantiate(source, merged)) as WebAssembly.Instance;
    runtime.attach(instance);
    state.instances++;
    return instance;
  };
  return state;
}

/** One wrapper per process (setup files run again for every test file), kept on globalThis. */
function sanitizerReports(): SanitizerReports {
  const global = globalThis as { [REPORTS]?: SanitizerReports };
  return (global[REPORTS] ??= install());
}

function failOnReports(): void {
  const reports = shared.reports.splice(0);
  if (reports.length) throw new Error(`WebAssembly sanitizer report (${dir}):\n${reports.join('\n')}`);
}
afterEach(failOnReports);
afterAll(failOnReports);

configureWasm({ baseUrl: dir });
