/** What the dashboard needs to know about job states (mirrors convex/lib/jobStateMachine.ts). */

export const JOB_STATUSES = [
  "queued",
  "exporting",
  "dispatched",
  "running",
  "succeeded",
  "failed",
  "cancelled",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const FINAL: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled"]);

export function isFinal(status: string): boolean {
  return FINAL.has(status);
}

const RUNNING_PHASES: Record<string, string> = {
  queued: "Queued on the executor",
  downloading: "Downloading the snapshot",
  importing: "Importing into the warehouse",
  swapping: "Swapping the new tables in",
  finished: "Finishing",
};

/** One sentence on what a job is doing right now. */
export function describeStatus(status: string, phase?: string): string {
  switch (status) {
    case "queued":
      return "Waiting to start";
    case "exporting":
      return "The source deployment is preparing a snapshot export";
    case "dispatched":
      return "Sent to the executor";
    case "running":
      return RUNNING_PHASES[phase ?? ""] ?? "Importing into the warehouse";
    case "succeeded":
      return "Finished: the warehouse has the new snapshot";
    case "failed":
      return "Failed: the warehouse was left as it was";
    case "cancelled":
      return "Cancelled: the warehouse was left as it was";
    default:
      return status;
  }
}
