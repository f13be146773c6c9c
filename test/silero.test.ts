// Silero VAD v5 (the 16 kHz ONNX model of ../shared) run whole from its file: streamed over 12 s of
// speech and noise in 512-sample chunks with its state fed back, on every backend, against the
// speech probabilities onnxruntime gave (scripts/gen-silero-fixture.py).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadOnnxGraph, LstmError, type OnnxGraph, type Tensor } from '../lib/index.js';
import { implementations, SHARED, sharedFor } from './helpers.js';

const MODEL = `${SHARED}fixtures/models/onnx_silero_vad_16k_op15/silero_vad_16k_op15.onnx`;
const FIXTURE = fileURLToPath(new URL('./fixtures/silero/', import.meta.url));
const PROBABILITY_TOL = 1e-4;
const HAS_SHARED = sharedFor('Silero VAD from the ONNX file of ../shared');

interface Expected {
  rate: number;
  chunk: number;
  context: number;
  probabilities: number[];
  finalState: number[];
}

function audio(): Float32Array {
  const pcm = readFileSync(`${FIXTURE}speech-noise-16k.pcm`);
  const samples = new Float32Array(pcm.length / 2);
  for (let k = 0; k < samples.length; k++) samples[k] = pcm.readInt16LE(2 * k) / 32768;
  return samples;
}

/** Silero's own streaming: 512 new samples behind the last 64 of the previous call, the state fed back. */
function stream(model: OnnxGraph, samples: Float32Array, e: Expected): { probabilities: number[]; state: Tensor } {
  let state: Tensor = { data: new Float32Array(2 * 128), shape: [2, 1, 128] };
  let context = new Float32Array(e.context);
  const probabilities: number[] = [];
  for (let k = 0; k < e.probabilities.length; k++) {
    const x = new Float32Array(e.context + e.chunk);
    x.set(context);
    x.set(samples.subarray(k * e.chunk, (k + 1) * e.chunk), e.context);
    const { outputs } = model.forward({ input: { data: x, shape: [1, x.length] }, state, sr: e.rate });
    probabilities.push(outputs.output!.data[0]!);
    state = outputs.stateN!;
    context = x.slice(e.chunk);
  }
  return { probabilities, state };
}

describe.skipIf(!HAS_SHARED).each(await implementations())('Silero VAD, whole from its ONNX file, on %s', (backend) => {
  it('streams 12 s of speech and noise as onnxruntime does, within 1e-4 on every chunk', async () => {
    if (!HAS_SHARED) return;
    const e = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as Expected;
    const model = await loadOnnxGraph(MODEL, { backend });
    expect(model.inputNames).toEqual(['input', 'state', 'sr']);
    expect(model.outputNames).toEqual(['output', 'stateN']);
    const { probabilities, state } = stream(model, audio(), e);
    const worst = Math.max(...probabilities.map((p, k) => Math.abs(p - e.probabilities[k]!)));
    expect(worst).toBeLessThan(PROBABILITY_TOL);
    const stateWorst = Math.max(...Array.from(state.data, (v, k) => Math.abs(v - e.finalState[k]!)));
    expect(stateWorst).toBeLessThan(PROBABILITY_TOL);
    // The audio has speech and silence: the test sees both decisions.
    expect(probabilities.filter((p) => p > 0.5).length).toBeGreaterThan(50);
    expect(probabilities.filter((p) => p < 0.1).length).toBeGreaterThan(50);
    model.dispose();
  });
});

describe.skipIf(!HAS_SHARED)('Silero VAD refuses what it cannot run, naming the input', () => {
  it('a missing, unknown or misshapen input, or a fractional sample rate', async () => {
    if (!HAS_SHARED) return;
    const model = await loadOnnxGraph(MODEL);
    const input = { data: new Float32Array(576), shape: [1, 576] };
    const state = { data: new Float32Array(256), shape: [2, 1, 128] };
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(LstmError);
        return [(error as LstmError).code, (error as Error).message];
      }
      return ['none', ''];
    };
    expect(code(() => model.forward({ input, state }))).toEqual(['ERR_LSTM_INPUT', expect.stringContaining('inputs.sr: expected a tensor, got nothing')]);
    expect(code(() => model.forward({ input, state, sr: 16000, extra: 1 }))).toEqual(['ERR_LSTM_INPUT', expect.stringContaining("'extra'")]);
    expect(code(() => model.forward({ input, state: { data: new Float32Array(128), shape: [1, 1, 128] }, sr: 16000 }))).toEqual(['ERR_LSTM_SHAPE', expect.stringContaining('inputs.state')]);
    expect(code(() => model.forward({ input, state, sr: 16000.5 }))).toEqual(['ERR_LSTM_INPUT', expect.stringContaining('inputs.sr')]);
    expect(code(() => model.forward({ input: { data: new Float32Array(576).fill(NaN), shape: [1, 576] }, state, sr: 16000 }))).toEqual(['ERR_LSTM_INPUT', expect.stringContaining('finite')]);
    expect(code(() => model.forward([input, state]))).toEqual(['ERR_LSTM_INPUT', expect.stringContaining('3 tensors as an array')]);
    // Too short for the STFT's reflection padding: the node says so.
    expect(code(() => model.forward({ input: { data: new Float32Array(32), shape: [1, 32] }, state, sr: 16000 }))).toEqual(['ERR_LSTM_INPUT', expect.stringContaining('reflect')]);
    model.dispose();
    expect(code(() => model.forward({ input, state, sr: 16000 }))).toEqual(['ERR_LSTM_DISPOSED', expect.any(String)]);
  });
});

describe.skipIf(!HAS_SHARED)('examples/silero-vad.mjs', () => {
  it('finds the two sentences of the test audio, with the probabilities onnxruntime gives', () => {
    if (!HAS_SHARED) return;
    const e = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as Expected;
    const out = execFileSync(process.execPath, ['examples/silero-vad.mjs', MODEL, `${FIXTURE}speech-noise-16k.pcm`, '--json'], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
    const { probabilities, segments } = JSON.parse(out) as { probabilities: number[]; segments: [number, number][] };
    expect(Math.max(...probabilities.map((p, k) => Math.abs(p - e.probabilities[k]!)))).toBeLessThan(PROBABILITY_TOL);
    // espeak-ng's sentences start at 1.5 s and 6.5 s (scripts/gen-silero-fixture.py) and last about 3 s.
    expect(segments).toHaveLength(2);
    expect(segments[0]![0]).toBeCloseTo(1.5, 0);
    expect(segments[1]![0]).toBeCloseTo(6.5, 0);
    for (const [a, b] of segments) expect(b - a).toBeGreaterThan(2);
  });
});
