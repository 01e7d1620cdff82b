import { describe, expect, test } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { appendEvent, failAttempt, MAX_EVENTS_PER_JOB, transitionJob } from "./jobs";
import { asAdmin, createApp, newTest, scheduled, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";

async function job(t: T, jobId: Id<"jobs">) {
  const row = await t.run((ctx) => ctx.db.get(jobId));
  if (!row) throw new Error("job missing");
  return row;
}

async function setStatus(t: T, jobId: Id<"jobs">, status: "exporting" | "dispatched" | "running") {
  await t.run((ctx) => ctx.db.patch(jobId, { status }));
}

describe("jobs", () => {
  test("a trigger queues a job and schedules the export", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const admin = await asAdmin(t);
    const result = await admin.mutation(api.jobs.trigger, { appId });
    expect(result).toMatchObject({ status: "queued", created: true });
    const row = await job(t, result.jobId);
    expect(row).toMatchObject({ status: "queued", active: true, attempt: 1, trigger: "manual" });
    expect((await scheduled(t)).map((s) => s.name)).toContain("exports:startExport");
    const app = await t.run((ctx) => ctx.db.get(appId));
    expect(app).toMatchObject({ lastJobId: result.jobId, lastJobStatus: "queued" });
  });

  test("one active job per app: a second trigger returns the first job", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const otherAppId = await createApp(t, { slug: "other", name: "Other" });
    const admin = await asAdmin(t);
    const first = await admin.mutation(api.jobs.trigger, { appId });
    await setStatus(t, first.jobId, "running");
    const second = await admin.mutation(api.jobs.trigger, { appId });
    expect(second).toEqual({ jobId: first.jobId, status: "running", created: false });
    const other = await admin.mutation(api.jobs.trigger, { appId: otherAppId });
    expect(other.created).toBe(true);
    await t.run(async (ctx) => {
      const j = await ctx.db.get(first.jobId);
      await transitionJob(ctx, j!, "succeeded");
    });
    const third = await admin.mutation(api.jobs.trigger, { appId });
    expect(third.created).toBe(true);
    expect(third.jobId).not.toBe(first.jobId);
  });

  test("a disabled app cannot be triggered", async () => {
    const t = newTest();
    const appId = await createApp(t, { enabled: false });
    const admin = await asAdmin(t);
    await expectUserError(admin.mutation(api.jobs.trigger, { appId }), {
      code: "conflict",
      message: /app shop is disabled/,
    });
  });

  test("invalid transitions throw and change nothing", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
    await expect(
      t.run(async (ctx) => {
        await transitionJob(ctx, (await ctx.db.get(jobId))!, "running");
      }),
    ).rejects.toThrow(/cannot move from queued to running/);
    expect((await job(t, jobId)).status).toBe("queued");
  });

  test("cancel before dispatch ends the job at once; after dispatch it asks the executor", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const admin = await asAdmin(t);
    const a = await admin.mutation(api.jobs.trigger, { appId });
    expect(await admin.mutation(api.jobs.cancel, { jobId: a.jobId })).toEqual({
      status: "cancelled",
      cancelRequested: false,
    });
    expect(await job(t, a.jobId)).toMatchObject({ status: "cancelled", active: false });
    await expectUserError(admin.mutation(api.jobs.cancel, { jobId: a.jobId }), {
      code: "conflict",
      message: /already cancelled/,
    });

    const b = await admin.mutation(api.jobs.trigger, { appId });
    await setStatus(t, b.jobId, "running");
    expect(await admin.mutation(api.jobs.cancel, { jobId: b.jobId })).toEqual({
      status: "running",
      cancelRequested: true,
    });
    const pending = await scheduled(t);
    expect(pending.find((s) => s.name === "dispatch:sendCancel")?.args).toMatchObject({ jobId: b.jobId });
    await t.mutation(internal.jobs.markCancelled, { jobId: b.jobId, attempt: 1, message: "confirmed" });
    expect(await job(t, b.jobId)).toMatchObject({ status: "cancelled", active: false });
  });

  test("a retryable failure re-queues the next attempt after a backoff; the last attempt fails the job", async () => {
    const t = newTest();
    const appId = await createApp(t, { retry: { maxAttempts: 2, baseDelayMs: 10_000, maxDelayMs: 60_000 } });
    const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
    await setStatus(t, jobId, "running");
    const error = { message: "target unreachable", retryable: true };
    const before = Date.now();
    await t.run(async (ctx) => void (await failAttempt(ctx, (await ctx.db.get(jobId))!, error)));
    const retried = await job(t, jobId);
    expect(retried).toMatchObject({ status: "queued", attempt: 2, active: true, error });
    const next = (await scheduled(t)).filter((s) => s.name === "exports:startExport").at(-1)!;
    expect(next.args).toEqual({ jobId, attempt: 2 });
    expect(next.scheduledTime - before).toBeGreaterThanOrEqual(5_000);
    expect(next.scheduledTime - before).toBeLessThanOrEqual(11_000);

    await setStatus(t, jobId, "running");
    await t.run(async (ctx) => void (await failAttempt(ctx, (await ctx.db.get(jobId))!, error)));
    expect(await job(t, jobId)).toMatchObject({ status: "failed", active: false, attempt: 2 });
    expect((await t.run((ctx) => ctx.db.get(appId)))?.failureStreak).toBe(1);
    // Only the re-queue ends an attempt on the job timeline; the final failure is no attempt boundary.
    const marks = await t.run(async (ctx) =>
      (await ctx.db.query("jobEvents").collect()).flatMap((e) => (e.mark ? [e.mark] : [])),
    );
    expect(marks).toEqual([{ kind: "attemptFailed" }]);
  });

  test("a permanent failure fails at once even with attempts left", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
    await t.run(
      async (ctx) =>
        void (await failAttempt(ctx, (await ctx.db.get(jobId))!, { message: "bad key", retryable: false })),
    );
    expect(await job(t, jobId)).toMatchObject({ status: "failed", attempt: 1 });
  });

  test("the event log is bounded and keeps the newest entries", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
    await t.run(async (ctx) => {
      for (let i = 0; i < MAX_EVENTS_PER_JOB + 25; i++) await appendEvent(ctx, jobId, "info", `event ${i}`);
    });
    const events = await t.run((ctx) =>
      ctx.db
        .query("jobEvents")
        .withIndex("by_job", (q) => q.eq("jobId", jobId))
        .collect(),
    );
    expect(events).toHaveLength(MAX_EVENTS_PER_JOB);
    expect(events.at(-1)?.message).toBe(`event ${MAX_EVENTS_PER_JOB + 24}`);
    expect((await job(t, jobId)).eventCount).toBe(MAX_EVENTS_PER_JOB);
  });
});
