// Where the WebAssembly modules come from: configureWasm() with bytes, a compiled module, URLs,
// a folder; what a bad option or a missing file says; the browser entry reading its own files in Node.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backends, configureWasm, Lstm, LstmError, toNested } from '../lib/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIMD_URL = new URL('../wasm/dist/lstm-simd.wasm', import.meta.url);
const SCALAR_URL = new URL('../wasm/dist/lstm.wasm', import.meta.url);
const simdBytes = readFileSync(SIMD_URL);

// The hand-checked Keras case (test/package.test.ts): every value a small integer.
const HAND_CHECKED = {
  inputSize: 2,
  units: 3,
  activation: 'linear',
  recurrentActivation: 'linear',
  weights: {
    kernel: [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]],
    recurrentKernel: [[1, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 0], [1, 1, 0, 0, 2, 1, 0, 1, 2, 2, 0, 0], [1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 1, 0]],
    bias: [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0],
  },
} as const;

async function runHandChecked(backend: string) {
  const layer = await Lstm.create({ ...HAND_CHECKED, backend });
  const r = layer.forward([[[1, 0]]]);
  expect(toNested(r.h)).toEqual([[0, 4, 0]]);
  expect(toNested(r.c)).toEqual([[0, 4, 1]]);
  return layer;
}

const status = async (name: string) => (await backends()).find((b) => b.name === name)!;

function configError(options: unknown): LstmError {
  try {
    configureWasm(options as Parameters<typeof configureWasm>[0]);
  } catch (e) {
    expect(e).toBeInstanceOf(LstmError);
    expect((e as LstmError).code).toBe('ERR_LSTM_CONFIG');
    return e as LstmError;
  }
  throw new Error('configureWasm accepted a bad option');
}

// A loopback server: /missing/* answers 404, /html/* a 200 HTML page, /wasm/* the real modules.
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/wasm/')) {
      res.writeHead(200, { 'content-type': 'application/wasm' });
      res.end(readFileSync(req.url.endsWith('lstm-simd.wasm') ? SIMD_URL : SCALAR_URL));
    } else if (req.url?.startsWith('/html/')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><body>app</body></html>');
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));
afterEach(() => configureWasm({}));

describe('configureWasm: where the modules come from', () => {
  it('takes the bytes of a module', async () => {
    configureWasm({ simd: simdBytes });
    expect((await runHandChecked('auto')).backend).not.toBe('js');
    expect((await runHandChecked('wasm-simd')).backend).toBe('wasm-simd');
  });

  it('takes an ArrayBuffer, a compiled WebAssembly.Module, a Response and promises of them', async () => {
    const buffer = simdBytes.buffer.slice(simdBytes.byteOffset, simdBytes.byteOffset + simdBytes.byteLength);
    const module = await WebAssembly.compile(simdBytes);
    for (const simd of [buffer, module, new Response(simdBytes), Promise.resolve(module), Promise.resolve(simdBytes)]) {
      configureWasm({ simd });
      expect((await runHandChecked('wasm-simd')).backend).toBe('wasm-simd');
    }
  });

  it('reads file: URLs, paths and a baseUrl folder from disk', async () => {
    configureWasm({ simd: SIMD_URL, scalar: fileURLToPath(SCALAR_URL) });
    expect((await runHandChecked('wasm-simd')).backend).toBe('wasm-simd');
    expect((await runHandChecked('wasm')).backend).toBe('wasm');
    configureWasm({ baseUrl: new URL('../wasm/dist', import.meta.url) }); // a trailing '/' is added
    expect(await status('wasm-simd')).toMatchObject({ available: true, implementation: 'wasm-simd' });
    expect(await status('wasm')).toMatchObject({ available: true, implementation: 'wasm' });
  });

  it('fetches http URLs, the modules given taking precedence over baseUrl', async () => {
    configureWasm({ baseUrl: `${base}/wasm/` });
    expect((await runHandChecked('wasm-simd')).backend).toBe('wasm-simd');
    configureWasm({ baseUrl: `${base}/missing/`, scalar: `${base}/wasm/lstm.wasm` });
    expect(await status('wasm')).toMatchObject({ available: true });
    expect((await status('wasm-simd')).available).toBe(false);
  });

  it('a URL that answers 404 makes the backend unavailable, naming the URL and the status', async () => {
    configureWasm({ baseUrl: `${base}/missing/` });
    const simd = await status('wasm-simd');
    expect(simd.available).toBe(false);
    expect(simd.reason).toContain(`${base}/missing/lstm-simd.wasm`);
    expect(simd.reason).toContain('HTTP 404');
    await expect(Lstm.create({ ...HAND_CHECKED, backend: 'wasm-simd' })).rejects.toMatchObject({
      code: 'ERR_LSTM_BACKEND',
      message: expect.stringContaining(`${base}/missing/lstm-simd.wasm failed: HTTP 404`),
    });
    // 'auto' goes on to the next backend that loads.
    expect((await runHandChecked('auto')).backend).toMatch(/^(native|js)/);
  });

  it('a file that does not exist, or is not a WebAssembly module, is named with the reason', async () => {
    const missing = new URL('../wasm/dist/no-such.wasm', import.meta.url);
    configureWasm({ simd: missing, scalar: `${base}/html/lstm.wasm` });
    expect((await status('wasm-simd')).reason).toMatch(new RegExp(`reading ${missing.href} failed \\(ENOENT`));
    expect((await status('wasm')).reason).toMatch(new RegExp(`${base}/html/lstm.wasm is not a WebAssembly module: it starts like an HTML page`));
    // Valid WebAssembly, but not ours: an empty module.
    configureWasm({ simd: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]) });
    expect((await status('wasm-simd')).reason).toMatch(/the bytes given for lstm-simd\.wasm is not one of lstm-runtime's WebAssembly modules \(it does not export memory, _initialize/);
    configureWasm({ simd: Promise.reject(new Error('offline')) });
    expect((await status('wasm-simd')).reason).toBe('the promise given for lstm-simd.wasm was rejected (offline)');
    configureWasm({ simd: Promise.resolve(42) as never });
    expect((await status('wasm-simd')).reason).toMatch(/^the promise given for lstm-simd\.wasm resolved to 42; expected a URL/);
  });

  it('refuses bad options with ERR_LSTM_CONFIG naming the option, what it takes and what it got', () => {
    expect(configError(42).message).toBe('configureWasm: expected an object, got 42');
    expect(configError({ wasmPaths: 'x/' }).message).toBe('configureWasm.wasmPaths: expected one of the known options (relaxed, simd, scalar, baseUrl), got an unknown option');
    expect(configError({ simd: 42 }).message).toBe(
      'configureWasm.simd: expected a URL (string or URL), bytes (ArrayBuffer or typed array), a WebAssembly.Module, a Response, or a promise of one, got 42',
    );
    expect(configError({ scalar: '' }).message).toMatch(/^configureWasm\.scalar: expected a URL .* got an empty string$/);
    expect(configError({ simd: { url: 'x' } }).message).toMatch(/^configureWasm\.simd: expected .* got an object with keys \{url\}$/);
    expect(configError({ baseUrl: 7 }).message).toBe('configureWasm.baseUrl: expected a folder URL (string or URL), got 7');
    expect(configError({ baseUrl: 'http://[bad/' }).message).toBe('configureWasm.baseUrl: expected a valid URL or path, got "http://[bad/"');
  });

  it('a bad call changes nothing; a later call re-registers, and layers made before keep their module', async () => {
    configureWasm({ simd: simdBytes });
    const before = await runHandChecked('wasm-simd');
    configError({ simd: 42 });
    expect(await status('wasm-simd')).toMatchObject({ available: true });
    configureWasm({ baseUrl: `${base}/missing/` });
    expect((await status('wasm-simd')).available).toBe(false);
    const r = before.forward([[[1, 0]]]);
    expect(toNested(r.h)).toEqual([[0, 4, 0]]);
    configureWasm({});
    expect(await status('wasm-simd')).toMatchObject({ available: true });
  });
});

describe('the browser entry outside browsers', () => {
  it('node --conditions=worker reads its WebAssembly from the package (file: URLs) and auto runs wasm-relaxed', () => {
    // Node 20 runs relaxed SIMD behind a flag (Node 22 by default).
    const relaxedFlag = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
    const out = execFileSync(
      process.execPath,
      [...relaxedFlag, '--conditions=worker', '--input-type=module', '-e', `
        import { backends, Lstm, toNested } from 'lstm-runtime';
        const status = await backends();
        const layer = await Lstm.create(${JSON.stringify(HAND_CHECKED)});
        const r = layer.forward([[[1, 0]]]);
        console.log(JSON.stringify({ status, backend: layer.backend, h: toNested(r.h), c: toNested(r.c) }));`],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LSTM_RUNTIME_BACKEND: '' } },
    );
    const { status, backend, h, c } = JSON.parse(out);
    expect(status.map((s: { name: string }) => s.name)).toEqual(['wasm-relaxed', 'wasm-simd', 'wasm', 'js']);
    expect(status.every((s: { available: boolean }) => s.available)).toBe(true);
    expect(backend).toBe('wasm-relaxed');
    expect(h).toEqual([[0, 4, 0]]);
    expect(c).toEqual([[0, 4, 1]]);
  });
});
