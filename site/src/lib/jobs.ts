/** How the dashboard words a job's state. The states themselves are the control plane's (jobStateMachine.ts). */
import type { JobPhase, SyncKind } from "$convex/contract/executor";
import type { JobStatus } from "$convex/schema";

export { isFinal, JOB_STATUSES } from "$convex/lib/jobStateMachine";
export type { JobStatus };

const RUNNING_PHASES: Record<JobPhase, string> = {
  queued: "Queued on the executor",
  downloading: "Downloading the snapshot",
  importing: "Importing into the warehouse",
  swapping: "Swapping the new tables in",
  applying: "Applying the source's changes",
  finished: "Finishing",
};

/**
 * One sentence on what a job is doing right now (`phase`: the executor's, stored as it came; `kind`: absent on jobs
 * from before incremental sync, which were snapshots).
 */
export function describeStatus(status: JobStatus, phase?: string, kind?: SyncKind): string {
  const incremental = kind === "incremental";
  switch (status) {
    case "queued":
      return "Waiting to start";
    case "exporting":
      if (incremental) return "Preparing the incremental run";
      return "The source deployment is preparing a snapshot export";
    case "dispatched":
      return "Sent to the executor";
    case "running":
      return phase !== undefined && Object.hasOwn(RUNNING_PHASES, phase)
        ? RUNNING_PHASES[phase as JobPhase]
        : incremental
          ? "Applying the source's changes"
          : "Importing into the warehouse";
    case "succeeded":
      return incremental
        ? "Finished: the warehouse has the source's changes"
        : "Finished: the warehouse has the new snapshot";
    case "failed":
      return incremental
        ? "Failed: the warehouse keeps the changes of the steps committed before"
        : "Failed: the warehouse was left as it was";
    case "cancelled":
      return incremental
        ? "Cancelled: the warehouse keeps the changes of the steps committed before"
        : "Cancelled: the warehouse was left as it was";
    default:
      return status satisfies never;
  }
}
