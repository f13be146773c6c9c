// No eval and no new Function where the package's code runs: a Content-Security-Policy of
// `script-src 'self' 'wasm-unsafe-eval'` and runtimes that forbid compiling code from strings
// (Cloudflare workerd, node --disallow-code-generation-from-strings) must run every model reader.
// Checked two ways: every JS file reachable from dist/index.js and dist/browser.js (relative imports,
// dynamic import() and require(), and into the dependencies package.json declares) is searched for
// eval(), Function() / new Function() and their string-taking cousins; and a Node process with code
// generation from strings disallowed loads and runs models of every format through dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from './native/child.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

// dist/ as npm install's prepare builds it, rebuilt here when lib/ changed since.
beforeAll(() => {
  expect(ensureDist(), 'dist/ is out of date (npm run build:ts)').toEqual([]);
}, 120_000);

// ---------------------------------------------------------------- the files

/** A call of eval, the Function constructor, or a timer or constructor given a string of code. */
const CODE_FROM_STRINGS: [string, RegExp][] = [
  ['eval(', /\beval\s*\)?\s*\(|\beval\s*\.\s*(?:call|apply|bind)\b/], // eval(...), (0, eval)(...), eval.call(...)
  ['Function(', /\bFunction\s*\(|\bFunction\s*\.\s*(?:call|apply|bind)\b|\bReflect\s*\.\s*construct\s*\(\s*Function\b/], // new Function(...), Function(...), Function.apply(...)
  ['.constructor(<string>)', /\.constructor\s*\(\s*['"`]/], // (function(){}).constructor('return this')
  ['setTimeout/setInterval(<string>)', /\bset(?:Timeout|Interval)\s*\(\s*['"`]/],
];

type Conditions = 'node' | 'browser';
/** The export conditions a resolver matches, in Node (dist/index.js) and in a browser bundler (dist/browser.js). */
const CONDITIONS: Record<Conditions, { import: string[]; require: string[] }> = {
  node: { import: ['node', 'import', 'default'], require: ['node', 'require', 'default'] },
  browser: { import: ['browser', 'worker', 'import', 'module', 'default'], require: ['browser', 'worker', 'require', 'module', 'default'] },
};

/** The first target of a package.json `exports` entry the conditions match. */
function exportTarget(target: unknown, conditions: string[]): string | null {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) return target.map((t) => exportTarget(t, conditions)).find((t) => t !== null) ?? null;
  if (target && typeof target === 'object') {
    for (const [key, value] of Object.entries(target)) {
      if (!conditions.includes(key)) continue;
      const found = exportTarget(value, conditions);
      if (found !== null) return found;
    }
  }
  return null;
}

const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!);
/** The package a bare specifier names ('pbf' for 'pbf/resolve'). */
const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/** The directory of package `name` as Node finds it from `file`: node_modules/name here or in a parent. */
function packageDir(name: string, file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return join(dir, 'node_modules', name);
    if (dirname(dir) === dir) throw new Error(`${file}: no package '${name}' in node_modules here or above`);
  }
}

/** A dependency's file for `import 'name/sub'` (or require) from `file`, through its exports map, else module/main. */
function resolveDependency(spec: string, file: string, conditions: string[]): string {
  const name = packageOf(spec);
  const subpath = `.${spec.slice(name.length)}`;
  const dir = packageDir(name, file);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: unknown; module?: string; main?: string };
  let target: string | null;
  if (pkg.exports !== undefined) {
    const map = typeof pkg.exports === 'object' && pkg.exports !== null && !Array.isArray(pkg.exports) && Object.keys(pkg.exports).some((k) => k.startsWith('.'))
      ? (pkg.exports as Record<string, unknown>)
      : { '.': pkg.exports };
    target = exportTarget(map[subpath], conditions);
  } else {
    target = subpath === '.' ? (conditions.includes('require') ? pkg.main : pkg.module ?? pkg.main) ?? 'index.js' : subpath;
  }
  if (target === null) throw new Error(`${spec} has no export for conditions ${conditions.join(', ')}`);
  return resolveFile(join(dir, target));
}

/** A relative specifier's file, as Node's CommonJS finds it (ESM specifiers in dist/ are exact). */
function resolveFile(path: string): string {
  for (const candidate of [path, `${path}.js`, join(path, 'index.js')]) if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  throw new Error(`no file for ${path}`);
}


interface Reached {
  /** Every JS file reached, with how it was reached (for messages). */
  files: Map<string, string>;
  /** Loads whose specifier is computed (not followed): file -> the calls. */
  computed: Map<string, string[]>;
}

/** Every JS file reachable from an entry, under Node's or a browser bundler's conditions. */
function reachable(entry: string, conditions: Conditions): Reached {
  const reached: Reached = { files: new Map(), computed: new Map() };
  const visit = (file: string, via: string) => {
    if (reached.files.has(file)) return;
    reached.files.set(file, via);
    const source = readFileSync(file, 'latin1');
    const cjs = file.endsWith('.cjs') || (!file.endsWith('.mjs') && /\brequire\s*\(/.test(source) && !/^\s*(?:import|export)\b/m.test(source));
    const loads: [string, 'import' | 'require'][] = [
      ...[...source.matchAll(/(?:^|[;\s})])(?:import|export)\s[^'"();]*?from\s*['"]([^'"\n]+)['"]/g)].map((m) => [m[1]!, 'import'] as [string, 'import']),
      ...[...source.matchAll(/(?:^|[;\s])import\s*['"]([^'"\n]+)['"]/g)].map((m) => [m[1]!, 'import'] as [string, 'import']),
      ...[...source.matchAll(/\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g)].map((m) => [m[1]!, 'import'] as [string, 'import']),
      // require2: esbuild's name for a local `require` (createRequire's) in the bundled Node entry.
      ...[...source.matchAll(/\brequire\d*\(\s*['"]([^'"\n]+)['"]\s*\)/g)].map((m) => [m[1]!, 'require'] as [string, 'require']),
    ];
    const computed = [...source.matchAll(/\b(?:import|require\d*)\(\s*(?!['"]|\))[^)]{0,60}\)/g)].map((m) => m[0]);
    if (computed.length) reached.computed.set(file, computed);
    for (const [spec, kind] of loads) {
      if (isBuiltin(spec)) continue;
      if (spec.startsWith('.')) {
        visit(cjs || kind === 'require' ? resolveFile(resolve(dirname(file), spec)) : resolve(dirname(file), spec), file);
        continue;
      }
      // A bare import from the package itself must be a declared dependency; from a dependency, any package.
      if (file.startsWith(join(ROOT, 'dist'))) expect(Object.keys(PACKAGE.dependencies), `${relative(ROOT, file)} imports '${spec}'`).toContain(packageOf(spec));
      visit(resolveDependency(spec, file, CONDITIONS[conditions][kind]), `${file} ('${spec}')`);
    }
  };
  visit(join(ROOT, entry), entry);
  return reached;
}

const ENTRIES: [string, Conditions][] = [
  ['dist/index.js', 'node'],
  ['dist/browser.js', 'browser'],
];

describe('no code compiled from strings in any file the package can run', () => {
  it.each(ENTRIES)('%s (%s conditions) and everything it imports', (entry, conditions) => {
    const { files, computed } = reachable(entry, conditions);
    const names = [...files.keys()].map((f) => relative(ROOT, f));
    // The walk reaches the ONNX decoder, the other readers, and each dependency's code. The Node entry
    // is bundled (scripts/bundle.mjs): there the readers are chunks (the decoder is in onnx-schema's).
    if (conditions === 'node') {
      expect(names.filter((f) => /^dist\/chunks\/(onnx-schema|keras)-\w+\.js$/.test(f))).toHaveLength(2);
    } else {
      expect(names).toContain('dist/load/onnx-proto.generated.js');
      expect(names).toContain('dist/load/keras.js');
    }
    expect(names).toContain('node_modules/pbf/index.js');
    // h5wasm's emscripten module, built with DYNAMIC_EXECUTION=0: where emscripten would eval EM_ASM /
    // EM_JS code it only aborts ("DYNAMIC_EXECUTION=0 was set, cannot eval"); there is no eval call.
    expect(names).toContain('node_modules/h5wasm/dist/esm/hdf5_util.js');
    expect(names).toContain(conditions === 'node' ? 'node_modules/fflate/esm/index.mjs' : 'node_modules/fflate/esm/browser.js');
    if (conditions === 'node') expect(names).toContain('node_modules/node-gyp-build/node-gyp-build.js');
    expect(names.some((f) => f.includes('protobufjs'))).toBe(false);

    const found: string[] = [];
    for (const file of files.keys()) {
      const source = readFileSync(file, 'latin1');
      for (const [what, pattern] of CODE_FROM_STRINGS) {
        const at = source.search(pattern);
        if (at >= 0) found.push(`${relative(ROOT, file)}: ${what} at ${JSON.stringify(source.slice(Math.max(0, at - 60), at + 60))}`);
      }
    }
    expect(found).toEqual([]);

    // The loads not followed: the native addon (a .node file, not JavaScript) by its computed path,
    // in native.js, which the Node bundle holds.
    const notFollowed = [...computed].map(([file, calls]) => `${relative(ROOT, file)}: ${calls.join(' ')}`);
    expect(notFollowed.filter((f) => !/^(dist\/backends\/native\.js|dist\/index\.js|node_modules\/node-gyp-build\/node-gyp-build\.js):/.test(f))).toEqual([]);
  });

  it("the package calls only fflate's synchronous functions (its asynchronous ones start workers from source strings)", () => {
    // fflate's zip, unzip, inflate... with a callback run in a worker made from a string of code:
    // new Worker(code, { eval: true }) on Node, a Blob URL in browsers (which a CSP's worker-src may
    // forbid). zipSync and unzipSync run inline, and so does the Inflate class (the synchronous
    // streaming inflater, which the .keras reader uses to stop an entry that inflates past its size).
    const imported = new Set<string>();
    for (const file of reachable('dist/index.js', 'node').files.keys()) {
      if (!file.startsWith(join(ROOT, 'dist'))) continue;
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/\{([^{}]*)\}\s*=\s*await import\(\s*['"]fflate['"]\s*\)|import\s*\{([^{}]*)\}\s*from\s*['"]fflate['"]/g)) {
        for (const name of (m[1] ?? m[2]!).split(',')) imported.add(name.trim().split(/\s*(?::|\bas\b)\s*/)[0]!);
      }
      expect(source, `${relative(ROOT, file)} imports fflate whole`).not.toMatch(/import\s+(?:\*\s*as\s+)?\w+\s+from\s*['"]fflate['"]|(?:const|let|var)\s+\w+\s*=\s*await import\(\s*['"]fflate['"]/);
    }
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect(name).toMatch(/Sync$|^Inflate$/);
  });
});

// ---------------------------------------------------------------- a process that forbids it

/** Runs an ES module in a Node process with eval and new Function disabled. */
function runWithoutEval(code: string, conditions: string[] = []): string {
  return execFileSync(process.execPath, ['--disallow-code-generation-from-strings', ...conditions, '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, LSTM_RUNTIME_BACKEND: '' },
  });
}

describe('node --disallow-code-generation-from-strings', () => {
  it('really forbids eval and new Function', () => {
    const out = runWithoutEval(`
      const tries = { eval: () => eval('1 + 1'), Function: () => new Function('return 1')() };
      console.log(JSON.stringify(Object.entries(tries).map(([k, f]) => { try { f(); return k + ' ran'; } catch (e) { return e.constructor.name; } })));`);
    expect(JSON.parse(out)).toEqual(['EvalError', 'EvalError']);
  });

  it.each([['node', []], ['browser', ['--conditions=browser']]] as const)(
    'loads and runs every ONNX fixture, a .keras and an .h5 model (and on Node a TF.js one) through the %s entry',
    (_, conditions) => {
      const out = runWithoutEval(`
        import { loadModel } from 'lstm-runtime';
        import { readdirSync, readFileSync } from 'node:fs';
        const results = {};
        const run = async (name, bytes, input, files) => {
          const model = await loadModel(bytes, { files });
          try { results[name] = { backend: model.layers.map((l) => l.backend).find(Boolean), output: Array.from(model.forward(input).output.data) }; } finally { model.dispose(); }
        };
        const onnx = 'test/fixtures/models/onnx/';
        for (const f of readdirSync(onnx).filter((f) => f.endsWith('.onnx'))) {
          const golden = JSON.parse(readFileSync(onnx + f.replace(/\\.onnx$/, '.json'), 'utf8'));
          const files = golden.external_data ? { [golden.external_data]: readFileSync(onnx + golden.external_data) } : undefined;
          await run(f, readFileSync(onnx + f), golden.cases[0].input, files);
        }
        const keras = JSON.parse(readFileSync('test/fixtures/models/keras/golden.json', 'utf8')).options.input;
        await run('options.keras', readFileSync('test/fixtures/models/keras/options.keras'), keras);
        await run('options.h5', readFileSync('test/fixtures/models/keras/options.h5'), keras);
        if (${conditions.length === 0}) { // a TF.js model by its path: the browser entry reads no files
          const tfjs = JSON.parse(readFileSync('test/fixtures/models/tfjs-golden.json', 'utf8')).models['keras/options.tfjs/model.json'];
          await run('options.tfjs', 'test/fixtures/models/keras/options.tfjs/model.json', tfjs.input);
        }
        console.log(JSON.stringify(results));`, [...conditions]);
      const results = JSON.parse(out) as Record<string, { backend: string; output: number[] }>;
      const onnx = readdirSync(join(ROOT, 'test/fixtures/models/onnx')).filter((f) => f.endsWith('.onnx'));
      expect(Object.keys(results).sort()).toEqual([...onnx, 'options.h5', 'options.keras', ...(conditions.length ? [] : ['options.tfjs'])].sort());
      const expected: Record<string, number[]> = {};
      for (const f of onnx) {
        const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/models/onnx', f.replace(/\.onnx$/, '.json')), 'utf8')) as { cases: { output: unknown[] }[] };
        expected[f] = (golden.cases[0]!.output as number[]).flat(4) as number[];
      }
      const keras = (JSON.parse(readFileSync(join(ROOT, 'test/fixtures/models/keras/golden.json'), 'utf8')) as { options: { output: number[][] } }).options.output.flat();
      expected['options.keras'] = keras;
      expected['options.h5'] = keras;
      expected['options.tfjs'] = (JSON.parse(readFileSync(join(ROOT, 'test/fixtures/models/tfjs-golden.json'), 'utf8')) as { models: Record<string, { output: number[] }> }).models['keras/options.tfjs/model.json']!.output;
      for (const [name, { backend, output }] of Object.entries(results)) {
        if (conditions.length) expect(backend, name).toMatch(/^wasm/);
        expect(output.length, name).toBe(expected[name]!.length);
        output.forEach((v, k) => expect(Math.abs(v - expected[name]![k]!), `${name}[${k}]`).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(expected[name]![k]!)));
      }
    },
  );
});
