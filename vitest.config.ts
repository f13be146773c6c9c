import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // The native addon and the WASM modules are loaded once per worker; two workers fit the CI machine.
    maxWorkers: 2,
    // npm run test:wasm-sanitize: the WebAssembly backends load the sanitized modules from there.
    setupFiles: process.env.LSTM_RUNTIME_WASM_DIR ? ['test/wasm-sanitize/setup.ts'] : [],
  },
});
