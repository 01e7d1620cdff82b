/**
 * A job's phases with their start and end, read from its event log for the job page's timeline. Each
 * milestone is the event's structured `mark` (convex/lib/jobEventMark.ts), written by the control plane at
 * each step: exportRequested / exportReady (convex/exports.ts), phase (convex/callbacks.ts), attemptFailed
 * (convex/jobs.ts failAttempt); plus the job's own createdAt/finishedAt. Events logged before `mark`
 * existed carry none and simply do not appear on the timeline. Tables load one after another
 * (executor/src/import/load/pipeline.ts), so each table's `seconds` is laid out in order inside the import phase.
 */

import type { JobPhase } from "$convex/contract/executor";
import type { Doc } from "$convex/_generated/dataModel";

export type TimelineEvent = Pick<Doc<"jobEvents">, "at" | "mark">;
export type TimelineJob = Pick<Doc<"jobs">, "createdAt" | "finishedAt" | "status"> & {
  tables: Pick<Doc<"jobs">["tables"][number], "table" | "seconds">[];
};
export type Segment = {
  name: string;
  start: number;
  end: number;
  /** Still going: `end` is "now". */
  open: boolean;
};
export type TableSegment = { table: string; start: number; end: number };
export type Timeline = { start: number; end: number; phases: Segment[]; tables: TableSegment[] };

/** Every executor phase by its bar's name; `finished` ends the last bar. */
const PHASE_NAMES: Record<JobPhase, string | null> = {
  queued: "Queued on the executor",
  downloading: "Download",
  importing: "Import",
  swapping: "Swap in",
  applying: "Apply changes",
  finished: null,
};
export function jobTimeline(job: TimelineJob, events: TimelineEvent[], now: number = Date.now()): Timeline {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  // Only the latest attempt: everything after the last failed attempt.
  const lastRetry = sorted.findLastIndex((e) => e.mark?.kind === "attemptFailed");
  const attempt = sorted.slice(lastRetry + 1);
  const jobEnd = job.finishedAt ?? now;
  const marks: { name: string; at: number }[] = [];
  const exportStart = attempt.find((e) => e.mark?.kind === "exportRequested");
  if (exportStart) marks.push({ name: "Export", at: exportStart.at });
  const ready = attempt.find(
    (e) => e.mark?.kind === "exportReady" && (!exportStart || e.at >= exportStart.at),
  );
  if (ready) marks.push({ name: "Hand-over to the executor", at: ready.at });
  for (const event of attempt) {
    if (event.mark?.kind !== "phase") continue;
    const name = PHASE_NAMES[event.mark.phase];
    if (name === null) marks.push({ name: "", at: event.at });
    else if (marks.at(-1)?.name !== name) marks.push({ name, at: event.at });
  }
  const phases: Segment[] = [];
  marks.forEach((mark, i) => {
    if (!mark.name) return;
    const next = marks[i + 1];
    const end = next ? next.at : jobEnd;
    phases.push({
      name: mark.name,
      start: mark.at,
      end: Math.max(end, mark.at),
      open: !next && !job.finishedAt,
    });
  });
  const importPhase = phases.find((p) => p.name === "Import");
  const tables: TableSegment[] = [];
  if (importPhase) {
    let cursor = importPhase.start;
    for (const t of job.tables) {
      if (t.seconds === undefined) continue;
      tables.push({ table: t.table, start: cursor, end: cursor + t.seconds * 1000 });
      cursor += t.seconds * 1000;
    }
  }
  const start = Math.min(job.createdAt, ...phases.map((p) => p.start));
  const end = Math.max(jobEnd, ...phases.map((p) => p.end), ...tables.map((t) => t.end));
  return { start, end, phases, tables };
}
