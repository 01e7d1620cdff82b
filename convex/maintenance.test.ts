import { describe, expect, test } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { appendEvent } from "./jobs";
import { PRUNE_BATCH } from "./maintenance";
import { asAdmin, createApp, newTest, scheduled, type T } from "./test/harness.testkit";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const job = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));

async function runningJob(t: T, patch: Record<string, unknown> = {}): Promise<Id<"jobs">> {
  const appId = await createApp(t, { slug: `app-${Math.random().toString(36).slice(2, 8)}` });
  const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
  await t.run((ctx) => ctx.db.patch(jobId, { status: "running", ...patch }));
  return jobId;
}

describe("watchdog", () => {
  test("fails (and retries) a job silent for longer than the setting; leaves a live one alone", async () => {
    const t = newTest();
    await (await asAdmin(t)).mutation(api.settings.update, { retentionDays: 30, staleJobMinutes: 10 });
    const silent = await runningJob(t, { lastSignOfLifeAt: Date.now() - 11 * MINUTE });
    const alive = await runningJob(t, { lastSignOfLifeAt: Date.now() - 2 * MINUTE });
    expect(await t.mutation(internal.maintenance.watchdog, {})).toEqual({ failed: 1, cancelled: 0 });
    expect(await job(t, silent)).toMatchObject({
      status: "queued",
      attempt: 2,
      error: { code: "no_sign_of_life" },
    });
    expect((await job(t, alive))?.status).toBe("running");
  });

  test("a job past its attempt deadline fails even while it reports progress", async () => {
    const t = newTest();
    const late = await runningJob(t, { attemptDeadline: Date.now() - 1, maxAttempts: 1 });
    await t.mutation(internal.maintenance.watchdog, {});
    expect(await job(t, late)).toMatchObject({ status: "failed", error: { code: "deadline" } });
  });

  test("a cancel the executor never confirmed ends cancelled, not retried", async () => {
    const t = newTest();
    const jobId = await runningJob(t, {
      lastSignOfLifeAt: Date.now() - 60 * MINUTE,
      cancelRequested: { at: Date.now() - 60 * MINUTE, by: "admin:a@example.com" },
    });
    expect(await t.mutation(internal.maintenance.watchdog, {})).toEqual({ failed: 0, cancelled: 1 });
    expect(await job(t, jobId)).toMatchObject({ status: "cancelled", active: false });
  });
});

describe("pruning", () => {
  test("deletes finished jobs with their events, old audit rows and receipts; keeps recent and active ones", async () => {
    const t = newTest();
    const now = Date.now();
    const old = await runningJob(t);
    const recent = await runningJob(t);
    const active = await runningJob(t);
    await t.run(async (ctx) => {
      await ctx.db.patch(old, { status: "succeeded", active: false, finishedAt: now - 40 * DAY });
      await ctx.db.patch(recent, { status: "succeeded", active: false, finishedAt: now - 5 * DAY });
      for (let i = 0; i < 5; i++) await appendEvent(ctx, old, "info", `old ${i}`);
      await ctx.db.insert("auditLog", { at: now - 40 * DAY, actor: "system", action: "x", outcome: "ok" });
      const counts = { succeeded: 1, failed: 0, cancelled: 0, rows: 0, durationSumMs: 0, durationCount: 0 };
      await ctx.db.insert("dailyJobStats", { day: Math.floor((now - 40 * DAY) / DAY) * DAY, ...counts });
      await ctx.db.insert("dailyJobStats", { day: Math.floor((now - 5 * DAY) / DAY) * DAY, ...counts });
      await ctx.db.insert("callbackReceipts", { eventId: "e-old", kind: "progress", receivedAt: now - DAY });
      await ctx.db.insert("callbackReceipts", { eventId: "e-new", kind: "progress", receivedAt: now });
    });
    const result = await t.mutation(internal.maintenance.prune, { now });
    expect(result.more).toBe(false);
    expect(await job(t, old)).toBeNull();
    expect(await job(t, recent)).not.toBeNull();
    expect(await job(t, active)).not.toBeNull();
    const left = await t.run(async (ctx) => ({
      oldEvents: (await ctx.db.query("jobEvents").collect()).filter((e) => e.jobId === old).length,
      oldAudit: (await ctx.db.query("auditLog").collect()).filter((a) => a.at < now - 30 * DAY).length,
      receipts: (await ctx.db.query("callbackReceipts").collect()).map((r) => r.eventId),
      countedDays: (await ctx.db.query("dailyJobStats").collect()).length,
    }));
    expect(left).toEqual({ oldEvents: 0, oldAudit: 0, receipts: ["e-new"], countedDays: 1 });
  });

  test("old jobs beyond one batch are all pruned, batch after batch (a per-minute app finishes 1,440 a day)", async () => {
    const t = newTest();
    const now = Date.now();
    const appId = await createApp(t);
    const jobs = 200; // ten batches of jobs, each far under the row budget
    await t.run(async (ctx) => {
      for (let i = 0; i < jobs; i++) {
        const finishedAt = now - 40 * DAY + i * MINUTE;
        const jobId = await ctx.db.insert("jobs", {
          appId,
          appSlug: "shop",
          status: "succeeded",
          active: false,
          trigger: "schedule",
          triggeredBy: "system:schedule",
          kind: "incremental",
          attempt: 1,
          maxAttempts: 2,
          createdAt: finishedAt - 2_000,
          updatedAt: finishedAt,
          lastSignOfLifeAt: finishedAt,
          finishedAt,
          dispatchAttempts: 1,
          tables: [],
          eventCount: 2,
        });
        await ctx.db.insert("jobEvents", { jobId, at: finishedAt - 2_000, level: "info", message: "queued" });
        await ctx.db.insert("jobEvents", { jobId, at: finishedAt, level: "info", message: "succeeded" });
      }
    });
    let runs = 0;
    for (let more = true; more; runs++) more = (await t.mutation(internal.maintenance.prune, { now })).more;
    const left = await t.run(async (ctx) => ({
      jobs: (await ctx.db.query("jobs").collect()).length,
      events: (await ctx.db.query("jobEvents").collect()).length,
    }));
    expect(left).toEqual({ jobs: 0, events: 0 });
    // Each run stays within its batch: 3 rows per job, PRUNE_BATCH rows per run.
    expect(runs).toBeGreaterThanOrEqual(Math.ceil((jobs * 3) / PRUNE_BATCH));
  });

  test("works in bounded batches and schedules itself to continue", async () => {
    const t = newTest();
    const now = Date.now();
    await t.run(async (ctx) => {
      for (let i = 0; i < PRUNE_BATCH + 50; i++)
        await ctx.db.insert("auditLog", { at: now - 40 * DAY, actor: "system", action: "x", outcome: "ok" });
    });
    expect(await t.mutation(internal.maintenance.prune, { now })).toEqual({
      deleted: PRUNE_BATCH,
      more: true,
    });
    expect((await scheduled(t)).find((s) => s.name === "maintenance:prune")?.args).toEqual({ now });
    expect(await t.mutation(internal.maintenance.prune, { now })).toEqual({ deleted: 50, more: false });
  });
});
