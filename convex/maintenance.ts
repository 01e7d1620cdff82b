/**
 * The watchdog and housekeeping run by crons.ts:
 * - fail (and retry, if attempts remain) active jobs with no sign of life for `staleJobMinutes`, past their
 *   attempt deadline, or whose scheduled step died (lib/jobSteps.ts); a job waiting on a cancel the executor never
 *   confirmed ends `cancelled`. All active jobs are read, a page per run;
 * - re-register missing app schedules; re-seed admins from ADMIN_EMAILS;
 * - prune finished jobs (with their events), audit rows, per-day job counts, callback receipts and notifications
 *   older than `retentionDays`, in bounded batches that reschedule themselves.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { seedAdminsFromEnv } from "./admins";
import { SIGNATURE_WINDOW_SECONDS } from "./contract/signing";
import { failAttempt, transitionJob } from "./jobs";
import { executorMayHold } from "./lib/jobStateMachine";
import { deadStep } from "./lib/jobSteps";
import { repairSchedules } from "./schedules";
import { loadSettings } from "./settings";

/** Active jobs read per watchdog run; a longer list continues in a follow-up run with the cursor. */
export const WATCHDOG_PAGE = 100;
export const PRUNE_BATCH = 200;
const DAY_MS = 24 * 60 * 60_000;
/** Receipts only need to outlive the signature window (older callbacks are refused as stale anyway). */
const RECEIPT_RETENTION_MS = 2 * SIGNATURE_WINDOW_SECONDS * 1000;

/** What is wrong with an active job, or null when it is fine. */
async function watchdogVerdict(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  now: number,
  staleJobMinutes: number,
): Promise<{ message: string; code: string } | null> {
  // The deadline belongs to the attempt the executor holds; a re-queued job still carries the last one's.
  if (executorMayHold(job.status) && job.attemptDeadline !== undefined && job.attemptDeadline < now)
    return { message: `attempt ${job.attempt} passed its deadline`, code: "deadline" };
  if (job.lastSignOfLifeAt < now - staleJobMinutes * 60_000)
    return {
      message: `no sign of life for ${staleJobMinutes} minutes while ${job.status}`,
      code: "no_sign_of_life",
    };
  if ((job.status === "queued" || job.status === "exporting") && !job.cancelRequested) {
    const dead = await deadStep(ctx, job);
    if (dead) return { message: `the job stalled while ${job.status}: ${dead}`, code: "step_failed" };
  }
  return null;
}

/**
 * Every minute: pages through all active jobs (WATCHDOG_PAGE per run, continuing with the cursor) and fails the
 * current attempt of any job that is silent, past its deadline, or whose scheduled step died; failAttempt retries
 * while attempts remain.
 */
export const watchdog = internalMutation({
  args: { cursor: v.optional(v.string()) },
  handler: async (ctx, args): Promise<{ failed: number; cancelled: number }> => {
    const { staleJobMinutes } = await loadSettings(ctx);
    const now = Date.now();
    let failed = 0;
    let cancelled = 0;
    const page = await ctx.db
      .query("jobs")
      .withIndex("by_active_sign_of_life", (q) => q.eq("active", true))
      .paginate({ numItems: WATCHDOG_PAGE, cursor: args.cursor ?? null });
    for (const job of page.page) {
      // A job handled earlier in this pass can come round again (its sign of life moved): re-read it.
      const current = await ctx.db.get(job._id);
      if (!current?.active) continue;
      const verdict = await watchdogVerdict(ctx, current, now, staleJobMinutes);
      if (!verdict) continue;
      if (current.cancelRequested && verdict.code !== "step_failed") {
        await transitionJob(
          ctx,
          current,
          "cancelled",
          {},
          { level: "warn", message: "cancelled: the executor never confirmed the cancel request" },
        );
        cancelled++;
        continue;
      }
      await failAttempt(ctx, current, { ...verdict, retryable: true });
      failed++;
    }
    if (!page.isDone)
      await ctx.scheduler.runAfter(0, internal.maintenance.watchdog, { cursor: page.continueCursor });
    return { failed, cancelled };
  },
});

export const repair = internalMutation({
  args: {},
  handler: async (ctx): Promise<{ schedulesChanged: number; adminsAdded: number }> => ({
    schedulesChanged: await repairSchedules(ctx),
    adminsAdded: await seedAdminsFromEnv(ctx),
  }),
});

export const prune = internalMutation({
  args: { now: v.optional(v.number()) },
  handler: async (ctx, args): Promise<{ deleted: number; more: boolean }> => {
    const now = args.now ?? Date.now();
    const { retentionDays } = await loadSettings(ctx);
    const cutoff = now - retentionDays * DAY_MS;
    let budget = PRUNE_BATCH;
    let deleted = 0;

    const jobBatch = Math.max(1, Math.floor(budget / 10));
    const oldJobs = await ctx.db
      .query("jobs")
      .withIndex("by_finished", (q) => q.gt("finishedAt", 0).lt("finishedAt", cutoff))
      .take(jobBatch);
    for (const job of oldJobs) {
      const events = await ctx.db
        .query("jobEvents")
        .withIndex("by_job", (q) => q.eq("jobId", job._id))
        .take(budget);
      for (const e of events) await ctx.db.delete(e._id);
      budget -= events.length;
      deleted += events.length;
      if (events.length === 0 || budget > 0) {
        const left = await ctx.db
          .query("jobEvents")
          .withIndex("by_job", (q) => q.eq("jobId", job._id))
          .first();
        if (!left) {
          await ctx.db.delete(job._id);
          deleted++;
          budget--;
        }
      }
      if (budget <= 0) break;
    }

    // Old rows of the append-only tables, oldest first, within what is left of the batch.
    const deleteAll = async (
      rows: {
        _id:
          | Id<"auditLog">
          | Id<"notifications">
          | Id<"refusedRequests">
          | Id<"callbackReceipts">
          | Id<"dailyJobStats">;
      }[],
    ) => {
      for (const r of rows) await ctx.db.delete(r._id);
      budget -= rows.length;
      deleted += rows.length;
    };
    if (budget > 0) {
      await deleteAll(
        await ctx.db
          .query("auditLog")
          .withIndex("by_at", (q) => q.lt("at", cutoff))
          .take(budget),
      );
    }
    if (budget > 0) {
      await deleteAll(
        await ctx.db
          .query("dailyJobStats")
          .withIndex("by_day", (q) => q.lt("day", cutoff - DAY_MS))
          .take(budget),
      );
    }
    if (budget > 0) {
      await deleteAll(
        await ctx.db
          .query("notifications")
          .withIndex("by_at", (q) => q.lt("at", cutoff))
          .take(budget),
      );
    }
    if (budget > 0) {
      await deleteAll(
        await ctx.db
          .query("refusedRequests")
          .withIndex("by_minute", (q) => q.lt("minute", cutoff))
          .take(budget),
      );
    }
    if (budget > 0) {
      await deleteAll(
        await ctx.db
          .query("callbackReceipts")
          .withIndex("by_received", (q) => q.lt("receivedAt", now - RECEIPT_RETENTION_MS))
          .take(budget),
      );
    }
    // A full batch of old jobs may not be all of them: an app syncing every minute finishes 1,440 a day, far more
    // than one batch, so the pass continues until the old jobs are gone, not only until the budget runs out.
    const more = budget <= 0 || oldJobs.length === jobBatch;
    if (more) await ctx.scheduler.runAfter(0, internal.maintenance.prune, { now });
    return { deleted, more };
  },
});
