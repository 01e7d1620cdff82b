/**
 * Per-day counts of finished jobs (`dailyJobStats`), kept as each job ends, for the daily chart (stats.ts). One
 * row per (UTC day, app): a chart of one app reads at most a row a day whatever the number of jobs (an app syncing
 * every minute finishes 1,440 a day). For the chart of all apps, each job is also added to one of ALL_APPS_SHARDS
 * rows of its day, chosen by its app: a chart of all apps reads at most ALL_APPS_SHARDS rows a day (summing the
 * app rows instead read up to MAX_APPS a day, 46,000 documents for 500 apps over 92 days: more than a Convex query
 * may read), and apps finishing at once rarely patch the same row (a single all-apps row would be a write conflict
 * between every pair of apps). Older all-apps rows without a shard are left out. Jobs that finished before the
 * counts began (`dailyJobStatsSince`) are still read from the jobs table. */
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";

export const DAY_MS = 24 * 60 * 60_000;
export const ALL_APPS_SHARDS = 16;

/** The all-apps shard an app's jobs are counted in: a stable hash of its id. */
export function shardOf(appId: Id<"apps">): number {
  let hash = 0;
  for (let i = 0; i < appId.length; i++) hash = (hash * 31 + appId.charCodeAt(i)) >>> 0;
  return hash % ALL_APPS_SHARDS;
}

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

/** Adds the job to its app's row of the day and to its app's all-apps shard row of the day. */
async function addToRows(ctx: MutationCtx, day: number, appId: Id<"apps">, job: FinishedJob) {
  const appRow = await ctx.db
    .query("dailyJobStats")
    .withIndex("by_app_day", (q) => q.eq("appId", appId).eq("day", day))
    .unique();
  const shard = shardOf(appId);
  const shardRow = await ctx.db
    .query("dailyJobStats")
    .withIndex("by_shard_day", (q) => q.eq("shard", shard).eq("day", day))
    .unique();
  for (const [row, key] of [
    [appRow, { appId }],
    [shardRow, { shard }],
  ] as const) {
    if (row) {
      const { _id, _creationTime, day: _day, appId: _app, shard: _shard, ...totals } = row;
      await ctx.db.patch(_id, addJob(totals, job));
    } else await ctx.db.insert("dailyJobStats", { day, ...key, ...addJob(emptyTotals(), job) });
  }
}

/** Counts a job that reached a final state (jobs.ts transitionJob). */
export async function countFinishedJob(ctx: MutationCtx, job: Doc<"jobs">): Promise<void> {
  if (job.finishedAt === undefined) return;
  if (!(await ctx.db.query("dailyJobStatsSince").first()))
    await ctx.db.insert("dailyJobStatsSince", { since: job.finishedAt });
  const day = Math.floor(job.finishedAt / DAY_MS) * DAY_MS;
  await addToRows(ctx, day, job.appId, job);
}

/** When the counts began (jobs finished earlier are read from `jobs`); null before any job was counted. */
export async function countedSince(ctx: QueryCtx): Promise<number | null> {
  return (await ctx.db.query("dailyJobStatsSince").first())?.since ?? null;
}

/** The counted days in [fromDay, toDay) of one app (a row a day), or of all apps (the day's shard rows summed). */
export async function countedDays(
  ctx: QueryCtx,
  appId: Id<"apps"> | undefined,
  fromDay: number,
  toDay: number,
): Promise<Map<number, DayTotals>> {
  const days = new Map<number, DayTotals>();
  const dayCount = Math.ceil((toDay - fromDay) / DAY_MS);
  if (appId !== undefined) {
    const rows = await ctx.db
      .query("dailyJobStats")
      .withIndex("by_app_day", (q) => q.eq("appId", appId).gte("day", fromDay).lt("day", toDay))
      .take(dayCount);
    for (const { _id, _creationTime, day, appId: _app, shard: _shard, ...totals } of rows)
      days.set(day, totals);
    return days;
  }
  for (let shard = 0; shard < ALL_APPS_SHARDS; shard++) {
    const rows = await ctx.db
      .query("dailyJobStats")
      .withIndex("by_shard_day", (q) => q.eq("shard", shard).gte("day", fromDay).lt("day", toDay))
      .take(dayCount);
    for (const { _id, _creationTime, day, appId: _app, shard: _shard, ...totals } of rows)
      days.set(day, addTotals(days.get(day) ?? emptyTotals(), totals));
  }
  return days;
}
