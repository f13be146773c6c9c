// A tensor in an HTTP body, as JSON (nested arrays) or as raw float32 bytes. At S3 sizes
// (100 x 256 numbers a request) parsing and printing the JSON takes longer than running the model,
// so a busy client sends bytes:
//
//   JSON:   content-type application/json          { "input": [[[...]]], ... }  ->  { "output": [[[...]]] }
//   bytes:  content-type application/octet-stream  the input's little-endian float32 data, its shape in
//           an x-shape header ("1,100,256")  ->  the output the same way
import { LstmError, toNested } from 'lstm-runtime';

const BYTES = 'application/octet-stream';

/** The request's body: its JSON, or for bytes `{ input, x }`, both the tensor they hold. */
export async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (request.headers['content-type'] !== BYTES) return bytes.length ? JSON.parse(bytes) : {};
  if (bytes.length % 4 !== 0) throw new LstmError('ERR_LSTM_INPUT', `expected float32 data (a multiple of 4 bytes), got ${bytes.length} bytes`);
  const shape = String(request.headers['x-shape']).split(',').map(Number);
  // A copy, since a Float32Array needs 4-aligned bytes and Node's pooled buffers need not be.
  const tensor = { data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)), shape };
  return { input: tensor, x: tensor };
}

/** Answers `{ output }` in the format the request came in. */
export function writeOutput(request, response, output) {
  if (request.headers['content-type'] === BYTES) {
    const bytes = Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength);
    response.writeHead(200, { 'content-type': BYTES, 'x-shape': output.shape.join(',') }).end(bytes);
  } else {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ output: toNested(output) }));
  }
}
