import type { RetryPolicy } from "../schema";

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 30_000,
  maxDelayMs: 15 * 60_000,
};

/** Dispatch retries within one attempt (executor unreachable, 5xx, timeout). */
export const DISPATCH_MAX_TRIES = 5;
export const DISPATCH_BASE_DELAY_MS = 2_000;
export const DISPATCH_MAX_DELAY_MS = 60_000;

/**
 * Exponential backoff with "full jitter": a uniform delay in [base·2^(n-1) / 2, base·2^(n-1)], capped.
 * `tryNumber` counts from 1 (the delay before the 2nd try is backoffDelay(1)).
 */
export function backoffDelay(tryNumber: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, tryNumber - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
