// The package as users get it: the built dist/ through the exports map, from a separate process.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runModule(code: string, args: string[] = []): string {
  return execFileSync(process.execPath, [...args, '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LSTM_RUNTIME_BACKEND: '' } });
}

describe('the published entry points', () => {
  it("import from 'lstm-runtime' resolves to the Node entry and runs the hand-checked case", () => {
    const out = runModule(`
      import { Lstm, toNested } from 'lstm-runtime';
      const layer = await Lstm.create({ inputSize: 2, units: 3, activation: 'linear', recurrentActivation: 'linear',
        weights: { kernel: [[2,1,1,0,0,0,0,1,1,0,1,0],[1,1,0,1,1,0,0,1,1,0,0,0]],
                   recurrentKernel: [[1,0,0,1,2,1,0,1,2,0,1,0],[1,1,0,0,2,1,0,1,2,2,0,0],[1,0,1,2,0,1,0,1,1,0,1,0]],
                   bias: [3,1,0,1,1,0,0,1,0,2,0,0] } });
      const r = layer.forward([[[1, 0]]]);
      console.log(JSON.stringify({ backend: layer.backend, h: toNested(r.h), c: toNested(r.c) }));`);
    const result = JSON.parse(out);
    expect(result.backend).toMatch(/^native\//);
    expect(result.h).toEqual([[0, 4, 0]]);
    expect(result.c).toEqual([[0, 4, 1]]);
  });

  it("the 'browser' condition loads an entry with no Node built-ins, without the native backend", () => {
    const out = runModule(`
      import { backends } from 'lstm-runtime';
      console.log(JSON.stringify((await backends()).map((b) => b.name)));`, ['--conditions=browser']);
    expect(JSON.parse(out)).toEqual(['wasm-relaxed', 'wasm-simd', 'wasm', 'js']);
  });

  it('no module reachable from dist/browser.js imports a Node built-in', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      // Static imports and exports, and dynamic import('...') of the parts loaded on demand.
      for (const [, spec] of source.matchAll(/(?:(?:import|export)[^'"();]*?from\s*|import\(\s*)['"]([^'"]+)['"]/g)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^node:|^(fs|path|url|module|child_process)$/);
        if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!));
      }
    };
    visit(resolve(ROOT, 'dist/browser.js'));
    expect(seen.size).toBeGreaterThan(5);
    expect([...seen].some((f) => f.endsWith('load/keras.js')), 'the model readers are reached').toBe(true);
  });

  it("the 'browser' entry loads a Keras model from bytes (HDF5 in WebAssembly, no file system)", () => {
    const out = runModule(`
      import { loadModel } from 'lstm-runtime';
      import { readdirSync, readFileSync } from 'node:fs';
      const model = await loadModel(readFileSync('test/fixtures/models/keras/options.keras'));
      const r = model.forward(JSON.parse(readFileSync('test/fixtures/models/keras/golden.json', 'utf8')).options.input);
      console.log(JSON.stringify({ backend: model.layers[0].backend, output: Array.from(r.output.data) }));`, ['--conditions=browser']);
    const { backend, output } = JSON.parse(out);
    const expected = JSON.parse(readFileSync(resolve(ROOT, 'test/fixtures/models/keras/golden.json'), 'utf8')).options.output.flat();
    // Its file: URLs read through process.getBuiltinModule('node:fs/promises'); relaxed SIMD runs by default from Node 22.
    expect(backend).toBe(Number(process.versions.node.split('.')[0]) >= 22 ? 'wasm-relaxed' : 'wasm-simd');
    output.forEach((v: number, k: number) => expect(Math.abs(v - expected[k])).toBeLessThan(1e-5));
  });

  it('lstm-runtime inspect (and examples/inspect.mjs) prints the layers and gates of a loaded model', () => {
    const cli = (args: string[]) => execFileSync(process.execPath, ['dist/cli/main.js', 'inspect', ...args], { cwd: ROOT, encoding: 'utf8' });
    const out = cli(['test/fixtures/models/keras/embedding_mask_zero.keras', '--steps', '12']);
    // Each layer by the name the file gives it (the .keras file's config.json), then what it is.
    expect(out).toMatch(/0\. 'embedding' Embedding 20 ids -> 6, id 0 masked/);
    expect(out).toMatch(/1\. 'bidirectional_3' Bidirectional\(Lstm 5\) concat/);
    expect(out.match(/forget gate +mean 0\.\d{3}/g)).toHaveLength(2);
    expect(out).toMatch(/update gate +mean 0\.\d{3}/);
    // The example prints the same report through the library.
    const example = execFileSync(process.execPath, ['examples/inspect.mjs', 'test/fixtures/models/keras/embedding_mask_zero.keras', '12'], { cwd: ROOT, encoding: 'utf8' });
    expect(example).toBe(out);
    // Every Keras fixture model, whatever layers it holds (RepeatVector, Flatten, pooling, ...).
    for (const file of readdirSync(resolve(ROOT, 'test/fixtures/models/keras')).filter((f) => f.endsWith('.keras'))) {
      const report = cli([`test/fixtures/models/keras/${file}`, '--steps', '6']);
      expect(report, file).toMatch(/gates, over every step and unit:\n  \d/);
    }
  });
});
