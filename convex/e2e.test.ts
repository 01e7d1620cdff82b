/**
 * Syncs end to end through the scheduler: HTTP trigger → export on a stand-in source deployment → signed dispatch
 * to a stand-in executor → signed progress and completion callbacks → succeeded; and an auto-mode app's first
 * snapshot starting the change feed, then an incremental run from its position.
 */
import { afterEach, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { callbackRoutes, incrementalJobPayload, snapshotJobPayload } from "./contract/executor";
import { signedHeaders, verifySignature } from "./contract/signing";
import {
  asAdmin,
  createApp,
  newTest,
  setTestEnv,
  TEST_EXECUTOR_SECRET,
  type T,
} from "./test/harness.testkit";
import { startConvexSource, type ConvexSource } from "../test/standins/convexSource";
import { FeedDeployment } from "../test/standins/dataSyncFeed";
import { startExecutor, type StandIn } from "./test/standins.testkit";

const KEY = "prod:source-123|goodkeygoodkeygoodkey";
let servers: (StandIn | ConvexSource)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function runScheduler(t: T, ms: number) {
  for (let waited = 0; waited < ms; waited += 1000) {
    vi.advanceTimersByTime(1000);
    await t.finishInProgressScheduledFunctions();
  }
}

async function callback(t: T, path: string, body: unknown) {
  const raw = JSON.stringify(body);
  const res = await t.fetch(path, {
    method: "POST",
    headers: await signedHeaders(TEST_EXECUTOR_SECRET, { method: "POST", path, body: raw }),
    body: raw,
  });
  expect(res.status).toBe(200);
}

test("trigger → export → dispatch → progress → completion", async () => {
  const t = newTest();
  // The stand-in's export worker runs on the faked timers: it completes while the scheduler is advanced.
  const source = await startConvexSource({
    deployKey: KEY,
    tables: { root: ["users"] },
    exportDelayMs: 1_500,
  });
  const executor = await startExecutor();
  servers.push(source, executor);
  setTestEnv({ EXECUTOR_URL: executor.url });
  await createApp(t, { deploymentUrl: source.url, deployKey: KEY });
  const { token } = await (
    await asAdmin(t)
  ).action(api.tokens.create, {
    name: "ci",
    scope: { kind: "all" },
  });

  const res = await t.fetch("/api/sync/shop", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
  });
  const { jobId } = (await res.json()) as { jobId: Id<"jobs"> };
  await runScheduler(t, 30_000);

  const status = async () =>
    (await (
      await t.fetch(`/api/jobs/${jobId}`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { status: string };
  expect((await status()).status).toBe("dispatched");
  const dispatched = executor.requests.find((r) => r.path === "/jobs")!;
  expect(
    await verifySignature(TEST_EXECUTOR_SECRET, new Headers(dispatched.headers), {
      method: "POST",
      path: dispatched.path,
      body: dispatched.body,
    }),
  ).toEqual({ ok: true });
  const [completed] = source.exportWorker.documents();
  expect(completed).toMatchObject({ state: "completed" });
  expect(snapshotJobPayload.parse(JSON.parse(dispatched.body)).snapshot.snapshotTs).toBe(completed!.start_ts);

  const base = { executorId: "pc-1", at: Date.now(), jobId, attempt: 1 };
  await callback(t, callbackRoutes.progress, {
    ...base,
    eventId: "e2e-progress-1",
    phase: "importing",
    tables: [{ table: "users", state: "loading", rows: 5, bytes: 50 }],
  });
  expect((await status()).status).toBe("running");
  await callback(t, callbackRoutes.progress, {
    ...base,
    eventId: "e2e-progress-2",
    phase: "swapping",
    tables: [{ table: "users", state: "loaded", rows: 10, bytes: 100 }],
  });
  await callback(t, callbackRoutes.complete, {
    ...base,
    eventId: "e2e-complete-1",
    outcome: "succeeded",
    tables: [{ table: "users", state: "swapped", rows: 10, bytes: 100 }],
    totalRows: 10,
    durationMs: 900,
  });
  expect(await status()).toMatchObject({
    status: "succeeded",
    totalRows: 10,
    tables: [{ table: "users", rows: 10 }],
  });
  // The job page's query carries each milestone's structured mark (convex/lib/jobEventMark.ts), in order.
  const detail = await (await asAdmin(t)).query(api.jobQueries.get, { jobId });
  expect(detail?.events.flatMap((e) => (e.mark ? [e.mark] : []))).toEqual([
    { kind: "exportRequested" },
    { kind: "exportReady" },
    { kind: "phase", phase: "importing" },
    { kind: "phase", phase: "swapping" },
  ]);
  const [app] = await (await asAdmin(t)).query(api.apps.list, {});
  expect(app?.lastJob).toMatchObject({ id: jobId, status: "succeeded" });
});

test("auto mode: first sync a snapshot that starts the feed, the next one an incremental run from its position", async () => {
  const t = newTest();
  const feed = new FeedDeployment();
  feed.transaction((tx) => void tx.insert("customers", { name: "Ada" }));
  const source = await startConvexSource({ deployKey: KEY, feed, worker: "manual" });
  const executor = await startExecutor();
  servers.push(source, executor);
  setTestEnv({ EXECUTOR_URL: executor.url });
  const appId = await createApp(t, { deploymentUrl: source.url, deployKey: KEY, syncMode: "auto" });
  const { token } = await (
    await asAdmin(t)
  ).action(api.tokens.create, { name: "ci", scope: { kind: "all" } });
  const sync = async () =>
    (
      (await (
        await t.fetch("/api/sync/shop", { method: "POST", headers: { Authorization: `Bearer ${token}` } })
      ).json()) as { jobId: Id<"jobs"> }
    ).jobId;
  const status = async (jobId: Id<"jobs">) =>
    (await (
      await t.fetch(`/api/jobs/${jobId}`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as Record<string, unknown>;
  const base = (jobId: Id<"jobs">) => ({ executorId: "pc-1", at: Date.now(), jobId, attempt: 1 });

  // 1. The first load: the export, the cursor minted at its snapshot, dispatched with feedStart.
  const first = await sync();
  await runScheduler(t, 2_000);
  source.exportWorker.step();
  source.exportWorker.step();
  await source.exportWorker.settled();
  await runScheduler(t, 10_000);
  expect(await status(first)).toMatchObject({ status: "dispatched", kind: "snapshot" });
  const snapshotPayload = snapshotJobPayload.parse(JSON.parse(executor.requests.at(-1)!.body));
  const snapshotTs = snapshotPayload.snapshot.snapshotTs;
  expect(snapshotPayload.feedStart?.cursor).toEqual(expect.any(String));
  await callback(t, callbackRoutes.complete, {
    ...base(first),
    eventId: "feed-e2e-complete-1",
    outcome: "succeeded",
    tables: [{ table: "customers", state: "swapped", rows: 1, bytes: 10 }],
    totalRows: 1,
    durationMs: 300,
    feedStart: { stored: true, position: snapshotTs },
  });
  const admin = await asAdmin(t);
  expect((await admin.query(api.apps.get, { appId }))?.feed?.position?.ts).toBe(snapshotTs);

  // 2. The next sync: no export, dispatched from the queue; its progress and figures land on the job and the app.
  feed.transaction((tx) => void tx.insert("customers", { name: "Grace" }));
  const exportsBefore = source.requests.filter((r) => r.path.startsWith("/api/export")).length;
  const second = await sync();
  await runScheduler(t, 2_000);
  expect(await status(second)).toMatchObject({ status: "dispatched", kind: "incremental" });
  expect(source.requests.filter((r) => r.path.startsWith("/api/export"))).toHaveLength(exportsBefore);
  const incremental = incrementalJobPayload.parse(JSON.parse(executor.requests.at(-1)!.body));
  expect(incremental.incremental.sourceTables).toEqual(["customers"]);
  const changes = [{ table: "customers", inserted: 1, updated: 0, deleted: 0, truncated: false }];
  await callback(t, callbackRoutes.progress, {
    ...base(second),
    eventId: "feed-e2e-progress-2",
    phase: "applying",
    tables: [],
    changes,
  });
  expect(await status(second)).toMatchObject({ status: "running", phase: "applying", changes });
  const position = feed.latestTs.toString();
  await callback(t, callbackRoutes.complete, {
    ...base(second),
    eventId: "feed-e2e-complete-2",
    outcome: "succeeded",
    tables: [],
    totalRows: 1,
    durationMs: 120,
    incremental: {
      outcome: "upToDate",
      pages: 1,
      transactions: 1,
      tables: changes,
      droppedTables: [],
      position,
      lagMs: 0,
      cursorAgeMs: 5_000,
    },
  });
  expect(await status(second)).toMatchObject({
    status: "succeeded",
    kind: "incremental",
    incremental: { outcome: "upToDate", position },
  });
  expect((await admin.query(api.apps.get, { appId }))?.feed?.position?.ts).toBe(position);
});
