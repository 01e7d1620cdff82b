/**
 * Figures for the dashboard's charts: per UTC day, rows synced, durations and success rate of finished jobs.
 * Reads the `by_finished` / `by_app_finished` index over a bounded range, at most MAX_JOBS_PER_CHART rows.
 */
import { v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { adminQuery } from "./access";
import { previousRuns } from "./lib/cron";
import { freshnessOf, lastLoadOf } from "./lib/freshness";
import { invalidInput } from "./lib/userError";

export const MAX_CHART_DAYS = 92;
export const MAX_JOBS_PER_CHART = 5_000;
const DAY_MS = 24 * 60 * 60_000;

export const dayFigures = v.object({
  /** UTC midnight of the day, epoch ms. */
  day: v.number(),
  succeeded: v.number(),
  failed: v.number(),
  cancelled: v.number(),
  rows: v.number(),
  avgDurationMs: v.union(v.number(), v.null()),
  maxDurationMs: v.union(v.number(), v.null()),
});
export type DayFigures = typeof dayFigures.type;

export const chartFigures = v.object({
  days: v.array(dayFigures),
  /** succeeded / (succeeded + failed) over the range; null when nothing finished. */
  successRate: v.union(v.number(), v.null()),
  /** True when the range held more than MAX_JOBS_PER_CHART jobs and the newest were left out. */
  truncated: v.boolean(),
});

export function aggregateByDay(jobs: Doc<"jobs">[], fromDay: number, toDay: number): DayFigures[] {
  const days = new Map<number, DayFigures & { durations: number; durationCount: number }>();
  for (let d = fromDay; d < toDay; d += DAY_MS)
    days.set(d, {
      day: d,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
      rows: 0,
      avgDurationMs: null,
      maxDurationMs: null,
      durations: 0,
      durationCount: 0,
    });
  for (const job of jobs) {
    if (job.finishedAt === undefined) continue;
    const bucket = days.get(Math.floor(job.finishedAt / DAY_MS) * DAY_MS);
    if (!bucket) continue;
    if (job.status === "succeeded") {
      bucket.succeeded++;
      bucket.rows += job.totalRows ?? 0;
      if (job.durationMs !== undefined) {
        bucket.durations += job.durationMs;
        bucket.durationCount++;
        bucket.maxDurationMs = Math.max(bucket.maxDurationMs ?? 0, job.durationMs);
      }
    } else if (job.status === "failed") bucket.failed++;
    else if (job.status === "cancelled") bucket.cancelled++;
  }
  return [...days.values()].map(({ durations, durationCount, ...d }) => ({
    ...d,
    avgDurationMs: durationCount > 0 ? Math.round(durations / durationCount) : null,
  }));
}

export const daily = adminQuery({
  args: { from: v.number(), to: v.number(), appId: v.optional(v.id("apps")) },
  returns: chartFigures,
  handler: async (ctx, args) => {
    const fromDay = Math.floor(args.from / DAY_MS) * DAY_MS;
    const toDay = Math.ceil(args.to / DAY_MS) * DAY_MS;
    if (toDay <= fromDay) throw invalidInput("to", "must be after `from`");
    if ((toDay - fromDay) / DAY_MS > MAX_CHART_DAYS)
      throw invalidInput("to", `at most ${MAX_CHART_DAYS} days after \`from\``);
    const query = args.appId
      ? ctx.db
          .query("jobs")
          .withIndex("by_app_finished", (q) =>
            q.eq("appId", args.appId!).gte("finishedAt", fromDay).lt("finishedAt", toDay),
          )
      : ctx.db
          .query("jobs")
          .withIndex("by_finished", (q) => q.gte("finishedAt", fromDay).lt("finishedAt", toDay));
    const jobs = await query.take(MAX_JOBS_PER_CHART + 1);
    const truncated = jobs.length > MAX_JOBS_PER_CHART;
    const days = aggregateByDay(jobs.slice(0, MAX_JOBS_PER_CHART), fromDay, toDay);
    const ok = days.reduce((n, d) => n + d.succeeded, 0);
    const bad = days.reduce((n, d) => n + d.failed, 0);
    return { days, successRate: ok + bad > 0 ? ok / (ok + bad) : null, truncated };
  },
});

const MAX_FRESHNESS_APPS = 500;

/**
 * Per app: how old the warehouse's copy is (the feed position, else the last successful load's snapshot) and
 * whether the schedule says late.
 */
export const freshness = adminQuery({
  args: {},
  returns: v.array(
    v.object({
      appId: v.id("apps"),
      snapshotAt: v.union(v.number(), v.null()),
      loadedAt: v.union(v.number(), v.null()),
      expectedSince: v.union(v.number(), v.null()),
      behind: v.boolean(),
      /** Apps on the change feed: how far behind the source the last incremental run ended (ms). */
      lagMs: v.union(v.number(), v.null()),
    }),
  ),
  handler: async (ctx) => {
    const now = Date.now();
    const apps = await ctx.db.query("apps").withIndex("by_name").take(MAX_FRESHNESS_APPS);
    const out = [];
    for (const app of apps) {
      const last = await ctx.db
        .query("jobs")
        .withIndex("by_app_status_created", (q) => q.eq("appId", app._id).eq("status", "succeeded"))
        .order("desc")
        .first();
      let runs: number[] | null = null;
      if (app.enabled && app.schedule) {
        try {
          runs = previousRuns(app.schedule.cron, app.schedule.timeZone, now, 2);
        } catch {
          runs = null;
        }
      }
      out.push({
        appId: app._id,
        ...freshnessOf(lastLoadOf(app.feed?.position, last), runs),
        lagMs: last?.kind === "incremental" ? (last.incremental?.lagMs ?? null) : null,
      });
    }
    return out;
  },
});
