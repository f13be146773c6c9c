// Text for a character model: a vocabulary (token -> index, as Keras' char_indices, or a list of
// tokens), a text turned into the model's input (one-hot characters, or ids for an Embedding), and
// an input's steps named back by the vocabulary.
import { describe, fail } from '../errors.js';
import type { Sequential } from '../sequential.js';
import type { Tensor } from '../tensor.js';
import { modelInput } from './model-input.js';

/** Tokens by index, and indices by token. */
export interface Vocabulary {
  /** tokens[index]; undefined where no token has that index. */
  tokens: (string | undefined)[];
  indices: Map<string, number>;
}

/**
 * A vocabulary from its JSON value: an object of token -> index (Keras' char_indices, textgenrnn's
 * vocab) or an array of tokens (index = position). `what` names it in errors.
 */
export function vocabularyFrom(value: unknown, what = 'vocabulary'): Vocabulary {
  const expected = 'an object of token -> index (integers >= 0) or an array of tokens';
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((t, k) => [t, k]) : typeof value === 'object' && value !== null ? Object.entries(value) : fail('ERR_LSTM_CONFIG', what, expected, describe(value));
  if (entries.length === 0) fail('ERR_LSTM_CONFIG', what, expected, 'no tokens');
  const tokens: (string | undefined)[] = [];
  const indices = new Map<string, number>();
  for (const [token, index] of entries) {
    if (typeof token !== 'string') fail('ERR_LSTM_CONFIG', `${what} entry ${describe(index)}`, 'a string token', describe(token));
    if (!Number.isSafeInteger(index) || (index as number) < 0) fail('ERR_LSTM_CONFIG', `${what}[${JSON.stringify(token)}]`, 'an integer index >= 0', describe(index));
    const k = index as number;
    if (tokens[k] !== undefined) fail('ERR_LSTM_CONFIG', `${what}[${JSON.stringify(token)}]`, 'an index no other token has', `${k}, the index of ${JSON.stringify(tokens[k])} too`);
    if (indices.has(token)) fail('ERR_LSTM_CONFIG', what, 'each token once', `${JSON.stringify(token)} twice`);
    tokens[k] = token;
    indices.set(token, k);
  }
  return { tokens, indices };
}

/** A vocabulary from the text of a JSON file (see vocabularyFrom); `name` names the file in errors. */
export function readVocabulary(json: string, name = 'vocabulary'): Vocabulary {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    return fail('ERR_LSTM_CONFIG', name, 'a JSON file', `text JSON cannot parse (${(e as Error).message})`);
  }
  return vocabularyFrom(value, name);
}

/**
 * `text` as one sequence the model takes, a step per character: one-hot rows [1, steps, features]
 * for a model of features (the vocabulary's indices must fit its features), ids [1, steps] for a
 * model of ids (an Embedding first). Time-major models get [steps, 1, ...].
 * @throws LstmError ERR_LSTM_INPUT for an empty text or a character the vocabulary lacks,
 * ERR_LSTM_CONFIG for a vocabulary larger than the model's input.
 */
export function encodeText(model: Sequential, text: string, vocabulary: Vocabulary): Tensor {
  const m = modelInput(model);
  const characters = Array.from(text);
  if (characters.length === 0) fail('ERR_LSTM_INPUT', 'text', 'at least one character', 'an empty text');
  const size = m.kind === 'ids' ? m.vocabulary! : m.features;
  if (vocabulary.tokens.length > size) fail('ERR_LSTM_CONFIG', 'vocabulary', `indices below ${size} (the model's ${m.kind === 'ids' ? 'vocabulary of ids' : 'input features'})`, `indices up to ${vocabulary.tokens.length - 1}`);
  const ids = characters.map((c, k) => vocabulary.indices.get(c) ?? fail('ERR_LSTM_INPUT', 'text', 'characters of the vocabulary', `${JSON.stringify(c)} at position ${k}`));
  const T = ids.length;
  const shape = m.timeMajor ? [T, 1] : [1, T];
  if (m.kind === 'ids') return { data: Float32Array.from(ids), shape };
  const data = new Float32Array(T * m.features);
  ids.forEach((id, t) => (data[t * m.features + id] = 1));
  return { data, shape: [...shape, m.features] };
}
