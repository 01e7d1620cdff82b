/**
 * Turns whatever ended an incremental job into the contract's outcome and error. Unlike a snapshot job, an
 * incremental one may have committed steps before it ended: they stay (each is one transaction, and the stored
 * feed position covers exactly them), so the messages say so instead of "left unchanged".
 */
import type { JobError, JobOutcome } from "../../../convex/contract/executor.js";
import { TargetUrlError } from "../import/load/target.js";
import { classifyTargetError } from "../import/load/targetErrors.js";
import { CursorMovedError } from "../incremental/apply.js";
import {
  FeedAuthError,
  FeedError,
  FeedPermissionError,
  FeedProtocolError,
  StreamingExportNotEnabledError,
} from "../incremental/feedClient.js";
import { DeadlinePassedError, describeFailure, JobStopped, redact } from "./jobErrors.js";
import { errorMessage } from "./log.js";

const MAX_MESSAGE = 4000;

export const COMMITTED_STEPS_STAY =
  "the steps committed before it stay in the warehouse (each is one transaction) and the next run continues from the stored feed position";

function feedFailure(error: FeedError): { code: string; retryable: boolean; explanation: string } {
  if (error instanceof StreamingExportNotEnabledError)
    return {
      code: "feed_not_enabled",
      retryable: false,
      explanation:
        "the source deployment's plan has no streaming export (Convex's change feed, a paid-plan feature), which incremental sync needs: use snapshot syncs for this app",
    };
  if (error instanceof FeedPermissionError)
    return {
      code: "feed_permission",
      retryable: false,
      explanation:
        "the deploy key may not read the deployment's data (deployment:data:view), which the change feed needs: use a deploy key with that permission",
    };
  if (error instanceof FeedAuthError)
    return {
      code: "source_unauthorized",
      retryable: false,
      // Worded like the control plane's probe (convex/lib/sourceFeed.ts FEED_REASONS.key).
      explanation: `the source refused the deploy key (${error.status}${error.code ? ` ${error.code}` : ""}): check the app's deploy key`,
    };
  if (error instanceof FeedProtocolError)
    return {
      code: "feed_protocol",
      retryable: false,
      explanation: "the change feed answered in a form this executor does not understand",
    };
  if (error.status === undefined)
    return {
      code: "source_unreachable",
      retryable: true,
      explanation: "the source deployment's change feed did not answer",
    };
  return {
    code: "feed_refused",
    retryable: false,
    explanation: "the source deployment's change feed refused the request",
  };
}

export function describeIncrementalFailure(
  error: unknown,
  signal: AbortSignal,
  secrets: readonly string[],
): { outcome: Exclude<JobOutcome, "succeeded">; error: JobError } {
  const clean = (text: string) => redact(text, secrets).slice(0, MAX_MESSAGE);
  const stop =
    signal.aborted && signal.reason instanceof JobStopped
      ? signal.reason
      : error instanceof JobStopped
        ? error
        : undefined;
  if (stop) {
    return {
      outcome: stop.outcome,
      error: {
        message: clean(`${stop.message}; ${COMMITTED_STEPS_STAY}`),
        code: stop.outcome === "cancelled" ? "cancelled" : "executor_stopped",
        retryable: true,
      },
    };
  }
  if (error instanceof FeedError) {
    const failure = feedFailure(error);
    return {
      outcome: "failed",
      error: {
        message: clean(`${failure.explanation} (${error.message})`),
        code: failure.code,
        retryable: failure.retryable,
      },
    };
  }
  if (error instanceof CursorMovedError) {
    return {
      outcome: "failed",
      error: { message: clean(error.message), code: "cursor_moved", retryable: true },
    };
  }
  if (error instanceof DeadlinePassedError || error instanceof TargetUrlError || classifyTargetError(error)) {
    return describeFailure(error, signal, secrets);
  }
  return {
    outcome: "failed",
    error: {
      message: clean(`incremental sync failed: ${errorMessage(error)}; ${COMMITTED_STEPS_STAY}`),
      code: "incremental_failed",
      retryable: true,
    },
  };
}
