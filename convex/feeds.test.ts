/**
 * Sync modes end to end in the control plane: which job an app gets, the feed probe deciding auto's fallback,
 * the cursor minted as the export completes, incremental dispatch, and what the executor's callbacks do to the
 * feed position. The source is the stand-in serving a change feed (test/standins/convexSource.ts with `feed`),
 * the executor a stand-in HTTP server.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { startConvexSource, type ConvexSource } from "../test/standins/convexSource";
import { FeedDeployment } from "../test/standins/dataSyncFeed";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { applyCompletion, applyProgress } from "./callbacks";
import {
  incrementalJobPayload,
  jobPayload,
  snapshotJobPayload,
  type IncrementalFigures,
} from "./contract/executor";
import { FIRST_FEED_LOAD, INCREMENTAL_ATTEMPT_DEADLINE_MS } from "./lib/jobKind";
import { FEED_REASONS } from "./lib/sourceFeed";
import type { AppFeed } from "./schema";
import { asAdmin, createApp, newTest, scheduled, setTestEnv, type T } from "./test/harness.testkit";
import { startExecutor, type StandIn } from "./test/standins.testkit";
import { appOf, completion, eventsOf, jobOf, jobsOf, trigger } from "./test/feeds.testkit";

const KEY = "prod:feed-shop|0123456789abcdefabcdef";
let servers: (StandIn | ConvexSource)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(
  options: {
    syncMode?: "snapshot" | "incremental" | "auto";
    streamingExportEnabled?: boolean;
    feedState?: AppFeed;
  } = {},
) {
  const t = newTest();
  const feed = new FeedDeployment({ streamingExportEnabled: options.streamingExportEnabled ?? true });
  feed.transaction((tx) => {
    tx.insert("customers", { name: "Ada" });
    tx.insert("reviews/reviews", { rating: 5n });
  });
  const source = await startConvexSource({ deployKey: KEY, feed, worker: "manual" });
  const executor = await startExecutor();
  servers.push(source, executor);
  setTestEnv({ EXECUTOR_URL: executor.url });
  const appId = await createApp(t, {
    deploymentUrl: source.url,
    deployKey: KEY,
    syncMode: options.syncMode ?? "auto",
  });
  if (options.feedState) await t.run((ctx) => ctx.db.patch(appId, { feed: options.feedState }));
  return { t, feed, source, executor, appId };
}

/** The export requested, run to completion on the stand-in, and checked once. */
async function exportCompletes(t: T, source: ConvexSource, jobId: Id<"jobs">) {
  await t.action(internal.exports.startExport, { jobId, attempt: 1 });
  source.exportWorker.step();
  source.exportWorker.step();
  await source.exportWorker.settled();
  await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
}

const positionFeed = (ts: string): AppFeed => ({
  availability: "available",
  checkedAt: Date.now(),
  position: { ts, appliedAt: Date.now() - 60_000 },
});

function figures(extra: Partial<IncrementalFigures> = {}): IncrementalFigures {
  return {
    outcome: "upToDate",
    pages: 2,
    transactions: 1,
    tables: [{ table: "customers", inserted: 1, updated: 2, deleted: 1, truncated: false }],
    droppedTables: [],
    position: "1800000000000000500",
    lagMs: 800,
    cursorAgeMs: 60_000,
    ...extra,
  };
}

describe("auto and incremental modes when the feed is unavailable", () => {
  test("auto on a plan without streaming export: the job loads a plain snapshot and the app says why", async () => {
    const { t, source, appId } = await setup({ streamingExportEnabled: false });
    const jobId = await trigger(t, appId);
    expect(await jobOf(t, jobId)).toMatchObject({
      kind: "snapshot",
      kindReason: FIRST_FEED_LOAD,
      feedStart: {},
    });

    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    expect(source.requests.map((r) => `${r.path} ${r.status}`)).toEqual([
      "/api/test_streaming_export_connection 403",
      "/api/export/request/zip?includeStorage=false 200",
    ]);
    const job = await jobOf(t, jobId);
    expect(job).toMatchObject({
      status: "exporting",
      kind: "snapshot",
      kindReason: `auto → snapshot: ${FEED_REASONS.plan}`,
    });
    expect(job?.feedStart).toBeUndefined();
    const view = await (await asAdmin(t)).query(api.apps.get, { appId });
    expect(view).toMatchObject({
      syncMode: "auto",
      feed: { availability: "unavailable", reason: FEED_REASONS.plan, checkedAt: expect.any(Number) },
    });

    // The verdict is fresh: the next job is a plain snapshot from the start, without asking again.
    await t.run((ctx) => ctx.db.patch(jobId, { status: "succeeded", active: false }));
    const next = await trigger(t, appId);
    expect(await jobOf(t, next)).toMatchObject({
      kind: "snapshot",
      kindReason: `auto → snapshot: ${FEED_REASONS.plan}`,
    });
    expect((await jobOf(t, next))?.feedStart).toBeUndefined();
  });

  test("incremental mode with the feed unavailable: the job fails, not retried, naming the reason and the way out", async () => {
    const { t, source, appId } = await setup({ syncMode: "incremental", streamingExportEnabled: false });
    const jobId = await trigger(t, appId);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    const job = await jobOf(t, jobId);
    expect(job).toMatchObject({
      status: "failed",
      attempt: 1,
      error: { code: "feed_unavailable", retryable: false },
    });
    expect(job?.error?.message).toContain(FEED_REASONS.plan);
    expect(job?.error?.message).toContain("Switch the app's sync mode to auto");
    expect(source.requests.some((r) => r.path.startsWith("/api/export"))).toBe(false);
  });

  test("an incremental job whose feed turns out unavailable in auto mode is re-planned as a snapshot", async () => {
    const stale = { ...positionFeed("1800000000000000000"), checkedAt: Date.now() - 25 * 60 * 60_000 };
    const { t, feed, appId } = await setup({ feedState: stale });
    feed.streamingExportEnabled = false;
    const jobId = await trigger(t, appId);
    expect((await jobOf(t, jobId))?.kind).toBe("incremental");
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    expect(await jobOf(t, jobId)).toMatchObject({
      status: "queued",
      kind: "snapshot",
      kindReason: `auto → snapshot: ${FEED_REASONS.plan}`,
      step: { name: "exports:startExport" },
    });
  });

  test("an incremental run the source refused (plan downgraded): the feed is unavailable, auto's next job a snapshot", async () => {
    const { t, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    const jobId = await trigger(t, appId);
    await t.run((ctx) => ctx.db.patch(jobId, { status: "running" }));
    await t.run((ctx) =>
      applyCompletion(
        ctx,
        completion(jobId, {
          outcome: "failed",
          error: { message: "the plan has no streaming export", code: "feed_not_enabled", retryable: false },
        }),
      ),
    );
    expect((await jobOf(t, jobId))?.status).toBe("failed");
    expect((await appOf(t, appId))?.feed).toMatchObject({
      availability: "unavailable",
      reason: FEED_REASONS.plan,
    });
    expect(await jobOf(t, await trigger(t, appId))).toMatchObject({
      kind: "snapshot",
      kindReason: `auto → snapshot: ${FEED_REASONS.plan}`,
    });
  });

  test("an incremental job of an app switched to snapshot mode meanwhile loads a snapshot instead", async () => {
    const { t, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    const jobId = await trigger(t, appId);
    await t.run((ctx) => ctx.db.patch(appId, { syncMode: "snapshot" }));
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    expect(await jobOf(t, jobId)).toMatchObject({
      status: "queued",
      kind: "snapshot",
      kindReason: "the app is now in snapshot mode",
      step: { name: "exports:startExport" },
    });
  });
});

describe("a snapshot that starts the feed", () => {
  test("the cursor is minted at the export's snapshot as soon as it completes, and dispatch sends it", async () => {
    const { t, source, executor, appId } = await setup();
    const jobId = await trigger(t, appId);
    await exportCompletes(t, source, jobId);
    const job = (await jobOf(t, jobId))!;
    const snapshotTs = job.export!.snapshotTs!;
    expect(job.feedStart).toEqual({ ts: snapshotTs, cursor: expect.any(String) });
    // Right after the check that saw the export completed, as a bare integer.
    const paths = source.requests.map((r) => r.path);
    const mint = paths.indexOf("/api/data_sync_cursor_from_deltas");
    expect(paths[mint - 1]).toBe("/api/query");
    expect(source.requests[mint]!.body).toBe(`{"cursor":${snapshotTs}}`);
    expect((await appOf(t, appId))?.feed?.availability).toBe("available");

    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    const sent = snapshotJobPayload.parse(JSON.parse(executor.requests.at(-1)!.body));
    expect(sent).toMatchObject({
      kind: "snapshot",
      snapshot: { snapshotTs },
      feedStart: { cursor: job.feedStart!.cursor },
    });
    // The dashboard hears that a cursor was minted, not the cursor.
    const detail = await (await asAdmin(t)).query(api.jobQueries.get, { jobId });
    expect(detail?.job.feedStart).toEqual({ ts: snapshotTs, minted: true });

    await t.run((ctx) =>
      applyCompletion(ctx, completion(jobId, { feedStart: { stored: true, position: snapshotTs } })),
    );
    expect((await appOf(t, appId))?.feed).toMatchObject({
      position: { ts: snapshotTs, appliedAt: expect.any(Number) },
    });
    expect((await appOf(t, appId))?.feed?.needsSnapshot).toBeUndefined();
    expect(await eventsOf(t, jobId)).toContain(`change feed started at the snapshot (${snapshotTs})`);
    // The next sync continues from there.
    expect((await jobOf(t, await trigger(t, appId)))?.kind).toBe("incremental");
  });

  test("the executor could not store the feed position: a warning, and the next job is a full snapshot again", async () => {
    const { t, source, appId } = await setup();
    const jobId = await trigger(t, appId);
    await exportCompletes(t, source, jobId);
    await t.run((ctx) => ctx.db.patch(jobId, { status: "dispatched" }));
    const snapshotTs = (await jobOf(t, jobId))!.export!.snapshotTs!;
    await t.run((ctx) =>
      applyCompletion(
        ctx,
        completion(jobId, { feedStart: { stored: false, position: snapshotTs, error: "target refused" } }),
      ),
    );
    expect((await appOf(t, appId))?.feed).toMatchObject({
      needsSnapshot: "the last snapshot could not start the change feed: target refused",
    });
    expect((await appOf(t, appId))?.feed?.position).toBeUndefined();
    expect(await eventsOf(t, jobId)).toContain("the change feed was not started: target refused");
    expect(await jobOf(t, await trigger(t, appId))).toMatchObject({
      kind: "snapshot",
      kindReason: "full snapshot: the last snapshot could not start the change feed: target refused",
    });
  });

  test("a snapshot of an app in snapshot mode clears the feed position (the warehouse reloaded without a feed)", async () => {
    const { t, appId } = await setup({
      syncMode: "snapshot",
      feedState: positionFeed("1800000000000000000"),
    });
    const jobId = await trigger(t, appId);
    const job = await jobOf(t, jobId);
    expect(job).toMatchObject({ kind: "snapshot" });
    expect(job?.feedStart).toBeUndefined();
    await t.run((ctx) => ctx.db.patch(jobId, { status: "dispatched" }));
    await t.run((ctx) => applyCompletion(ctx, completion(jobId)));
    expect((await appOf(t, appId))?.feed).toEqual({
      availability: "available",
      checkedAt: expect.any(Number),
    });
  });
});

describe("incremental jobs", () => {
  test("with a feed position the job skips the export: dispatched from the queue with the source's tables", async () => {
    const { t, source, executor, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    const jobId = await trigger(t, appId);
    expect(await jobOf(t, jobId)).toMatchObject({ kind: "incremental", maxAttempts: 2 });
    expect((await scheduled(t)).map((s) => s.name)).toContain("dispatch:dispatchJob");

    const before = Date.now();
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    const job = (await jobOf(t, jobId))!;
    expect(job.status).toBe("dispatched");
    expect(job.attemptDeadline! - before).toBeGreaterThanOrEqual(INCREMENTAL_ATTEMPT_DEADLINE_MS);
    expect(job.attemptDeadline! - before).toBeLessThan(INCREMENTAL_ATTEMPT_DEADLINE_MS + 60_000);
    const payload = jobPayload.parse(JSON.parse(executor.requests.at(-1)!.body));
    expect(incrementalJobPayload.parse(payload)).toMatchObject({
      kind: "incremental",
      tables: null,
      deadline: job.attemptDeadline,
      incremental: { sourceTables: ["customers", "reviews/reviews"] },
    });
    expect(source.requests.some((r) => r.path.startsWith("/api/export"))).toBe(false);
  });

  test("the source's tables cannot be listed: sourceTables null and a warning, the run still goes", async () => {
    const { t, executor, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    await t.run((ctx) => ctx.db.patch(appId, { deploymentUrl: "http://127.0.0.1:9" }));
    const jobId = await trigger(t, appId);
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    expect(
      incrementalJobPayload.parse(JSON.parse(executor.requests.at(-1)!.body)).incremental.sourceTables,
    ).toBeNull();
    expect((await eventsOf(t, jobId)).join("\n")).toMatch(
      /could not list the source's tables .*cannot notice tables dropped/,
    );
    expect((await jobOf(t, jobId))?.status).toBe("dispatched");
  });

  test("a callback for an incremental job still being dispatched confirms the dispatch", async () => {
    const { t, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    const jobId = await trigger(t, appId);
    const result = await t.run((ctx) =>
      applyProgress(ctx, {
        eventId: "p-1",
        executorId: "pc-1",
        at: Date.now(),
        jobId,
        attempt: 1,
        phase: "applying",
        tables: [],
        changes: [{ table: "customers", inserted: 3, updated: 0, deleted: 0, truncated: false }],
      }),
    );
    expect(result).toBe("applied");
    expect(await jobOf(t, jobId)).toMatchObject({
      status: "running",
      phase: "applying",
      changes: [{ table: "customers", inserted: 3 }],
    });
    expect(await eventsOf(t, jobId)).toContain("dispatch confirmed by the executor");
  });

  test("completion stores the run's figures and moves the position forward, never back", async () => {
    const { t, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    const jobId = await trigger(t, appId);
    await t.run((ctx) => ctx.db.patch(jobId, { status: "running" }));
    const run = figures();
    await t.run((ctx) => applyCompletion(ctx, completion(jobId, { incremental: run })));
    expect(await jobOf(t, jobId)).toMatchObject({
      status: "succeeded",
      incremental: run,
      changes: run.tables,
    });
    expect((await appOf(t, appId))?.feed?.position?.ts).toBe("1800000000000000500");
    expect((await eventsOf(t, jobId)).at(-1)).toMatch(
      /^succeeded: up to date: 4 changes in 1 transactions \(2 pages\), 0\.8 s behind/,
    );
    const stats = await (await asAdmin(t)).query(api.stats.freshness, {});
    expect(stats[0]).toMatchObject({ snapshotAt: 1_800_000_000_000, lagMs: 800 });

    const older = await trigger(t, appId);
    await t.run((ctx) => ctx.db.patch(older, { status: "running" }));
    await t.run((ctx) =>
      applyCompletion(ctx, completion(older, { incremental: figures({ position: "1800000000000000400" }) })),
    );
    expect((await appOf(t, appId))?.feed?.position?.ts).toBe("1800000000000000500");
  });

  test("needsSnapshot: the position is cleared and a full snapshot starts at once, with the trigger and the reason", async () => {
    const { t, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    const jobId = await trigger(t, appId);
    await t.run((ctx) => ctx.db.patch(jobId, { status: "running" }));
    const reason = "the feed position is older than the source keeps its change log";
    await t.run((ctx) =>
      applyCompletion(
        ctx,
        completion(jobId, {
          incremental: figures({ outcome: "needsSnapshot", reason, transactions: 0, tables: [] }),
        }),
      ),
    );
    expect((await jobOf(t, jobId))?.status).toBe("succeeded");
    const feed = (await appOf(t, appId))?.feed;
    expect(feed?.position).toBeUndefined();
    expect(feed?.needsSnapshot).toBe(reason);
    const [, snapshot] = await jobsOf(t, appId);
    expect(snapshot).toMatchObject({
      kind: "snapshot",
      kindReason: `full snapshot: ${reason}`,
      trigger: "manual",
      status: "queued",
      feedStart: {},
    });
    expect((await eventsOf(t, jobId)).at(-1)).toBe(
      `the change feed needs a full snapshot (${reason}): started snapshot job ${snapshot!._id}`,
    );
  });

  test("a failed incremental attempt is retried through dispatch, not an export, after a short backoff", async () => {
    const { t, appId } = await setup({ feedState: positionFeed("1800000000000000000") });
    const jobId = await trigger(t, appId);
    await t.run((ctx) => ctx.db.patch(jobId, { status: "running" }));
    const before = Date.now();
    await t.run((ctx) =>
      applyCompletion(
        ctx,
        completion(jobId, { outcome: "failed", error: { message: "warehouse busy", retryable: true } }),
      ),
    );
    expect(await jobOf(t, jobId)).toMatchObject({ status: "queued", attempt: 2, kind: "incremental" });
    const retry = (await scheduled(t)).find(
      (s) => s.name === "dispatch:dispatchJob" && (s.args as { attempt: number }).attempt === 2,
    );
    expect(retry).toBeDefined();
    expect(retry!.scheduledTime - before).toBeLessThanOrEqual(60_000);
  });
});
