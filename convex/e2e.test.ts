/**
 * One sync end to end through the scheduler: HTTP trigger → export on a stand-in source deployment →
 * signed dispatch to a stand-in executor → signed progress and completion callbacks → succeeded.
 */
import { afterEach, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { callbackRoutes, snapshotJobPayload } from "./contract/executor";
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
