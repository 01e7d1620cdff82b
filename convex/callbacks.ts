/**
 * Executor callbacks (progress, completion, heartbeat), applied after http.ts has verified the signature and
 * parsed the body with the contract's zod schemas. Each is idempotent: the callback's `eventId` is recorded
 * and a repeat changes nothing. Callbacks for another attempt or a finished job are ignored.
 */
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import type {
  CompletionCallback,
  Heartbeat,
  IncrementalFigures,
  ProgressCallback,
} from "./contract/executor";
import { attemptDeadlineMs } from "./dispatch";
import { recordFeedRefusal, recordIncrementalRun, recordSnapshotLoad, startFullSnapshot } from "./feeds";
import { appendEvent, failAttempt, transitionJob } from "./jobs";

export type CallbackResult = "applied" | "duplicate" | "ignored" | "unknown_job";

async function firstReceipt(ctx: MutationCtx, eventId: string, kind: string): Promise<boolean> {
  const seen = await ctx.db
    .query("callbackReceipts")
    .withIndex("by_event", (q) => q.eq("eventId", eventId))
    .first();
  if (seen) return false;
  await ctx.db.insert("callbackReceipts", { eventId, kind, receivedAt: Date.now() });
  return true;
}

async function jobOf(ctx: MutationCtx, jobId: string): Promise<Doc<"jobs"> | null> {
  const id = ctx.db.normalizeId("jobs", jobId);
  return id ? ctx.db.get(id as Id<"jobs">) : null;
}

/**
 * The job as it stands for a callback of `attempt`, or null to ignore the callback. A job still `exporting`
 * with its snapshot ready is being dispatched: the executor answered faster than our bookkeeping, so the
 * callback itself confirms the dispatch.
 */
/** The dispatch step holds the job (its POST may be answered before recordDispatch runs). */
function beingDispatched(job: Doc<"jobs">): boolean {
  if (job.cancelRequested) return false;
  if (job.kind === "incremental") return job.status === "queued" && job.step?.name === "dispatch:dispatchJob";
  return job.status === "exporting" && job.export?.snapshotTs !== undefined;
}

async function jobForCallback(
  ctx: MutationCtx,
  jobId: string,
  attempt: number,
): Promise<Doc<"jobs"> | "unknown" | null> {
  const job = await jobOf(ctx, jobId);
  if (!job) return "unknown";
  if (job.attempt !== attempt) return null;
  if (beingDispatched(job))
    return transitionJob(
      ctx,
      job,
      "dispatched",
      { attemptDeadline: Date.now() + attemptDeadlineMs(job.kind) },
      { level: "info", message: "dispatch confirmed by the executor" },
    );
  return job.status === "dispatched" || job.status === "running" ? job : null;
}

export async function applyProgress(ctx: MutationCtx, p: ProgressCallback): Promise<CallbackResult> {
  if (!(await firstReceipt(ctx, p.eventId, "progress"))) return "duplicate";
  const job = await jobForCallback(ctx, p.jobId, p.attempt);
  if (job === "unknown") return "unknown_job";
  if (!job) return "ignored";
  const now = Date.now();
  const figures = {
    phase: p.phase,
    tables: p.tables,
    executorId: p.executorId,
    lastSignOfLifeAt: now,
    ...(p.download ? { download: p.download } : {}),
    ...(p.changes ? { changes: p.changes } : {}),
  };
  const phaseChanged = job.phase !== p.phase;
  if (job.status === "dispatched") {
    await transitionJob(ctx, job, "running", figures, {
      level: "info",
      message: `running: ${p.phase}`,
      mark: { kind: "phase", phase: p.phase },
    });
  } else {
    await ctx.db.patch(job._id, { ...figures, updatedAt: now });
    if (phaseChanged)
      await appendEvent(ctx, job._id, "info", `phase ${p.phase}`, { kind: "phase", phase: p.phase });
  }
  if (p.message) await appendEvent(ctx, job._id, "info", p.message);
  return "applied";
}

/** 0.4 s, 5.6 s, 312.0 s: one decimal, so a short step never reads "0 s". */
function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

export async function applyCompletion(ctx: MutationCtx, c: CompletionCallback): Promise<CallbackResult> {
  if (!(await firstReceipt(ctx, c.eventId, "complete"))) return "duplicate";
  const job = await jobForCallback(ctx, c.jobId, c.attempt);
  if (job === "unknown") return "unknown_job";
  if (!job) return "ignored";
  const run = c.incremental;
  const figures = {
    tables: c.tables,
    totalRows: c.totalRows,
    executorId: c.executorId,
    phase: "finished",
    ...(run ? { incremental: run, changes: run.tables } : {}),
  };
  // Steps an incremental run committed count whatever its outcome: the warehouse holds them.
  if (run) await recordIncrementalRun(ctx, job, run);
  const needsSnapshot =
    run?.outcome === "needsSnapshot" ? (run.reason ?? "the change feed cannot continue") : null;
  switch (c.outcome) {
    case "succeeded":
      await transitionJob(ctx, job, "succeeded", figures, {
        level: "info",
        message: run
          ? `succeeded: ${describeRun(run)}; ${seconds(c.durationMs)} on the executor`
          : // Two durations that differ: the executor's own work, and the job's whole run (export included).
            `succeeded: ${c.totalRows} rows; ${seconds(c.durationMs)} on the executor, ${seconds(Date.now() - job.createdAt)} since the request`,
      });
      if (job.kind !== "incremental") await recordSnapshotLoad(ctx, job, c.feedStart);
      break;
    case "cancelled":
      await transitionJob(ctx, job, "cancelled", figures, {
        level: "warn",
        message: "cancelled by the executor",
      });
      break;
    case "failed":
    case "interrupted": {
      await ctx.db.patch(job._id, figures);
      const error = c.error ?? { message: `executor reported ${c.outcome}`, retryable: true };
      await recordFeedRefusal(ctx, job, error.code);
      // "interrupted": the executor restarted mid-job; always worth another attempt. An incremental run that
      // found it needs a snapshot is not: the snapshot below replaces it.
      await failAttempt(ctx, (await ctx.db.get(job._id))!, {
        message: c.outcome === "interrupted" ? `executor restarted mid-job: ${error.message}` : error.message,
        ...(error.code ? { code: error.code } : c.outcome === "interrupted" ? { code: "interrupted" } : {}),
        ...(error.where ? { where: error.where } : {}),
        retryable: needsSnapshot === null && (c.outcome === "interrupted" ? true : error.retryable),
      });
      break;
    }
    default:
      return c.outcome satisfies never;
  }
  if (needsSnapshot !== null) await startFullSnapshot(ctx, (await ctx.db.get(job._id))!, needsSnapshot);
  return "applied";
}

/** "1,204 changes in 3 transactions (2 pages), 0.8 s behind the source". */
function describeRun(run: IncrementalFigures): string {
  const changes = run.tables.reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0);
  const lag = run.lagMs === null ? "" : `, ${seconds(run.lagMs)} behind the source`;
  const outcome =
    run.outcome === "upToDate"
      ? "up to date"
      : run.outcome === "stopped"
        ? "stopped early"
        : "needs a full snapshot";
  return `${outcome}: ${changes} changes in ${run.transactions} transactions (${run.pages} pages)${lag}`;
}

export async function applyHeartbeat(ctx: MutationCtx, h: Heartbeat): Promise<CallbackResult> {
  if (!(await firstReceipt(ctx, h.eventId, "heartbeat"))) return "duplicate";
  const row = {
    executorId: h.executorId,
    version: h.version,
    contractVersion: h.contractVersion,
    target: h.target,
    runningJobs: h.runningJobs,
    queuedJobs: h.queuedJobs,
    lastHeartbeatAt: Date.now(),
    ...(h.freeDiskBytes !== undefined ? { freeDiskBytes: h.freeDiskBytes } : {}),
  };
  const existing = await ctx.db
    .query("executors")
    .withIndex("by_executor", (q) => q.eq("executorId", h.executorId))
    .unique();
  if (existing) await ctx.db.replace(existing._id, row);
  else await ctx.db.insert("executors", row);
  // A heartbeat naming a running or queued job is a sign of life for it.
  const held = [...h.runningJobs.slice(0, 20), ...(h.queuedJobIds ?? []).slice(0, 20)];
  for (const jobId of held) {
    const job = await jobOf(ctx, jobId);
    if (job?.active) await ctx.db.patch(job._id, { lastSignOfLifeAt: Date.now() });
  }
  return "applied";
}
