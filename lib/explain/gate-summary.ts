// Gate statistics over a traced forward call of a Sequential: each recurrent layer's trace paired
// with its layer, and per gate how open it is on average and how often it is shut or open.
import { Bidirectional } from '../bidirectional.js';
import { Gru } from '../gru.js';
import { Lstm } from '../lstm.js';
import type { Sequential } from '../sequential.js';
import type { Tensor } from '../tensor.js';

/** One recurrent layer's (or one direction's) trace, named as `run --out x.npz` names it. */
export interface LayerTrace {
  /** The layer's index in model.layers. */
  layer: number;
  cell: 'lstm' | 'gru';
  direction?: 'forward' | 'backward';
  /** '0_lstm', '2_gru', '1_bidirectional/forward', ... */
  name: string;
  /** LSTM: i, f, g (c~), o, c, h; GRU: z, r, g (h~), h; each [batch, steps, units]. */
  tensors: Record<string, Tensor>;
}

/**
 * Pairs `trace` (SequentialResult.trace: one entry per recurrent layer, in order) with the
 * model's layers; a Bidirectional gives two entries, forward then backward.
 */
export function layerTraces(model: Sequential, trace: readonly unknown[]): LayerTrace[] {
  const out: LayerTrace[] = [];
  let r = 0;
  model.layers.forEach((layer, k) => {
    if (layer instanceof Bidirectional) {
      const t = trace[r++] as { forward: Record<string, Tensor>; backward: Record<string, Tensor> };
      const cell = layer.forwardLayer.cell;
      out.push({ layer: k, cell, direction: 'forward', name: `${k}_bidirectional/forward`, tensors: t.forward });
      out.push({ layer: k, cell, direction: 'backward', name: `${k}_bidirectional/backward`, tensors: t.backward });
    } else if (layer instanceof Lstm || layer instanceof Gru) {
      out.push({ layer: k, cell: layer.cell, name: `${k}_${layer.cell}`, tensors: trace[r++] as Record<string, Tensor> });
    }
  });
  return out;
}

export const GATE_LABELS: Readonly<Record<string, string>> = { i: 'input gate', f: 'forget gate', o: 'output gate', z: 'update gate', r: 'reset gate' };

export interface GateStats {
  /** 'i', 'f', 'o' (LSTM) or 'z', 'r' (GRU). */
  gate: string;
  label: string;
  mean: number;
  /** Share of (batch, step, unit) values below `shut` (0.05) and above `open` (0.95). */
  shut: number;
  open: number;
}

export interface GateSummary extends Omit<LayerTrace, 'tensors'> {
  gates: GateStats[];
  /** LSTM: the units holding the most cell state (largest |c|) at the last step of the first row. */
  largestCell?: { unit: number; value: number }[];
}

export interface GateSummaryOptions {
  /** Below this a gate counts as shut (0.05). */
  shut?: number;
  /** Above this a gate counts as open (0.95). */
  open?: number;
  /** How many units largestCell lists (5). */
  top?: number;
}

/** Each recurrent layer's gates over every step and unit of a traced forward call. */
export function gateSummary(model: Sequential, trace: readonly unknown[], options: GateSummaryOptions = {}): GateSummary[] {
  const { shut = 0.05, open = 0.95, top = 5 } = options;
  return layerTraces(model, trace).map(({ tensors, ...where }) => {
    const gates: GateStats[] = [];
    for (const [gate, label] of Object.entries(GATE_LABELS)) {
      const g = tensors[gate];
      if (!g) continue;
      let sum = 0;
      let nShut = 0;
      let nOpen = 0;
      for (const v of g.data) {
        sum += v;
        if (v < shut) nShut++;
        if (v > open) nOpen++;
      }
      const n = g.data.length || 1;
      gates.push({ gate, label, mean: sum / n, shut: nShut / n, open: nOpen / n });
    }
    const summary: GateSummary = { ...where, gates };
    const c = tensors.c;
    if (c) {
      const [, T, U] = c.shape as [number, number, number];
      summary.largestCell = Array.from(c.data.subarray((T - 1) * U, T * U), (value, unit) => ({ unit, value }))
        .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
        .slice(0, top);
    }
    return summary;
  });
}
