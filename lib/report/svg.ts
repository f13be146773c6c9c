// SVG pictures as strings: colour scales with their legend, heatmaps of rows x columns, and a bar
// chart of signed values. No charting library: a heatmap is rectangles, a bar chart too.
import { escapeHtml } from './escape.js';

/** A map from values to colours over [min, max]. */
export interface ColourScale {
  kind: 'sequential' | 'diverging';
  min: number;
  max: number;
  colour(value: number): string;
}

type Rgb = [number, number, number];
const hex = (c: string): Rgb => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16)) as Rgb;
// Viridis (matplotlib), perceptually uniform and readable in grey: for gates in [0, 1].
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'].map(hex);
// RdBu reversed (ColorBrewer): blue negative, white zero, red positive, for signed values.
const RED_BLUE = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'].map(hex);

/** The colour at `t` in [0, 1] along `stops`, linear in RGB between neighbours. */
function along(stops: Rgb[], t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(x));
  const f = x - k;
  const [a, b] = [stops[k]!, stops[k + 1]!];
  return '#' + a.map((v, j) => Math.round(v + f * (b[j]! - v)).toString(16).padStart(2, '0')).join('');
}

/** Sequential colours over [min, max] (gates: [0, 1]). */
export function sequentialScale(min = 0, max = 1): ColourScale {
  const span = max - min || 1;
  return { kind: 'sequential', min, max, colour: (v) => along(VIRIDIS, (v - min) / span) };
}

/** Diverging colours symmetric about 0 over [-limit, limit]: white at 0, whatever the values' own range. */
export function divergingScale(limit: number): ColourScale {
  const m = limit > 0 && Number.isFinite(limit) ? limit : 1;
  return { kind: 'diverging', min: -m, max: m, colour: (v) => along(RED_BLUE, (v / m + 1) / 2) };
}

/** The largest |value| (0 for none), for a diverging scale's limit. */
export function largestMagnitude(values: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < values.length; k++) if (Math.abs(values[k]!) > m) m = Math.abs(values[k]!);
  return m;
}

/** A number in 4 significant digits, as short as it goes ('0.1234' -> '.1234'): hover and data attributes. */
export function shortNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  return String(Number(v.toPrecision(4))).replace(/^(-?)0\./, '$1.');
}

/** A legend: the scale's colours from min to max, with both ends and (diverging) 0 labelled. */
export function legendSvg(scale: ColourScale, caption: string): string {
  const n = 40;
  const w = 160;
  const cells = Array.from({ length: n }, (_, k) => `<rect x="${(k * w) / n}" y="0" width="${w / n + 0.5}" height="10" fill="${scale.colour(scale.min + ((k + 0.5) / n) * (scale.max - scale.min))}"/>`);
  const label = (x: number, v: number, anchor: string) => `<text x="${x}" y="22" text-anchor="${anchor}">${shortNumber(v)}</text>`;
  return `<svg class="legend" width="${w + 600}" height="26" viewBox="-1 -1 ${w + 600} 26"><g>${cells.join('')}</g>`
    + label(0, scale.min, 'start') + (scale.kind === 'diverging' ? label(w / 2, 0, 'middle') : '') + label(w, scale.max, 'end')
    + `<text x="${w + 8}" y="9">${escapeHtml(caption)}</text></svg>`;
}

/** One row of a heatmap: a unit (or feature) and its value at each column. */
export interface HeatmapRow {
  /** What the row is, as the sort script finds it again (a unit's or feature's index). */
  key: number;
  label: string;
  values: ArrayLike<number>;
  /** Sort keys: mean |value| and variance over the row's full-resolution values. */
  activity: number;
  variance: number;
}

export interface HeatmapSpec {
  /** The sort group: heatmaps of one group reorder their rows together. */
  group: string;
  /** The map's name within its group ('f', 'h', 'scores'): the sort control's choice of whose keys. */
  map: string;
  title: string;
  /** What a row is, for the hover text: 'unit', 'feature'. */
  rowNoun: string;
  rows: HeatmapRow[];
  /** Labels under the columns ('' for none): one per column. */
  columnLabels: string[];
  /** Steps per column (1 when not downsampled) and the steps in all, for the hover text. */
  binSize: number;
  steps: number;
  scale: ColourScale;
}

const LEFT = 44;
const TOP = 4;

/** Cell size that keeps a heatmap within about 900 x 520 pixels, and legible when small. */
function cellSize(columns: number, rows: number): { w: number; h: number } {
  return { w: Math.max(2, Math.min(18, Math.floor(900 / Math.max(1, columns)))), h: Math.max(4, Math.min(14, Math.floor(520 / Math.max(1, rows)))) };
}

/**
 * A heatmap: one row of cells per unit (or feature), one column per step (or bin of steps). Cells
 * are drawn in unit coordinates (a scaled group; their size comes from the page's CSS) so each is
 * only its x and colour; a row holds its values in data-values, comma-separated in column order,
 * for the hover script and tests.
 */
export function heatmapSvg(spec: HeatmapSpec): string {
  const columns = spec.columnLabels.length;
  const { w, h } = cellSize(columns, spec.rows.length);
  // Column labels as often as the widest fits (about 6 pixels a character), at least 40 pixels apart when cells are narrow.
  const widest = Math.max(1, ...spec.columnLabels.map((l) => l.length));
  const every = Math.max(1, Math.ceil((widest * 6 + 2) / w), w >= 9 ? 1 : Math.ceil(40 / w));
  const labelled = spec.columnLabels.some((l) => l !== '');
  const bottom = labelled ? 16 : 4;
  const width = LEFT + columns * w + 4;
  const height = TOP + spec.rows.length * h + bottom;
  const rows = spec.rows.map((row, k) => {
    const cells = Array.from({ length: columns }, (_, c) => `<rect x="${c}" fill="${spec.scale.colour(row.values[c]!)}"/>`).join('');
    const values = Array.from({ length: columns }, (_, c) => shortNumber(row.values[c]!)).join(',');
    return `<g class="row" data-key="${row.key}" data-label="${escapeHtml(`${spec.rowNoun} ${row.label}`)}" data-activity="${shortNumber(row.activity)}" data-variance="${shortNumber(row.variance)}" data-values="${values}" transform="translate(0,${k})">${cells}</g>`;
  });
  const rowLabels = spec.rows.map((row, k) => `<text class="rl" data-key="${row.key}" x="${LEFT - 3}" y="${TOP + k * h + h * 0.8}">${escapeHtml(row.label)}</text>`);
  const colLabels = labelled
    ? spec.columnLabels.map((l, c) => (c % every === 0 && l !== '' ? `<text class="cl" x="${LEFT + (c + 0.5) * w}" y="${height - 4}">${escapeHtml(l)}</text>` : '')).join('')
    : '';
  const fontSize = Math.min(10, h);
  return `<svg class="hm" data-group="${escapeHtml(spec.group)}" data-map="${escapeHtml(spec.map)}" data-bin="${spec.binSize}" data-steps="${spec.steps}" data-cell-height="${h}"`
    + ` width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(spec.title)}" style="font-size:${fontSize}px">`
    + `<g class="cells" transform="translate(${LEFT},${TOP}) scale(${w},${h})">${rows.join('')}</g>`
    + `<g class="rls">${rowLabels.join('')}</g>${colLabels}</svg>`;
}

/**
 * Signed bars, one per column, up from a zero line for positive values and down for negative,
 * coloured by `scale`; each bar's exact value in its <title>. Aligned with a heatmap of as many
 * columns (the same cell width and left margin).
 */
export function barChartSvg(values: ArrayLike<number>, titles: string[], scale: ColourScale, rowsBelow = 1): string {
  const columns = values.length;
  const { w } = cellSize(columns, rowsBelow);
  const half = 60;
  const limit = largestMagnitude(values) || 1;
  const width = LEFT + columns * w + 4;
  const bars = Array.from({ length: columns }, (_, c) => {
    const v = values[c]!;
    const len = (Math.abs(v) / limit) * half;
    const y = v >= 0 ? half - len : half;
    return `<rect class="bar" data-value="${shortNumber(v)}" x="${LEFT + c * w}" y="${y.toFixed(2)}" width="${Math.max(1, w - (w > 3 ? 1 : 0))}" height="${Math.max(len, 0.5).toFixed(2)}" fill="${scale.colour(v)}"><title>${escapeHtml(titles[c]!)}: ${shortNumber(v)}</title></rect>`;
  });
  return `<svg class="bars" width="${width}" height="${2 * half + 4}" viewBox="0 0 ${width} ${2 * half + 4}">`
    + `<text x="${LEFT - 3}" y="10" class="rl">${shortNumber(limit)}</text><text x="${LEFT - 3}" y="${2 * half}" class="rl">${shortNumber(-limit)}</text>`
    + `<line x1="${LEFT}" x2="${width - 4}" y1="${half}" y2="${half}" stroke="#888" stroke-width="0.5"/>${bars.join('')}</svg>`;
}
