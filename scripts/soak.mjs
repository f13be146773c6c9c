#!/usr/bin/env node
// Soak: memory over a long run, as a server sees it. 1e6 streamed steps (S1: I40 U128) and 1e5
// forward calls (S2: B1 T100 I32 U64, half of them async), on the native and wasm-simd backends;
// the process's RSS and the JS heap are sampled ten times along each run, after a GC.
//   node --expose-gc scripts/soak.mjs [--steps 1000000] [--calls 100000] [--backends native,wasm-simd] [--markdown]
// Exits non-zero if RSS grows by more than the stated bounds between the third and last samples.
import { Lstm } from 'lstm-runtime';

const arg = (name, fallback) => {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? process.argv[k + 1] : fallback;
};
const STEPS = Number(arg('steps', 1_000_000));
const CALLS = Number(arg('calls', 100_000));
const BACKENDS = arg('backends', 'native,wasm-simd').split(',');
const MARKDOWN = process.argv.includes('--markdown');
const SAMPLES = 10;
// RSS moves by a few megabytes either way along a run: V8's code space, and glibc giving each of
// libuv's four pool threads a malloc arena of its own the first time it runs an async call (which
// may happen late: in one run of 1e5 calls the last arena came at call 90000, +7 MB, and 3e5 calls
// stayed flat after it). A leak of one input's copy per call (12.8 kB) would exceed these bounds
// within a few hundred calls.
const GROWTH_BOUND_MB = { steps: 3, calls: 16 };

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}

let seed = 1;
const uniform = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 0.2 - 0.1;
const matrix = (rows, cols) => ({ data: Float32Array.from({ length: rows * cols }, uniform), shape: [rows, cols] });
const weights = (I, U) => ({ kernel: matrix(I, 4 * U), recurrentKernel: matrix(U, 4 * U), bias: Float32Array.from({ length: 4 * U }, uniform) });

function sample() {
  globalThis.gc();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, external: (m.external + m.arrayBuffers) / 2 ** 20 };
}

async function soak(name, total, bound, run) {
  const every = Math.max(1, Math.floor(total / SAMPLES));
  const samples = [];
  const start = performance.now();
  for (let done = 0; done < total; ) {
    const n = Math.min(every, total - done);
    await run(n);
    done += n;
    samples.push({ done, ...sample(), seconds: (performance.now() - start) / 1000 });
  }
  const growth = samples.at(-1).rss - samples[Math.min(2, samples.length - 1)].rss;
  return { name, samples, growth, bound, ok: growth <= bound };
}

const results = [];
for (const backend of BACKENDS) {
  const s1 = await Lstm.create({ weights: weights(40, 128), backend });
  const stream = s1.stream(1);
  const x = Float32Array.from({ length: 40 }, uniform);
  results.push(await soak(`${s1.backend}: ${STEPS} streamed steps (S1)`, STEPS, GROWTH_BOUND_MB.steps, async (n) => {
    for (let k = 0; k < n; k++) stream.step(x);
  }));
  s1.dispose();

  const s2 = await Lstm.create({ weights: weights(32, 64), returnSequences: true, backend });
  const input = { data: Float32Array.from({ length: 100 * 32 }, uniform), shape: [1, 100, 32] };
  results.push(await soak(`${s2.backend}: ${CALLS} forward calls (S2, every other one async)`, CALLS, GROWTH_BOUND_MB.calls, async (n) => {
    for (let k = 0; k < n; k++) {
      if (k % 2) s2.forward(input);
      else await s2.forwardAsync(input);
    }
  }));
  s2.dispose();
}

for (const r of results) {
  if (MARKDOWN) {
    console.log(`\n**${r.name}**: RSS ${r.growth >= 0 ? '+' : ''}${r.growth.toFixed(2)} MB from the third sample to the last (bound ${r.bound} MB)\n`);
    console.log('| done | seconds | RSS MB | JS heap MB | external MB |\n|---:|---:|---:|---:|---:|');
    for (const s of r.samples) console.log(`| ${s.done} | ${s.seconds.toFixed(1)} | ${s.rss.toFixed(1)} | ${s.heap.toFixed(2)} | ${s.external.toFixed(2)} |`);
  } else {
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: RSS ${r.samples.map((s) => s.rss.toFixed(1)).join(' ')} MB (growth ${r.growth.toFixed(2)} MB, bound ${r.bound}); heap ${r.samples.at(-1).heap.toFixed(2)} MB`);
  }
}
const failed = results.filter((r) => !r.ok).length;
console.log(`soak: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
