/** How the dashboard words a job's state. The states themselves are the control plane's (jobStateMachine.ts). */
import type { JobPhase } from "$convex/contract/executor";
import type { JobStatus } from "$convex/schema";

export { isFinal, JOB_STATUSES } from "$convex/lib/jobStateMachine";
export type { JobStatus };

const RUNNING_PHASES: Record<JobPhase, string> = {
  queued: "Queued on the executor",
  downloading: "Downloading the snapshot",
  importing: "Importing into the warehouse",
  swapping: "Swapping the new tables in",
  finished: "Finishing",
};

/** One sentence on what a job is doing right now (`phase`: the executor's, stored as it came). */
export function describeStatus(status: JobStatus, phase?: string): string {
  switch (status) {
    case "queued":
      return "Waiting to start";
    case "exporting":
      return "The source deployment is preparing a snapshot export";
    case "dispatched":
      return "Sent to the executor";
    case "running":
      return phase !== undefined && Object.hasOwn(RUNNING_PHASES, phase)
        ? RUNNING_PHASES[phase as JobPhase]
        : "Importing into the warehouse";
    case "succeeded":
      return "Finished: the warehouse has the new snapshot";
    case "failed":
      return "Failed: the warehouse was left as it was";
    case "cancelled":
      return "Cancelled: the warehouse was left as it was";
    default:
      return status satisfies never;
  }
}
