// The convolution kernel of every backend (native/kernel/conv1d.inl on each instruction set, the
// three WebAssembly modules, lib/backends/js.ts) against a plain float64 convolution written here,
// at the edges of its tiles: output channels per group below, at, above and multiples of the
// vector width (4 in WebAssembly, 8 with AVX2), and output lengths around the row tile (4 or 6).
import { describe, expect, it } from 'vitest';
import { conv1dOutputSteps, type Conv1dKernelConfig } from '../lib/backend.js';
import { encodeActivation } from '../lib/activations.js';
import '../lib/index.js';
import { resolveBackend } from '../lib/registry.js';
import { expectClose, implementations, rng } from './helpers.js';

const IMPLEMENTATIONS = await implementations();

function reference(c: Conv1dKernelConfig, pads: [number, number], kernel: Float32Array, bias: Float32Array | null, B: number, T: number, x: Float32Array): Float64Array {
  const To = conv1dOutputSteps(c, T, ...pads);
  const cig = c.inChannels / c.groups;
  const cog = c.outChannels / c.groups;
  const out = new Float64Array(B * To * c.outChannels);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < To; t++)
      for (let o = 0; o < c.outChannels; o++) {
        const g = Math.floor(o / cog);
        let sum = bias ? bias[o]! : 0;
        for (let k = 0; k < c.kernelSize; k++) {
          const s = t * c.stride + k * c.dilation - pads[0];
          if (s < 0 || s >= T) continue;
          for (let i = 0; i < cig; i++) sum += x[(b * T + s) * c.inChannels + g * cig + i]! * kernel[(k * cig + i) * c.outChannels + o]!;
        }
        out[(b * To + t) * c.outChannels + o] = c.activation[0] === 4 ? Math.max(sum, 0) : sum;
      }
  return out;
}

interface Case {
  cin: number;
  cout: number;
  k: number;
  stride?: number;
  dilation?: number;
  groups?: number;
  pads?: [number, number];
  steps: number;
  relu?: boolean;
  bias?: boolean;
}

const CASES: Case[] = [];
// Output channels (one group) around both vector widths, output lengths around both row tiles.
for (const cout of [1, 3, 4, 5, 7, 8, 9, 12, 16, 17]) for (const outSteps of [1, 3, 4, 5, 6, 7, 12, 13]) CASES.push({ cin: 3, cout, k: 3, steps: outSteps + 2, relu: cout % 2 === 0 });
// Two vectors per block: channels per group around 2 * width.
for (const cout of [15, 16, 17, 24, 33]) CASES.push({ cin: 5, cout, k: 2, steps: 14, relu: true }, { cin: 4, cout: 2 * cout, k: 3, groups: 2, steps: 9, pads: [1, 1] });
// Depthwise (vectors along the channels): channel counts around both widths, strides, dilation.
for (const c of [1, 3, 4, 5, 8, 9, 16, 17]) CASES.push({ cin: c, cout: c, k: 3, groups: c, steps: 11, pads: [2, 0], dilation: c % 2 ? 1 : 2, stride: c % 3 ? 1 : 2, relu: c > 4 });
// Strides, dilation, groups (depthwise too) and padding, each with lengths past a tile.
CASES.push(
  { cin: 5, cout: 9, k: 4, stride: 2, steps: 23 },
  { cin: 4, cout: 8, k: 3, dilation: 2, steps: 19, pads: [4, 0] },
  { cin: 8, cout: 12, k: 3, groups: 4, steps: 14, pads: [1, 1], relu: true },
  { cin: 6, cout: 6, k: 5, groups: 6, steps: 11, pads: [2, 2] },
  { cin: 16, cout: 32, k: 2, groups: 2, stride: 3, dilation: 3, steps: 40, bias: false },
  { cin: 9, cout: 17, k: 1, steps: 7 },
  { cin: 2, cout: 5, k: 7, steps: 3, pads: [3, 3] },
  { cin: 33, cout: 40, k: 3, stride: 1, steps: 50, pads: [2, 0], relu: true },
);

describe('conv1d kernel on every backend', () => {
  for (const impl of IMPLEMENTATIONS) {
    it(`${impl}: matches a float64 convolution at the tile edges`, async () => {
      const { backend, implementation } = await resolveBackend(impl);
      const r = rng(7);
      for (const [n, c] of CASES.entries()) {
        const config: Conv1dKernelConfig = {
          inChannels: c.cin,
          outChannels: c.cout,
          kernelSize: c.k,
          stride: c.stride ?? 1,
          dilation: c.dilation ?? 1,
          groups: c.groups ?? 1,
          activation: encodeActivation(c.relu ? 'relu' : 'linear', 'activation'),
        };
        const kernel = Float32Array.from({ length: c.k * (c.cin / config.groups) * c.cout }, () => r.uniform(-0.5, 0.5));
        const bias = c.bias === false ? null : Float32Array.from({ length: c.cout }, () => r.uniform(-0.5, 0.5));
        const B = 2;
        const x = Float32Array.from({ length: B * c.steps * c.cin }, () => r.uniform(-1, 1));
        const pads = c.pads ?? [0, 0];
        const To = conv1dOutputSteps(config, c.steps, ...pads);
        expect(To, `case ${n} output steps`).toBeGreaterThan(0);
        const conv = backend.createConv1d(config, kernel, bias, implementation);
        try {
          const out = new Float32Array(B * To * c.cout).fill(NaN);
          conv.forward(B, c.steps, ...pads, x, out);
          expectClose(out, reference(config, pads, kernel, bias, B, c.steps, x), { abs: 1e-5, rel: 1e-5 }, `${impl} case ${n} ${JSON.stringify(c)}`);
          if (impl.startsWith('native')) expect(conv.name).toBe(impl);
        } finally {
          conv.dispose();
        }
      }
    });
  }

  it('refuses an input shorter than one window and a bad config with typed errors', async () => {
    for (const impl of IMPLEMENTATIONS) {
      const { backend, implementation } = await resolveBackend(impl);
      if (impl === 'js') continue; // the facade checks for js; the kernel's own checks are the C contract's
      const config: Conv1dKernelConfig = { inChannels: 2, outChannels: 2, kernelSize: 3, stride: 1, dilation: 2, groups: 1, activation: [0, 0, 0] };
      const conv = backend.createConv1d(config, new Float32Array(12), null, implementation);
      expect(() => conv.forward(1, 4, 0, 0, new Float32Array(8), new Float32Array(2))).toThrow(expect.objectContaining({ code: 'ERR_LSTM_SHAPE' }));
      conv.dispose();
      expect(() => backend.createConv1d({ ...config, groups: 2, outChannels: 3 }, new Float32Array(9), null, implementation)).toThrow(expect.objectContaining({ code: 'ERR_LSTM_CONFIG' }));
    }
  });
});
