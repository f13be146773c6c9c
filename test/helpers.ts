import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { backends, Gru, Lstm, type LstmOptions, type Tensor } from '../lib/index.js';
import { runsRelaxedSimd } from '../lib/backends/wasm-source.js';
import { loadModel, sequentialOnly } from '../lib/load/index.js';

/** loadModel for a chain: the tests of Sequential models load them with this. */
export async function loadSequential(...args: Parameters<typeof loadModel>) {
  return sequentialOnly(await loadModel(...args), 'this test');
}

export const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));

/**
 * Whether ../shared (the conformance cases and the real models) is beside the checkout. A clone
 * anywhere must pass `npm test`, so without it the suites that read it skip, each saying so in one
 * line; under CI=true it must be there, so CI always runs them.
 */
export function sharedFor(what: string): boolean {
  if (existsSync(SHARED)) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true needs ${SHARED} beside the checkout, for ${what}`);
  console.log(`skipped: ${what} (it reads ${SHARED}, which is not beside this checkout)`);
  return false;
}
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export type Nested = number | Nested[];

export interface FixtureCall {
  input: number[][][];
  initialState?: { h: number[][]; c?: number[][] };
  mask?: number[][];
  sequenceLengths?: number[];
  resetStatesBefore?: boolean;
  expected: { output: Nested; h: number[][]; c?: number[][]; trace?: Record<string, Nested> };
}
export interface FixtureCase {
  name: string;
  cell: 'lstm' | 'gru';
  layout: 'keras' | 'pytorch' | 'onnx' | 'keras1';
  config: Record<string, unknown>;
  weights: Record<string, unknown>;
  calls: FixtureCall[];
  tolerance: { abs: number; rel: number };
}

export function readFixture<T = FixtureCase>(file: string): T[] {
  return JSON.parse(readFileSync(FIXTURES + file, 'utf8')).cases as T[];
}

/** The single-layer golden cases (lstm-*.json, gru-*.json) made by scripts/gen_fixtures.py. */
export function goldenCases(): { file: string; cases: FixtureCase[] }[] {
  return readdirSync(FIXTURES)
    .filter((f) => /^(lstm|gru)-.*\.json$/.test(f))
    .map((file) => ({ file, cases: readFixture(file).map((c) => ({ ...c, cell: file.startsWith('gru') ? 'gru' : 'lstm' }) as FixtureCase) }));
}

/** ../shared/conformance cases, normalised to the fixture form. */
export function conformanceCases(): FixtureCase[] {
  const dir = SHARED + 'conformance/';
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const c = JSON.parse(readFileSync(dir + f, 'utf8'));
      const tol = typeof c.tolerance === 'number' ? { abs: c.tolerance, rel: c.tolerance } : (c.tolerance ?? { abs: 1e-5, rel: 1e-5 });
      return { name: c.name, cell: 'lstm', layout: 'keras', config: c.config, weights: c.weights, calls: [{ input: c.input, expected: c.expected }], tolerance: tol };
    });
}

/** Every implementation this machine can run: native ISAs, both WASM modules, js. */
export async function implementations(): Promise<string[]> {
  const list: string[] = [];
  for (const b of await backends()) {
    // Node 20 runs relaxed SIMD only with --experimental-wasm-relaxed-simd: wasm-relaxed is tested
    // in the 'relaxed' project of vitest.config.ts, which passes it.
    if (b.name === 'wasm-relaxed' && !runsRelaxedSimd()) continue;
    if (!b.available) throw new Error(`backend ${b.name} failed to load: ${b.reason}`);
    list.push(...(b.name === 'native' ? b.implementations! : [b.name]));
  }
  return list;
}

export function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}

export function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...shapeOf(x[0]!)] : [];
}

/** |actual - expected| <= abs + rel * |expected| everywhere, with the worst element named. */
export function expectClose(actual: Tensor | Float32Array, expected: Nested | ArrayLike<number>, tol: { abs: number; rel: number }, what: string): void {
  const a = actual instanceof Float32Array ? actual : actual.data;
  const e = Array.isArray(expected) ? flat(expected as Nested) : Array.from(expected as ArrayLike<number>);
  if (!(actual instanceof Float32Array) && Array.isArray(expected)) expect(actual.shape, `${what} shape`).toEqual(shapeOf(expected as Nested));
  expect(a.length, `${what} length`).toBe(e.length);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!) - (tol.abs + tol.rel * Math.abs(e[i]!));
    if (!(d <= 0) && (worst < 0 || d > excess)) {
      worst = i;
      excess = d;
    }
  }
  if (worst >= 0) expect.fail(`${what}: element ${worst} is ${a[worst]}, expected ${e[worst]} (tolerance ${tol.abs} + ${tol.rel}*|expected|)`);
}

export function layerOptions(c: FixtureCase, backend: string): LstmOptions {
  return { ...(c.config as object), weights: c.weights as unknown as LstmOptions['weights'], weightLayout: c.layout, backend } as LstmOptions;
}

/** Runs every call of a case on one backend and returns the results. */
export async function runCase(c: FixtureCase, backend: string, trace = false) {
  const layer = c.cell === 'gru' ? await Gru.create(layerOptions(c, backend) as never) : await Lstm.create(layerOptions(c, backend));
  try {
    return c.calls.map((call) => {
      if (call.resetStatesBefore) layer.resetStates();
      return layer.forward(call.input, { initialState: call.initialState as never, mask: call.mask, sequenceLengths: call.sequenceLengths, trace }) as { output: Tensor; h: Tensor; c?: Tensor; trace?: Record<string, Tensor> };
    });
  } finally {
    layer.dispose();
  }
}

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (lo: number, hi: number) => lo + (hi - lo) * next(),
    matrix: (rows: number, cols: number, lo = -0.5, hi = 0.5) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround(lo + (hi - lo) * next()))),
  };
}
