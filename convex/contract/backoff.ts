/**
 * The one retry delay used on both sides of the contract: dispatch, cancel and job retries in the control plane,
 * callback delivery and downloads in the executor.
 *
 *   const delay = backoffDelay(retry, { baseMs: 1_000, maxMs: 60_000 });
 *
 * Exponential backoff with "equal jitter": the ceiling doubles per retry from `baseMs` up to `maxMs`, and the
 * delay is uniform in [ceiling/2, ceiling]. Half the ceiling is kept as a floor so a retry never fires at once
 * (full jitter's [0, ceiling] can), while the random half still spreads out callers that failed together.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay in ms before retry number `retry` (1 = the first retry, i.e. the delay before the 2nd try).
 * `random` returns a number in [0, 1), like Math.random.
 */
export function backoffDelay(
  retry: number,
  { baseMs, maxMs }: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (!(baseMs > 0) || !(maxMs >= baseMs))
    throw new RangeError(`backoff needs 0 < baseMs <= maxMs, got baseMs ${baseMs}, maxMs ${maxMs}`);
  const doublings = Math.min(Math.max(0, Math.floor(retry) - 1), 52);
  const ceiling = Math.min(maxMs, baseMs * 2 ** doublings);
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}
