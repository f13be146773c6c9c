// The package as users get it: the built dist/ through the exports map, from a separate process.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    expect(JSON.parse(out)).toEqual(['wasm-simd', 'wasm', 'js']);
  });

  it('no module reachable from dist/browser.js imports a Node built-in', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const [, spec] of source.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^node:|^(fs|path|url|module|child_process)$/);
        if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!));
      }
    };
    visit(resolve(ROOT, 'dist/browser.js'));
    expect(seen.size).toBeGreaterThan(5);
  });
});
