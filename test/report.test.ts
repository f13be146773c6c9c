// The inspection report (lib/report, lib/tools/report.ts): one self-contained HTML file whose
// heatmap cells and bars carry the values the library computes (model.forward's trace and
// attribute()), parsed as HTML; on a small model built here and on the real Nietzsche model.
import { readFileSync } from 'node:fs';
import { parse, type HTMLElement } from 'node-html-parser';
import { describe, expect, it } from 'vitest';
import {
  attribute, Dense, encodeText, Gru, inspectReport, Lstm, LstmError, readVocabulary, Sequential, vocabularyFrom, type Tensor,
} from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { escapeHtml, jsonForScript } from '../lib/report/escape.js';
import { rng, SHARED, sharedFor } from './helpers.js';

const random = rng(11);
const I = 3;
const T = 7;

/** LSTM (named '<script>', 5 units, sequences) -> GRU going backwards (4 units) -> Dense 2. */
async function smallModel(): Promise<Sequential> {
  const lstm = await Lstm.create({
    name: '<script>', returnSequences: true,
    weights: { kernel: random.matrix(I, 20, -0.9, 0.9), recurrentKernel: random.matrix(5, 20, -0.9, 0.9), bias: random.matrix(1, 20, -0.3, 0.3)[0]! },
  });
  const gru = await Gru.create({
    name: 'gru "b" & co', goBackwards: true,
    weights: { kernel: random.matrix(5, 12, -0.9, 0.9), recurrentKernel: random.matrix(4, 12, -0.9, 0.9), bias: random.matrix(2, 12, -0.3, 0.3) },
  });
  return Sequential.create([lstm, gru, await Dense.create({ name: 'head', kernel: random.matrix(4, 2, -1, 1), bias: [0.1, -0.2] })]);
}
const INPUT: Tensor = { data: Float32Array.from(random.matrix(T, I, -1, 1).flat()), shape: [1, T, I] };

/** 4 significant digits, as the report writes them. */
function expectNear(written: number[], expected: ArrayLike<number>, what: string) {
  expect(written.length, what).toBe(expected.length);
  written.forEach((w, k) => expect(Math.abs(w - expected[k]!), `${what}[${k}]: ${w} vs ${expected[k]}`).toBeLessThanOrEqual(6e-4 * Math.abs(expected[k]!) + 1e-9));
}
const values = (row: HTMLElement) => row.getAttribute('data-values')!.split(',').map(Number);
const heatmaps = (doc: HTMLElement, group: string) => doc.querySelectorAll('svg.hm').filter((s) => s.getAttribute('data-group') === group);
const heatmap = (doc: HTMLElement, group: string, map: string) => heatmaps(doc, group).find((s) => s.getAttribute('data-map') === map)!;

/** One file, nothing it would fetch: no src or href, no URL, no <link>, no external script. */
function expectSelfContained(html: string, doc: HTMLElement) {
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  expect(html).not.toMatch(/\s(src|href|xlink:href)\s*=/i);
  expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
  expect(html).not.toMatch(/<link|@import|url\(/i);
  expect(html).not.toMatch(/\beval\(|new Function/);
  const scripts = doc.querySelectorAll('script');
  expect(scripts.map((s) => s.getAttribute('type') ?? 'js')).toEqual(['application/json', 'js']);
  expect(doc.querySelector('html')).not.toBeNull();
  expect(doc.querySelector('body')).not.toBeNull();
}

describe('inspectReport on a model built here', async () => {
  const model = await smallModel();
  const html = await inspectReport(model, INPUT, { title: 'small & <odd>' });
  const doc = parse(html);
  const { output, trace } = model.forward(INPUT, { trace: true });
  const traces = trace as Record<string, Tensor>[];

  it('is one self-contained HTML file', () => expectSelfContained(html, doc));

  it('escapes layer names and the title: a layer named <script> stays text', () => {
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).toContain(`${escapeHtml("'<script>'")} Lstm`);
    expect(html).toContain(escapeHtml('gru "b" & co'));
    expect(doc.querySelector('h1')!.text).toBe('small & <odd>');
    expect(doc.querySelectorAll('section.layer h2').map((h) => h.text)).toEqual([
      "0. '<script>' Lstm LSTM, 5 units",
      `1. 'gru "b" & co' Gru GRU, 4 units`,
    ]);
    expect(jsonForScript(['</script><b>'])).toBe('["\\u003c/script>\\u003cb>"]');
  });

  it('summarises the layers: names, output shapes, parameters, backend', () => {
    const rows = doc.querySelectorAll('#model tbody tr').map((r) => r.querySelectorAll('td').map((td) => td.text));
    expect(rows.map((r) => [r[1], r[3], r[4]])).toEqual([
      ['<script>', '[7, 5]', String(4 * 5 * (I + 5 + 1))],
      ['gru "b" & co', '[4]', String(3 * 4 * (5 + 4 + 2))],
      ['head', '[2]', String(4 * 2 + 2)],
    ]);
    expect(doc.querySelector('#model p')!.text).toContain(`backend ${(model.layers[0] as Lstm).backend}`);
  });

  it('draws one heatmap per gate and state of each recurrent layer, a row per unit, a cell per step, holding the trace', () => {
    expect(heatmaps(doc, 'layer0').map((s) => s.getAttribute('data-map'))).toEqual(['i', 'f', 'g', 'o', 'c', 'h']);
    expect(heatmaps(doc, 'layer1').map((s) => s.getAttribute('data-map'))).toEqual(['z', 'r', 'g', 'h']);
    for (const [layer, units, reversed] of [[0, 5, false], [1, 4, true]] as const) {
      for (const svg of heatmaps(doc, `layer${layer}`)) {
        const map = svg.getAttribute('data-map')!;
        const rows = svg.querySelectorAll('g.row');
        expect(rows.map((r) => Number(r.getAttribute('data-key')))).toEqual([...Array(units).keys()]);
        for (const row of rows) {
          expect(row.querySelectorAll('rect')).toHaveLength(T);
          const u = Number(row.getAttribute('data-key'));
          // The GRU reads the steps last to first: its trace is in that order, the picture in the input's.
          const expected = Array.from({ length: T }, (_, t) => traces[layer]![map]!.data[(reversed ? T - 1 - t : t) * units + u]!);
          expectNear(values(row), expected, `layer ${layer} ${map} unit ${u}`);
        }
      }
    }
  });

  it("attributes the model's largest output by integrated gradients, and says so; scores and bars are attribute()'s", async () => {
    const target = output.data[1]! > output.data[0]! ? 1 : 0;
    const a = await attribute(model, INPUT, { method: 'integrated-gradients', target });
    expect(doc.querySelector('#attribution h2')!.text).toBe('Which inputs matter: Integrated gradients');
    expect(doc.querySelector('#attribution p')!.text).toMatch(new RegExp(`^Integrated gradients with 50 Gauss-Legendre steps from a baseline of zeros of output ${target}, the model’s largest output`));
    const rows = heatmap(doc, 'attribution', 'scores').querySelectorAll('g.row');
    expect(rows).toHaveLength(I);
    for (const row of rows) {
      const f = Number(row.getAttribute('data-key'));
      expectNear(values(row), Array.from({ length: T }, (_, t) => a.scores.data[t * I + f]!), `scores feature ${f}`);
    }
    const bars = doc.querySelectorAll('svg.bars rect.bar').map((b) => Number(b.getAttribute('data-value')));
    expectNear(bars, a.perStep.data, 'per-step bars');
  });

  it('sorting keys: each row carries its mean |value| and variance', () => {
    const row = heatmap(doc, 'layer0', 'c').querySelectorAll('g.row')[2]!;
    const c = Array.from({ length: T }, (_, t) => traces[0]!.c!.data[t * 5 + 2]!);
    const mean = c.reduce((s, v) => s + v, 0) / T;
    expectNear([Number(row.getAttribute('data-activity')), Number(row.getAttribute('data-variance'))], [c.reduce((s, v) => s + Math.abs(v), 0) / T, c.reduce((s, v) => s + (v - mean) ** 2, 0) / T], 'keys');
    expect(doc.querySelectorAll('select.sort-key')).toHaveLength(3); // two layers and the attribution
  });

  it('topUnits draws the units of highest mean |h|; maxColumns bins the steps (gates averaged, attribution summed)', async () => {
    const small = parse(await inspectReport(model, INPUT, { topUnits: 3, maxColumns: 3, method: 'gradient', target: 0 }));
    const h = traces[0]!.h!.data;
    const activity = [...Array(5).keys()].map((u) => Array.from({ length: T }, (_, t) => Math.abs(h[t * 5 + u]!)).reduce((s, v) => s + v, 0));
    const top = [...Array(5).keys()].sort((a, b) => activity[b]! - activity[a]!).slice(0, 3).sort((a, b) => a - b);
    const f = heatmap(small, 'layer0', 'f');
    expect(f.querySelectorAll('g.row').map((r) => Number(r.getAttribute('data-key')))).toEqual(top);
    expect(f.getAttribute('data-bin')).toBe('3');
    const u = top[0]!;
    const gate = (t: number) => traces[0]!.f!.data[t * 5 + u]!;
    expectNear(values(f.querySelectorAll('g.row')[0]!), [(gate(0) + gate(1) + gate(2)) / 3, (gate(3) + gate(4) + gate(5)) / 3, gate(6)], 'binned f');
    const a = await attribute(model, INPUT, { method: 'gradient', target: 0 });
    const bars = small.querySelectorAll('svg.bars rect.bar').map((b) => Number(b.getAttribute('data-value')));
    const p = a.perStep.data;
    expectNear(bars, [p[0]! + p[1]! + p[2]!, p[3]! + p[4]! + p[5]!, p[6]!], 'binned bars');
    expect(small.querySelector('#input p')!.text).toMatch(/Drawn in 3 columns of 3 steps/);
    expect(small.querySelector('#attribution h2')!.text).toMatch(/Gradient \(saliency, signed\)/);
  });

  it('labels steps with the labels given, and refuses bad options with LstmError', async () => {
    const labels = ['9:00', '9:05', '9:10', '9:15', '9:20', '9:25', '<9:30>'];
    const withLabels = parse(await inspectReport(model, INPUT, { labels, method: 'gradient' }));
    expect(withLabels.querySelectorAll('.tokens span').map((s) => s.text)).toEqual(labels);
    expect(JSON.parse(withLabels.querySelector('#step-labels')!.text)).toEqual(labels);
    for (const [options, pattern] of [
      [{ labels: ['a'] }, /options\.labels: expected an array of 7 labels/],
      [{ method: 'nope' }, /options\.method/],
      [{ target: 2 }, /target/],
      [{ topUnits: 0 }, /options\.topUnits: expected an integer >= 1/],
      [{ colour: 'red' }, /colour/],
    ] as const) {
      await expect(inspectReport(model, INPUT, options as never)).rejects.toThrow(LstmError);
      await expect(inspectReport(model, INPUT, options as never)).rejects.toThrow(pattern);
    }
  });
});

describe('text and vocabularies', () => {
  it('vocabularies from token -> index objects and token arrays; bad ones refused', () => {
    expect(vocabularyFrom({ a: 1, '\n': 0 }).tokens).toEqual(['\n', 'a']);
    expect(vocabularyFrom(['x', 'y']).indices.get('y')).toBe(1);
    expect(() => readVocabulary('{nope', 'v.json')).toThrow(/^v\.json: expected a JSON file/);
    expect(() => vocabularyFrom({ a: 0, b: 0 })).toThrow(/an index no other token has/);
    expect(() => vocabularyFrom({ a: -1 })).toThrow(/an integer index >= 0/);
    expect(() => vocabularyFrom(7)).toThrow(LstmError);
  });

  it('encodeText: one-hot rows for a model of features; unknown characters and too large vocabularies refused', async () => {
    const model = await smallModel();
    const x = encodeText(model, 'bab', vocabularyFrom(['a', 'b']));
    expect(x.shape).toEqual([1, 3, I]);
    expect(Array.from(x.data)).toEqual([0, 1, 0, 1, 0, 0, 0, 1, 0]);
    expect(() => encodeText(model, 'abc', vocabularyFrom(['a', 'b']))).toThrow(/text: expected characters of the vocabulary, got "c" at position 2/);
    expect(() => encodeText(model, '', vocabularyFrom(['a']))).toThrow(/an empty text/);
    expect(() => encodeText(model, 'a', vocabularyFrom(['a', 'b', 'c', 'd']))).toThrow(/vocabulary: expected indices below 3/);
    const html = parse(await inspectReport(model, x, { vocabulary: vocabularyFrom(['a', 'b', ' ']), method: 'gradient' }));
    expect(html.querySelectorAll('.tokens span').map((s) => s.text)).toEqual(['b', 'a', 'b']);
    expect(heatmap(html, 'attribution', 'scores').querySelectorAll('g.row').map((r) => r.getAttribute('data-label'))).toEqual(['feature a', 'feature b', 'feature ␣']);
  });
});

const NIETZSCHE = `${SHARED}fixtures/models/tfjs_lstm_text_generation_nietzsche/`;
const nietzscheHere = sharedFor('the report of the real Nietzsche model (../shared/fixtures/models)');
describe.skipIf(!nietzscheHere)('inspectReport on the real Nietzsche model (TF.js, one-hot characters)', async () => {
  if (!nietzscheHere) return; // a skipped suite is still collected: its body must not read ../shared
  const model = await loadModel(`${NIETZSCHE}model.json`);
  const vocabulary = readVocabulary(readFileSync(`${NIETZSCHE}char_indices.json`, 'utf8'), 'char_indices.json');
  const text = 'the will to power is the will to life; and the will to t';
  const x = encodeText(model, text, vocabulary);
  const html = await inspectReport(model, x, { vocabulary, title: 'Nietzsche' });
  const doc = parse(html);

  it('is one self-contained file of a sensible size', () => {
    expectSelfContained(html, doc);
    expect(html.length).toBeLessThan(2e6);
  });

  it("colours the cell state up to its 99th percentile of |c|: a few units of large c do not wash out the rest", () => {
    const c = Float32Array.from(model.forward(x, { trace: true }).trace!.map((t) => (t as Record<string, Tensor>).c!)[0]!.data, Math.abs).sort();
    const p99 = c[Math.floor(0.99 * c.length)]!;
    expect(c[c.length - 1]!).toBeGreaterThan(1.5 * p99); // one unit's |c| runs far above the others'
    const legend = heatmap(doc, 'layer0', 'c').parentNode!.querySelector('svg.legend')!.text;
    expect(legend).toContain(`colours saturate past ±${Number(p99.toPrecision(4))}`.replace('±0.', '±.'));
  });

  it('labels the steps by the text, and the outputs by the vocabulary', () => {
    expect(doc.querySelectorAll('.tokens span').map((s) => s.text).join('')).toBe(text.replace(/ /g, '␣'));
    const { output } = model.forward(x);
    const best = output.data.indexOf(Math.max(...output.data));
    expect(doc.querySelector('.predictions li')!.text).toBe(`output ${best} ${vocabulary.tokens[best]!.replace(' ', '␣')}: ${Number(output.data[best]!.toPrecision(4)).toString().replace(/^0\./, '.')}`);
  });

  it('draws 64 of the 128 units per gate and state, 57 characters in the attribution; cells hold the trace and attribute()', async () => {
    const { output, trace } = model.forward(x, { trace: true });
    const lstm = (trace as Record<string, Tensor>[])[0]!;
    const steps = text.length;
    expect(heatmaps(doc, 'layer0')).toHaveLength(6);
    for (const svg of heatmaps(doc, 'layer0')) {
      const rows = svg.querySelectorAll('g.row');
      expect(rows).toHaveLength(64);
      for (const row of rows.filter((_, k) => k % 16 === 0)) {
        const u = Number(row.getAttribute('data-key'));
        const map = svg.getAttribute('data-map')!;
        expect(row.querySelectorAll('rect')).toHaveLength(steps);
        expectNear(values(row), Array.from({ length: steps }, (_, t) => lstm[map]!.data[t * 128 + u]!), `${map} unit ${u}`);
      }
    }
    const target = output.data.indexOf(Math.max(...output.data));
    const a = await attribute(model, x, { method: 'integrated-gradients', target });
    const rows = heatmap(doc, 'attribution', 'scores').querySelectorAll('g.row');
    expect(rows).toHaveLength(57);
    const e = rows.find((r) => r.getAttribute('data-label') === 'feature e')!;
    const id = vocabulary.indices.get('e')!;
    expectNear(values(e), Array.from({ length: steps }, (_, t) => a.scores.data[t * 57 + id]!), "scores of 'e'");
    expect(doc.querySelector('#attribution p')!.text).toContain(`of output ${target} (${vocabulary.tokens[target]!.replace(' ', '␣')}), the model’s largest output`);
  });
});
