/**
 * Figures for the dashboard's charts: per UTC day, rows synced, durations and success rate of finished jobs, from
 * the per-day counts (dailyStats.ts) and, for jobs finished before those began, the `by_finished` /
 * `by_app_finished` index over a bounded range, at most MAX_JOBS_PER_CHART rows.
 */
import { v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { adminQuery } from "./access";
import {
  addJob,
  addTotals,
  countedDays,
  countedSince,
  DAY_MS,
  emptyTotals,
  type DayTotals,
} from "./dailyStats";
import { previousRuns } from "./lib/cron";
import { freshnessOf, lastLoadOf } from "./lib/freshness";
import { invalidInput } from "./lib/userError";

export const MAX_CHART_DAYS = 92;
export const MAX_JOBS_PER_CHART = 5_000;

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

/** The chart's days: each day's totals as figures (average from the sums), every day in the range present. */
function toDayFigures(totals: Map<number, DayTotals>, fromDay: number, toDay: number): DayFigures[] {
  const days: DayFigures[] = [];
  for (let day = fromDay; day < toDay; day += DAY_MS) {
    const { durationSumMs, durationCount, maxDurationMs, ...counts } = totals.get(day) ?? emptyTotals();
    days.push({
      day,
      ...counts,
      avgDurationMs: durationCount > 0 ? Math.round(durationSumMs / durationCount) : null,
      maxDurationMs: maxDurationMs ?? null,
    });
  }
  return days;
}

/** Jobs' figures per UTC day of `finishedAt`. */
export function aggregateByDay(jobs: Doc<"jobs">[], fromDay: number, toDay: number): DayFigures[] {
  return toDayFigures(totalsOfJobs(jobs), fromDay, toDay);
}

function totalsOfJobs(jobs: Doc<"jobs">[]): Map<number, DayTotals> {
  const totals = new Map<number, DayTotals>();
  for (const job of jobs) {
    if (job.finishedAt === undefined) continue;
    const day = Math.floor(job.finishedAt / DAY_MS) * DAY_MS;
    totals.set(day, addJob(totals.get(day) ?? emptyTotals(), job));
  }
  return totals;
}

/**
 * Jobs finished since the per-day counts began are read from them (dailyStats.ts: a row a day, however many jobs);
 * earlier ones from the jobs themselves, at most MAX_JOBS_PER_CHART.
 */
export const daily = adminQuery({
  args: { from: v.number(), to: v.number(), appId: v.optional(v.id("apps")) },
  returns: chartFigures,
  handler: async (ctx, args) => {
    const fromDay = Math.floor(args.from / DAY_MS) * DAY_MS;
    const toDay = Math.ceil(args.to / DAY_MS) * DAY_MS;
    if (toDay <= fromDay) throw invalidInput("to", "must be after `from`");
    if ((toDay - fromDay) / DAY_MS > MAX_CHART_DAYS)
      throw invalidInput("to", `at most ${MAX_CHART_DAYS} days after \`from\``);
    const since = await countedSince(ctx);
    const scanTo = since === null ? toDay : Math.min(toDay, since);
    let scanned: Doc<"jobs">[] = [];
    if (scanTo > fromDay) {
      const query = args.appId
        ? ctx.db
            .query("jobs")
            .withIndex("by_app_finished", (q) =>
              q.eq("appId", args.appId!).gte("finishedAt", fromDay).lt("finishedAt", scanTo),
            )
        : ctx.db
            .query("jobs")
            .withIndex("by_finished", (q) => q.gte("finishedAt", fromDay).lt("finishedAt", scanTo));
      scanned = await query.take(MAX_JOBS_PER_CHART + 1);
    }
    const truncated = scanned.length > MAX_JOBS_PER_CHART;
    const totals = totalsOfJobs(scanned.slice(0, MAX_JOBS_PER_CHART));
    if (since !== null)
      for (const [day, counted] of await countedDays(ctx, args.appId, fromDay, toDay))
        totals.set(day, addTotals(totals.get(day) ?? emptyTotals(), counted));
    const days = toDayFigures(totals, fromDay, toDay);
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
