// docs/report.png: the inspection report of the Nietzsche model of ../shared, written by the
// command line and photographed in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). Also checks the page as a browser sees it: no script error, no request
// outside the file, and the hover script showing a cell's value.
//
//   npm run build:ts && node test/browser/report-screenshot.mjs [out.png]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const MODEL = resolve(ROOT, '../shared/fixtures/models/tfjs_lstm_text_generation_nietzsche');
const OUT = resolve(process.argv[2] ?? join(ROOT, 'docs/report.png'));
const TEXT = 'supposing that truth is a woman--what then? is there not ground';

if (!existsSync(MODEL)) throw new Error(`${MODEL} is missing: the screenshot shows the Nietzsche model of ../shared`);
const dir = mkdtempSync(join(tmpdir(), 'lstm-report-shot-'));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const html = join(dir, 'report.html');
  execFileSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'inspect', join(MODEL, 'model.json'), '--text', TEXT, '--vocab', join(MODEL, 'char_indices.json'), '--out', html], { stdio: 'inherit' });
  const page = await browser.newPage({ viewport: { width: 1000, height: 2700 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('request', (r) => r.url() !== `file://${html}` && problems.push(`request: ${r.url()}`));
  await page.goto(`file://${html}`);
  // Hover the hidden state's first cell of the first row: the tooltip shows its value.
  const cell = page.locator('svg.hm[data-map="h"] g.row >> nth=0').locator('rect >> nth=0');
  await cell.hover();
  const tip = await page.locator('#tip').textContent();
  const written = await page.locator('svg.hm[data-map="h"] g.row >> nth=0').getAttribute('data-values');
  if (!tip?.endsWith(`: ${written.split(',')[0]}`)) problems.push(`hover shows "${tip}", expected the value ${written.split(',')[0]}`);
  // Sorting by variance reorders the rows of every heatmap of the layer.
  await page.selectOption('select.sort-key[data-group="layer0"]', 'variance');
  const first = await page.locator('svg.hm[data-map="f"] g.row[transform="translate(0,0)"]').getAttribute('data-key');
  await page.selectOption('select.sort-key[data-group="layer0"]', 'key');
  if (first === null) problems.push('sorting left no row at the top');
  await page.mouse.move(0, 0);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: OUT, clip: { x: 0, y: 0, width: 1000, height: 2700 } });
  if (problems.length) throw new Error(problems.join('\n'));
  console.log(`${OUT}: ${(statSync(OUT).size / 1024).toFixed(0)} kB; hover "${tip}"; top unit by variance of f: ${first}`);
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
