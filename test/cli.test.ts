// The lstm-runtime command as users run it: the built dist/cli/main.js in a separate process (build
// dist/ first: npx tsc -p tsconfig.build.json; npm install does it), and the library functions
// it prints (lib/io, lib/tools, lib/explain).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attribute, decodeCsv, decodeJsonTensor, decodeNpy, decodeNpz, decodeTensor, encodeJsonTensors, encodeNpy, encodeNpz, LstmError,
} from '../lib/index.js';
import { loadSequential as loadModel } from './helpers.js';
import { shortFloat32 } from '../lib/io/json.js';
import { fitInput } from '../lib/tools/model-input.js';
import { SHARED, sharedFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const KERAS = 'test/fixtures/models/keras';
const golden = JSON.parse(readFileSync(join(ROOT, KERAS, 'golden.json'), 'utf8')) as Record<string, { input: number[][][] | number[][]; output: number[][] | number[][][]; formats: string[] }>;

let dir: string;
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build dist/ first (npx tsc -p tsconfig.build.json)`);
  dir = mkdtempSync(join(tmpdir(), 'lstm-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string | Uint8Array, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, input, encoding: 'utf8', env: { ...process.env, LSTM_RUNTIME_BACKEND: '', ...env }, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** Runs a command that must succeed and returns its stdout. */
function ok(args: string[], input?: string | Uint8Array): string {
  const r = cli(args, input);
  expect(r.status, `lstm-runtime ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
const tmp = (name: string) => join(dir, name);
const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) expect(Math.abs(actual[k]! - expected[k]!), `value ${k}: ${actual[k]} vs ${expected[k]}`).toBeLessThan(tol);
}
/** A .npy file written by hand (numpy.save's layout), for the reader's dtypes. */
function npy(descr: string, shape: number[], body: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

describe('lstm-runtime: commands, help and exit codes', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(ok(['--version']).trim()).toBe(version);
  });

  it('--help for the program and each command', () => {
    const help = ok(['--help']);
    for (const command of ['info', 'run', 'bench', 'inspect', 'serve']) expect(help).toMatch(new RegExp(`^  ${command} `, 'm'));
    for (const command of ['info', 'run', 'bench', 'inspect', 'serve']) expect(ok([command, '--help'])).toMatch(new RegExp(`^Usage: lstm-runtime ${command} `));
    expect(ok(['run', '--help'])).toMatch(/--input <file>[\s\S]*--out <file>[\s\S]*--backend[\s\S]*--threads[\s\S]*--precision[\s\S]*--trace/);
    expect(ok(['bench', '--help'])).toMatch(/--config[\s\S]*--backend[\s\S]*--quick[\s\S]*--json[\s\S]*--svg/);
  });

  it('usage errors exit 2: unknown command, unknown option, missing argument, bad values', () => {
    const model = `${KERAS}/options.keras`;
    for (const args of [
      ['nonsense'],
      [],
      ['info', '--nope'],
      ['run', model],
      ['run', '--input', 'x.json'],
      ['run', model, '--input', 'x.json', '--threads', '0'],
      ['run', model, '--input', 'x.json', '--precision', 'f8'],
      ['run', model, '--input', 'x.json', '--backend', 'gpu'],
      ['run', model, '--input', 'x.json', '--out', 'y.txt'],
      ['bench', '--config', 'S9', '--quick'],
      ['bench', '--backend', 'cuda', '--quick'],
      ['bench', '--steps', '5'],
      ['inspect'],
    ]) {
      const r = cli(args);
      expect(r.status, `lstm-runtime ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(cli(['nonsense']).stderr).toMatch(/^lstm-runtime: error: unknown command 'nonsense'/);
  });

  it('an LstmError exits 1 with one line: lstm-runtime: <code>: <message>', () => {
    const broken = tmp('broken.keras');
    writeFileSync(broken, Uint8Array.from({ length: 200 }, (_, k) => (k * 37) & 0xff));
    const input = tmp('in.json');
    writeFileSync(input, JSON.stringify(golden.options!.input));
    const r = cli(['run', broken, '--input', input]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^lstm-runtime: ERR_LSTM_MODEL: .*broken\.keras: [^\n]+\n$/);
    // A truncated zip is still a model error, and the wrong input is an error of its own.
    writeFileSync(broken, readFileSync(join(ROOT, KERAS, 'options.keras')).subarray(0, 300));
    expect(cli(['run', broken, '--input', input]).stderr).toMatch(/^lstm-runtime: ERR_LSTM_MODEL: [^\n]+\n$/);
    const wrong = cli(['run', `${KERAS}/options.keras`, '--input', '-'], '[[[1, 2]]]');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^lstm-runtime: ERR_LSTM_SHAPE: [^\n]+\n$/);
    const missing = cli(['run', `${KERAS}/options.keras`, '--input', tmp('absent.json')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^lstm-runtime: ENOENT: [^\n]+absent\.json'\n$/);
  });
});

describe('lstm-runtime info', () => {
  it('--json has the version, the CPU, the threads and every backend', () => {
    const info = JSON.parse(ok(['info', '--json']));
    expect(info.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(info.backends.map((b: { name: string }) => b.name)).toEqual(['native', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js']);
    for (const b of info.backends) expect(b.available ? b.implementation : b.reason, b.name).toEqual(expect.any(String));
    expect(info.threads).toBeGreaterThanOrEqual(1);
    const native = info.backends[0];
    if (native.available) {
      expect(info.cpu.nativeImplementations[0]).toBe(native.implementation);
      expect(info.cpu.nativeImplementations).toContain('native/scalar');
    }
  });

  it('prints each backend with what it runs or why not', () => {
    const text = ok(['info']);
    expect(text).toMatch(/^lstm-runtime \d+\.\d+\.\d+ on Node v/);
    expect(text).toMatch(/threads available/);
    for (const name of ['native', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js']) expect(text).toMatch(new RegExp(`^  ${name} +(available: runs|unavailable: )`, 'm'));
  });

  it('a backend that cannot load: why, and the fix', () => {
    const env = { LSTM_RUNTIME_ADDON: join(dir, 'absent.node') };
    const r = cli(['info'], undefined, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^  native +unavailable: LSTM_RUNTIME_ADDON=.*absent\.node did not load.*\n +fix: unset LSTM_RUNTIME_ADDON/m);
    expect(r.stdout).toMatch(/native implementations: none/);
    const native = JSON.parse(cli(['info', '--json'], undefined, env).stdout).backends[0];
    expect(native).toMatchObject({ name: 'native', available: false, reason: expect.stringMatching(/absent\.node/), fix: expect.any(String) });
  });
});

describe('lstm-runtime run', () => {
  it("prints each Keras fixture model's output on its golden input, within 1e-5 of Keras", () => {
    for (const [name, g] of Object.entries(golden)) {
      const input = tmp(`${name}.json`);
      writeFileSync(input, JSON.stringify(g.input));
      const { output } = JSON.parse(ok(['run', `${KERAS}/${name}.keras`, '--input', input]));
      expect(output.shape, name).toEqual([g.output.length, g.output[0]!.length, ...(Array.isArray(g.output[0]![0]) ? [(g.output[0]![0] as number[]).length] : [])]);
      expectClose(flat(output.data), flat(g.output));
    }
  });

  it('reads .npy (float64, float32, int64 ids) and writes .npy, .npz and .json that read back', async () => {
    const g = golden.options!;
    const x = flat(g.input);
    const body64 = new Uint8Array(new Float64Array(x).buffer);
    writeFileSync(tmp('x64.npy'), npy('<f8', [3, 5, 3], body64));
    writeFileSync(tmp('x32.npy'), npy('<f4', [3, 5, 3], new Uint8Array(new Float32Array(x).buffer)));
    const model = `${KERAS}/options.keras`;
    ok(['run', model, '--input', tmp('x64.npy'), '--out', tmp('y.npy')]);
    const y = decodeNpy(readFileSync(tmp('y.npy')));
    expect(y.shape).toEqual([3, 2]);
    expectClose(y.data, flat(g.output));
    ok(['run', model, '--input', tmp('x32.npy'), '--out', tmp('y.json')]);
    expectClose(flat(JSON.parse(readFileSync(tmp('y.json'), 'utf8')).output.data), flat(g.output));
    ok(['run', model, '--input', tmp('x32.npy'), '--out', tmp('y.npz'), '--trace']);
    const arrays = await decodeNpz(readFileSync(tmp('y.npz')));
    expect(Object.keys(arrays)).toEqual(['output', ...['z', 'r', 'g', 'h'].map((k) => `trace/0_gru/${k}`), ...['i', 'f', 'g', 'o', 'c', 'h'].map((k) => `trace/1_lstm/${k}`)]);
    expectClose(arrays.output!.data, flat(g.output));
    expect(arrays['trace/0_gru/z']!.shape).toEqual([3, 5, 6]);
    expect(arrays['trace/1_lstm/c']!.shape).toEqual([3, 5, 4]);
    // Ids as int64, the way numpy saves an integer array.
    const e = golden.embedding_mask_zero!;
    writeFileSync(tmp('ids.npy'), npy('<i8', [3, 8], new Uint8Array(BigInt64Array.from(flat(e.input), BigInt).buffer)));
    expectClose(flat(JSON.parse(ok(['run', `${KERAS}/embedding_mask_zero.keras`, '--input', tmp('ids.npy')])).output.data), flat(e.output));
  });

  it('reads CSV (a header row skipped) as one sequence, from a file and from stdin', () => {
    const g = golden.options!;
    const rows = (g.input as number[][][])[1]!; // the second sequence, [steps, features]
    const csv = `a,b,c\n${rows.map((r) => r.join(',')).join('\n')}\n`;
    writeFileSync(tmp('seq.csv'), csv);
    const fromFile = JSON.parse(ok(['run', `${KERAS}/options.keras`, '--input', tmp('seq.csv')])).output;
    expect(fromFile.shape).toEqual([1, 2]);
    expectClose(fromFile.data[0], (g.output as number[][])[1]!);
    expect(JSON.parse(ok(['run', `${KERAS}/options.keras`, '--input', '-'], csv)).output).toEqual(fromFile);
    // A column of ids for a model of ids, without a header.
    const ids = (golden.embedding_mask_zero!.input as number[][])[2]!;
    const out = JSON.parse(ok(['run', `${KERAS}/embedding_mask_zero.h5`, '--input', '-'], ids.join('\n'))).output;
    expectClose(out.data[0], (golden.embedding_mask_zero!.output as number[][])[2]!);
  });

  it('reads JSON from stdin, nested or { data, shape }; --backend, --precision pass through', () => {
    const g = golden.lstm_gru_dense!;
    const nested = JSON.parse(ok(['run', `${KERAS}/lstm_gru_dense.tfjs/model.json`, '--input', '-'], JSON.stringify(g.input)));
    expectClose(flat(nested.output.data), flat(g.output));
    const flatInput = JSON.stringify({ shape: [3, 7, 5], data: flat(g.input) });
    const js = JSON.parse(ok(['run', `${KERAS}/lstm_gru_dense.h5`, '--input', '-', '--backend', 'js'], flatInput));
    expectClose(flat(js.output.data), flat(g.output));
    const int8 = JSON.parse(ok(['run', `${KERAS}/lstm_gru_dense.keras`, '--input', '-', '--backend', 'wasm-simd', '--precision', 'int8'], flatInput));
    expectClose(flat(int8.output.data), flat(g.output), 1e-2);
    // ONNX, time-major: [steps, batch, features] in and out.
    const onnx = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/models/onnx/lstm2_time_major.json'), 'utf8')).cases[0];
    const out = JSON.parse(ok(['run', 'test/fixtures/models/onnx/lstm2_time_major.onnx', '--input', '-'], JSON.stringify(onnx.input))).output;
    expect(out.shape).toEqual([6, 2, 3]);
    expectClose(flat(out.data), flat(onnx.output));
  });

  it('--trace prints every recurrent layer gate by gate, in [batch, steps, units]', () => {
    const g = golden.bidirectional_dropout!;
    const r = JSON.parse(ok(['run', `${KERAS}/bidirectional_dropout.keras`, '--input', '-', '--trace'], JSON.stringify(g.input)));
    expectClose(flat(r.output.data), flat(g.output));
    const layers = Object.keys(r.trace);
    expect(layers.length).toBeGreaterThan(0);
    for (const layer of layers) {
      const t = layer.endsWith('_bidirectional') ? r.trace[layer].forward : r.trace[layer];
      const gates = layer.includes('gru') ? ['z', 'r', 'g', 'h'] : ['i', 'f', 'g', 'o', 'c', 'h'];
      if (!layer.endsWith('_bidirectional')) expect(Object.keys(t)).toEqual(gates);
      for (const [gate, tensor] of Object.entries(t) as [string, { shape: number[]; data: unknown }][]) {
        expect(tensor.shape.slice(0, 2), `${layer}/${gate}`).toEqual([3, 6]);
        expect(flat(tensor.data)).toHaveLength(tensor.shape.reduce((a, b) => a * b, 1));
        if (gate === 'f' || gate === 'i' || gate === 'o' || gate === 'z' || gate === 'r') for (const v of flat(tensor.data)) expect(v >= 0 && v <= 1).toBe(true);
      }
    }
    expect(layers.some((l) => l.endsWith('_bidirectional'))).toBe(true);
    const bi = r.trace[layers.find((l) => l.endsWith('_bidirectional'))!];
    expect(Object.keys(bi)).toEqual(['forward', 'backward']);
  });

  it('refuses --out x.npy with --trace (one array): usage error pointing to .npz and .json', () => {
    const r = cli(['run', `${KERAS}/options.keras`, '--input', '-', '--trace', '--out', tmp('t.npy')], JSON.stringify(golden.options!.input));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\.npz or \.json/);
    expect(existsSync(tmp('t.npy'))).toBe(false);
  });
});

describe('lstm-runtime bench and inspect', () => {
  it('bench --quick --config S2 --backend js,wasm-simd --json: a row per backend, a cell per configuration; --svg', () => {
    const svg = tmp('bench.svg');
    const r = cli(['bench', '--quick', '--config', 'S2', '--backend', 'js,wasm-simd', '--json', '--svg', svg]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/S2 js/); // progress
    const report = JSON.parse(r.stdout);
    expect(report.columns.map((c: { id: string }) => c.id)).toEqual(['S2']);
    expect(report.columns[0].config).toMatchObject({ B: 1, T: 100, I: 32, U: 64 });
    expect(report.rows.map((row: { backend: string }) => row.backend)).toEqual(['wasm-simd', 'js']);
    expect(report.columns[0].baseline).toBe('js');
    for (const row of report.rows) {
      const cell = row.cells.S2;
      expect(cell.status).toBe('ok');
      expect(cell).toMatchObject({ medianUs: expect.any(Number), gflops: expect.any(Number), speedup: expect.any(Number), samples: expect.any(Number) });
      expect(cell.samples).toBeGreaterThanOrEqual(5);
      expect(cell.maxAbsDiff).toBeLessThan(1e-4);
    }
    expect(report.rows[1].cells.S2.speedup).toBe(1);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg [\s\S]*S2 seq-small[\s\S]*wasm-simd[\s\S]*<\/svg>\n$/);
  });

  it('bench <model> times the model on each backend, and prints a table', () => {
    const r = cli(['bench', `${KERAS}/options.keras`, '--quick', '--backend', 'js,wasm', '--steps', '7', '--batch', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend +test\/fixtures\/models\/keras\/options\.keras \(input \[2,7,3\]\)\n/);
    // A time in µs or ms, whichever the machine's speed gives.
    expect(r.stdout).toMatch(/^wasm +\S+ (µs|ms) · [\d.]+×$/m);
    expect(r.stdout).toMatch(/^js +\S+ (µs|ms) · 1\.00×$/m);
  });
});

describe('lstm-runtime inspect --out: the HTML report', () => {
  const NIETZSCHE = join(SHARED, 'fixtures/models/tfjs_lstm_text_generation_nietzsche');

  it('writes one self-contained HTML file for a model and an input file, and exits 0', async () => {
    const input = tmp('report-in.json');
    writeFileSync(input, JSON.stringify(golden.lstm_gru_dense!.input));
    const out = tmp('report.html');
    const r = cli(['inspect', `${KERAS}/lstm_gru_dense.keras`, '--input', input, '--method', 'gradient', '--target', '0', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
    expect(html).not.toMatch(/\s(src|href)=|https?:|<link/);
    // The first sequence of the input, attributed as the API attributes it.
    const model = await loadModel(join(ROOT, KERAS, 'lstm_gru_dense.keras'));
    const x = fitInput(model, decodeJsonTensor(JSON.stringify(golden.lstm_gru_dense!.input)));
    const first = { data: x.data.slice(0, x.shape[1]! * x.shape[2]!), shape: [1, x.shape[1]!, x.shape[2]!] };
    const a = await attribute(model, first, { method: 'gradient', target: 0 });
    const bars = [...html.matchAll(/class="bar" data-value="([^"]+)"/g)].map((m) => Number(m[1]));
    expectClose(bars, a.perStep.data, 1e-3 * Math.max(...Array.from(a.perStep.data, Math.abs)));
    expect(html).toContain('<h1>lstm_gru_dense.keras</h1>');
    model.dispose();
  });

  it('--labels names the steps (timestamps of a series), one line each; a count that does not match the steps is exit 1', () => {
    const input = tmp('series.json');
    writeFileSync(input, JSON.stringify(golden.lstm_gru_dense!.input));
    const steps = (golden.lstm_gru_dense!.input as number[][][])[0]!.length;
    const labels = tmp('times.txt');
    const times = Array.from({ length: steps }, (_, t) => `2026-12-0${1 + (t % 9)}T0${t % 10}:00`);
    writeFileSync(labels, times.join('\n') + '\n');
    const out = tmp('labelled.html');
    const r = cli(['inspect', `${KERAS}/lstm_gru_dense.keras`, '--input', input, '--labels', labels, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(JSON.parse(/<script type="application\/json" id="step-labels">([^<]*)<\/script>/.exec(html)![1]!)).toEqual(times);
    writeFileSync(labels, times.slice(1).join('\n'));
    const wrong = cli(['inspect', `${KERAS}/lstm_gru_dense.keras`, '--input', input, '--labels', labels, '--out', out]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(new RegExp(`options\\.labels: expected an array of ${steps} labels`));
  });

  it.skipIf(!sharedFor('inspect --text on the Nietzsche model of ../shared'))('--text with --vocab one-hot encodes the text of a character model', () => {
    const out = tmp('nietzsche.html');
    const r = cli(['inspect', join(NIETZSCHE, 'model.json'), '--text', 'what is "b"?', '--vocab', join(NIETZSCHE, 'char_indices.json'), '--out', out, '--ig-steps', '8']);
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('12 steps, labelled by characters');
    expect(html).toContain('with 8 Gauss-Legendre steps');
    expect(html).toContain('<span title="step 8">&quot;</span><span title="step 9">b</span><span title="step 10">&quot;</span>');
  });

  it('without --out prints as before; report options without --out, --text without --vocab, bad values exit 2; library errors exit 1', () => {
    const model = `${KERAS}/lstm_gru_dense.keras`;
    expect(ok(['inspect', model, '--steps', '4'])).toMatch(/^test\/fixtures\/models\/keras\/lstm_gru_dense\.keras: 3 layers/);
    const vocab = tmp('vocab.json');
    writeFileSync(vocab, JSON.stringify(['a', 'b', 'c']));
    for (const [args, message] of [
      [['inspect', model, '--input', 'x.json'], /--input applies to the HTML report: add --out report\.html/],
      [['inspect', model, '--target-step', '-1'], /--target-step applies to the HTML report/],
      [['inspect', model, '--text', 'abc', '--out', tmp('r.html')], /--text needs --vocab/],
      [['inspect', model, '--text', 'abc', '--vocab', vocab, '--input', 'x.json', '--out', tmp('r.html')], /--text and --input both/],
      [['inspect', model, '--method', 'shap', '--out', tmp('r.html')], /--method.*Allowed choices are integrated-gradients, gradient, gradient-x-input, occlusion/],
      [['inspect', model, '--target', '-1', '--out', tmp('r.html')], /--target.*expected an integer >= 0/],
      [['inspect', model, '--top-units', '0', '--out', tmp('r.html')], /--top-units.*expected an integer >= 1/],
    ] as const) {
      const r = cli([...args]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const target = cli(['inspect', model, '--target', '99', '--out', tmp('r.html')]);
    expect(target.status).toBe(1);
    expect(target.stderr).toMatch(/^lstm-runtime: ERR_LSTM_CONFIG: options\.target: expected an integer in \[0, \d+\)[^\n]*\n$/);
    const text = cli(['inspect', model, '--text', 'abz', '--vocab', vocab, '--out', tmp('r.html')]);
    expect(text.status).toBe(1);
    expect(text.stderr).toMatch(/^lstm-runtime: ERR_LSTM_INPUT: text: expected characters of the vocabulary, got "z" at position 2\n$/);
    const missing = cli(['inspect', model, '--input', tmp('absent.json'), '--out', tmp('r.html')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^lstm-runtime: ENOENT: /);
    expect(existsSync(tmp('r.html'))).toBe(false);
  });
});

describe('lstm-runtime serve: the live inspector', () => {
  it('serves the page, the model and the WebAssembly on 127.0.0.1, nothing outside them, and stops on SIGINT with 0', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) resolve(m[0]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code} before printing its address`)));
    });
    try {
      const get = async (path: string) => {
        const r = await fetch(new URL(path, url));
        return { status: r.status, type: r.headers.get('content-type'), csp: r.headers.get('content-security-policy'), body: new Uint8Array(await r.arrayBuffer()) };
      };
      const page = await get('/');
      expect(page.status).toBe(200);
      expect(new TextDecoder().decode(page.body)).toContain('<script type="module" src="/app.js">');
      // The page may run its own scripts, WebAssembly and the report's one inline script (by hash), nothing else.
      expect(page.csp).toMatch(/script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/=]+';/);
      const scriptSrc = /script-src [^;]*/.exec(page.csp ?? '')![0];
      expect(scriptSrc).not.toMatch(/'unsafe-inline'|'unsafe-eval'/);
      expect(JSON.parse(new TextDecoder().decode((await get('/meta.json')).body))).toEqual({ model: 'planted-lag.keras', title: 'planted-lag.keras', vocab: null });
      expect((await get('/app.js')).type).toMatch(/javascript/);
      expect((await get('/model/planted-lag.keras')).body).toEqual(new Uint8Array(readFileSync(join(ROOT, 'examples/models/planted-lag.keras'))));
      expect((await get('/wasm/dist/lstm-simd.wasm')).type).toBe('application/wasm');
      for (const outside of ['/model/../../package.json', '/model/%2e%2e/%2e%2e/package.json', '/..%2f..%2fpackage.json', '/wasm/dist/../../package.json', '/nothing.js']) {
        expect((await get(outside)).status, outside).toBe(404);
      }
    } finally {
      child.kill('SIGINT');
    }
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
  }, 30_000);

  it('a model that is not there is exit 1 with its name; a bad port is exit 2', () => {
    const missing = cli(['serve', 'no-such-model.keras']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no-such-model\.keras/);
    expect(cli(['serve', '--port', 'x']).status).toBe(2);
  });
});

describe('the library behind the command', () => {
  it('npy: reads float64, int32, int64 and float32 in C order; writes float32 numpy reads', () => {
    const t = decodeNpy(npy('<f8', [2, 2], new Uint8Array(new Float64Array([1.5, -2, 3.25, 1e-3]).buffer)));
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data)).toEqual([1.5, -2, 3.25, Math.fround(1e-3)]);
    expect(Array.from(decodeNpy(npy('<i4', [3], new Uint8Array(new Int32Array([7, -1, 0]).buffer))).data)).toEqual([7, -1, 0]);
    expect(Array.from(decodeNpy(npy('<i8', [2], new Uint8Array(new BigInt64Array([5n, 19n]).buffer))).data)).toEqual([5, 19]);
    const round = decodeNpy(encodeNpy({ data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] }));
    expect(round).toEqual({ data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] });
    expect((encodeNpy({ data: [1], shape: [1] }).length - 4) % 64).toBe(0); // header padded to 64 bytes
    expect(() => decodeNpy(npy('>f4', [1], new Uint8Array(4)))).toThrow(/little-endian/);
    expect(() => decodeNpy(npy('<f4', [4], new Uint8Array(8)))).toThrow(LstmError);
    expect(() => decodeNpy(new Uint8Array([1, 2, 3]), 'x.npy')).toThrow(/^x\.npy: expected a \.npy file/);
  });

  it('npz round trip; CSV with and without a header; JSON { data, shape } with nested data', async () => {
    const arrays = await decodeNpz(await encodeNpz({ output: { data: [1, 2], shape: [2] }, 'trace/0_lstm/i': { data: [0.5], shape: [1, 1, 1] } }));
    expect(Object.keys(arrays)).toEqual(['output', 'trace/0_lstm/i']);
    expect(arrays['trace/0_lstm/i']!.shape).toEqual([1, 1, 1]);
    expect(decodeCsv('x,y\n1,2\n3,4\n')).toEqual({ data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] });
    expect(decodeCsv('1;2\r\n3;4\r\n\r\n')).toEqual({ data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] });
    expect(() => decodeCsv('1,2\n3\n', 'a.csv')).toThrow(/^a\.csv: line 2: expected 2 columns, got 1/);
    expect(() => decodeCsv('1,2\n3,x\n')).toThrow(/line 2, column 2: expected a number, got "x"/);
    expect(decodeJsonTensor('{"shape": [1, 2], "data": [[1, 2]]}')).toEqual({ data: Float32Array.from([1, 2]), shape: [1, 2] });
    expect(() => decodeJsonTensor('{"shape": [3], "data": [1, 2]}')).toThrow(/expected 3 values/);
    expect(decodeTensor(new TextEncoder().encode(' [[1,2]]'))).toEqual({ data: Float32Array.from([1, 2]), shape: [1, 2] });
    // The JSON written reads back as the same float32 values.
    const values = Float32Array.from([0.1, 1 / 3, -2.5e-8, 123456.789]);
    const json = encodeJsonTensors({ output: { data: values, shape: [2, 2] } });
    expect(json).toBe('{\n  "output": {\n    "shape": [2, 2],\n    "data": [\n      [0.1, 0.33333334],\n      [-2.5e-8, 123456.79]\n    ]\n  }\n}\n');
    expect(decodeJsonTensor(JSON.stringify(JSON.parse(json).output)).data).toEqual(values);
    expect(shortFloat32(Math.fround(0.2))).toBe(0.2);
  });

  it('fitInput: a sequence without its batch axis gets one (time-major: in the middle)', async () => {
    const model = await loadModel(join(ROOT, KERAS, 'options.keras'), { backend: 'js' });
    expect(fitInput(model, { data: new Float32Array(15), shape: [5, 3] }).shape).toEqual([1, 5, 3]);
    expect(fitInput(model, { data: new Float32Array(15), shape: [1, 5, 3] }).shape).toEqual([1, 5, 3]);
    model.dispose();
    const ids = await loadModel(join(ROOT, KERAS, 'embedding_mask_zero.keras'), { backend: 'js' });
    expect(fitInput(ids, { data: new Float32Array(4), shape: [4] }).shape).toEqual([1, 4]);
    expect(fitInput(ids, { data: new Float32Array(4), shape: [4, 1] }, { oneSequence: true }).shape).toEqual([1, 4]);
    expect(() => fitInput(ids, { data: new Float32Array(8), shape: [4, 2] }, { oneSequence: true })).toThrow(/one column/);
    ids.dispose();
    const timeMajor = await loadModel(join(ROOT, 'test/fixtures/models/onnx/lstm2_time_major.onnx'), { backend: 'js' });
    expect(fitInput(timeMajor, { data: new Float32Array(18), shape: [6, 3] }).shape).toEqual([6, 1, 3]);
    timeMajor.dispose();
  });
});
