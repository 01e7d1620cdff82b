/**
 * Executor callbacks (progress, completion, heartbeat), applied after http.ts has verified the signature and
 * parsed the body with the contract's zod schemas. Each is idempotent: the callback's `eventId` is recorded
 * and a repeat changes nothing. Callbacks for another attempt or a finished job are ignored.
 */
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import type { CompletionCallback, Heartbeat, ProgressCallback } from "./contract/executor";
import { ATTEMPT_DEADLINE_MS } from "./dispatch";
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
async function jobForCallback(
  ctx: MutationCtx,
  jobId: string,
  attempt: number,
): Promise<Doc<"jobs"> | "unknown" | null> {
  const job = await jobOf(ctx, jobId);
  if (!job) return "unknown";
  if (job.attempt !== attempt) return null;
  if (job.status === "exporting" && job.export?.snapshotTs && !job.cancelRequested)
    return transitionJob(
      ctx,
      job,
      "dispatched",
      { attemptDeadline: Date.now() + ATTEMPT_DEADLINE_MS },
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
  const figures = { tables: c.tables, totalRows: c.totalRows, executorId: c.executorId, phase: "finished" };
  switch (c.outcome) {
    case "succeeded":
      await transitionJob(ctx, job, "succeeded", figures, {
        level: "info",
        // Two durations that differ: the executor's own work, and the job's whole run (export included).
        message: `succeeded: ${c.totalRows} rows; ${seconds(c.durationMs)} on the executor, ${seconds(Date.now() - job.createdAt)} since the request`,
      });
      return "applied";
    case "cancelled":
      await transitionJob(ctx, job, "cancelled", figures, {
        level: "warn",
        message: "cancelled by the executor",
      });
      return "applied";
    case "failed":
    case "interrupted": {
      await ctx.db.patch(job._id, figures);
      const error = c.error ?? { message: `executor reported ${c.outcome}`, retryable: true };
      // "interrupted": the executor restarted mid-job; always worth another attempt.
      await failAttempt(ctx, (await ctx.db.get(job._id))!, {
        message: c.outcome === "interrupted" ? `executor restarted mid-job: ${error.message}` : error.message,
        ...(error.code ? { code: error.code } : c.outcome === "interrupted" ? { code: "interrupted" } : {}),
        ...(error.where ? { where: error.where } : {}),
        retryable: c.outcome === "interrupted" ? true : error.retryable,
      });
      return "applied";
    }
    default:
      return c.outcome satisfies never;
  }
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
