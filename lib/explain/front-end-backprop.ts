// Backpropagation through the convolutional front end (lib/conv.ts, lib/normalization.ts) in
// float64, for attribution: d(value)/d(layer input) from d(value)/d(layer output), over the input
// and output one forward pass recorded.
import { derivativeFromOutput } from '../activations.js';
import { AveragePooling1D, Conv1D, MaxPooling1D, ZeroPadding1D } from '../conv.js';
import { BatchNormalization, LayerNormalization } from '../normalization.js';
import type { Tensor } from '../tensor.js';

export type FrontEndLayer = Conv1D | MaxPooling1D | AveragePooling1D | ZeroPadding1D | BatchNormalization | LayerNormalization;

export const isFrontEnd = (l: unknown): l is FrontEndLayer =>
  l instanceof Conv1D || l instanceof MaxPooling1D || l instanceof AveragePooling1D || l instanceof ZeroPadding1D || l instanceof BatchNormalization || l instanceof LayerNormalization;

export function frontEndBackward(layer: FrontEndLayer, input: Tensor, output: Tensor, grad: Float64Array): Float64Array {
  if (layer instanceof Conv1D) return convBackward(layer, input, output, grad);
  if (layer instanceof BatchNormalization) return grad.map((g, k) => g * layer.scale[k % layer.units]!);
  if (layer instanceof LayerNormalization) return layerNormBackward(layer, input, grad);
  if (layer instanceof ZeroPadding1D) {
    // The padded steps' gradients are dropped: the input's steps are a slice of the output's.
    const [B, T, C] = input.shape as [number, number, number];
    const [left] = layer.pads();
    const To = T + layer.padding[0] + layer.padding[1];
    const out = new Float64Array(B * T * C);
    for (let b = 0; b < B; b++) out.set(grad.subarray((b * To + left) * C, (b * To + left + T) * C), b * T * C);
    return out;
  }
  return poolingBackward(layer, input, output, grad);
}

function convBackward(layer: Conv1D, input: Tensor, output: Tensor, grad: Float64Array): Float64Array {
  const [B, T, CI] = input.shape as [number, number, number];
  const [, To, CO] = output.shape as [number, number, number];
  const { kernelSize: K, strides: stride, dilationRate: dilation, groups } = layer;
  const [left] = layer.pads(T);
  const w = layer.weights.kernel;
  const cig = CI / groups;
  const cog = CO / groups;
  const slope = derivativeFromOutput(layer.activationCode);
  const pre = grad.map((g, k) => g * slope(output.data[k]!)); // d/d(pre-activation)
  const out = new Float64Array(B * T * CI);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < To; t++)
      for (let k = 0; k < K; k++) {
        const s = t * stride + k * dilation - left;
        if (s < 0 || s >= T) continue; // a padded step
        for (let g = 0; g < groups; g++)
          for (let i = 0; i < cig; i++) {
            let sum = 0;
            for (let o = 0; o < cog; o++) sum += pre[(b * To + t) * CO + g * cog + o]! * w[(k * cig + i) * CO + g * cog + o]!;
            out[(b * T + s) * CI + g * cig + i]! += sum;
          }
      }
  return out;
}

function poolingBackward(layer: MaxPooling1D | AveragePooling1D, input: Tensor, output: Tensor, grad: Float64Array): Float64Array {
  const [B, T, C] = input.shape as [number, number, number];
  const To = output.shape[1]!;
  const [left] = layer.pads(T);
  const x = input.data;
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < To; t++) {
      const start = t * layer.strides - left;
      const from = Math.max(start, 0);
      const to = Math.min(start + layer.poolSize, T);
      for (let c = 0; c < C; c++) {
        const g = grad[(b * To + t) * C + c]!;
        if (layer.mode === 'max') {
          // To the step that gave the maximum (the first of equals, as forward keeps it).
          let best = from;
          for (let s = from + 1; s < to; s++) if (x[(b * T + s) * C + c]! > x[(b * T + best) * C + c]!) best = s;
          out[(b * T + best) * C + c]! += g;
        } else {
          const share = g / (layer.countIncludePad ? layer.poolSize : to - from);
          for (let s = from; s < to; s++) out[(b * T + s) * C + c]! += share;
        }
      }
    }
  return out;
}

function layerNormBackward(layer: LayerNormalization, input: Tensor, grad: Float64Array): Float64Array {
  const C = layer.units;
  const x = input.data;
  const out = new Float64Array(x.length);
  const xhat = new Float64Array(C);
  const gy = new Float64Array(C);
  for (let r = 0; r < x.length / C; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[r * C + c]!;
    mean /= C;
    let variance = 0;
    for (let c = 0; c < C; c++) variance += (x[r * C + c]! - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / C + layer.epsilon);
    let sumG = 0;
    let sumGx = 0;
    for (let c = 0; c < C; c++) {
      xhat[c] = (x[r * C + c]! - mean) * inv;
      gy[c] = grad[r * C + c]! * (layer.gamma ? layer.gamma[c]! : 1);
      sumG += gy[c]!;
      sumGx += gy[c]! * xhat[c]!;
    }
    for (let c = 0; c < C; c++) out[r * C + c] = inv * (gy[c]! - sumG / C - (xhat[c]! * sumGx) / C);
  }
  return out;
}
