// onnxruntime-node behind node:http, one session.run per request (intra-op threads 1): the peer that
// bench/serve-load.mjs measures examples/serve.mjs against. It answers POST /forward as
// examples/serve.mjs does (JSON or float32 bytes, see examples/tensor-http.mjs), for one sequence.
//
//   node bench/serve-load-ort.mjs <model.onnx with one time-major LSTM node> <port>
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import ort from 'onnxruntime-node';
import { readBody, writeOutput } from '../examples/tensor-http.mjs';

const [file, port] = process.argv.slice(2);
const session = await ort.InferenceSession.create(await readFile(file), {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});

/** One sequence [1, T, I] (nested or { data, shape }) through the model: Y as [1, T, U]. */
async function forward(input) {
  const { data, shape } = input.shape ? input : { data: Float32Array.from(input.flat(2)), shape: [input.length, input[0].length, input[0][0].length] };
  const [B, T, I] = shape;
  if (B !== 1 || data.length !== T * I) throw new Error(`expected one sequence [1, T, I], got shape [${shape}] holding ${data.length} numbers`);
  // X is [T, B, I] and Y [T, 1, B, U]: for B = 1 the same data as batch-major.
  const { Y } = await session.run({ X: new ort.Tensor('float32', data, [T, 1, I]) });
  return { data: Y.data, shape: [1, T, Y.dims[3]] };
}

const server = createServer(async (request, response) => {
  try {
    if (request.method !== 'POST' || request.url !== '/forward') return void response.writeHead(404).end();
    writeOutput(request, response, await forward((await readBody(request)).input));
  } catch (error) {
    response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message }));
  }
});
server.listen(Number(port), () => console.log(`serving ${file} with onnxruntime-node on http://localhost:${port}`));
process.on('SIGINT', () => server.close(() => process.exit(0)));
