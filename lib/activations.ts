import { describe, fail } from './errors.js';

/** Activation names of SPEC; `null` is Keras' activation=None (linear). */
export type ActivationName = 'tanh' | 'sigmoid' | 'hard_sigmoid' | 'linear' | 'relu' | 'softsign' | 'elu';
export type Activation = ActivationName | null | { name: 'hard_sigmoid'; alpha: number; beta: number } | { name: 'elu'; alpha: number };

/** [kind, alpha, beta] as the C contract's lstm_activation holds it. */
export type ActivationCode = readonly [kind: number, alpha: number, beta: number];

const KIND = { linear: 0, sigmoid: 1, tanh: 2, hard_sigmoid: 3, relu: 4, softsign: 5, elu: 6 } as const;
const NAMES = Object.keys(KIND) as ActivationName[];

export function encodeActivation(value: unknown, what: string): ActivationCode {
  if (value === null) return [KIND.linear, 0, 0];
  if (typeof value === 'string') {
    if (value === 'hard_sigmoid') return [KIND.hard_sigmoid, 1 / 6, 0.5]; // Keras 3: clip(x/6 + 0.5, 0, 1)
    if (value === 'elu') return [KIND.elu, 1, 0];
    if (value in KIND) return [KIND[value as ActivationName], 0, 0];
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { name, alpha, beta } = value as { name?: unknown; alpha?: unknown; beta?: unknown };
    const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    if (name === 'hard_sigmoid' && finite(alpha) && finite(beta)) return [KIND.hard_sigmoid, alpha, beta];
    if (name === 'elu' && finite(alpha)) return [KIND.elu, alpha, 0];
  }
  return fail(
    'ERR_LSTM_CONFIG',
    what,
    `one of ${NAMES.map((n) => `'${n}'`).join(', ')}, null, { name: 'hard_sigmoid', alpha, beta } or { name: 'elu', alpha }`,
    describe(value),
  );
}

/** float64 evaluation of an encoded activation (the js backend and tests use it). */
export function activationFn([kind, alpha, beta]: ActivationCode): (x: number) => number {
  switch (kind) {
    case KIND.sigmoid:
      return (x) => 1 / (1 + Math.exp(-x));
    case KIND.tanh:
      return Math.tanh;
    case KIND.hard_sigmoid:
      return (x) => Math.min(Math.max(alpha * x + beta, 0), 1);
    case KIND.relu:
      return (x) => (x > 0 ? x : 0);
    case KIND.softsign:
      return (x) => x / (1 + Math.abs(x));
    case KIND.elu:
      return (x) => (x > 0 ? x : alpha * Math.expm1(x));
    default:
      return (x) => x;
  }
}

/**
 * The derivative of an encoded activation, from its output y (every activation here has one):
 * backpropagation through a trace, which holds outputs, needs nothing else.
 */
export function derivativeFromOutput([kind, alpha]: ActivationCode): (y: number) => number {
  switch (kind) {
    case KIND.sigmoid:
      return (y) => y * (1 - y);
    case KIND.tanh:
      return (y) => 1 - y * y;
    case KIND.hard_sigmoid:
      return (y) => (y > 0 && y < 1 ? alpha : 0);
    case KIND.relu:
      return (y) => (y > 0 ? 1 : 0);
    case KIND.softsign:
      return (y) => (1 - Math.abs(y)) ** 2;
    case KIND.elu:
      return (y) => (y > 0 ? 1 : y + alpha);
    default:
      return () => 1;
  }
}
