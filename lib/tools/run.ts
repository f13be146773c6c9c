// A forward call's results as named tensors, the names `run --out x.npz` writes.
import { layerTraces } from '../explain/gate-stats.js';
import type { Sequential, SequentialResult } from '../sequential.js';
import type { Tensor } from '../tensor.js';

/**
 * 'output', and with a trace one tensor per layer and gate: 'trace/0_lstm/i', ...,
 * 'trace/1_bidirectional/forward/f', 'trace/2_gru/z' (layer index in model.layers, cell, gate).
 */
export function resultTensors(model: Sequential, result: SequentialResult): Record<string, Tensor> {
  const arrays: Record<string, Tensor> = { output: result.output };
  for (const t of result.trace ? layerTraces(model, result.trace) : []) {
    for (const [gate, tensor] of Object.entries(t.tensors)) arrays[`trace/${t.name}/${gate}`] = tensor;
  }
  return arrays;
}
