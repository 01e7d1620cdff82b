/**
 * The watchdog and housekeeping run by crons.ts:
 * - fail (and retry, if attempts remain) active jobs with no sign of life for `staleJobMinutes` or past their
 *   attempt deadline; a job waiting on a cancel the executor never confirmed ends `cancelled`;
 * - re-register missing app schedules; re-seed admins from ADMIN_EMAILS;
 * - prune finished jobs (with their events), audit rows, callback receipts and notifications older than
 *   `retentionDays`, in bounded batches that reschedule themselves.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { internalMutation } from "./_generated/server";
import { seedAdminsFromEnv } from "./admins";
import { SIGNATURE_WINDOW_SECONDS } from "./contract/signing";
import { failAttempt, transitionJob } from "./jobs";
import { repairSchedules } from "./schedules";
import { loadSettings } from "./settings";

/** Active jobs are at most one per app, so this bounds one watchdog pass comfortably. */
const WATCHDOG_BATCH = 200;
export const PRUNE_BATCH = 200;
const DAY_MS = 24 * 60 * 60_000;
/** Receipts only need to outlive the signature window (older callbacks are refused as stale anyway). */
const RECEIPT_RETENTION_MS = 2 * SIGNATURE_WINDOW_SECONDS * 1000;

export const watchdog = internalMutation({
  args: {},
  handler: async (ctx): Promise<{ failed: number; cancelled: number }> => {
    const { staleJobMinutes } = await loadSettings(ctx);
    const now = Date.now();
    const staleBefore = now - staleJobMinutes * 60_000;
    let failed = 0;
    let cancelled = 0;
    const silent = await ctx.db
      .query("jobs")
      .withIndex("by_active_sign_of_life", (q) => q.eq("active", true).lt("lastSignOfLifeAt", staleBefore))
      .take(WATCHDOG_BATCH);
    const overdue = (
      await ctx.db
        .query("jobs")
        .withIndex("by_active_sign_of_life", (q) => q.eq("active", true).gte("lastSignOfLifeAt", staleBefore))
        .take(WATCHDOG_BATCH)
    ).filter((j) => j.attemptDeadline !== undefined && j.attemptDeadline < now);
    for (const job of [...silent, ...overdue]) {
      if (job.cancelRequested) {
        await transitionJob(
          ctx,
          job,
          "cancelled",
          {},
          {
            level: "warn",
            message: "cancelled: the executor never confirmed the cancel request",
          },
        );
        cancelled++;
        continue;
      }
      const late = job.attemptDeadline !== undefined && job.attemptDeadline < now;
      await failAttempt(ctx, job, {
        message: late
          ? `attempt ${job.attempt} passed its deadline`
          : `no sign of life for ${staleJobMinutes} minutes while ${job.status}`,
        code: late ? "deadline" : "no_sign_of_life",
        retryable: true,
      });
      failed++;
    }
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

    const oldJobs = await ctx.db
      .query("jobs")
      .withIndex("by_finished", (q) => q.gt("finishedAt", 0).lt("finishedAt", cutoff))
      .take(Math.max(1, Math.floor(budget / 10)));
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
      rows: { _id: Id<"auditLog"> | Id<"notifications"> | Id<"callbackReceipts"> }[],
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
          .query("notifications")
          .withIndex("by_at", (q) => q.lt("at", cutoff))
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
    const more = budget <= 0;
    if (more) await ctx.scheduler.runAfter(0, internal.maintenance.prune, { now });
    return { deleted, more };
  },
});
