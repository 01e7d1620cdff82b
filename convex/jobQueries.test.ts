import { afterEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import type { JobStatus } from "./schema";
import { asAdmin, createApp, insertJob, newTest, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";

const DAY = 24 * 60 * 60_000;
afterEach(() => {
  vi.useRealTimers();
});

const T0 = Date.UTC(2026, 10, 1);

function jobWithStatus(
  t: T,
  appId: Id<"apps">,
  status: JobStatus,
  finishedAt?: number,
  extra: Partial<Doc<"jobs">> = {},
) {
  return insertJob(t, appId, {
    appSlug: "x",
    status,
    createdAt: finishedAt ?? T0,
    updatedAt: finishedAt ?? T0,
    lastSignOfLifeAt: 0,
    ...(finishedAt !== undefined ? { finishedAt } : {}),
    ...extra,
  });
}

describe("dashboard job queries", () => {
  test("jobs by app and by status page through indexes, newest first", async () => {
    const t = newTest();
    const a = await createApp(t);
    const b = await createApp(t, { slug: "b", name: "B" });
    for (let i = 0; i < 5; i++) await jobWithStatus(t, a, i % 2 ? "failed" : "succeeded", T0 + i);
    await jobWithStatus(t, b, "failed", T0);
    const admin = await asAdmin(t);
    const first = await admin.query(api.jobQueries.listByApp, {
      appId: a,
      paginationOpts: { numItems: 3, cursor: null },
    });
    expect(first.page).toHaveLength(3);
    expect(first.isDone).toBe(false);
    const rest = await admin.query(api.jobQueries.listByApp, {
      appId: a,
      paginationOpts: { numItems: 3, cursor: first.continueCursor },
    });
    expect(rest.page).toHaveLength(2);
    expect([...first.page, ...rest.page].map((j) => j.finishedAt)).toEqual([
      T0 + 4,
      T0 + 3,
      T0 + 2,
      T0 + 1,
      T0,
    ]);

    const failed = await admin.query(api.jobQueries.listByStatus, {
      status: "failed",
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(failed.page).toHaveLength(3);
    const failedA = await admin.query(api.jobQueries.listByStatus, {
      status: "failed",
      appId: a,
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(failedA.page.every((j) => j.appId === a)).toBe(true);
    expect(failedA.page).toHaveLength(2);
  });

  describe("date ranges apply to createdAt, alone or with app and status", () => {
    const HOUR = 3_600_000;
    // Inserted out of createdAt order, all "now" (a month later): only createdAt can place them.
    async function seed() {
      const t = newTest();
      vi.setSystemTime(T0 + 30 * DAY);
      const a = await createApp(t);
      const b = await createApp(t, { slug: "b", name: "B" });
      const job = (appId: Id<"apps">, status: JobStatus, hours: number) =>
        jobWithStatus(t, appId, status, undefined, { createdAt: T0 + hours * HOUR });
      await job(a, "failed", 4);
      await job(b, "failed", 6);
      await job(a, "failed", 1);
      await job(a, "succeeded", 3);
      await job(a, "failed", 5);
      await job(b, "failed", 3);
      await job(a, "failed", 2);
      return { t, a, admin: await asAdmin(t) };
    }
    const hoursOf = (page: { createdAt: number }[]) => page.map((j) => (j.createdAt - T0) / HOUR);
    const all = { numItems: 50, cursor: null };

    test("status with a range: from inclusive, to exclusive, newest first, every app or one", async () => {
      const { a, admin } = await seed();
      const failed = (extra: { appId?: Id<"apps">; from?: number; to?: number }) =>
        admin
          .query(api.jobQueries.listByStatus, { status: "failed", paginationOpts: all, ...extra })
          .then((r) => hoursOf(r.page));
      expect(await failed({ from: T0 + 2 * HOUR, to: T0 + 5 * HOUR })).toEqual([4, 3, 2]);
      expect(await failed({ appId: a, from: T0 + 2 * HOUR, to: T0 + 5 * HOUR })).toEqual([4, 2]);
      expect(await failed({ from: T0 + 5 * HOUR })).toEqual([6, 5]);
      expect(await failed({ to: T0 + 2 * HOUR })).toEqual([1]);
      expect(await failed({ appId: a, from: T0 + 5 * HOUR, to: T0 + 6 * HOUR })).toEqual([5]);
      expect(await failed({ from: T0 + 2 * HOUR + 1, to: T0 + 3 * HOUR })).toEqual([]);
      expect(await failed({})).toEqual([6, 5, 4, 3, 2, 1]);
    });

    test("a combined filter pages through its range only", async () => {
      const { admin } = await seed();
      const args = { status: "failed" as const, from: T0 + 2 * HOUR, to: T0 + 6 * HOUR };
      const first = await admin.query(api.jobQueries.listByStatus, {
        ...args,
        paginationOpts: { numItems: 2, cursor: null },
      });
      const rest = await admin.query(api.jobQueries.listByStatus, {
        ...args,
        paginationOpts: { numItems: 2, cursor: first.continueCursor },
      });
      expect([hoursOf(first.page), hoursOf(rest.page), rest.isDone]).toEqual([[5, 4], [3, 2], true]);
    });

    test("app with a range and a range alone", async () => {
      const { a, admin } = await seed();
      const byApp = await admin.query(api.jobQueries.listByApp, {
        appId: a,
        from: T0 + 2 * HOUR,
        to: T0 + 5 * HOUR,
        paginationOpts: all,
      });
      expect(hoursOf(byApp.page)).toEqual([4, 3, 2]);
      const range = (from: number, to: number) =>
        admin
          .query(api.jobQueries.listByDateRange, { from, to, paginationOpts: all })
          .then((r) => hoursOf(r.page));
      expect(await range(T0 + 2 * HOUR, T0 + 5 * HOUR)).toEqual([4, 3, 3, 2]);
      expect(await range(T0 + 30 * DAY - HOUR, T0 + 31 * DAY)).toEqual([]);
    });
  });

  test("job detail has per-table figures and events", async () => {
    const t = newTest();
    const a = await createApp(t);
    const admin = await asAdmin(t);
    const { jobId } = await admin.mutation(api.jobs.trigger, { appId: a });
    await t.run((ctx) =>
      ctx.db.patch(jobId, { tables: [{ table: "users", state: "loaded", rows: 3, bytes: 30 }] }),
    );
    const detail = await admin.query(api.jobQueries.get, { jobId });
    expect(detail?.app).toMatchObject({ slug: "shop" });
    expect(detail?.job.tables).toEqual([{ table: "users", state: "loaded", rows: 3, bytes: 30 }]);
    expect(detail?.events.map((e) => e.message)).toEqual([
      expect.stringMatching(/^queued \(manual by admin:/),
    ]);
  });

  test("chart figures: rows, durations and success rate per UTC day over a bounded range", async () => {
    const t = newTest();
    const a = await createApp(t);
    await jobWithStatus(t, a, "succeeded", T0 + 1000, { totalRows: 100, durationMs: 2000 });
    await jobWithStatus(t, a, "succeeded", T0 + 2000, { totalRows: 50, durationMs: 4000 });
    await jobWithStatus(t, a, "failed", T0 + DAY + 5);
    await jobWithStatus(t, a, "succeeded", T0 + 5 * DAY, { totalRows: 1 });
    const admin = await asAdmin(t);
    const figures = await admin.query(api.stats.daily, { from: T0, to: T0 + 2 * DAY });
    expect(figures.days).toEqual([
      { day: T0, succeeded: 2, failed: 0, cancelled: 0, rows: 150, avgDurationMs: 3000, maxDurationMs: 4000 },
      {
        day: T0 + DAY,
        succeeded: 0,
        failed: 1,
        cancelled: 0,
        rows: 0,
        avgDurationMs: null,
        maxDurationMs: null,
      },
    ]);
    expect(figures.successRate).toBeCloseTo(2 / 3);
    expect(figures.truncated).toBe(false);
    await expectUserError(admin.query(api.stats.daily, { from: T0, to: T0 + 200 * DAY }), {
      code: "invalid_input",
      field: "to",
      message: /at most 92 days/,
    });
  });

  test("freshness: the last successful load's snapshot per app, behind when a scheduled run did not land", async () => {
    vi.useFakeTimers({ now: T0 + 7 * 3_600_000 + 20 * 60_000 });
    const t = newTest();
    const hourly = await createApp(t, { slug: "hourly", schedule: { cron: "0 * * * *", timeZone: "UTC" } });
    const manual = await createApp(t, { slug: "manual" });
    const snapshot = (ms: number) => ({ export: { requestedAt: ms, checks: 1, snapshotTs: `${ms}000000` } });
    await jobWithStatus(
      t,
      hourly,
      "succeeded",
      T0 + 5 * 3_600_000 + 60_000,
      snapshot(T0 + 5 * 3_600_000 + 5_000),
    );
    await jobWithStatus(
      t,
      hourly,
      "failed",
      T0 + 6 * 3_600_000 + 60_000,
      snapshot(T0 + 6 * 3_600_000 + 5_000),
    );
    const admin = await asAdmin(t);
    const byApp = new Map((await admin.query(api.stats.freshness, {})).map((f) => [f.appId, f]));
    expect(byApp.get(hourly)).toEqual({
      appId: hourly,
      snapshotAt: T0 + 5 * 3_600_000 + 5_000,
      loadedAt: T0 + 5 * 3_600_000 + 60_000,
      expectedSince: T0 + 6 * 3_600_000,
      behind: true,
      lagMs: null,
    });
    expect(byApp.get(manual)).toMatchObject({ snapshotAt: null, behind: false });
    await jobWithStatus(
      t,
      hourly,
      "succeeded",
      T0 + 6 * 3_600_000 + 90_000,
      snapshot(T0 + 6 * 3_600_000 + 7_000),
    );
    expect((await admin.query(api.stats.freshness, {})).find((f) => f.appId === hourly)?.behind).toBe(false);
  });
});
