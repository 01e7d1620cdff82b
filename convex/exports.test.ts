import { afterEach, describe, expect, test } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { checkDelay, MAX_EXPORT_WAIT_MS, REREQUEST_EVERY_CHECKS } from "./exports";
import { asAdmin, createApp, newTest, scheduled, type T } from "./test/harness.testkit";
import { ns, startSourceDeployment, type StandIn } from "./test/standins.testkit";

const KEY = "prod:source-123|goodkeygoodkeygoodkey";
let servers: StandIn[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(
  exportStates: unknown[],
  extra: Partial<Parameters<typeof startSourceDeployment>[0]> = {},
) {
  const t = newTest();
  const s = await startSourceDeployment({
    deployKey: KEY,
    tables: { "": ["users"] },
    exportStates,
    ...extra,
  });
  servers.push(s);
  const appId = await createApp(t, { deploymentUrl: s.url, deployKey: KEY });
  const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
  return { t, s, jobId };
}

const job = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));
const lastScheduled = async (t: T, name: string) =>
  (await scheduled(t)).filter((s) => s.name === name).at(-1);

function completed(ms: number, lifetimeMs = 7 * 24 * 3600_000) {
  return {
    _id: "export1",
    state: "completed",
    start_ts: ns(ms - 1000),
    complete_ts: ns(ms),
    expiration_ts: ns(ms + lifetimeMs),
    requestor: "snapshotExport",
  };
}

describe("snapshot export: request and follow by scheduled re-checks", () => {
  test("requested → in progress → completed, then dispatch is scheduled with the snapshot", async () => {
    const now = Date.now();
    const { t, s, jobId } = await setup([
      { state: "requested" },
      { state: "in_progress", progress_message: "Backing up users: 10 / 20 documents" },
      completed(now + 1),
    ]);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(s.requests.some((r) => r.path === "/api/export/request/zip?includeStorage=false")).toBe(true);
    expect(await job(t, jobId)).toMatchObject({ status: "exporting", export: { checks: 0 } });
    const first = await lastScheduled(t, "exports:checkExport");
    expect(first?.args).toEqual({ jobId, attempt: 1, check: 1 });
    expect(first!.scheduledTime - now).toBeGreaterThanOrEqual(checkDelay(1));
    expect(first!.scheduledTime - now).toBeLessThan(checkDelay(1) + 1000);

    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 2 });
    expect((await job(t, jobId))?.export).toMatchObject({
      state: "in_progress",
      progress: expect.stringContaining("10 / 20"),
    });
    expect((await lastScheduled(t, "exports:checkExport"))?.args).toEqual({ jobId, attempt: 1, check: 3 });

    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 3 });
    expect((await job(t, jobId))?.export).toMatchObject({ snapshotTs: ns(now - 999), exportId: "export1" });
    expect((await lastScheduled(t, "dispatch:dispatchJob"))?.args).toEqual({
      jobId,
      attempt: 1,
      tryNumber: 1,
    });
  });

  test("ExportInProgress: the running export is followed instead of failing", async () => {
    const { t, jobId } = await setup([{ state: "in_progress" }], {
      requestReply: {
        status: 400,
        body: { code: "ExportInProgress", message: "There is already an export requested or in progress." },
      },
    });
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(await job(t, jobId)).toMatchObject({ status: "exporting" });
    const events = await t.run((ctx) => ctx.db.query("jobEvents").collect());
    expect(events.map((e) => e.message)).toContain(
      "an export was already running on the source; following it",
    );
  });

  test("an export completed before our request is not used; the request is repeated now and then", async () => {
    const { t, s, jobId } = await setup([completed(Date.now() - 60_000)]);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
    expect((await job(t, jobId))?.export?.snapshotTs).toBeUndefined();
    expect((await lastScheduled(t, "exports:checkExport"))?.args).toMatchObject({ check: 2 });
    const requests = () => s.requests.filter((r) => r.path.startsWith("/api/export/request/zip")).length;
    expect(requests()).toBe(1);
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: REREQUEST_EVERY_CHECKS });
    expect(requests()).toBe(2);
  });

  test("a failed or expiring export fails the attempt (retryably)", async () => {
    for (const state of [{ _id: "e", state: "failed", start_ts: ns(1) }, completed(Date.now() + 1, 60_000)]) {
      const { t, jobId } = await setup([state]);
      await t.action(internal.exports.startExport, { jobId, attempt: 1 });
      await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
      const row = await job(t, jobId);
      expect(row).toMatchObject({ status: "queued", attempt: 2, error: { retryable: true } });
      expect(row?.error?.code).toMatch(/export_failed|export_expired/);
    }
  });

  test("an export that never completes fails after the wait limit", async () => {
    const { t, jobId } = await setup([{ state: "in_progress" }]);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    await t.run((ctx) =>
      ctx.db.patch(jobId, { export: { requestedAt: Date.now() - MAX_EXPORT_WAIT_MS - 1, checks: 50 } }),
    );
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 51 });
    expect(await job(t, jobId)).toMatchObject({ status: "queued", error: { code: "export_timeout" } });
  });

  test("a rejected key fails the job at once (not retryable), without the key in the error", async () => {
    const { t, jobId } = await setup([null]);
    await t.run(async (ctx) => {
      const row = await ctx.db.get(jobId);
      const app = await ctx.db.get(row!.appId);
      const { encryptSecret } = await import("./lib/crypto");
      await ctx.db.patch(app!._id, {
        deployKeyCiphertext: await encryptSecret("prod:source-123|revokedrevoked"),
      });
    });
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    const row = await job(t, jobId);
    expect(row).toMatchObject({ status: "failed", error: { code: "source_key_rejected", retryable: false } });
    expect(JSON.stringify(row)).not.toContain("revoked");
  });

  test("an unreachable source at request time re-queues the job for its next attempt", async () => {
    const { t, s, jobId } = await setup([null]);
    await s.close();
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(await job(t, jobId)).toMatchObject({
      status: "queued",
      attempt: 2,
      error: { code: "source_unreachable", retryable: true },
    });
    expect((await lastScheduled(t, "exports:startExport"))?.args).toEqual({ jobId, attempt: 2 });
  });

  test("stale steps (other attempt, cancelled job) do nothing", async () => {
    const { t, s, jobId } = await setup([null]);
    await t.action(internal.exports.startExport, { jobId, attempt: 2 });
    expect(s.requests).toHaveLength(0);
    await (await asAdmin(t, "x@example.com")).mutation(api.jobs.cancel, { jobId });
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(s.requests).toHaveLength(0);
  });
});
