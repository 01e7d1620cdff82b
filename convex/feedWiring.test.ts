/**
 * The control plane's incremental wiring where it meets the real system's awkward cases: two apps on one target
 * schema, a feed that cannot start under a per-minute schedule, a cursor minted while the export runs, transient
 * minting failures, a warehouse that cannot store the position, and the cursor's lifetime on the job. The source
 * is the stand-in serving a change feed (test/standins/convexSource.ts with `feed`), the executor a stand-in.
 */
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, test, vi } from "vitest";
import { startConvexSource, type ConvexSource } from "../test/standins/convexSource";
import { FeedDeployment } from "../test/standins/dataSyncFeed";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { applyCompletion } from "./callbacks";
import { snapshotJobPayload } from "./contract/executor";
import { MAX_MINT_TRIES } from "./exports";
import { FEED_START_MAX_FAILURES } from "./feeds";
import { MIN_SCHEDULED_SNAPSHOT_INTERVAL_MS } from "./lib/jobKind";
import { FEED_REASONS } from "./lib/sourceFeed";
import type { AppFeed } from "./schema";
import { asAdmin, createApp, insertJob, newTest, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";
import { startExecutor, type StandIn } from "./test/standins.testkit";
import { appOf, completion, eventsOf, jobOf, jobsOf, trigger } from "./test/feeds.testkit";

const KEY = "prod:feed-shop|0123456789abcdefabcdef";
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(closers.map((close) => close()));
  closers = [];
});

/**
 * A proxy in front of the stand-in source that answers `503` to the next `failMints` cursor_from_deltas
 * requests, as a source behind an overloaded load balancer does (a transient failure).
 */
async function flakyProxy(target: string): Promise<{ url: string; failMints: number }> {
  const state = { url: "", failMints: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url?.startsWith("/api/data_sync_cursor_from_deltas") && state.failMints > 0) {
        state.failMints--;
        res.writeHead(503, { "content-type": "text/plain" }).end("upstream unavailable");
        return;
      }
      void fetch(`${target}${req.url}`, {
        method: req.method,
        headers: { authorization: req.headers.authorization ?? "", "content-type": "application/json" },
        ...(req.method === "GET" ? {} : { body: Buffer.concat(chunks) }),
      }).then(async (answer) => {
        res
          .writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" })
          .end(Buffer.from(await answer.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  state.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return state;
}

async function setup(
  options: { syncMode?: "snapshot" | "incremental" | "auto"; feedState?: AppFeed; proxy?: boolean } = {},
) {
  const t = newTest();
  const feed = new FeedDeployment({ streamingExportEnabled: true });
  feed.transaction((tx) => void tx.insert("customers", { name: "Ada" }));
  const source = await startConvexSource({ deployKey: KEY, feed, worker: "manual" });
  const executor: StandIn = await startExecutor();
  closers.push(
    () => source.close(),
    () => executor.close(),
  );
  process.env.EXECUTOR_URL = executor.url;
  const proxy = options.proxy ? await flakyProxy(source.url) : null;
  const appId = await createApp(t, {
    deploymentUrl: proxy?.url ?? source.url,
    deployKey: KEY,
    syncMode: options.syncMode ?? "auto",
  });
  if (options.feedState) await t.run((ctx) => ctx.db.patch(appId, { feed: options.feedState }));
  return { t, source, executor, appId, proxy };
}

const mintRequests = (source: ConvexSource) =>
  source.requests.filter((r) => r.path === "/api/data_sync_cursor_from_deltas");

const appFields = {
  name: "Orders",
  slug: "orders",
  deploymentUrl: "https://happy-animal-123.convex.cloud",
  deployKey: "prod:happy-animal-123|0123456789abcdefSECRETKEYabcdef",
  tables: null,
  targetSchema: "shop",
  schedule: null,
  enabled: true,
};

describe("two apps on one target schema", () => {
  test("creating an app in auto mode on a schema another app uses is refused, naming that app", async () => {
    const t = newTest();
    await createApp(t, { name: "Shop", targetSchema: "shop", syncMode: "snapshot" });
    const admin = await asAdmin(t);
    // Refused before the source is even asked (the URL answers nothing here).
    await expectUserError(admin.action(api.apps.create, appFields), {
      code: "conflict",
      field: "targetSchema",
      message: /^target schema "shop" is also used by app Shop \(snapshot mode\): apps may share/,
    });
    await expectUserError(admin.action(api.apps.create, { ...appFields, syncMode: "incremental" }), {
      code: "conflict",
      field: "targetSchema",
    });
  });

  test("snapshot-mode apps may share a schema; switching one of them to auto or incremental is refused", async () => {
    const t = newTest();
    await createApp(t, { name: "Shop", slug: "shop", targetSchema: "shop", syncMode: "snapshot" });
    const orders = await createApp(t, { name: "Orders", slug: "orders", targetSchema: "shop" });
    const admin = await asAdmin(t);
    const { deployKey: _key, ...editable } = appFields;
    const args = { appId: orders, ...editable, deploymentUrl: "http://127.0.0.1:9" };
    // Apps from before modes are snapshot apps: they keep working and saving.
    await admin.mutation(api.apps.update, { ...args, name: "Orders (EU)" });
    await expectUserError(admin.mutation(api.apps.update, { ...args, syncMode: "auto" }), {
      code: "conflict",
      field: "targetSchema",
      message: /is also used by app Shop/,
    });
    expect((await appOf(t, orders))?.syncMode).toBeUndefined();
    // With a schema of its own it may.
    await admin.mutation(api.apps.update, { ...args, targetSchema: "orders", syncMode: "auto" });
    expect(await appOf(t, orders)).toMatchObject({ targetSchema: "orders", syncMode: "auto" });
    // …and the other app may not move onto it now.
    const shop = (await t.run((ctx) => ctx.db.query("apps").collect())).find((a) => a.slug === "shop")!;
    await expectUserError(
      admin.mutation(api.apps.update, {
        ...args,
        appId: shop._id,
        name: "Shop",
        slug: "shop",
        targetSchema: "orders",
      }),
      { code: "conflict", message: /^target schema "orders" is also used by app Orders \(auto mode\)/ },
    );
  });
});

describe("a scheduled snapshot in auto/incremental mode is held back to one an hour", () => {
  const unavailable = (): AppFeed => ({
    availability: "unavailable",
    reason: FEED_REASONS.plan,
    checkedAt: Date.now(),
  });
  const audits = (t: T) => t.run((ctx) => ctx.db.query("auditLog").collect());

  test("auto without the feed: a per-minute schedule skips snapshots started within the hour, audited with why", async () => {
    const t = newTest();
    const appId = await createApp(t, { syncMode: "auto" });
    await t.run((ctx) => ctx.db.patch(appId, { feed: unavailable() }));
    const earlier = await insertJob(t, appId, {
      status: "failed",
      kind: "snapshot",
      trigger: "schedule",
      finishedAt: Date.now(),
    });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await t.mutation(internal.schedules.runScheduled, { appId });
    expect(await jobsOf(t, appId)).toHaveLength(1);
    const skipped = (await audits(t)).find((a) => a.action === "schedule.run");
    expect(skipped).toMatchObject({ outcome: "ignored" });
    expect(skipped?.detail).toContain(
      `skipped: the next run would be a full snapshot and the last one started 10 min ago (job ${earlier})`,
    );

    // A person (or the API) asking for a sync is not held back.
    await t.run((ctx) => ctx.db.patch(appId, { feed: unavailable() }));
    const manual = await trigger(t, appId);
    expect(await jobOf(t, manual)).toMatchObject({ kind: "snapshot", trigger: "manual" });
    await t.run((ctx) => ctx.db.patch(manual, { status: "succeeded", active: false }));

    // An hour after the last snapshot started, the schedule runs one again.
    vi.setSystemTime(Date.now() + MIN_SCHEDULED_SNAPSHOT_INTERVAL_MS + 1);
    await t.run((ctx) => ctx.db.patch(appId, { feed: unavailable() }));
    await t.mutation(internal.schedules.runScheduled, { appId });
    const jobs = await jobsOf(t, appId);
    expect(jobs).toHaveLength(3);
    expect(jobs.at(-1)).toMatchObject({ trigger: "schedule", kind: "snapshot" });
  });

  test("incremental runs are not held back, nor snapshot-mode apps (the user chose their cadence)", async () => {
    const t = newTest();
    const feeding = await createApp(t, { slug: "feeding", targetSchema: "feeding", syncMode: "auto" });
    await t.run((ctx) =>
      ctx.db.patch(feeding, {
        feed: {
          availability: "available",
          checkedAt: Date.now(),
          position: { ts: "1800000000000000000", appliedAt: Date.now() },
        },
      }),
    );
    const plain = await createApp(t, { slug: "plain", targetSchema: "plain", syncMode: "snapshot" });
    for (const appId of [feeding, plain])
      await insertJob(t, appId, { status: "succeeded", kind: "snapshot", finishedAt: Date.now() });
    vi.setSystemTime(Date.now() + 60_000);
    await t.mutation(internal.schedules.runScheduled, { appId: feeding });
    await t.mutation(internal.schedules.runScheduled, { appId: plain });
    expect((await jobsOf(t, feeding)).at(-1)).toMatchObject({ kind: "incremental", trigger: "schedule" });
    expect((await jobsOf(t, plain)).at(-1)).toMatchObject({
      kind: "snapshot",
      trigger: "schedule",
      active: true,
    });
  });
});

describe("minting the feed cursor", () => {
  test("as soon as the export is seen in progress, at its start_ts; not again at completion", async () => {
    const { t, source, executor, appId } = await setup();
    const jobId = await trigger(t, appId);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    source.exportWorker.step(); // requested → in_progress
    const started = source.exportWorker.documents().at(-1)!;
    expect(started).toMatchObject({ state: "in_progress", start_ts: expect.any(String) });
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
    const minted = (await jobOf(t, jobId))!;
    expect(minted.status).toBe("exporting");
    expect(minted.feedStart).toEqual({ ts: started.start_ts, cursor: expect.any(String) });
    expect(mintRequests(source).map((r) => r.body)).toEqual([`{"cursor":${String(started.start_ts)}}`]);
    expect(await eventsOf(t, jobId)).toContain(
      `change feed cursor minted at the export's start (${String(started.start_ts)}, at or before its snapshot)`,
    );

    source.exportWorker.step(); // in_progress → completed (the snapshot is taken now: a later timestamp)
    await source.exportWorker.settled();
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 2 });
    const ready = (await jobOf(t, jobId))!;
    expect(BigInt(ready.export!.snapshotTs!)).toBeGreaterThanOrEqual(BigInt(String(started.start_ts)));
    expect(ready.feedStart).toEqual(minted.feedStart);
    expect(mintRequests(source)).toHaveLength(1);

    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    const sent = snapshotJobPayload.parse(JSON.parse(executor.requests.at(-1)!.body));
    expect(sent.feedStart).toEqual({ cursor: minted.feedStart!.cursor });
  });

  test("a transient failure (503) is tried again at the next check instead of costing the feed start", async () => {
    const { t, source, appId, proxy } = await setup({ proxy: true });
    const jobId = await trigger(t, appId);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    source.exportWorker.step();
    source.exportWorker.step();
    await source.exportWorker.settled();
    proxy!.failMints = 2;
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
    let job = (await jobOf(t, jobId))!;
    // Not dispatched: the export is done, the cursor comes first.
    expect(job).toMatchObject({ status: "exporting", feedStart: { mintTries: 1 } });
    expect(job.export?.snapshotTs).toBeUndefined();
    expect(job.feedStart?.error).toBeUndefined();
    expect((await eventsOf(t, jobId)).at(-1)).toMatch(
      new RegExp(`^could not mint the change feed cursor \\(try 1 of ${MAX_MINT_TRIES}\\): .*503`),
    );
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 2 });
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 3 });
    job = (await jobOf(t, jobId))!;
    expect(job.feedStart).toMatchObject({ cursor: expect.any(String), mintTries: 2 });
    expect(job.export?.snapshotTs).toBeDefined();
    expect(job.step?.name).toBe("dispatch:dispatchJob");
  });

  test("transient failures give up after MAX_MINT_TRIES: the snapshot loads without starting the feed", async () => {
    const { t, source, appId, proxy } = await setup({ proxy: true });
    const jobId = await trigger(t, appId);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    source.exportWorker.step();
    source.exportWorker.step();
    await source.exportWorker.settled();
    proxy!.failMints = 100;
    for (let check = 1; check <= MAX_MINT_TRIES; check++)
      await t.action(internal.exports.checkExport, { jobId, attempt: 1, check });
    const job = (await jobOf(t, jobId))!;
    expect(job.feedStart?.cursor).toBeUndefined();
    expect(job.feedStart?.error).toMatch(new RegExp(`^gave up after ${MAX_MINT_TRIES} tries: .*503`));
    expect(job.step?.name).toBe("dispatch:dispatchJob");
  });
  test("tries while the export runs count too: at most MAX_MINT_TRIES in all, the last at completion", async () => {
    const { t, source, appId, proxy } = await setup({ proxy: true });
    const jobId = await trigger(t, appId);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    source.exportWorker.step(); // requested → in_progress, and it stays there for many checks
    proxy!.failMints = 100;
    for (let check = 1; check <= MAX_MINT_TRIES + 3; check++)
      await t.action(internal.exports.checkExport, { jobId, attempt: 1, check });
    expect(mintRequests(source)).toHaveLength(0); // the proxy answered them all
    let job = (await jobOf(t, jobId))!;
    expect(job).toMatchObject({ status: "exporting", feedStart: { mintTries: MAX_MINT_TRIES - 1 } });
    const tries = (await eventsOf(t, jobId)).filter((e) => e.startsWith("could not mint"));
    expect(tries).toHaveLength(MAX_MINT_TRIES - 1);

    source.exportWorker.step(); // in_progress → completed
    await source.exportWorker.settled();
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: MAX_MINT_TRIES + 4 });
    job = (await jobOf(t, jobId))!;
    expect(job.feedStart?.error).toMatch(new RegExp(`^gave up after ${MAX_MINT_TRIES} tries: .*503`));
    expect(job.step?.name).toBe("dispatch:dispatchJob");
  });
});

describe("the minted cursor's lifetime and what the executor reports with it", () => {
  test("the cursor is cleared once the job is final; the job still says one was minted", async () => {
    const { t, source, appId } = await setup();
    const jobId = await trigger(t, appId);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    source.exportWorker.step();
    source.exportWorker.step();
    await source.exportWorker.settled();
    await t.action(internal.exports.checkExport, { jobId, attempt: 1, check: 1 });
    const snapshotTs = (await jobOf(t, jobId))!.export!.snapshotTs!;
    await t.run((ctx) => ctx.db.patch(jobId, { status: "dispatched" }));
    await t.run((ctx) =>
      applyCompletion(
        ctx,
        completion(jobId, {
          feedStart: { stored: true, position: snapshotTs, detachedTables: ["old_orders", "logs/entries"] },
        }),
      ),
    );
    const job = (await jobOf(t, jobId))!;
    expect(job.status).toBe("succeeded");
    expect(job.feedStart).toEqual({ ts: snapshotTs, minted: true });
    const detail = await (await asAdmin(t)).query(api.jobQueries.get, { jobId });
    expect(detail?.job.feedStart).toEqual({ ts: snapshotTs, minted: true });
    expect((await appOf(t, appId))?.feed?.position?.ts).toBe(snapshotTs);
    expect(await eventsOf(t, jobId)).toContain(
      "warehouse tables this snapshot did not load (dropped in the source, or outside the app's table selection) " +
        "are kept as they were; the change feed does not maintain them: old_orders, logs/entries",
    );
  });

  test("a failed job's cursor is cleared too", async () => {
    const { t, appId } = await setup();
    const jobId = await insertJob(t, appId, {
      status: "dispatched",
      kind: "snapshot",
      feedStart: { ts: "1800000000000000000", cursor: "opaque-cursor" },
    });
    await t.run((ctx) =>
      applyCompletion(
        ctx,
        completion(jobId, { outcome: "failed", error: { message: "disk full", retryable: false } }),
      ),
    );
    expect((await jobOf(t, jobId))?.feedStart).toEqual({ ts: "1800000000000000000", minted: true });
  });
});

describe("a warehouse that cannot store the feed position", () => {
  async function storeFails(t: T, appId: Id<"apps">) {
    const jobId = await insertJob(t, appId, {
      status: "dispatched",
      kind: "snapshot",
      feedStart: { ts: "1800000000000000000", cursor: "opaque-cursor" },
    });
    await t.run(async (ctx) => {
      await ctx.db.patch(appId, { lastJobId: jobId });
      await applyCompletion(
        ctx,
        completion(jobId, {
          feedStart: { stored: false, position: "1800000000000000000", error: "permission denied for table" },
        }),
      );
    });
    return jobId;
  }

  test(`auto: after ${FEED_START_MAX_FAILURES} in a row the feed is unavailable with the reason, and plain snapshots follow`, async () => {
    const { t, appId } = await setup({ syncMode: "auto" });
    for (let i = 1; i < FEED_START_MAX_FAILURES; i++) {
      await storeFails(t, appId);
      expect((await appOf(t, appId))?.feed).toMatchObject({ availability: "unknown", storeFailures: i });
    }
    const last = await storeFails(t, appId);
    const feed = (await appOf(t, appId))?.feed;
    expect(feed).toMatchObject({ availability: "unavailable", checkedAt: expect.any(Number) });
    expect(feed?.reason).toContain(
      `the warehouse could not store the change feed's position after ${FEED_START_MAX_FAILURES} snapshots in a row`,
    );
    expect(feed?.reason).toContain("permission denied for table");
    expect(feed?.storeFailures).toBeUndefined();
    expect((await eventsOf(t, last)).at(-1)).toContain("the app syncs by plain snapshots");
    const next = await jobOf(t, await trigger(t, appId));
    expect(next).toMatchObject({ kind: "snapshot", kindReason: `auto → snapshot: ${feed?.reason}` });
    expect(next?.feedStart).toBeUndefined();
  });

  test("a stored position in between starts the count again", async () => {
    const { t, appId } = await setup({ syncMode: "auto" });
    await storeFails(t, appId);
    await storeFails(t, appId);
    const ok = await insertJob(t, appId, {
      status: "dispatched",
      kind: "snapshot",
      feedStart: { ts: "1800000000000000000", cursor: "opaque-cursor" },
    });
    await t.run((ctx) =>
      applyCompletion(ctx, completion(ok, { feedStart: { stored: true, position: "1800000000000000000" } })),
    );
    expect((await appOf(t, appId))?.feed?.storeFailures).toBeUndefined();
    await storeFails(t, appId);
    expect((await appOf(t, appId))?.feed).toMatchObject({ availability: "unknown", storeFailures: 1 });
  });

  test("incremental: the next job fails visibly, naming the reason", async () => {
    const { t, appId } = await setup({ syncMode: "incremental" });
    for (let i = 0; i < FEED_START_MAX_FAILURES; i++) await storeFails(t, appId);
    const jobId = await trigger(t, appId);
    await t.action(internal.exports.startExport, { jobId, attempt: 1 });
    const job = await jobOf(t, jobId);
    expect(job).toMatchObject({ status: "failed", error: { code: "feed_unavailable", retryable: false } });
    expect(job?.error?.message).toContain("the warehouse could not store the change feed's position");
  });
});
