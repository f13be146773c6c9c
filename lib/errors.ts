/** Stable error codes: every failure of the library throws an LstmError with one of these. */
export type LstmErrorCode =
  | 'ERR_LSTM_CONFIG'
  | 'ERR_LSTM_WEIGHTS'
  | 'ERR_LSTM_SHAPE'
  | 'ERR_LSTM_INPUT'
  | 'ERR_LSTM_UNSUPPORTED'
  | 'ERR_LSTM_BACKEND'
  | 'ERR_LSTM_DISPOSED'
  | 'ERR_LSTM_MODEL'
  /** Memory, threads or another resource ran out or would exceed a bound (a huge batch, a WebAssembly heap that cannot grow). */
  | 'ERR_LSTM_RESOURCES';

export class LstmError extends Error {
  readonly code: LstmErrorCode;

  constructor(code: LstmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LstmError';
    this.code = code;
  }
}

/** A short, readable rendering of a value that was given where something else was expected. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describe).join(', ')}]` : `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === 'object') return `an object with keys {${Object.keys(value as object).join(', ')}}`;
  return typeof value;
}

/** Throws `code` with "`what`: expected `expected`, got `given`". */
export function fail(code: LstmErrorCode, what: string, expected: string, given: string): never {
  throw new LstmError(code, `${what}: expected ${expected}, got ${given}`);
}
