// A benchmark report (lib/tools/benchmark.ts) as a text table and as an SVG bar chart.
import type { BenchCell, BenchReport } from './benchmark.js';

/** Microseconds, with the unit that keeps three or four digits. */
export function formatMicroseconds(us: number): string {
  if (us >= 1e5) return `${(us / 1e3).toFixed(0)} ms`;
  if (us >= 1e4) return `${(us / 1e3).toFixed(1)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  return `${us.toFixed(2)} µs`;
}

const formatRatio = (x: number) => (x >= 10 ? x.toFixed(0) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)) + '×';

function cellText(cell: BenchCell | undefined): string {
  if (!cell) return '–';
  if (cell.status !== 'ok') return cell.status;
  return [formatMicroseconds(cell.medianUs!), cell.gflops !== undefined ? `${cell.gflops.toFixed(2)} GF/s` : null, cell.speedup !== undefined ? formatRatio(cell.speedup) : null].filter(Boolean).join(' · ');
}

/** 'js', or 'js; S5: native/avx2, where js did not run' when columns differ; '' for none. */
function speedupBaselines(report: BenchReport): string {
  const counts = new Map<string, number>();
  for (const c of report.columns) if (c.baseline) counts.set(c.baseline, (counts.get(c.baseline) ?? 0) + 1);
  const main = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!main) return '';
  const others = report.columns.filter((c) => c.baseline && c.baseline !== main).map((c) => `${c.id}: ${c.baseline}`);
  return others.length ? `${main}; ${others.join(', ')}, where ${main} did not run` : main;
}

/**
 * One row per backend, one column per configuration: median time per call, GFLOP/s and speedup
 * over the column's baseline row; then why any cell did not run, and the notes.
 */
export function formatBenchmarkTable(report: BenchReport): string {
  const header = ['backend', ...report.columns.map((c) => c.title)];
  const body = report.rows.map((r) => [r.backend, ...report.columns.map((c) => cellText(r.cells[c.id]))]);
  const widths = header.map((h, k) => Math.max(h.length, ...body.map((row) => row[k]!.length)));
  const line = (cells: string[]) => cells.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  const lines = [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ''];
  const why = report.rows.flatMap((r) => report.columns.flatMap((c) => {
    const cell = r.cells[c.id];
    return cell && cell.status !== 'ok' ? [`${r.backend} ${c.id === 'model' ? '' : c.id + ' '}${cell.status}: ${cell.note ?? ''}`] : [];
  }));
  lines.push(...why.map((w) => w.replace(/: $/, '')));
  const against = speedupBaselines(report);
  if (against) lines.push(`speedup (its time / this time, > 1× is faster) against ${against}`);
  lines.push(...report.notes);
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Horizontal bars of speedup over each column's baseline row, log scale, one group of bars per
 * configuration, each labelled with its time: an SVG document as a string.
 */
export function benchmarkSvg(report: BenchReport, title = 'lstm-runtime bench'): string {
  const ratios = report.rows.flatMap((r) => report.columns.map((c) => r.cells[c.id]?.speedup).filter((x): x is number => x !== undefined && x > 0));
  const lo = Math.floor(Math.log10(Math.min(1, ...ratios)));
  let hi = Math.ceil(Math.log10(Math.max(1, ...ratios)));
  if (hi - lo < 1) hi = lo + 1;
  const W = 860, left = 150, right = 150, barH = 16, gap = 4, groupGap = 26, top = 50;
  const plotW = W - left - right;
  const x = (v: number) => left + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const groupHeight = report.rows.length * (barH + gap) + groupGap;
  const H = top + report.columns.length * groupHeight + 30;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}: speedup over ${esc(speedupBaselines(report) || 'nothing')}, log scale</text>`);
  o.push(`<text x="${W / 2}" y="36" text-anchor="middle" fill="#555">${esc(report.mode.quick ? 'quick mode' : 'full run')}; each bar: median time per call</text>`);
  const bottom = H - 30;
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p).toFixed(1);
    o.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${bottom}" stroke="${p === 0 ? '#111' : '#ddd'}"/>`);
    o.push(`<text x="${gx}" y="${bottom + 14}" text-anchor="middle" fill="#333">${p >= 0 ? 10 ** p : (10 ** p).toPrecision(1)}×</text>`);
  }
  report.columns.forEach((column, g) => {
    const gy = top + g * groupHeight;
    o.push(`<text x="8" y="${gy + 4}" font-weight="bold" font-size="12">${esc(column.title)}</text>`);
    report.rows.forEach((row, k) => {
      const y = gy + 10 + k * (barH + gap);
      const cell = row.cells[column.id];
      o.push(`<text x="${left - 6}" y="${y + barH - 4}" text-anchor="end">${esc(row.backend)}</text>`);
      if (cell?.status === 'ok' && cell.speedup !== undefined) {
        const x0 = x(10 ** lo);
        const x1 = x(Math.max(cell.speedup, 10 ** lo));
        o.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${barH}" fill="${row.backend === column.baseline ? '#6b7280' : '#2563eb'}"/>`);
        o.push(`<text x="${(x1 + 4).toFixed(1)}" y="${y + barH - 4}">${esc(formatRatio(cell.speedup))} (${esc(formatMicroseconds(cell.medianUs!))})</text>`);
      } else {
        o.push(`<text x="${left + 4}" y="${y + barH - 4}" fill="#999" font-style="italic">${esc(cell ? cell.status : 'not run')}</text>`);
      }
    });
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}
