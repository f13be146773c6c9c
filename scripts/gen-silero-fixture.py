"""Silero VAD's streaming output from onnxruntime, for test/silero.test.ts and bench/silero.mjs.

Makes 12 s of 16 kHz test audio here: speech from Debian's espeak-ng (two sentences with silence
around and between them) plus seeded white noise at -30 dB, stored as 16-bit PCM; then runs the
model of ../shared with onnxruntime exactly as Silero's own wrapper streams it (512 new samples per
call with the previous call's last 64 samples in front, the state fed back) and stores every chunk's
speech probability and the final state.

  python3 scripts/gen-silero-fixture.py      (needs espeak-ng, numpy, onnxruntime)
"""
import json, os, subprocess, tempfile, wave
import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, '..', '..', 'shared', 'fixtures', 'models', 'onnx_silero_vad_16k_op15', 'silero_vad_16k_op15.onnx')
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'silero')
RATE, CHUNK, CONTEXT, SECONDS = 16000, 512, 64, 12

def speech(text):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'say.wav')
        subprocess.run(['espeak-ng', '-s', '150', '-w', path, text], check=True)
        with wave.open(path) as w:
            rate, pcm = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    x = pcm.astype(np.float64) / 32768
    # espeak-ng speaks at 22,050 Hz: resample to 16 kHz by linear interpolation.
    t = np.arange(int(len(x) * RATE / rate)) * rate / RATE
    return np.interp(t, np.arange(len(x)), x)

audio = np.zeros(RATE * SECONDS)
for start, text in [(1.5, 'The quick brown fox jumps over the lazy dog.'), (6.5, 'Voice activity detection runs in every browser.')]:
    s = speech(text)
    at = int(start * RATE)
    audio[at:at + len(s)] += 0.8 * s[: len(audio) - at]
audio += np.random.default_rng(7).normal(0, 10 ** (-30 / 20), len(audio))
pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype('<i2')
samples = pcm.astype(np.float32) / 32768

session = ort.InferenceSession(MODEL, providers=['CPUExecutionProvider'])
state = np.zeros((2, 1, 128), np.float32)
context = np.zeros((1, CONTEXT), np.float32)
sr = np.array(RATE, dtype=np.int64)
probabilities = []
for k in range(len(samples) // CHUNK):
    chunk = samples[k * CHUNK:(k + 1) * CHUNK][None, :]
    x = np.concatenate([context, chunk], axis=1)
    out, state = session.run(None, {'input': x, 'state': state, 'sr': sr})
    probabilities.append(float(out[0, 0]))
    context = x[:, -CONTEXT:]

os.makedirs(OUT, exist_ok=True)
pcm.tofile(os.path.join(OUT, 'speech-noise-16k.pcm'))
with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump({
        'source': 'scripts/gen-silero-fixture.py: onnxruntime ' + ort.__version__ + ' on silero_vad_16k_op15.onnx, 512-sample chunks with 64 samples of context',
        'audio': 'speech-noise-16k.pcm: 16-bit little-endian PCM, 16 kHz, mono',
        'rate': RATE, 'chunk': CHUNK, 'context': CONTEXT,
        'probabilities': probabilities,
        'finalState': state.reshape(-1).tolist(),
    }, f)
print(f'{len(probabilities)} chunks; speech (p > 0.5) in {sum(p > 0.5 for p in probabilities)}; max {max(probabilities):.3f}')
