import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // The native addon and the WASM modules are loaded once per worker; two workers fit the CI machine.
    maxWorkers: 2,
    // npm run test:wasm-sanitize: the WebAssembly backends load the sanitized modules from there.
    setupFiles: process.env.LSTM_RUNTIME_WASM_DIR ? ['test/wasm-sanitize/setup.ts'] : [],
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'] } },
      {
        // Node 20 runs WebAssembly relaxed SIMD only with this flag (Node 22 by default): the suites
        // that run every backend, again with the wasm-relaxed backend among them.
        extends: true,
        test: {
          name: 'relaxed',
          include: ['test/golden.test.ts', 'test/wasm-relaxed.test.ts', 'test/conv1d-kernel.test.ts'],
          execArgv: ['--experimental-wasm-relaxed-simd'],
        },
      },
    ],
  },
});
