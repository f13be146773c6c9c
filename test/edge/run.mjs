// Deno, Bun and `node --conditions=worker` run this from the package itself, so that
// 'lstm-runtime' resolves through package.json's exports to the browser entry (dist/browser.js),
// which reads its WebAssembly from file: URLs. Prints edgeChecks' JSON on one line.
import { readFile } from 'node:fs/promises';
import * as lib from 'lstm-runtime';
import { edgeChecks, ONNX_FIXTURE } from './check.mjs';

const dir = new URL('../fixtures/models/onnx/', import.meta.url);
const model = new Uint8Array(await readFile(new URL(`${ONNX_FIXTURE}.onnx`, dir)));
const golden = JSON.parse(await readFile(new URL(`${ONNX_FIXTURE}.json`, dir), 'utf8'));
const result = await edgeChecks(lib, { model, inputs: golden.cases.map((c) => c.input) });
console.log(JSON.stringify({ entryHasNative: result.backends.some((b) => b.name === 'native'), ...result }));
