// Voice activity with Silero VAD (github.com/snakers4/silero-vad, MIT), run whole from its ONNX
// file: reads 16 kHz mono 16-bit audio (a .wav, or raw little-endian PCM), streams it as Silero's
// own wrapper does (512 new samples behind the previous call's last 64, the LSTM state fed back)
// and prints the stretches of speech, with Silero's default thresholds (speech from 0.5, silence
// below 0.35, 100 ms of silence to end a stretch, 250 ms to count one).
//
// node examples/silero-vad.mjs <silero_vad_16k_op15.onnx> <audio.wav | audio.pcm> [--backend b] [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadModel } from 'lstm-runtime';

const RATE = 16000;
const CHUNK = 512;
const CONTEXT = 64;

const { positionals, values } = parseArgs({ allowPositionals: true, options: { backend: { type: 'string' }, json: { type: 'boolean' } } });
const [modelPath, audioPath] = positionals;
if (!modelPath || !audioPath) {
  console.error('usage: node examples/silero-vad.mjs <silero_vad_16k_op15.onnx> <audio.wav | audio.pcm> [--backend b] [--json]');
  process.exit(2);
}

/** 16-bit samples as floats in [-1, 1): a WAV's data chunk (which must be 16 kHz mono PCM16), or the whole file as raw PCM. */
function readAudio(path) {
  const bytes = readFileSync(path);
  let pcm = bytes;
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WAVE') {
    let at = 12;
    let format;
    while (at + 8 <= bytes.length) {
      const id = bytes.toString('latin1', at, at + 4);
      const size = bytes.readUInt32LE(at + 4);
      if (id === 'fmt ') format = { channels: bytes.readUInt16LE(at + 10), rate: bytes.readUInt32LE(at + 12), bits: bytes.readUInt16LE(at + 22) };
      if (id === 'data') {
        pcm = bytes.subarray(at + 8, at + 8 + size);
        break;
      }
      at += 8 + size + (size & 1);
    }
    if (!format || format.channels !== 1 || format.rate !== RATE || format.bits !== 16) {
      throw new Error(`${path}: expected 16 kHz mono 16-bit PCM, got ${format ? `${format.rate} Hz, ${format.channels} channel(s), ${format.bits}-bit` : 'no fmt chunk'}`);
    }
  }
  return Float32Array.from({ length: pcm.length >> 1 }, (_, k) => pcm.readInt16LE(2 * k) / 32768);
}

const vad = await loadModel(modelPath, values.backend ? { backend: values.backend } : {});
const samples = readAudio(audioPath);
let state = { data: new Float32Array(2 * 128), shape: [2, 1, 128] };
const probabilities = [];
const input = new Float32Array(CONTEXT + CHUNK);
for (let start = 0; start + CHUNK <= samples.length; start += CHUNK) {
  input.copyWithin(0, CHUNK); // the previous call's last 64 samples come first
  input.set(samples.subarray(start, start + CHUNK), CONTEXT);
  const { outputs } = vad.forward({ input: { data: input, shape: [1, input.length] }, state, sr: RATE });
  state = outputs.stateN;
  probabilities.push(outputs.output.data[0]);
}
vad.dispose();

// Silero's get_speech_timestamps, simplified: hysteresis between the two thresholds.
const seconds = (k) => (k * CHUNK) / RATE;
const segments = [];
let begin = null;
let quietSince = null;
probabilities.forEach((p, k) => {
  if (p >= 0.5) {
    quietSince = null;
    if (begin === null) begin = k;
  } else if (begin !== null && p < 0.35) {
    quietSince ??= k;
    if (seconds(k - quietSince) >= 0.1) {
      if (seconds(quietSince - begin) >= 0.25) segments.push([seconds(begin), seconds(quietSince)]);
      begin = quietSince = null;
    }
  }
});
if (begin !== null && seconds(probabilities.length - begin) >= 0.25) segments.push([seconds(begin), seconds(quietSince ?? probabilities.length)]);

if (values.json) {
  console.log(JSON.stringify({ probabilities, segments }));
} else {
  console.log(`${probabilities.length} chunks of ${(CHUNK / RATE) * 1000} ms, ${segments.length} stretch(es) of speech:`);
  for (const [a, b] of segments) console.log(`  ${a.toFixed(2)} s - ${b.toFixed(2)} s`);
}
