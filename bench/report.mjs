// The report's target (issue 13): `lstm-runtime inspect` on a 1,000-step series through a
// 128-unit model, under 1 s, the HTML under 5 MB. Writes a TF.js model (LSTM(128) -> Dense(1),
// seeded random weights) and a 1,000 x 4 CSV series to a temporary folder, then times the command
// as users run it (a process, model loading included; median of 3) for each attribution method,
// and in-process the parts: gathering (forward with trace, gateStats, attribute) and rendering.
//
//   npm run build:ts && node bench/report.mjs        (needs no peer: only the built dist/)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, readModelInput, renderReport, reportData } from '../dist/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STEPS = 1000;
const FEATURES = 4;
const UNITS = 128;

function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A TF.js layers model.json with one weights file: LSTM(UNITS) -> Dense(1), Glorot-scaled uniform weights. */
function writeModel(dir) {
  const random = seeded(13);
  const uniform = (n, limit) => Float32Array.from({ length: n }, () => (2 * random() - 1) * limit);
  const weights = [
    ['lstm/kernel', [FEATURES, 4 * UNITS], uniform(FEATURES * 4 * UNITS, Math.sqrt(6 / (FEATURES + 4 * UNITS)))],
    ['lstm/recurrent_kernel', [UNITS, 4 * UNITS], uniform(UNITS * 4 * UNITS, Math.sqrt(6 / (5 * UNITS)))],
    ['lstm/bias', [4 * UNITS], Float32Array.from({ length: 4 * UNITS }, (_, k) => (k >= UNITS && k < 2 * UNITS ? 1 : 0))],
    ['dense/kernel', [UNITS, 1], uniform(UNITS, Math.sqrt(6 / (UNITS + 1)))],
    ['dense/bias', [1], new Float32Array(1)],
  ];
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'series',
      layers: [
        { class_name: 'LSTM', config: { name: 'lstm', units: UNITS, batch_input_shape: [null, null, FEATURES], activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, return_sequences: false } },
        { class_name: 'Dense', config: { name: 'dense', units: 1, activation: 'linear', use_bias: true } },
      ],
    },
    keras_version: '2.15.0',
    backend: 'tensorflow',
  };
  const manifest = [{ paths: ['weights.bin'], weights: weights.map(([name, shape]) => ({ name, shape, dtype: 'float32' })) }];
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: manifest }));
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(weights.map(([, , data]) => Buffer.from(data.buffer))));
}

/** A CSV series: a step per row, FEATURES noisy sines of different periods. */
function writeSeries(file) {
  const random = seeded(5);
  const rows = Array.from({ length: STEPS }, (_, t) => Array.from({ length: FEATURES }, (_, f) => (Math.sin((2 * Math.PI * t) / (20 + 30 * f)) + 0.1 * (random() - 0.5)).toFixed(5)).join(','));
  writeFileSync(file, rows.join('\n') + '\n');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'lstm-report-bench-'));
try {
  writeModel(dir);
  const series = join(dir, 'series.csv');
  writeSeries(series);
  const model = join(dir, 'model.json');
  console.log(`inspect on ${STEPS} steps x ${FEATURES} features through LSTM(${UNITS}) -> Dense(1); median of 3 runs\n`);
  console.log('| attribution | command (process, wall) | gather: forward + gateStats + attribute | render | HTML |');
  console.log('|---|---|---|---|---|');
  const m = await loadModel(model);
  const input = readModelInput(m, readFileSync(series), { name: series });
  for (const [label, flags, options] of [
    ['integrated gradients, 50 steps (default)', [], {}],
    ['integrated gradients, 8 steps', ['--ig-steps', '8'], { igSteps: 8 }],
    ['gradient × input', ['--method', 'gradient-x-input'], { method: 'gradient-x-input' }],
  ]) {
    const out = join(dir, 'report.html');
    const wall = [];
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      execFileSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'inspect', model, '--input', series, '--out', out, ...flags]);
      wall.push(performance.now() - t0);
    }
    const gather = [];
    const render = [];
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      const data = await reportData(m, input, options);
      const t1 = performance.now();
      renderReport(data);
      gather.push(t1 - t0);
      render.push(performance.now() - t1);
    }
    const ms = (x) => `${median(x).toFixed(0)} ms`;
    console.log(`| ${label} | ${ms(wall)} | ${ms(gather)} | ${ms(render)} | ${(statSync(out).size / 1e6).toFixed(2)} MB |`);
  }
  console.log(`\nbackend ${m.layers[0].backend}; node ${process.version}`);
  m.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
