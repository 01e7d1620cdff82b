/**
 * The daily chart at an app-syncing-every-minute scale: finished jobs are counted per day as they end, and the chart
 * reads those counts (a row a day) instead of every job; jobs that ended before counting began still come from
 * the jobs table.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { ALL_APPS_SHARDS, DAY_MS, shardOf } from "./dailyStats";
import { transitionJob } from "./jobs";
import type { JobStatus } from "./schema";
import { asAdmin, createApp, insertJob, newTest, type T } from "./test/harness.testkit";

afterEach(() => {
  vi.useRealTimers();
});

const T0 = Date.UTC(2026, 10, 1);

/** A job that runs from `at` for `ms` and ends `status` through the state machine (as every job ends). */
async function finish(t: T, appId: Id<"apps">, at: number, ms: number, status: JobStatus, totalRows = 0) {
  vi.setSystemTime(at);
  const jobId = await insertJob(t, appId, { status: "running", kind: "incremental" });
  vi.setSystemTime(at + ms);
  await t.run(async (ctx) =>
    transitionJob(ctx, (await ctx.db.get(jobId))!, status, status === "succeeded" ? { totalRows } : {}),
  );
  return jobId;
}

describe("per-day job counts for the daily chart", () => {
  test("every finished job is counted once per day and app; the chart adds earlier jobs from the jobs table", async () => {
    const t = newTest();
    vi.setSystemTime(T0);
    const a = await createApp(t, { slug: "a" });
    const b = await createApp(t, { slug: "b" });
    // Before counting began: read from the jobs themselves.
    await insertJob(t, a, { status: "succeeded", finishedAt: T0 + 1_000, durationMs: 9_000, totalRows: 7 });

    for (let minute = 0; minute < 30; minute++)
      await finish(t, a, T0 + 60_000 * (minute + 1), 2_000, minute % 10 === 9 ? "failed" : "succeeded", 3);
    await finish(t, b, T0 + DAY_MS + 5_000, 4_000, "succeeded", 100);
    await finish(t, b, T0 + DAY_MS + 9_000, 1_000, "cancelled");

    const rows = await t.run((ctx) => ctx.db.query("dailyJobStats").collect());
    const appRows = rows.filter((r) => r.appId !== undefined);
    expect(appRows).toHaveLength(2); // day 1: a; day 2: b
    // And one all-apps shard row a day (each day had one app).
    expect(rows.filter((r) => r.shard !== undefined).map((r) => [r.day, r.shard])).toEqual([
      [T0, shardOf(a)],
      [T0 + DAY_MS, shardOf(b)],
    ]);
    expect(rows.find((r) => r.appId === a && r.day === T0)).toMatchObject({
      succeeded: 27,
      failed: 3,
      rows: 81,
      durationSumMs: 54_000,
      durationCount: 27,
      maxDurationMs: 2_000,
    });

    const admin = await asAdmin(t);
    const all = await admin.query(api.stats.daily, { from: T0, to: T0 + 2 * DAY_MS });
    expect(all.days).toEqual([
      // 27 counted successes + the one read from jobs: (27 × 2 s + 9 s) / 28.
      {
        day: T0,
        succeeded: 28,
        failed: 3,
        cancelled: 0,
        rows: 88,
        avgDurationMs: 2_250,
        maxDurationMs: 9_000,
      },
      {
        day: T0 + DAY_MS,
        succeeded: 1,
        failed: 0,
        cancelled: 1,
        rows: 100,
        avgDurationMs: 4_000,
        maxDurationMs: 4_000,
      },
    ]);
    expect(all.truncated).toBe(false);
    const onlyB = await admin.query(api.stats.daily, { from: T0, to: T0 + 2 * DAY_MS, appId: b });
    expect(onlyB.days.map((d) => d.succeeded + d.failed + d.cancelled)).toEqual([0, 2]);
  });

  test("after counting began the chart reads the counts, not the jobs (a row a day, however many jobs)", async () => {
    const t = newTest();
    vi.setSystemTime(T0);
    const a = await createApp(t);
    await finish(t, a, T0 + 60_000, 1_000, "succeeded", 1);
    // A job row that was never counted (not possible in the running system): the chart does not see it.
    await insertJob(t, a, { status: "succeeded", finishedAt: T0 + 120_000, totalRows: 500 });
    const chart = await (await asAdmin(t)).query(api.stats.daily, { from: T0, to: T0 + DAY_MS });
    expect(chart.days[0]).toMatchObject({ succeeded: 1, rows: 1 });
  });

  test("apps finishing on the same day write their own rows and their shard's; the all-apps chart sums the shards, skipping old all-apps rows", async () => {
    const t = newTest();
    vi.setSystemTime(T0);
    const a = await createApp(t, { slug: "a" });
    const b = await createApp(t, { slug: "b", targetSchema: "b" });
    await finish(t, a, T0 + 60_000, 1_000, "succeeded", 5);
    await finish(t, b, T0 + 120_000, 3_000, "succeeded", 7);
    await finish(t, b, T0 + 180_000, 1_000, "failed");
    const rows = await t.run((ctx) => ctx.db.query("dailyJobStats").collect());
    expect(
      rows
        .filter((r) => r.appId !== undefined)
        .map((r) => r.appId)
        .sort(),
    ).toEqual([a, b].sort());
    const shards = rows.filter((r) => r.shard !== undefined);
    expect(shards.reduce((n, r) => n + r.succeeded + r.failed, 0)).toBe(3);
    // An all-apps row from before shards: its jobs are in the shard rows too, so it is not added again.
    await t.run((ctx) =>
      ctx.db.insert("dailyJobStats", {
        day: T0,
        succeeded: 2,
        failed: 1,
        cancelled: 0,
        rows: 12,
        durationSumMs: 4_000,
        durationCount: 2,
        maxDurationMs: 3_000,
      }),
    );
    const chart = await (await asAdmin(t)).query(api.stats.daily, { from: T0, to: T0 + DAY_MS });
    expect(chart.days).toEqual([
      {
        day: T0,
        succeeded: 2,
        failed: 1,
        cancelled: 0,
        rows: 12,
        avgDurationMs: 2_000,
        maxDurationMs: 3_000,
      },
    ]);
  });

  test("the all-apps chart reads at most one row per shard and day, however many apps: 40 apps over 3 days", async () => {
    const t = newTest();
    vi.setSystemTime(T0);
    const apps: Id<"apps">[] = [];
    for (let i = 0; i < 40; i++) apps.push(await createApp(t, { slug: `app-${i}`, targetSchema: `s${i}` }));
    for (let day = 0; day < 3; day++)
      for (const [i, app] of apps.entries())
        await finish(t, app, T0 + day * DAY_MS + 60_000 * (i + 1), 1_000, "succeeded", i);
    const rows = await t.run((ctx) => ctx.db.query("dailyJobStats").collect());
    const shardRows = rows.filter((r) => r.shard !== undefined);
    const used = new Set(apps.map(shardOf));
    expect(used.size).toBeGreaterThan(1); // the apps spread over several shards
    expect(shardRows).toHaveLength(3 * used.size);
    expect(Math.max(...shardRows.map((r) => r.shard!))).toBeLessThan(ALL_APPS_SHARDS);
    const chart = await (await asAdmin(t)).query(api.stats.daily, { from: T0, to: T0 + 3 * DAY_MS });
    const rowsPerDay = (40 * 39) / 2;
    expect(chart.days.map((d) => [d.succeeded, d.rows])).toEqual([
      [40, rowsPerDay],
      [40, rowsPerDay],
      [40, rowsPerDay],
    ]);
  });
});
