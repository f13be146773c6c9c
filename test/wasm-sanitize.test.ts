// The sanitizers of `npm run test:wasm-sanitize` are live: the library's WebAssembly backends run
// the sanitized modules, a write past a block by the kernel is reported and reaches the reports the
// setup fails a test on, and the planted bugs of lstm-planted.wasm (built with the same flags) are
// each reported. Runs only there (LSTM_RUNTIME_WASM_DIR); the plain suite skips it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lstm } from '../lib/index.js';
import { REPORTS, sanitizerRuntime, type SanitizerReports } from './wasm-sanitize/runtime.js';

const dir = process.env.LSTM_RUNTIME_WASM_DIR;
if (!dir) console.log('skipped: the WebAssembly sanitizer checks (npm run test:wasm-sanitize runs them)');

/** The reports of the modules the library loaded (test/wasm-sanitize/setup.ts). */
const shared = () => (globalThis as { [REPORTS]?: SanitizerReports })[REPORTS]!;

interface KernelExports {
  malloc(bytes: number): number;
  free(ptr: number): void;
  rnn_forward(layer: number, batch: number, steps: number, flags: number, input: number, h: number, c: number, output: number, mask: number, lengths: number, trace: number): number;
}

describe.skipIf(!dir)('emscripten sanitizers in the WebAssembly test build', () => {
  const I = 3, U = 5, T = 4;
  const weights = {
    kernel: { data: new Float32Array(I * 4 * U).fill(0.1), shape: [I, 4 * U] },
    recurrentKernel: { data: new Float32Array(U * 4 * U).fill(-0.1), shape: [U, 4 * U] },
    bias: new Float32Array(4 * U).fill(0.2),
  };

  describe.each(['wasm-simd', 'wasm'])('%s', (backend) => {
    it('the backend runs the sanitized module', async () => {
      const layer = await Lstm.create({ weights, backend });
      const kernel = (layer as unknown as { kernel: { heap: { fns: KernelExports } } }).kernel;
      // An ASan module exports the hooks emscripten's glue would call (asan_c_load_4, ...); the release modules do not.
      expect(typeof (kernel.heap.fns as unknown as Record<string, unknown>).asan_c_load_4).toBe('function');
      expect(shared().instances).toBeGreaterThan(0);
      layer.forward({ data: new Float32Array(T * I).fill(0.5), shape: [1, T, I] });
      layer.dispose();
    });

    it('ASan reports the kernel writing past a block, and the report reaches the setup', async () => {
      const layer = await Lstm.create({ weights, backend });
      const kernel = (layer as unknown as { kernel: { heap: { fns: KernelExports }; layer: number } }).kernel;
      const fns = kernel.heap.fns;
      const floats = (n: number) => fns.malloc(4 * n) >>> 0;
      // An output one step short of the [1, T, U] that RNN_RETURN_SEQUENCES (1) writes: a caller's
      // bug, which the kernel's last step turns into a write past the block.
      const input = floats(T * I), h = floats(U), c = floats(U), output = floats((T - 1) * U);
      expect(() => fns.rnn_forward(kernel.layer, 1, T, 1, input, h, c, output, 0, 0, 0)).toThrow(/sanitizer report/);
      const reports = shared().reports.splice(0);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(/ERROR: AddressSanitizer: heap-buffer-overflow/);
      expect(reports[0]).toMatch(/WRITE of size \d+/);
      expect(reports[0]).toMatch(/rnn_forward/); // the JS stack at the abort names the wasm functions
      // The module aborted in the middle of a call: nothing else runs on this instance.
    });
  });

  describe('lstm-planted.wasm', () => {
    const planted = async () => {
      const reports: string[] = [];
      const runtime = sanitizerRuntime((r) => reports.push(r));
      const { instance } = await WebAssembly.instantiate(readFileSync(join(dir!, 'lstm-planted.wasm')), runtime.imports as unknown as WebAssembly.Imports);
      runtime.attach(instance);
      (instance.exports._initialize as () => void)();
      return { fns: instance.exports as Record<string, (x: number) => number>, reports };
    };
    it.each([
      ['planted_heap_overflow', 4, /ERROR: AddressSanitizer: heap-buffer-overflow[^]*WRITE of size 4/],
      ['planted_use_after_free', 4, /ERROR: AddressSanitizer: heap-use-after-free[^]*READ of size 4/],
      ['planted_signed_overflow', 1, /sanitize_planted\.cc:\d+:\d+: runtime error: signed integer overflow: 1 \+ 2147483647 cannot be represented in type 'int'/],
      ['planted_float_cast', 1e6, /sanitize_planted\.cc:\d+:\d+: runtime error: 1e\+06 is outside the range of representable values of type 'short'/],
    ])('%s(%s) is reported and aborts', async (name, arg, report) => {
      const { fns, reports } = await planted();
      expect(() => fns[name]!(arg)).toThrow(/sanitizer report: the WebAssembly module aborted \(exit 1\)/);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(report);
      expect(reports[0]).toContain(name);
    });
    it('the same functions without a bug run clean', async () => {
      const { fns, reports } = await planted();
      expect(fns.planted_signed_overflow!(-1)).toBe(2147483646);
      expect(fns.planted_float_cast!(-3.5)).toBe(-3);
      expect(reports).toEqual([]);
    });
  });
});
