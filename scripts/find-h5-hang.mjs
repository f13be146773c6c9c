#!/usr/bin/env node
// Finds single-byte mutations of a Keras .h5 file on which loading hangs: each mutation (offset and
// new value from a seeded RNG) is loaded by a child process that says when it starts and ends one;
// a mutation the child has not finished after --timeout seconds is a hang, and the child is killed
// and restarted after it. Uses dist/ (npx tsc -p tsconfig.build.json first).
//
//   node scripts/find-h5-hang.mjs [file] [--seed 1] [--count 2000] [--timeout 5] [--stop-after 1]
//
// Prints one line per hang: `hang: offset <n> value <v> (mutation #<k>)`, and a summary.
// HDF5 now runs in a worker with a deadline (lib/load/hdf5.ts: 10 s for these files), so a loop
// ends as ERR_LSTM_MODEL after it: --timeout 5 finds the files that loop, --timeout 15 checks that
// none outlasts the deadline (options.h5, seed 1: mutation #57 loops; 0 past the deadline in 400).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(args[at + 1]);
};

/** mulberry32: the same mutations for the same seed on every machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The k-th mutation of a file of `length` bytes: an offset and a value other than the original. */
function mutations(bytes, seed, count) {
  const next = rng(seed);
  const list = [];
  while (list.length < count) {
    const offset = Math.floor(next() * bytes.length);
    const value = Math.floor(next() * 256);
    if (value !== bytes[offset]) list.push({ offset, value });
  }
  return list;
}

if (args[0] === '--child') {
  const [, file, seed, count, start] = args;
  const { loadModel } = await import(new URL('../dist/index.js', import.meta.url).href);
  const bytes = readFileSync(file);
  const list = mutations(bytes, Number(seed), Number(count));
  for (let k = Number(start); k < list.length; k++) {
    const { offset, value } = list[k];
    const mutated = Uint8Array.from(bytes);
    mutated[offset] = value;
    process.stdout.write(`start ${k}\n`);
    let outcome = 'loaded';
    try {
      (await loadModel(mutated, { format: 'h5', backend: 'js' })).dispose();
    } catch (error) {
      outcome = error?.code ?? `not an LstmError: ${error?.name}: ${String(error?.message).slice(0, 100)}`;
    }
    process.stdout.write(`end ${k} ${outcome}\n`);
  }
  process.exit(0);
}

const file = args[0] && !args[0].startsWith('--') ? args[0] : fileURLToPath(new URL('../test/fixtures/models/keras/options.h5', import.meta.url));
const seed = option('seed', 1);
const count = option('count', 2000);
const timeout = option('timeout', 5) * 1000;
const stopAfter = option('stop-after', 1);
const bytes = readFileSync(file);
const list = mutations(bytes, seed, count);
const hangs = [];
const outcomes = new Map();
const began = Date.now();

/** Runs the child from mutation `start`; resolves with the next mutation to try, or null at the end. */
function run(start) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', file, String(seed), String(count), String(start)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let current = null;
    let timer = null;
    let buffered = '';
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const { offset, value } = list[current];
        hangs.push({ k: current, offset, value });
        console.log(`hang: offset ${offset} value ${value} (mutation #${current}, original ${bytes[offset]})`);
        child.kill('SIGKILL');
      }, timeout);
    };
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [what, k, ...rest] = line.split(' ');
        if (what === 'start') {
          current = Number(k);
          arm();
        } else if (what === 'end') {
          clearTimeout(timer);
          const outcome = rest.join(' ');
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        }
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(current === null || current + 1 >= list.length ? null : current + 1);
    });
  });
}

let next = 0;
while (next !== null && hangs.length < stopAfter) next = await run(next);
console.log(`${file}: ${hangs.length} hang(s) in ${next ?? list.length} mutations (seed ${seed}), ${((Date.now() - began) / 1000).toFixed(0)} s`);
console.log('outcomes:', Object.fromEntries(outcomes));
