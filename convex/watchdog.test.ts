import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { scheduleStep } from "./lib/jobSteps";
import { WATCHDOG_PAGE } from "./maintenance";
import { asAdmin, createApp, insertJob, newTest, scheduled, type T } from "./test/harness.testkit";

afterEach(() => {
  vi.useRealTimers();
});

const MINUTE = 60_000;
const job = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));

/** An exporting job with attempts to spare. */
const exportingJob = (t: T, appId: Id<"apps">, patch: Partial<Doc<"jobs">> = {}) =>
  insertJob(t, appId, {
    status: "exporting",
    maxAttempts: 3,
    export: { requestedAt: Date.now(), checks: 0 },
    ...patch,
  });

/** Runs the watchdog, then each continuation it schedules, as the scheduler would; returns the totals. */
async function fullWatchdogPass(t: T): Promise<{ failed: number; cancelled: number; runs: number }> {
  const total = { failed: 0, cancelled: 0, runs: 0 };
  let args: { cursor?: string } = {};
  for (;;) {
    const result = await t.mutation(internal.maintenance.watchdog, args);
    total.failed += result.failed;
    total.cancelled += result.cancelled;
    total.runs++;
    const next = (await scheduled(t)).find((s) => s.name === "maintenance:watchdog");
    if (!next) return total;
    await t.run(async (ctx) => {
      const row = (await ctx.db.system.query("_scheduled_functions").collect()).find(
        (r) => r.name === "maintenance:watchdog" && r.state.kind === "pending",
      );
      if (row) await ctx.scheduler.cancel(row._id);
    });
    args = next.args as { cursor?: string };
  }
}

describe("watchdog paging", () => {
  test("every silent job is seen, however many are active (pages of WATCHDOG_PAGE)", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const count = 2 * WATCHDOG_PAGE + 50;
    const ids: Id<"jobs">[] = [];
    for (let i = 0; i < count; i++)
      ids.push(
        await exportingJob(t, appId, { status: "running", lastSignOfLifeAt: Date.now() - 60 * MINUTE - i }),
      );
    const pass = await fullWatchdogPass(t);
    expect(pass.failed).toBe(count);
    expect(pass.runs).toBeGreaterThanOrEqual(3);
    const jobs = await t.run((ctx) => ctx.db.query("jobs").collect());
    expect(jobs.filter((j) => j.attempt === 2 && j.error?.code === "no_sign_of_life")).toHaveLength(count);
  });

  test("a re-queued job is not failed again for the previous attempt's deadline", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const jobId = await exportingJob(t, appId, {
      status: "queued",
      attempt: 2,
      attemptDeadline: Date.now() - MINUTE,
      export: undefined,
    });
    expect(await fullWatchdogPass(t)).toMatchObject({ failed: 0 });
    expect(await job(t, jobId)).toMatchObject({ status: "queued", attempt: 2 });
  });
});

describe("watchdog and dead scheduled steps", () => {
  test("a step whose scheduled function failed retries the job with a clear reason", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const jobId = await exportingJob(t, appId);
    // A step that dies as an action killed mid-run does: its _scheduled_functions row ends "failed".
    await t.run((ctx) =>
      scheduleStep(ctx, jobId, 0, internal.exports.checkExport, {
        jobId: "not-a-job-id" as Id<"jobs">,
        attempt: 1,
        check: 1,
      }),
    );
    vi.advanceTimersByTime(1);
    await t.finishInProgressScheduledFunctions();
    const step = (await job(t, jobId))!.step!;
    expect(step.name).toBe("exports:checkExport");
    expect((await t.run((ctx) => ctx.db.system.get(step.functionId)))?.state.kind).toBe("failed");

    expect(await fullWatchdogPass(t)).toMatchObject({ failed: 1 });
    const after = await job(t, jobId);
    expect(after).toMatchObject({
      status: "queued",
      attempt: 2,
      error: { code: "step_failed", retryable: true },
    });
    expect(after?.error?.message).toMatch(
      /stalled while exporting: its scheduled step exports:checkExport failed/,
    );
    // The retry's own step is tracked in turn.
    expect(after?.step?.name).toBe("exports:startExport");
    expect(after?.step?.functionId).not.toBe(step.functionId);
  });

  test("a canceled step fails the last attempt for good", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const jobId = await exportingJob(t, appId, { attempt: 3, maxAttempts: 3 });
    await t.run(async (ctx) => {
      await scheduleStep(ctx, jobId, 60_000, internal.exports.checkExport, { jobId, attempt: 3, check: 1 });
      await ctx.scheduler.cancel((await ctx.db.get(jobId))!.step!.functionId);
    });
    await fullWatchdogPass(t);
    expect(await job(t, jobId)).toMatchObject({
      status: "failed",
      error: { code: "step_failed", message: expect.stringMatching(/was canceled/) },
    });
  });

  test("a step gone from _scheduled_functions fails the attempt", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const jobId = await exportingJob(t, appId);
    await t.run(async (ctx) => {
      await scheduleStep(ctx, jobId, 60_000, internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
      const step = (await ctx.db.get(jobId))!.step!;
      // An id of the right table that names no row (convex-test's id format: a counter, then the table name).
      const gone = step.functionId.replace(/^\d+/, (n) => "9".repeat(n.length)) as typeof step.functionId;
      expect(await ctx.db.system.get(gone)).toBeNull();
      await ctx.db.patch(jobId, { step: { ...step, functionId: gone } });
    });
    await fullWatchdogPass(t);
    expect(await job(t, jobId)).toMatchObject({
      status: "queued",
      attempt: 2,
      error: { code: "step_failed", message: expect.stringMatching(/is gone from _scheduled_functions/) },
    });
  });

  test("a trigger tracks its first step; a pending step leaves the job alone", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const jobId = await exportingJob(t, appId);
    await t.run((ctx) =>
      scheduleStep(ctx, jobId, 30_000, internal.exports.checkExport, { jobId, attempt: 1, check: 1 }),
    );
    expect(await fullWatchdogPass(t)).toMatchObject({ failed: 0 });
    expect(await job(t, jobId)).toMatchObject({ status: "exporting", attempt: 1 });

    const triggered = await (
      await asAdmin(t)
    ).mutation(api.jobs.trigger, { appId: await createApp(t, { slug: "other" }) });
    const step = (await job(t, triggered.jobId))?.step;
    expect(step?.name).toBe("exports:startExport");
    expect((await t.run((ctx) => ctx.db.system.get(step!.functionId)))?.state.kind).toBe("pending");
  });
});
