// When a batcher or a stream pool runs what has been queued.

/**
 * Runs `work` after `delayMs`, or, for 0, once the current task and every promise job it started
 * are done (setImmediate in Node, a zero timeout elsewhere): calls made in the same turn, and the
 * awaits between them, end up in one batch.
 */
export function later(work: () => void, delayMs: number): void {
  if (delayMs > 0) setTimeout(work, delayMs);
  else if (typeof setImmediate === 'function') setImmediate(work);
  else setTimeout(work, 0);
}
