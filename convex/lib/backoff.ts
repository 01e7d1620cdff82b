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

/** Dispatch and cancel retries use the contract's backoffDelay with these bounds. */
export const DISPATCH_BACKOFF = { baseMs: DISPATCH_BASE_DELAY_MS, maxMs: DISPATCH_MAX_DELAY_MS };
