import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { crons, scheduleName } from "./schedules";
import { asAdmin, createApp, newTest, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";

afterEach(() => {
  vi.useRealTimers();
});

const LONDON_9AM = { cron: "0 9 * * *", timeZone: "Europe/London" };

/** Moves the fake clock to `iso` in steps, running whatever the scheduler has due (crons reschedule themselves). */
async function advanceTo(t: T, iso: string, stepMs = 60 * 60_000) {
  const target = new Date(iso).getTime();
  while (Date.now() < target) {
    vi.advanceTimersByTime(Math.min(stepMs, target - Date.now()));
    await t.finishInProgressScheduledFunctions();
  }
  // Work the last step scheduled with runAfter(0) (the cron's execution) still needs a tick.
  for (let i = 0; i < 3; i++) {
    vi.advanceTimersByTime(1);
    await t.finishInProgressScheduledFunctions();
  }
}

const registered = (t: T, appId: Id<"apps">) => t.run((ctx) => crons.get(ctx, { name: scheduleName(appId) }));
const scheduledJobs = (t: T) =>
  t.run(async (ctx) => (await ctx.db.query("jobs").collect()).filter((j) => j.trigger === "schedule"));

describe("app schedules (@convex-dev/crons)", () => {
  test("fires at 09:00 London time across the switch to summer time", async () => {
    const t = newTest();
    vi.setSystemTime(new Date("2026-03-27T12:00:00Z"));
    const appId = await createApp(t, { schedule: LONDON_9AM });
    expect((await registered(t, appId))?.schedule).toEqual({
      kind: "cron",
      cronspec: "0 9 * * *",
      tz: "Europe/London",
    });

    const [row] = await (
      await asAdmin(t)
    ).query(api.schedules.nextRunsByApp, {
      count: 3,
      timelineFrom: Date.UTC(2026, 2, 28, 0),
    });
    expect(row?.registered).toBe(true);
    // 09:00 London: 09:00Z on the 28th (window 36), 08:00Z on the 29th after the clocks change (96 + 32).
    expect(row?.timeline).toEqual({ occupied: [36, 128], runs: 2 });
    expect(row?.nextRuns.map((r) => new Date(r).toISOString())).toEqual([
      "2026-03-28T09:00:00.000Z",
      "2026-03-29T08:00:00.000Z",
      "2026-03-30T08:00:00.000Z",
    ]);

    await advanceTo(t, "2026-03-28T09:00:30Z");
    const first = await scheduledJobs(t);
    expect(first.map((j) => new Date(j.createdAt).toISOString().slice(0, 16))).toEqual(["2026-03-28T09:00"]);
    // Let that job finish so the next run can start one.
    await t.run((ctx) => ctx.db.patch(first[0]!._id, { status: "succeeded", active: false }));
    await advanceTo(t, "2026-03-29T08:00:30Z");
    const both = await scheduledJobs(t);
    expect(both.map((j) => new Date(j.createdAt).toISOString().slice(0, 16))).toEqual([
      "2026-03-28T09:00",
      "2026-03-29T08:00",
    ]);
  });

  test("update re-registers, disabling removes, invalid spec or zone is refused naming the field", async () => {
    const t = newTest();
    const appId = await createApp(t, { schedule: LONDON_9AM });
    const admin = await asAdmin(t);
    const base = {
      appId,
      name: "Shop",
      slug: "shop",
      deploymentUrl: "http://127.0.0.1:9",
      tables: null,
      targetSchema: "shop",
      enabled: true,
    };
    await admin.mutation(api.apps.update, {
      ...base,
      schedule: { cron: "*/15 * * * *", timeZone: "America/New_York" },
    });
    expect((await registered(t, appId))?.schedule).toMatchObject({
      cronspec: "*/15 * * * *",
      tz: "America/New_York",
    });
    await expectUserError(
      admin.mutation(api.apps.update, { ...base, schedule: { cron: "0 9 * * *", timeZone: "Mars/Base" } }),
      { code: "invalid_input", field: "schedule", message: /unknown time zone "Mars\/Base"/ },
    );
    await expectUserError(
      admin.mutation(api.apps.update, { ...base, schedule: { cron: "0 25 * * *", timeZone: "UTC" } }),
      { code: "invalid_input", field: "schedule", message: /cron "0 25 \* \* \*"/ },
    );
    expect((await registered(t, appId))?.schedule).toMatchObject({ cronspec: "*/15 * * * *" });
    await admin.mutation(api.apps.setEnabled, { appId, enabled: false });
    expect(await registered(t, appId)).toBeNull();
    expect((await admin.query(api.schedules.nextRunsByApp, { timelineFrom: Date.now() }))[0]).toMatchObject({
      registered: false,
      nextRuns: [],
      timeline: null,
    });
  });

  test("the maintenance cron re-registers a schedule that went missing", async () => {
    const t = newTest();
    const appId = await createApp(t, { schedule: LONDON_9AM });
    await t.run((ctx) => crons.delete(ctx, { name: scheduleName(appId) }));
    expect(await registered(t, appId)).toBeNull();
    expect(await t.mutation(internal.maintenance.repair, {})).toMatchObject({ schedulesChanged: 1 });
    expect((await registered(t, appId))?.schedule).toMatchObject({
      cronspec: "0 9 * * *",
      tz: "Europe/London",
    });
    expect(await t.mutation(internal.maintenance.repair, {})).toMatchObject({ schedulesChanged: 0 });
  });

  test("preview validates without saving", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    expect(
      await admin.query(api.schedules.preview, { cron: "0 9 * * 1", timeZone: "Europe/Rome", count: 2 }),
    ).toMatchObject({
      ok: true,
      nextRuns: [expect.any(Number), expect.any(Number)],
    });
    expect(await admin.query(api.schedules.preview, { cron: "nope", timeZone: "UTC" })).toMatchObject({
      ok: false,
    });
  });

  test("preview says whether a schedule runs more often than hourly (the form warns snapshot-mode apps)", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const often = async (cron: string) => {
      const preview = await admin.query(api.schedules.preview, { cron, timeZone: "Europe/Rome" });
      return preview.ok ? preview.moreOftenThanHourly : preview.error;
    };
    expect(await often("* * * * *")).toBe(true);
    expect(await often("*/30 * * * *")).toBe(true);
    expect(await often("0,30 9 * * *")).toBe(true);
    expect(await often("0 * * * *")).toBe(false);
    expect(await often("0 9-17 * * 1-5")).toBe(false);
    expect(await often("0 2 * * *")).toBe(false);
  });
});
