// A sequence as CSV: one row per step, one column per feature. A first row that is not all numbers
// (column names) is skipped; fields are separated by commas, or by tabs or semicolons when the
// first line has no comma.
import { LstmError } from '../errors.js';
import type { Tensor } from '../tensor.js';

/** A field's number, or null; 'nan' is NaN (which the model refuses unless allowNonFinite). */
function readNumber(cell: string): number | null {
  if (/^[+-]?nan$/i.test(cell)) return NaN;
  const v = cell === '' ? NaN : Number(cell);
  return Number.isNaN(v) ? null : v;
}

/** Reads CSV text into [steps, features]. `name` is for messages. */
export function decodeCsv(text: string, name = 'the CSV data'): Tensor {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== '') ?? '';
  const separator = first.includes(',') ? ',' : first.includes('\t') ? '\t' : first.includes(';') ? ';' : ',';
  const rows: number[][] = [];
  let columns = -1;
  let header = true;
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    const cells = line.split(separator).map((c) => c.trim());
    const values = cells.map(readNumber);
    const bad = values.findIndex((v) => v === null);
    if (header && bad >= 0) {
      header = false; // a first row of column names
      columns = cells.length;
      return;
    }
    header = false;
    if (bad >= 0) throw new LstmError('ERR_LSTM_INPUT', `${name}: line ${k + 1}, column ${bad + 1}: expected a number, got ${JSON.stringify(cells[bad])}`);
    if (columns >= 0 && cells.length !== columns) throw new LstmError('ERR_LSTM_INPUT', `${name}: line ${k + 1}: expected ${columns} columns, got ${cells.length}`);
    columns = cells.length;
    rows.push(values as number[]);
  });
  if (rows.length === 0) throw new LstmError('ERR_LSTM_INPUT', `${name}: expected at least one row of numbers (one step per row, one feature per column), got none`);
  return { data: Float32Array.from(rows.flat()), shape: [rows.length, columns] };
}
