// Deterministic uniform numbers (mulberry32), so that every run and every process sees the same
// weights and inputs for a seed.

/** A generator of uniform numbers in [0, 1) from `seed`. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` numbers drawn from `rand`, scaled to [lo, hi). */
export const uniform = (rand, n, lo, hi) => {
  const a = new Float32Array(n);
  for (let k = 0; k < n; k++) a[k] = lo + (hi - lo) * rand();
  return a;
};
