// A small HTTP server (node:http) serving one model to many callers: whole sequences through a
// request batcher, and streaming sessions (one per open call) through a stream pool.
//
//   node examples/serve.mjs [model file] [port] [--per-request]   (without a file: a random LSTM, I 40, U 128)
//
//   POST   /forward           { "input": [[[...], ...]], "sequenceLengths"?: [...] } -> { "output": ... }
//   POST   /sessions          -> { "id": "1" }
//   POST   /sessions/<id>     { "x": [[...]] } -> { "output": [[...]] }   (one timestep)
//   DELETE /sessions/<id>     -> 204
//
// Inputs and outputs may also travel as raw float32 bytes (see tensor-http.mjs). --per-request runs
// each /forward on its own (one forwardAsync), the baseline bench/serve-load.mjs measures the batcher against.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createBatcher, createStreamPool, loadModel, Lstm, LstmError, Sequential } from 'lstm-runtime';
import { readBody, writeOutput } from './tensor-http.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'per-request': { type: 'boolean', default: false } } });
const [file, port = '8080'] = positionals;
const random = (n) => Array.from({ length: n }, () => Math.random() * 0.2 - 0.1);
const rows = (r, c) => Array.from({ length: r }, () => random(c));
const model = file ? await loadModel(file) : await Sequential.create([await Lstm.create({ weights: { kernel: rows(40, 512), recurrentKernel: rows(128, 512), bias: random(512) } })]);

const batcher = createBatcher(model, { maxBatch: 64, maxDelayMs: 2 });
const pool = createStreamPool(model, { capacity: 1024 });
const forward = values['per-request'] ? (x, options) => model.forwardAsync(x, options) : (x, options) => batcher.forward(x, options);
const sessions = new Map();
let nextId = 1;

async function handle(method, path, body) {
  if (method === 'POST' && path === '/forward') {
    const options = body.sequenceLengths ? { sequenceLengths: body.sequenceLengths } : {};
    return { output: (await forward(body.input, options)).output };
  }
  if (method === 'POST' && path === '/sessions') {
    const id = String(nextId++);
    sessions.set(id, pool.open());
    return { id };
  }
  const session = sessions.get(path.slice('/sessions/'.length));
  if (path.startsWith('/sessions/') && session) {
    if (method === 'POST') return { output: await session.step(body.x) };
    if (method === 'DELETE') {
      sessions.delete(path.slice('/sessions/'.length));
      await session.close();
      return null;
    }
  }
  return undefined;
}

const server = createServer(async (request, response) => {
  try {
    const result = await handle(request.method, request.url, await readBody(request));
    if (result === undefined) response.writeHead(404).end();
    else if (result === null) response.writeHead(204).end();
    else if (result.output) writeOutput(request, response, result.output);
    else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  } catch (error) {
    // The caller's own mistake (a bad shape, NaN, too many sessions) is a 400 naming it.
    const status = error instanceof LstmError || error instanceof SyntaxError ? 400 : 500;
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message, code: error.code }));
  }
});
server.listen(Number(port), () => console.log(`serving ${file || 'a random LSTM (I 40, U 128)'} on http://localhost:${port}`));

// Ctrl-C: stop accepting, answer what is pending, then exit.
process.on('SIGINT', () => server.close(async () => {
  await Promise.all([batcher.close(), pool.close()]);
  process.exit(0);
}));
