// Layer names. A loaded layer keeps its file's name; one made in code without a name gets Keras'
// default, its kind counted per process ('lstm', 'lstm_1', ...), as keras.layers.LSTM() does.
import { describe, fail } from './errors.js';

const made = new Map<string, number>();

/** `given` checked (a non-empty string), or the next default name for `kind` ('lstm', 'lstm_1', ...). */
export function layerName(given: unknown, kind: string, what = 'options.name'): string {
  if (given !== undefined) {
    if (typeof given !== 'string' || given === '') fail('ERR_LSTM_CONFIG', what, 'a non-empty string', describe(given));
    return given;
  }
  const count = made.get(kind) ?? 0;
  made.set(kind, count + 1);
  return count === 0 ? kind : `${kind}_${count}`;
}
