import { afterEach, describe, expect, test, vi } from "vitest";
import { nsOf, startConvexSource, type ConvexSource } from "../test/standins/convexSource";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { checkDelay, MAX_EXPORT_WAIT_MS, WAITING_FOR_OTHER_EXPORT } from "./exports";
import { asAdmin, createApp, newTest, scheduled, type T } from "./test/harness.testkit";

const KEY = "prod:source-123|goodkeygoodkeygoodkey";
let servers: ConvexSource[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** A source whose export worker moves only when the test says (`s.exportWorker.step()`). */
async function setup(extra: Partial<Parameters<typeof startConvexSource>[0]> = {}, appKey = KEY) {
  const t = newTest();
  const s = await startConvexSource({
    deployKey: KEY,
    tables: { root: ["users"] },
    worker: "manual",
    ...extra,
  });
  servers.push(s);
  const appId = await createApp(t, { deploymentUrl: s.url, deployKey: appKey });
  const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
  return { t, s, jobId };
}

const job = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));
const lastScheduled = async (t: T, name: string) =>
  (await scheduled(t)).filter((s) => s.name === name).at(-1);
const check = (t: T, jobId: Id<"jobs">, n: number) =>
  t.action(internal.exports.checkExport, { jobId, attempt: 1, check: n });
const exportRequests = (s: ConvexSource) =>
  s.requests.filter((r) => r.path.startsWith("/api/export/request/zip"));
const events = async (t: T) =>
  (await t.run((ctx) => ctx.db.query("jobEvents").collect())).map((e) => e.message);

describe("snapshot export: request and follow by scheduled re-checks", () => {
  test("requested → in progress → completed; the snapshot is the completed export's start_ts", async () => {
    const now = Date.now();
    const { t, s, jobId } = await setup();
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(exportRequests(s).map((r) => r.path)).toEqual(["/api/export/request/zip?includeStorage=false"]);
    expect(await job(t, jobId)).toMatchObject({ status: "exporting", export: { checks: 0 } });
    const first = await lastScheduled(t, "exports:checkExport");
    expect(first?.args).toEqual({ jobId, attempt: 1, check: 1 });
    expect(first!.scheduledTime - now).toBeGreaterThanOrEqual(checkDelay(1));
    expect(first!.scheduledTime - now).toBeLessThan(checkDelay(1) + 1000);

    await check(t, jobId, 1);
    expect((await job(t, jobId))?.export).toMatchObject({ state: "requested" });
    s.exportWorker.step({ progress: "Backing up users: 10 / 20 documents" });
    const inProgressTs = String(s.exportWorker.documents()[0]!.start_ts);
    await check(t, jobId, 2);
    expect((await job(t, jobId))?.export).toMatchObject({
      state: "in_progress",
      progress: expect.stringContaining("10 / 20"),
    });
    expect((await lastScheduled(t, "exports:checkExport"))?.args).toEqual({ jobId, attempt: 1, check: 3 });

    s.exportWorker.step();
    const completed = s.exportWorker.documents()[0]!;
    expect(completed.start_ts).not.toBe(inProgressTs); // the worker replaced it with the snapshot's timestamp
    await check(t, jobId, 3);
    expect((await job(t, jobId))?.export).toMatchObject({
      snapshotTs: completed.start_ts,
      exportId: completed._id,
    });
    expect((await lastScheduled(t, "dispatch:dispatchJob"))?.args).toEqual({
      jobId,
      attempt: 1,
      tryNumber: 1,
    });
    expect(exportRequests(s)).toHaveLength(1);
  });

  test("another snapshot export running: ours is refused (ExportInProgress) and that one is followed", async () => {
    const { t, s, jobId } = await setup();
    await fetch(`${s.url}/api/export/request/zip`, {
      method: "POST",
      headers: { Authorization: `Convex ${KEY}` },
    });
    s.exportWorker.step();
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(exportRequests(s).at(-1)?.status).toBe(400);
    expect(await job(t, jobId)).toMatchObject({ status: "exporting" });
    expect((await events(t)).join("\n")).toContain("another export is running on the source");
    s.exportWorker.step();
    await check(t, jobId, 1);
    expect((await job(t, jobId))?.export?.snapshotTs).toBe(s.exportWorker.documents()[0]!.start_ts);
  });

  test("a dashboard backup blocks ours: the job waits, says why, and requests again once it ended", async () => {
    const { t, s, jobId } = await setup();
    s.exportWorker.addCompleted({ completeTs: nsOf(Date.now() - 3_600_000) }); // yesterday's snapshot export
    s.exportWorker.startBackup();
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    await check(t, jobId, 1);
    expect((await job(t, jobId))?.export).toMatchObject({
      state: "waiting",
      progress: WAITING_FOR_OTHER_EXPORT,
    });
    expect((await job(t, jobId))?.export?.snapshotTs).toBeUndefined();
    s.exportWorker.step(); // the backup runs…
    s.exportWorker.step(); // …and completes
    await check(t, jobId, 2);
    expect(exportRequests(s).map((r) => r.status)).toEqual([400, 400, 200]);
    expect(await events(t)).toContain("snapshot export requested");
    s.exportWorker.step();
    s.exportWorker.step();
    await check(t, jobId, 3);
    const ours = s.exportWorker.documents().at(-1)!;
    expect((await job(t, jobId))?.export?.snapshotTs).toBe(ours.start_ts);
  });

  test("an older canceled export (old spelling) is not ours: the blocked job keeps waiting", async () => {
    const { t, s, jobId } = await setup();
    // Someone's export was canceled; this job asks an hour later.
    await fetch(`${s.url}/api/export/request/zip`, {
      method: "POST",
      headers: { Authorization: `Convex ${KEY}` },
    });
    s.exportWorker.cancel({ oldSpelling: true });
    vi.setSystemTime(Date.now() + 3_600_000);
    expect(s.exportWorker.documents()[0]).toMatchObject({
      state: "cancelled",
      cancelled_ts: expect.any(String),
    });
    s.exportWorker.startBackup();
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    await check(t, jobId, 1);
    console.log(
      JSON.stringify(await job(t, jobId)),
      JSON.stringify(s.requests.map((r) => [r.path, r.status])),
    );
    expect(await job(t, jobId)).toMatchObject({ status: "exporting", export: { state: "waiting" } });
  });

  test("our export failing or canceled (old spelling too) fails the attempt, retryably", async () => {
    for (const end of ["fail", "cancel"] as const) {
      const { t, s, jobId } = await setup();
      await t.action(internal.exports.startExport, { jobId, attempt: 1 });
      s.exportWorker.step();
      if (end === "fail") s.exportWorker.fail();
      else s.exportWorker.cancel({ oldSpelling: true });
      await check(t, jobId, 1);
      const row = await job(t, jobId);
      expect(row).toMatchObject({
        status: "queued",
        attempt: 2,
        error: { code: "export_failed", retryable: true },
      });
      expect(row?.error?.message).toContain(end === "fail" ? "failed" : "canceled");
    }
  });

  test("an export about to expire fails the attempt (retryably)", async () => {
    const { t, s, jobId } = await setup();
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    s.exportWorker.cancel();
    s.exportWorker.addCompleted({ expirationTs: nsOf(Date.now() + 60_000) });
    await check(t, jobId, 1);
    expect(await job(t, jobId)).toMatchObject({ status: "queued", error: { code: "export_expired" } });
  });

  test("an export that never completes fails after the wait limit", async () => {
    const { t, jobId } = await setup();
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    await t.run((ctx) =>
      ctx.db.patch(jobId, { export: { requestedAt: Date.now() - MAX_EXPORT_WAIT_MS - 1, checks: 50 } }),
    );
    await check(t, jobId, 51);
    expect(await job(t, jobId)).toMatchObject({ status: "queued", error: { code: "export_timeout" } });
  });

  test("a rejected key fails the job at once (not retryable), without the key in the error", async () => {
    const { t, jobId } = await setup({}, "prod:source-123|revokedrevoked");
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    const row = await job(t, jobId);
    expect(row).toMatchObject({ status: "failed", error: { code: "source_key_rejected", retryable: false } });
    expect(JSON.stringify(row)).not.toContain("revoked");
  });

  test("a key without CreateBackups fails at once, naming the permission", async () => {
    const readOnly = "prod:source-123|readonlyreadonly";
    const { t, jobId } = await setup(
      { restrictedKeys: { [readOnly]: ["ViewData", "ViewBackups", "DownloadBackups"] } },
      readOnly,
    );
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    const row = await job(t, jobId);
    expect(row).toMatchObject({
      status: "failed",
      error: { code: "source_missing_permission", retryable: false },
    });
    expect(row?.error?.message).toMatch(/lacks the CreateBackups permission/);
  });

  test("an unreachable source at request time re-queues the job for its next attempt", async () => {
    const { t, s, jobId } = await setup();
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
    const { t, s, jobId } = await setup();
    await t.action(internal.exports.startExport, { jobId, attempt: 2 });
    expect(s.requests).toHaveLength(0);
    await (await asAdmin(t, "x@example.com")).mutation(api.jobs.cancel, { jobId });
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(s.requests).toHaveLength(0);
  });
});
