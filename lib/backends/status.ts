import { LstmError } from '../errors.js';

/** Status codes of native/rnn_runtime.h, plus the three the N-API binding adds. */
const STATUS: Record<number, [LstmError['code'], string]> = {
  1: ['ERR_LSTM_CONFIG', 'the kernel rejected the layer configuration'],
  2: ['ERR_LSTM_WEIGHTS', 'the kernel is missing a weight tensor'],
  3: ['ERR_LSTM_SHAPE', 'batch, steps or a sequence length is out of the range the kernel accepts'],
  4: ['ERR_LSTM_UNSUPPORTED', 'the requested instruction set is not available on this CPU'],
  5: ['ERR_LSTM_RESOURCES', 'out of memory for this batch and sequence length'],
  6: ['ERR_LSTM_WEIGHTS', "a weight does not fit weightPrecision 'f16' (|w| <= 65504), or is not finite"],
  [-1]: ['ERR_LSTM_DISPOSED', 'the layer has been disposed'],
  [-2]: ['ERR_LSTM_SHAPE', 'a buffer passed to the native kernel has the wrong type or length'],
  [-3]: ['ERR_LSTM_INPUT', 'an array given for the results was detached or shrunk while the call ran'],
};

/** Turns a kernel status into an LstmError; the one place where this happens for every backend. */
export function checkStatus(status: number, backend: string, call: string): void {
  if (status === 0) return;
  const [code, text] = STATUS[status] ?? ['ERR_LSTM_BACKEND', `unknown status ${status}`];
  throw new LstmError(code, `${backend} ${call}: ${text}`);
}

/** rnn_isa and rnn_cell numbers of the C header. */
export const ISA = { auto: 0, scalar: 1, avx2: 2, neon: 3, 'wasm-simd': 4, 'wasm-relaxed': 5 } as const;
export const CELL = { lstm: 0, gru: 1 } as const;
export const PRECISION = { f32: 0, f16: 1, int8: 2 } as const;
