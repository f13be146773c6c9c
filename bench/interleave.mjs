// Timing that two or more runtimes share: each warms up on its own for `warmupMs`, then every
// round times one call of each in turn, so that drift on a shared machine hits them all alike.

/** Per call, the median of each function's times in ms after warm-up: `calls[k]()` runs one call. */
export function interleavedMedians(calls, { warmupMs, rounds }) {
  for (const call of calls) for (const start = performance.now(); performance.now() - start < warmupMs; ) call();
  const times = calls.map(() => []);
  for (let r = 0; r < rounds; r++) {
    calls.forEach((call, k) => {
      const start = performance.now();
      call();
      times[k].push(performance.now() - start);
    });
  }
  return times.map(median);
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
