/**
 * The job state machine as data. `transitions[from]` lists every state a job may move to from `from`;
 * anything else is a bug and throws. Final states have no way out.
 *
 *   queued → exporting → dispatched → running → succeeded | failed | cancelled
 *   queued → dispatched (incremental jobs: no export, lib/jobKind.ts)
 *
 * A failed attempt with attempts left goes back to `queued` (a retry starts from a fresh export). Same-state
 * updates (progress figures, export checks) are patches, not transitions.
 */
import type { JobStatus } from "../schema";

export const transitions = {
  // queued → queued: the export request itself failed and the next attempt waits for its backoff.
  // queued → dispatched: an incremental job has no export; it is handed to the executor from the queue.
  queued: ["queued", "exporting", "dispatched", "failed", "cancelled"],
  exporting: ["dispatched", "queued", "failed", "cancelled"],
  // dispatched → succeeded: a fast executor may complete before its first progress callback arrives.
  dispatched: ["running", "succeeded", "queued", "failed", "cancelled"],
  running: ["succeeded", "queued", "failed", "cancelled"],
  succeeded: [],
  failed: [],
  cancelled: [],
} as const satisfies Record<JobStatus, readonly JobStatus[]>;

/** Every job status in lifecycle order: the keys of `transitions`, which must name each one. */
export const JOB_STATUSES = Object.keys(transitions) as readonly JobStatus[];

export const FINAL_STATES = ["succeeded", "failed", "cancelled"] as const satisfies readonly JobStatus[];
export type FinalJobStatus = (typeof FINAL_STATES)[number];

export function isFinal(status: JobStatus): status is FinalJobStatus {
  switch (status) {
    case "succeeded":
    case "failed":
    case "cancelled":
      return true;
    case "queued":
    case "exporting":
    case "dispatched":
    case "running":
      return false;
    default:
      return status satisfies never;
  }
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return (transitions[from] as readonly JobStatus[]).includes(to);
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
    jobId: string,
  ) {
    super(`job ${jobId}: cannot move from ${from} to ${to}`);
  }
}

export function assertTransition(jobId: string, from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to, jobId);
}

/** Whether the executor may hold this job (so a cancel must be sent to it). */
export function executorMayHold(status: JobStatus): boolean {
  return status === "dispatched" || status === "running";
}
