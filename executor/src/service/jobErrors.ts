/**
 * Turns whatever ended a job into the contract's outcome and error: a clear message, a machine-readable code,
 * where it happened when known, and whether a later attempt may succeed. Never carries the deploy key.
 */
import type { JobError, JobOutcome } from "../../../convex/contract/executor.js";
import { ImportCancelledError, SnapshotFormatError } from "../import/api.js";
import { TargetUrlError } from "../import/load/target.js";
import { classifyTargetError } from "../import/load/targetErrors.js";
import { DownloadError } from "./download.js";
import { errorMessage } from "./log.js";

/** Why a running job was stopped from outside. */
export class JobStopped extends Error {
  constructor(
    readonly outcome: "cancelled" | "interrupted",
    reason: string,
  ) {
    super(reason);
    this.name = "JobStopped";
  }
}

export class DeadlinePassedError extends Error {
  constructor(deadline: number) {
    super(`the job's deadline (${new Date(deadline).toISOString()}) passed before it could start`);
    this.name = "DeadlinePassedError";
  }
}

// The contract's limits (jobError): a longer field makes the control plane refuse the whole completion.
const MAX_MESSAGE = 4000;
const MAX_WHERE = 1000;

export function describeFailure(
  error: unknown,
  signal: AbortSignal,
  secrets: readonly string[],
): { outcome: Exclude<JobOutcome, "succeeded">; error: JobError } {
  const stop = signal.aborted && signal.reason instanceof JobStopped ? signal.reason : undefined;
  if (stop || error instanceof ImportCancelledError || error instanceof JobStopped) {
    const outcome = stop?.outcome ?? (error instanceof JobStopped ? error.outcome : "cancelled");
    const reason = stop?.message ?? errorMessage(error);
    return {
      outcome,
      error: {
        message: `${reason}; the target tables were left unchanged`,
        code: outcome === "cancelled" ? "cancelled" : "executor_stopped",
        retryable: true,
      },
    };
  }
  const clean = (text: string) => redact(text, secrets).slice(0, MAX_MESSAGE);
  if (error instanceof DownloadError) {
    return {
      outcome: "failed",
      error: { message: clean(error.message), code: error.code, retryable: error.retryable },
    };
  }
  if (error instanceof SnapshotFormatError) {
    return {
      outcome: "failed",
      error: {
        message: clean(error.message),
        code: "bad_snapshot",
        where: error.where.slice(0, MAX_WHERE),
        retryable: false,
      },
    };
  }
  if (error instanceof TargetUrlError) {
    return {
      outcome: "failed",
      error: { message: clean(error.message), code: "target_config", retryable: false },
    };
  }
  if (error instanceof DeadlinePassedError) {
    return {
      outcome: "failed",
      error: { message: error.message, code: "deadline_passed", retryable: false },
    };
  }
  const target = classifyTargetError(error);
  if (target) {
    return {
      outcome: "failed",
      error: {
        message: clean(`${target.explanation} (${target.reference}: ${errorMessage(error)})`),
        code: target.code,
        retryable: target.retryable,
      },
    };
  }
  return {
    outcome: "failed",
    error: {
      message: clean(`import failed: ${errorMessage(error)}`),
      code: "import_failed",
      retryable: true,
    },
  };
}

/** Replaces every occurrence of a secret (e.g. the deploy key) with `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out;
}
