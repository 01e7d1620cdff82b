/**
 * Finds a driver's error inside whatever the engine wrapped it in and classifies it (./targetFailure.ts).
 *
 *   const failure = classifyTargetError(error);   // null: not a target error we know
 *   if (failure && !failure.retryable) …          // a retry would fail the same way: stop now
 */
import { classifyMssqlError } from "./mssql/errors.js";
import { classifyPostgresError } from "./postgres/errors.js";
import { ClassifiedTargetError, classifyNetworkError, type TargetFailure } from "./targetFailure.js";

const MAX_DEPTH = 6;

/** The errors inside `error`: itself, then its `cause`, the mssql driver's `originalError`, an AggregateError's parts. */
function* errorChain(error: unknown, depth = 0): Generator<object> {
  if (typeof error !== "object" || error === null || depth > MAX_DEPTH) return;
  yield error;
  const { cause, originalError, errors } = error as {
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  yield* errorChain(cause, depth + 1);
  yield* errorChain(originalError, depth + 1);
  if (Array.isArray(errors)) for (const part of errors) yield* errorChain(part, depth + 1);
}

/** The first classification found in the error chain (the driver's own error is the most specific). */
export function classifyTargetError(error: unknown): TargetFailure | null {
  for (const e of errorChain(error)) {
    if (e instanceof ClassifiedTargetError) return e.failure;
    const failure = classifyPostgresError(e) ?? classifyMssqlError(e) ?? classifyNetworkError(e);
    if (failure) return failure;
  }
  return null;
}
