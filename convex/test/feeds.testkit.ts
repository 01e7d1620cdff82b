/**
 * Shared by the sync-mode tests (feeds.test.ts, feedWiring.test.ts): reading an app's jobs and events back, Sync Now,
 * and an executor completion callback to apply.
 */
import { api } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import type { CompletionCallback } from "../contract/executor";
import { MAX_EVENTS_PER_JOB } from "../jobs";
import { asAdmin, type T } from "./harness.testkit";

export const trigger = async (t: T, appId: Id<"apps">) =>
  (await (await asAdmin(t)).mutation(api.jobs.trigger, { appId })).jobId;
export const jobOf = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));
export const appOf = (t: T, appId: Id<"apps">) => t.run((ctx) => ctx.db.get(appId));
export const jobsOf = (t: T, appId: Id<"apps">) =>
  t.run((ctx) =>
    ctx.db
      .query("jobs")
      .withIndex("by_app_created", (q) => q.eq("appId", appId))
      .take(100),
  );
export const eventsOf = async (t: T, jobId: Id<"jobs">) =>
  (
    await t.run((ctx) =>
      ctx.db
        .query("jobEvents")
        .withIndex("by_job", (q) => q.eq("jobId", jobId))
        .take(MAX_EVENTS_PER_JOB),
    )
  ).map((e) => e.message);

/** A successful completion of attempt 1 from executor `pc-1`; `extra` overrides any field. */
export function completion(jobId: Id<"jobs">, extra: Partial<CompletionCallback> = {}): CompletionCallback {
  return {
    eventId: `complete-${Math.random()}`,
    executorId: "pc-1",
    at: Date.now(),
    jobId,
    attempt: 1,
    outcome: "succeeded",
    tables: [],
    totalRows: 4,
    durationMs: 500,
    ...extra,
  };
}
