// The inspection report: one self-contained HTML page (inline CSS, SVG and one small script; no
// network, no eval) built from what the library computed (lib/tools/report.ts gathers it): the
// model's layers, the input as labels, the attribution of one output, and per recurrent layer the
// gate statistics and a heatmap of every traced gate and state over steps x units.
import type { CellKind } from '../backend.js';
import type { AttributionMethod } from '../explain/attribute.js';
import type { LayerGateStats } from '../explain/gate-stats.js';
import { describe, fail } from '../errors.js';
import { escapeHtml, jsonForScript } from './escape.js';
import { barChartSvg, divergingScale, heatmapSvg, largestMagnitude, legendSvg, sequentialScale, shortNumber, type ColourScale, type HeatmapRow } from './svg.js';

/** One layer of the model, as the summary table lists it. */
export interface ReportLayerSummary {
  name: string;
  /** inspect's line for it: 'Lstm 57 -> 128 on native/avx2'. */
  description: string;
  /** Its output for one sequence, without the batch axis ([steps, units] or [units]). */
  outputShape: number[];
  /** Its weights' values, as the layer runs them. */
  parameters: number;
}

/** One recurrent layer (one direction of a Bidirectional): its traced tensors for the first sequence. */
export interface ReportRecurrentLayer {
  /** "0. 'lstm_2' Lstm", "1. 'bi' backward direction". */
  title: string;
  cell: CellKind;
  units: number;
  /** Its steps: the input's, unless a RepeatVector before it made others. */
  steps: number;
  /** Each trace tensor (LSTM i, f, g, o, c, h; GRU z, r, g, h) as [steps, units], in input order. */
  maps: Record<string, Float32Array>;
  /** The layer ran the steps last to first (goBackwards, a backward direction): maps were put back in input order. */
  reversed: boolean;
  stats: LayerGateStats;
}

/** The attribution of one output to every input value of the first sequence. */
export interface ReportAttribution {
  method: AttributionMethod;
  /** Integrated gradients: its number of Gauss-Legendre steps. */
  igSteps?: number;
  target: number;
  targetLabel?: string;
  /** For a sequence output: the step explained. */
  targetStep?: number;
  /** The explained output's value for the input. */
  targetValue: number;
  /** The target was the model's largest output (not chosen by the caller). */
  targetIsArgmax: boolean;
  /** 'embedding' when the model takes ids: scores are per embedding dimension. */
  featureKind: 'input' | 'embedding';
  featureLabels: string[];
  /** [steps, features]. */
  scores: Float32Array;
  /** `[steps]`: scores summed over features. */
  perStep: Float32Array;
  /** Integrated gradients' convergence delta. */
  delta?: number;
}

/** Everything the report shows. */
export interface ReportData {
  title: string;
  /** The backends the recurrent layers run on ('native/avx2'). */
  backends: string[];
  /** The input the report explains, one sequence ([1, steps, features] or [1, steps] of ids). */
  inputShape: number[];
  outputShape: number[];
  layers: ReportLayerSummary[];
  steps: number;
  /** A label per input step: its character, token, id or step number. */
  stepLabels: string[];
  labelKind: 'characters' | 'tokens' | 'ids' | 'steps' | 'given';
  /** The largest outputs at the explained step, largest first. */
  predictions: { index: number; label?: string; value: number }[];
  recurrent: ReportRecurrentLayer[];
  attribution: ReportAttribution;
}

/** How much the report draws. */
export interface RenderOptions {
  /** Units (and attribution features) drawn per heatmap at most: those of highest mean |h| (|score|). Default 64. */
  topUnits?: number;
  /** Columns per heatmap at most: longer inputs are drawn in bins of consecutive steps. Default 200. */
  maxColumns?: number;
}

const MAP_TITLES: Record<CellKind, Record<string, string>> = {
  lstm: { i: 'input gate i', f: 'forget gate f', g: 'candidate c~ (g)', o: 'output gate o', c: 'cell state c', h: 'hidden state h' },
  gru: { z: 'update gate z', r: 'reset gate r', g: 'candidate h~ (g)', h: 'hidden state h' },
};
const METHOD_NAMES: Record<AttributionMethod, string> = {
  gradient: 'Gradient (saliency, signed)',
  'gradient-x-input': 'Gradient × input',
  'integrated-gradients': 'Integrated gradients',
  occlusion: 'Occlusion',
};
/** Sigmoid gates live in [0, 1] and take the sequential scale; the rest are signed. */
const isGate = (map: string) => map === 'i' || map === 'f' || map === 'o' || map === 'z' || map === 'r';

/** The `q` quantile of |value| (nearest rank). */
function percentileMagnitude(values: Float32Array, q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float32Array.from(values, Math.abs).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Columns of at most `maxColumns`: bins of `size` consecutive steps. */
interface Binning {
  size: number;
  columns: number;
}
function binning(steps: number, maxColumns: number): Binning {
  const size = Math.max(1, Math.ceil(steps / maxColumns));
  return { size, columns: Math.ceil(steps / size) };
}

/** Column c of a [steps, width] matrix's column `j`: the bin's mean (or sum). */
function binned(matrix: Float32Array, width: number, j: number, bins: Binning, steps: number, how: 'mean' | 'sum'): Float64Array {
  const out = new Float64Array(bins.columns);
  for (let c = 0; c < bins.columns; c++) {
    const end = Math.min(steps, (c + 1) * bins.size);
    let s = 0;
    for (let t = c * bins.size; t < end; t++) s += matrix[t * width + j]!;
    out[c] = how === 'mean' ? s / (end - c * bins.size) : s;
  }
  return out;
}

/** Mean |x| and variance of column `j` of a [steps, width] matrix. */
function columnKeys(matrix: Float32Array, width: number, j: number, steps: number): { activity: number; variance: number } {
  let abs = 0;
  let sum = 0;
  let sq = 0;
  for (let t = 0; t < steps; t++) {
    const v = matrix[t * width + j]!;
    abs += Math.abs(v);
    sum += v;
    sq += v * v;
  }
  const mean = sum / steps;
  return { activity: abs / steps, variance: Math.max(0, sq / steps - mean * mean) };
}

/** The `top` columns of highest mean |x| (all when there are no more), in index order. */
function topColumns(matrix: Float32Array, width: number, steps: number, top: number): number[] {
  const all = [...Array(width).keys()];
  if (width <= top) return all;
  const activity = all.map((j) => columnKeys(matrix, width, j, steps).activity);
  return all.sort((a, b) => activity[b]! - activity[a]! || a - b).slice(0, top).sort((a, b) => a - b);
}

function columnLabels(data: ReportData, bins: Binning): string[] {
  if (bins.size === 1) return data.stepLabels;
  return Array.from({ length: bins.columns }, (_, c) => String(c * bins.size));
}

/** A heatmap's rows: the chosen columns of a [steps, width] matrix, binned. */
function rowsOf(matrix: Float32Array, width: number, keys: number[], labels: (j: number) => string, bins: Binning, steps: number, how: 'mean' | 'sum'): HeatmapRow[] {
  return keys.map((j) => ({ key: j, label: labels(j), values: binned(matrix, width, j, bins, steps, how), ...columnKeys(matrix, width, j, steps) }));
}

function sortControls(group: string, maps: { id: string; title: string }[], initial: string, what: string): string {
  const options = (items: [string, string][], selected: string) => items.map(([v, t]) => `<option value="${v}"${v === selected ? ' selected' : ''}>${escapeHtml(t)}</option>`).join('');
  const mapSelect = maps.length > 1 ? ` of <select class="sort-map" data-group="${group}">${options(maps.map((m) => [m.id, m.title]), initial)}</select>` : '';
  return `<p class="controls">Order ${what} by <select class="sort-key" data-group="${group}">${options([['key', 'index'], ['activity', 'activity (mean |value|, largest first)'], ['variance', 'variance over the steps (largest first)']], 'key')}</select>${mapSelect}</p>`;
}

const percent = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const fixed = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

function statsTable(layer: ReportRecurrentLayer, shown: number[]): string {
  const { stats } = layer;
  const gates = Object.entries(stats.gates);
  const rows = gates.map(([name, g]) => `<tr><td>${escapeHtml(g.label)} (${name})</td><td>${fixed(g.all.mean)}</td><td>${fixed(g.all.std)}</td><td>${percent(g.all.shut)}</td><td>${percent(g.all.open)}</td></tr>`);
  const facts: string[] = [`${stats.steps} step${stats.steps === 1 ? '' : 's'} counted (masked steps left out)`];
  if (stats.timeConstant) {
    const tau = stats.timeConstant;
    facts.push(`forget time constant −1/ln(mean f): median ${fixed(median(tau), 1)} steps over the units (from ${fixed(Math.min(...tau), 1)} to ${fixed(Math.max(...tau), 1)})`);
  }
  if (stats.cellRange) facts.push(`cell state c from ${fixed(Math.min(...stats.cellRange.min))} to ${fixed(Math.max(...stats.cellRange.max))}`);
  const inactive = stats.inactiveUnits;
  facts.push(inactive.length === 0 ? 'no inactive unit (every unit reaches |h| ≥ 0.01)' : `${inactive.length} inactive unit${inactive.length === 1 ? '' : 's'} (|h| < 0.01 at every step): ${inactive.slice(0, 32).join(', ')}${inactive.length > 32 ? ', …' : ''}`);
  // Per unit, for the units drawn.
  const head = gates.map(([name]) => `<th>${name} mean</th><th>${name} std</th>`).join('') + (stats.timeConstant ? '<th>τ (steps)</th><th>c min</th><th>c max</th>' : '');
  const unitRows = shown.map((u) => {
    const cells = gates.map(([, g]) => `<td>${fixed(g.mean[u]!)}</td><td>${fixed(g.std[u]!)}</td>`).join('');
    const lstm = stats.timeConstant ? `<td>${fixed(stats.timeConstant[u]!, 1)}</td><td>${fixed(stats.cellRange!.min[u]!)}</td><td>${fixed(stats.cellRange!.max[u]!)}</td>` : '';
    return `<tr><td>${u}${inactive.includes(u) ? ' (inactive)' : ''}</td>${cells}${lstm}</tr>`;
  });
  return `<table class="stats"><thead><tr><th>gate</th><th>mean</th><th>spread (std)</th><th>shut (&lt; 0.05)</th><th>open (&gt; 0.95)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    + `<ul class="facts">${facts.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`
    + `<details><summary>per unit (the ${shown.length} units drawn)</summary><table class="stats units"><thead><tr><th>unit</th>${head}</tr></thead><tbody>${unitRows.join('')}</tbody></table></details>`;
}

function figure(title: string, svg: string, scale: ColourScale, caption: string): string {
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>${svg}${legendSvg(scale, caption)}</figure>`;
}

function recurrentSection(data: ReportData, layer: ReportRecurrentLayer, k: number, options: Required<RenderOptions>): string {
  const { steps } = layer;
  const bins = binning(steps, options.maxColumns);
  const U = layer.units;
  const shown = topColumns(layer.maps.h!, U, steps, options.topUnits);
  const group = `layer${k}`;
  const names = Object.keys(MAP_TITLES[layer.cell]).filter((m) => layer.maps[m]);
  // A layer after a RepeatVector has steps of its own: numbered, not labelled by the input.
  const labels = steps === data.steps ? columnLabels(data, bins) : Array.from({ length: bins.columns }, (_, c) => String(c * bins.size));
  const figures = names.map((map) => {
    const values = layer.maps[map]!;
    const title = MAP_TITLES[layer.cell][map]!;
    const svg = (scale: ColourScale) => heatmapSvg({ group, map, title, rowNoun: 'unit', rows: rowsOf(values, U, shown, String, bins, steps, 'mean'), columnLabels: labels, binSize: bins.size, steps, scale });
    if (isGate(map)) return figure(`${title}: units (rows) over the steps (columns)`, svg(sequentialScale(0, 1)), sequentialScale(0, 1), 'gate value');
    // A few units of large cell state would wash out the rest: colours saturate past the 99th percentile of |value|.
    const largest = largestMagnitude(values);
    const limit = percentileMagnitude(values, 0.99) || largest;
    const scale = divergingScale(limit);
    const saturates = limit < largest ? `; colours saturate past ±${shortNumber(limit)}, the 99th percentile of |value| (the largest is ${shortNumber(largest)})` : '';
    return figure(`${title}: units (rows) over the steps (columns)`, svg(scale), scale, `signed value (blue < 0 < red)${saturates}`);
  });
  const notes = [
    shown.length < U ? `${shown.length} of ${U} units drawn: those of highest mean |h|.` : `All ${U} units drawn.`,
    layer.reversed ? 'This layer reads the steps last to first; its values are drawn in the input’s order.' : '',
  ].filter(Boolean);
  return `<section class="layer"><h2>${escapeHtml(layer.title)} <small>${layer.cell.toUpperCase()}, ${U} units</small></h2>`
    + statsTable(layer, shown)
    + `<p>${escapeHtml(notes.join(' '))}</p>`
    + sortControls(group, names.map((m) => ({ id: m, title: MAP_TITLES[layer.cell][m]! })), 'h', 'units')
    + figures.join('') + '</section>';
}

function attributionSection(data: ReportData, options: Required<RenderOptions>, bins: Binning): string {
  const a = data.attribution;
  const F = a.featureLabels.length;
  const { steps } = data;
  const shown = topColumns(a.scores, F, steps, options.topUnits);
  const scores = rowsOf(a.scores, F, shown, (j) => a.featureLabels[j]!, bins, steps, 'sum');
  const perStep = binned(a.perStep, 1, 0, bins, steps, 'sum');
  const labels = columnLabels(data, bins);
  const scale = divergingScale(Math.max(...scores.map((r) => largestMagnitude(r.values))));
  const barScale = divergingScale(largestMagnitude(perStep));
  const titles = Array.from({ length: bins.columns }, (_, c) => (bins.size === 1 ? `step ${c} ${data.stepLabels[c]}` : `steps ${c * bins.size}–${Math.min(steps, (c + 1) * bins.size) - 1}`));
  const target = `output ${a.target}${a.targetLabel !== undefined ? ` (${a.targetLabel})` : ''}${a.targetStep !== undefined ? ` at step ${a.targetStep}` : ''}`;
  const how = a.method === 'integrated-gradients' ? ` with ${a.igSteps} Gauss-Legendre steps from a baseline of zeros` : a.method === 'occlusion' ? ', one step at a time replaced by zeros' : '';
  const why = a.targetIsArgmax ? 'the model’s largest output' : 'the target chosen';
  const delta = a.delta !== undefined ? ` Completeness gap (scores’ sum − (F(input) − F(baseline))): ${shortNumber(a.delta)}.` : '';
  const rows = a.featureKind === 'embedding' ? 'embedding dimensions' : 'input features';
  const heat = heatmapSvg({ group: 'attribution', map: 'scores', title: 'attribution', rowNoun: a.featureKind === 'embedding' ? 'dimension' : 'feature', rows: scores, columnLabels: labels, binSize: bins.size, steps, scale });
  return `<section id="attribution"><h2>Which inputs matter: ${escapeHtml(METHOD_NAMES[a.method])}</h2>`
    + `<p>${escapeHtml(`${METHOD_NAMES[a.method]}${how} of ${target}, ${why} (value ${shortNumber(a.targetValue)}). Red inputs raise it, blue ones lower it.${delta}`)}</p>`
    + `<figure><figcaption>Per step: the scores summed over the ${escapeHtml(rows)}${bins.size > 1 ? ` (and over the steps of each bar)` : ''}</figcaption>${barChartSvg(perStep, titles, barScale)}</figure>`
    + (shown.length < F ? `<p>${shown.length} of ${F} ${escapeHtml(rows)} drawn: those of highest mean |score|.</p>` : '')
    + sortControls('attribution', [], 'scores', escapeHtml(rows))
    + figure(`Scores: ${rows} (rows) over the steps (columns)`, heat, scale, 'score (blue < 0 < red)')
    + '</section>';
}

function summarySection(data: ReportData): string {
  const total = data.layers.reduce((s, l) => s + l.parameters, 0);
  const rows = data.layers.map((l, k) => `<tr><td>${k}</td><td>${escapeHtml(l.name)}</td><td>${escapeHtml(l.description)}</td><td>[${l.outputShape.join(', ')}]</td><td>${l.parameters.toLocaleString('en-US')}</td></tr>`);
  return `<section id="model"><h2>Model</h2><p>Input [${data.inputShape.join(', ')}], output [${data.outputShape.join(', ')}]; ${total.toLocaleString('en-US')} parameters; backend ${escapeHtml(data.backends.join(', ') || '–')}.</p>`
    + `<table><thead><tr><th>#</th><th>name</th><th>layer</th><th>output (one sequence)</th><th>parameters</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

const LABEL_KINDS: Record<ReportData['labelKind'], string> = {
  characters: 'characters (one-hot, through the vocabulary)',
  tokens: 'tokens of the vocabulary',
  ids: 'ids (no vocabulary given)',
  steps: 'step numbers',
  given: 'the labels given',
};

function inputSection(data: ReportData, bins: Binning): string {
  const shown = data.steps <= 400;
  const tokens = shown ? data.stepLabels.map((l, t) => `<span title="step ${t}">${escapeHtml(l)}</span>`).join('') : '';
  const predictions = data.predictions.map((p) => `<li>output ${p.index}${p.label !== undefined ? ` <b>${escapeHtml(p.label)}</b>` : ''}: ${shortNumber(p.value)}</li>`).join('');
  const binNote = bins.size > 1 ? ` Drawn in ${bins.columns} columns of ${bins.size} steps: gates and states averaged over each column’s steps, attribution summed; a column is labelled with its first step.` : '';
  return `<section id="input"><h2>Input</h2><p>${data.steps} steps, labelled by ${escapeHtml(LABEL_KINDS[data.labelKind])}.${escapeHtml(binNote)}</p>`
    + (shown ? `<p class="tokens">${tokens}</p>` : '')
    + `<p>Largest outputs${data.attribution.targetStep !== undefined ? ` at step ${data.attribution.targetStep}` : ''}:</p><ol class="predictions">${predictions}</ol></section>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em 2em;color:#222;max-width:1100px}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}
small{color:#666;font-weight:normal}table{border-collapse:collapse;margin:.4em 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right;font-variant-numeric:tabular-nums}
td:nth-child(2),td:nth-child(3),th{text-align:left}table.units td{text-align:right}
figure{margin:.8em 0}figcaption{font-weight:600;margin-bottom:2px}
svg.hm .cells rect{width:1px;height:1px}svg.hm text,svg.bars text{fill:#444}
svg .rl{text-anchor:end;font-size:9px}svg .cl{text-anchor:middle;font-size:9px}
svg.legend{display:block;font-size:10px}svg.legend text{fill:#444}
.tokens span{display:inline-block;min-width:.7em;border:1px solid #ddd;margin:1px;padding:0 2px;font-family:monospace;text-align:center}
.controls select{font:inherit}ul.facts{margin:.3em 0}
#tip{position:absolute;background:#fff;border:1px solid #888;padding:2px 6px;font-size:12px;pointer-events:none;white-space:nowrap}`;

// Reorders rows (every heatmap of a group by the keys of one of them) and shows a cell's value on
// hover. Plain DOM; reads only the page's own data attributes and its JSON of step labels.
export const REPORT_SCRIPT = `
(() => {
  const labels = JSON.parse(document.getElementById('step-labels').textContent);
  const tip = document.getElementById('tip');
  function sort(group) {
    const key = document.querySelector('select.sort-key[data-group="' + group + '"]').value;
    const mapSelect = document.querySelector('select.sort-map[data-group="' + group + '"]');
    const svgs = [...document.querySelectorAll('svg.hm')].filter((s) => s.dataset.group === group);
    const source = svgs.find((s) => mapSelect && s.dataset.map === mapSelect.value) || svgs[0];
    const rows = [...source.querySelectorAll('g.row')];
    rows.sort((a, b) => (key === 'key' ? a.dataset.key - b.dataset.key : b.dataset[key] - a.dataset[key] || a.dataset.key - b.dataset.key));
    const position = new Map(rows.map((r, k) => [r.dataset.key, k]));
    for (const svg of svgs) {
      const h = Number(svg.dataset.cellHeight);
      for (const r of svg.querySelectorAll('g.row')) r.setAttribute('transform', 'translate(0,' + position.get(r.dataset.key) + ')');
      for (const t of svg.querySelectorAll('text.rl')) t.setAttribute('y', 4 + position.get(t.dataset.key) * h + h * 0.8);
    }
  }
  for (const s of document.querySelectorAll('select.sort-key, select.sort-map')) s.addEventListener('change', () => sort(s.dataset.group));
  document.addEventListener('mousemove', (e) => {
    const cell = e.target;
    const row = cell.parentNode;
    if (!(cell instanceof SVGRectElement) || !row.classList || !row.classList.contains('row')) { tip.hidden = true; return; }
    const svg = cell.ownerSVGElement;
    const c = Number(cell.getAttribute('x'));
    const bin = Number(svg.dataset.bin);
    const first = c * bin;
    const last = Math.min(Number(svg.dataset.steps), first + bin) - 1;
    const where = bin === 1 ? 'step ' + first + ' ' + labels[first] : 'steps ' + first + '–' + last + (svg.dataset.group === 'attribution' ? ' (sum)' : ' (mean)');
    tip.textContent = svg.getAttribute('aria-label') + ', ' + row.dataset.label + ', ' + where + ': ' + row.dataset.values.split(',')[c];
    tip.style.left = e.pageX + 12 + 'px';
    tip.style.top = e.pageY + 12 + 'px';
    tip.hidden = false;
  });
})();`;

function count(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1) fail('ERR_LSTM_CONFIG', what, 'an integer >= 1', describe(value));
  return value as number;
}

/** The report as one HTML document (a string): self-contained, nothing fetched, opens from file://. */
export function renderReport(data: ReportData, options: RenderOptions = {}): string {
  const o: Required<RenderOptions> = { topUnits: count(options.topUnits, 'options.topUnits', 64), maxColumns: count(options.maxColumns, 'options.maxColumns', 200) };
  const bins = binning(data.steps, o.maxColumns);
  const body = [
    `<h1>${escapeHtml(data.title)}</h1><p>lstm-runtime inspection report: what the model computes for one input, step by step. Hover a cell for its value.</p>`,
    summarySection(data),
    inputSection(data, bins),
    attributionSection(data, o, bins),
    ...data.recurrent.map((layer, k) => recurrentSection(data, layer, k, o)),
  ];
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<title>${escapeHtml(data.title)}: lstm-runtime report</title><style>${STYLE}</style></head><body>${body.join('\n')}`
    + `<div id="tip" hidden></div><script type="application/json" id="step-labels">${jsonForScript(data.stepLabels)}</script><script>${REPORT_SCRIPT}</script></body></html>\n`;
}
