// `lstm-runtime serve` in headless Chromium: the page loads the model from the server, runs it on
// WebAssembly and draws the report in a frame. The test edits the input as a user does (types into
// a character model, edits a series), waits for the redraw, and checks that the drawn cells carry
// what the library computes in Node for the same input: the hidden state of every drawn unit at
// every step (the trace) and every attribution score. Screenshots go to out/ (or $SCREENSHOT_DIR).
//
//   npm run build:ts && npm --prefix test/browser run live
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { attribute, encodeText, exampleModel, loadModel, readVocabulary, serveInspector } from 'lstm-runtime';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const HERE = dirname(fileURLToPath(import.meta.url));
const NIETZSCHE = resolve(HERE, '../../../shared/fixtures/models/tfjs_lstm_text_generation_nietzsche');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const BUDGET_MS = 150_000;
const started = performance.now();
let passed = 0;
let failed = 0;
const check = (ok, what, detail = '') => {
  ok ? passed++ : failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${String(detail).replace(/\s+/g, ' ').slice(0, 500)}` : ''}`);
  return ok;
};
const finish = () => {
  console.log(`live: ${passed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(failed || !passed ? 1 : 0);
};
setTimeout(() => {
  check(false, 'the whole run', `not finished within ${BUDGET_MS / 1000} s`);
  finish();
}, BUDGET_MS).unref();

/** Rows of the drawn heatmaps: [group, map, key] -> numbers, read from the frame's document. */
async function drawnRows(page) {
  return page.frameLocator('#report').locator('svg.hm').evaluateAll((svgs) =>
    svgs.flatMap((svg) => [...svg.querySelectorAll('g.row')].map((row) => [svg.dataset.group, svg.dataset.map, Number(row.dataset.key), row.dataset.values.split(',').map(Number)])),
  );
}

/** Waits for the page's next redraw after `action`. */
async function redrawn(page, action) {
  const before = Number(await page.locator('body').getAttribute('data-drawn'));
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.drawn) > n, before, { timeout: 60_000 });
}

/** Each drawn value against the library's [steps, width] matrix (columns are steps, rows units or features). */
function compare(rows, group, map, matrix, steps, width, tolerance, what) {
  const drawn = rows.filter(([g, m]) => g === group && m === map);
  let worst = 0;
  let where = '';
  for (const [, , key, values] of drawn) {
    values.forEach((v, t) => {
      const want = matrix[t * width + key];
      const excess = Math.abs(v - want) - (tolerance.abs + tolerance.rel * Math.abs(want));
      if (excess > worst) [worst, where] = [excess, `row ${key} step ${t}: drawn ${v}, library ${want}`];
    });
  }
  check(drawn.length > 0 && drawn.every(([, , , v]) => v.length === steps) && worst === 0, `${what}: ${drawn.length} rows x ${steps} steps drawn as computed`, where);
}

/** Opens the inspector of `model`, lets `edit` change the input, and checks the drawing against Node. */
async function inspect(browser, label, modelPath, options, edit, expected) {
  const inspector = await serveInspector(modelPath, options);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // ERR_ABORTED is the page's own doing (a body read to its end is then cancelled), not a failure.
  page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  try {
    await page.goto(inspector.url);
    await page.waitForFunction(() => Number(document.body.dataset.drawn) >= 1, null, { timeout: 60_000 });
    check(true, `${label}: the page drew the model's report`, await page.textContent('#status'));
    await redrawn(page, () => edit(page));
    const text = await page.inputValue('#input');
    const target = Number(await page.inputValue('#target'));
    const rows = await drawnRows(page);
    const { x, steps, units, features } = await expected(text);
    const model = await loadModel(modelPath);
    const { trace } = model.forward(x, { trace: true });
    compare(rows, rows.find(([g, m]) => m === 'h')?.[0], 'h', trace[0].h.data, steps, units, { abs: 2e-4, rel: 1.5e-3 }, `${label}: hidden state h`);
    const { scores } = await attribute(model, x, { method: 'integrated-gradients', target });
    compare(rows, 'attribution', 'scores', scores.data, steps, features, { abs: 2e-3, rel: 5e-3 }, `${label}: integrated gradients of output ${target}`);
    model.dispose();
    check(errors.length === 0, `${label}: no script error, no failed request`, errors.join(' | '));
    const shots = process.env.SCREENSHOT_DIR || join(HERE, 'out');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `live-${label}.png`) });
    console.log(`     screenshot: ${join(shots, `live-${label}.png`)}`);
  } finally {
    await page.close();
    await inspector.close();
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  // The example forecaster (in the package): the user replaces the series.
  const series = [0.5, -1.2, 0.3, 2.0, -0.7, 1.1, 0.0, -0.4, 1.6, -2.1, 0.8, 0.2];
  await inspect(browser, 'series', exampleModel(), {}, async (page) => {
    await page.fill('#input', series.join('\n'));
    await page.selectOption('#target', '0');
  }, async () => ({ x: { data: Float32Array.from(series), shape: [1, 12, 1] }, steps: 12, units: 16, features: 1 }));

  // A character model (../shared's Nietzsche text generator): the user types.
  if (existsSync(join(NIETZSCHE, 'model.json'))) {
    const vocabFile = join(NIETZSCHE, 'char_indices.json');
    const vocabulary = readVocabulary(readFileSync(vocabFile, 'utf8'));
    const model = join(NIETZSCHE, 'model.json');
    await inspect(browser, 'text', model, { vocab: vocabFile }, async (page) => {
      await page.selectOption('#target', String(vocabulary.indices.get('e')));
      await page.locator('#input').press('End');
      await page.keyboard.type(' and yet', { delay: 20 });
    }, async (text) => {
      const m = await loadModel(model);
      const x = encodeText(m, [...text].filter((c) => vocabulary.indices.has(c)).slice(-200).join(''), vocabulary);
      m.dispose();
      return { x, steps: x.shape[1], units: 128, features: x.shape[2] };
    });
  } else {
    console.log(`     the character model is not at ${NIETZSCHE}: only the series model was checked`);
  }
} catch (error) {
  check(false, 'the live inspector', error.stack ?? error);
} finally {
  await browser.close();
}
finish();
