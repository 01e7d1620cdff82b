/**
 * Per-day counts of finished jobs (`dailyJobStats`), kept as each job ends, for the daily chart (stats.ts). One
 * row per (UTC day, app): a chart of one app reads at most a row a day whatever the number of jobs (an app syncing
 * every minute finishes 1,440 a day), a chart of all apps sums the day's app rows (at most one per app). There is
 * no row over all apps: every finished job would patch it, a write conflict between apps finishing at once. Rows
 * without an app written before are left out of the sums (the app rows hold the same jobs). Jobs that finished
 * before the counts began (`dailyJobStatsSince`) are still read from the jobs table.
 */
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { MAX_APPS } from "./lib/limits";

export const DAY_MS = 24 * 60 * 60_000;

/** A day's figures with the sums an average needs, so counted rows and scanned jobs can be added up. */
export interface DayTotals {
  succeeded: number;
  failed: number;
  cancelled: number;
  rows: number;
  durationSumMs: number;
  durationCount: number;
  maxDurationMs?: number;
}

export const emptyTotals = (): DayTotals => ({
  succeeded: 0,
  failed: 0,
  cancelled: 0,
  rows: 0,
  durationSumMs: 0,
  durationCount: 0,
});

type FinishedJob = Pick<Doc<"jobs">, "status" | "finishedAt" | "durationMs" | "totalRows">;

/** Adds one finished job to a day's totals: rows and durations of successful jobs only, as the chart shows them. */
export function addJob(totals: DayTotals, job: FinishedJob): DayTotals {
  const next = { ...totals };
  if (job.status === "succeeded") {
    next.succeeded++;
    next.rows += job.totalRows ?? 0;
    if (job.durationMs !== undefined) {
      next.durationSumMs += job.durationMs;
      next.durationCount++;
      next.maxDurationMs = Math.max(next.maxDurationMs ?? 0, job.durationMs);
    }
  } else if (job.status === "failed") next.failed++;
  else if (job.status === "cancelled") next.cancelled++;
  return next;
}

export function addTotals(a: DayTotals, b: DayTotals): DayTotals {
  const max = [a.maxDurationMs, b.maxDurationMs].filter((m): m is number => m !== undefined);
  return {
    succeeded: a.succeeded + b.succeeded,
    failed: a.failed + b.failed,
    cancelled: a.cancelled + b.cancelled,
    rows: a.rows + b.rows,
    durationSumMs: a.durationSumMs + b.durationSumMs,
    durationCount: a.durationCount + b.durationCount,
    ...(max.length ? { maxDurationMs: Math.max(...max) } : {}),
  };
}

async function addToRow(ctx: MutationCtx, day: number, appId: Id<"apps">, job: FinishedJob) {
  const row = await ctx.db
    .query("dailyJobStats")
    .withIndex("by_app_day", (q) => q.eq("appId", appId).eq("day", day))
    .unique();
  if (row) {
    const { _id, _creationTime, day: _day, appId: _app, ...totals } = row;
    await ctx.db.patch(_id, addJob(totals, job));
  } else await ctx.db.insert("dailyJobStats", { day, appId, ...addJob(emptyTotals(), job) });
}

/** Counts a job that reached a final state (jobs.ts transitionJob). */
export async function countFinishedJob(ctx: MutationCtx, job: Doc<"jobs">): Promise<void> {
  if (job.finishedAt === undefined) return;
  if (!(await ctx.db.query("dailyJobStatsSince").first()))
    await ctx.db.insert("dailyJobStatsSince", { since: job.finishedAt });
  const day = Math.floor(job.finishedAt / DAY_MS) * DAY_MS;
  await addToRow(ctx, day, job.appId, job);
}

/** When the counts began (jobs finished earlier are read from `jobs`); null before any job was counted. */
export async function countedSince(ctx: QueryCtx): Promise<number | null> {
  return (await ctx.db.query("dailyJobStatsSince").first())?.since ?? null;
}

/** The counted days in [fromDay, toDay) of one app (a row a day), or of all apps (the day's app rows summed). */
export async function countedDays(
  ctx: QueryCtx,
  appId: Id<"apps"> | undefined,
  fromDay: number,
  toDay: number,
): Promise<Map<number, DayTotals>> {
  const days = new Map<number, DayTotals>();
  if (appId !== undefined) {
    const rows = await ctx.db
      .query("dailyJobStats")
      .withIndex("by_app_day", (q) => q.eq("appId", appId).gte("day", fromDay).lt("day", toDay))
      .take(Math.ceil((toDay - fromDay) / DAY_MS));
    for (const { _id, _creationTime, day, appId: _app, ...totals } of rows) days.set(day, totals);
    return days;
  }
  for (let day = fromDay; day < toDay; day += DAY_MS) {
    // A day's rows: one per app that finished a job that day (and a legacy all-apps row, skipped).
    const rows = await ctx.db
      .query("dailyJobStats")
      .withIndex("by_day", (q) => q.eq("day", day))
      .take(MAX_APPS + 1);
    for (const { _id, _creationTime, day: _day, appId: app, ...totals } of rows)
      if (app !== undefined) days.set(day, addTotals(days.get(day) ?? emptyTotals(), totals));
  }
  return days;
}
