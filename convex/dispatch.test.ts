import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { jobPayload } from "./contract/executor";
import { verifySignature } from "./contract/signing";
import { DISPATCH_MAX_TRIES } from "./lib/backoff";
import {
  asAdmin,
  createApp,
  newTest,
  scheduled,
  setTestEnv,
  TEST_EXECUTOR_SECRET,
  type T,
} from "./test/harness.testkit";
import {
  startExecutor,
  startServer,
  startSilentServer,
  UNREACHABLE_URL,
  type StandIn,
} from "./test/standins.testkit";

const KEY = "prod:source-123|goodkeygoodkeygoodkey";
let servers: StandIn[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function executor(script: number[] = []) {
  const s = await startExecutor(script);
  servers.push(s);
  return s;
}

/** A job whose export completed, ready for dispatch. */
async function readyJob(t: T, executorUrl: string): Promise<Id<"jobs">> {
  setTestEnv({
    EXECUTOR_URL: executorUrl,
    CF_ACCESS_CLIENT_ID: "id.access",
    CF_ACCESS_CLIENT_SECRET: "cf-secret",
  });
  const appId = await createApp(t, { deployKey: KEY, tables: ["users", "workpool/pendingStart"] });
  const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
  await t.run((ctx) =>
    ctx.db.patch(jobId, {
      status: "exporting",
      export: { requestedAt: Date.now(), checks: 3, snapshotTs: "1700000000000000000", exportId: "e1" },
    }),
  );
  return jobId;
}

const job = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));
const dispatchRetries = async (t: T) => (await scheduled(t)).filter((s) => s.name === "dispatch:dispatchJob");

describe("dispatch to the executor", () => {
  test("2xx: the job is dispatched with a signed, contract-valid payload and Access headers", async () => {
    const t = newTest();
    const ex = await executor();
    const jobId = await readyJob(t, ex.url);
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    expect(await job(t, jobId)).toMatchObject({ status: "dispatched", dispatchAttempts: 1 });
    const req = ex.requests[0]!;
    expect(req.path).toBe("/jobs");
    const headers = new Headers(req.headers);
    const signed = { method: "POST", path: req.path, body: req.body };
    expect(await verifySignature(TEST_EXECUTOR_SECRET, headers, signed)).toEqual({ ok: true });
    expect(await verifySignature("other-secret", headers, signed)).toMatchObject({ ok: false });
    // The signature covers the path: the same request replayed against another route is refused.
    expect(
      await verifySignature(TEST_EXECUTOR_SECRET, headers, { ...signed, path: `/jobs/${jobId}/cancel` }),
    ).toEqual({ ok: false, reason: "bad_signature" });
    expect(req.headers["cf-access-client-id"]).toBe("id.access");
    expect(req.headers["cf-access-client-secret"]).toBe("cf-secret");
    const payload = jobPayload.parse(JSON.parse(req.body));
    expect(payload).toMatchObject({
      jobId,
      attempt: 1,
      app: { slug: "shop" },
      source: { deployKey: KEY },
      snapshot: { snapshotTs: "1700000000000000000", exportId: "e1" },
      tables: ["users", "workpool/pendingStart"],
      targetSchema: "shop",
    });
    // The key travels only in the payload: never in the job row, events or audit log.
    const stored = await t.run(async (ctx) =>
      JSON.stringify([
        await ctx.db.query("jobs").collect(),
        await ctx.db.query("jobEvents").collect(),
        await ctx.db.query("auditLog").collect(),
      ]),
    );
    expect(stored).not.toContain("goodkey");
  });

  test("an answer with another attempt's state is not a dispatch: retried later", async () => {
    const t = newTest();
    // The executor still has attempt 1 in its queue: it answers the known job id with that, starting nothing.
    const ex = await startServer((req) => ({
      status: 200,
      body: {
        jobId: (JSON.parse(req.body) as { jobId: string }).jobId,
        attempt: 1,
        state: "queued",
        phase: "queued",
        tables: [],
      },
    }));
    servers.push(ex);
    const jobId = await readyJob(t, ex.url);
    await t.run((ctx) => ctx.db.patch(jobId, { attempt: 2 }));
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 2, tryNumber: 1 });
    expect(await job(t, jobId)).toMatchObject({ status: "exporting", attempt: 2, dispatchAttempts: 1 });
    expect(await dispatchRetries(t)).toHaveLength(1);
    const events = await t.run((ctx) => ctx.db.query("jobEvents").collect());
    expect(events.map((e) => e.message).join("\n")).toMatch(/still holds attempt 1 of this job \(queued\)/);
  });

  test("500 then success: retried with backoff, then dispatched", async () => {
    const t = newTest();
    const ex = await executor([500]);
    const jobId = await readyJob(t, ex.url);
    const before = Date.now();
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    expect(await job(t, jobId)).toMatchObject({ status: "exporting", dispatchAttempts: 1 });
    const retry = (await dispatchRetries(t)).at(-1)!;
    expect(retry.args).toEqual({ jobId, attempt: 1, tryNumber: 2 });
    expect(retry.scheduledTime - before).toBeGreaterThanOrEqual(1_000);
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 2 });
    expect(await job(t, jobId)).toMatchObject({ status: "dispatched", dispatchAttempts: 2 });
    expect(ex.requests).toHaveLength(2);
  });

  test("unreachable: retries up to the limit, then the attempt fails retryably", async () => {
    const t = newTest();
    const jobId = await readyJob(t, UNREACHABLE_URL);
    for (let n = 1; n < DISPATCH_MAX_TRIES; n++) {
      await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: n });
      expect((await dispatchRetries(t)).at(-1)?.args).toMatchObject({ tryNumber: n + 1 });
    }
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: DISPATCH_MAX_TRIES });
    expect(await job(t, jobId)).toMatchObject({
      status: "queued",
      attempt: 2,
      error: {
        code: "dispatch_unreachable",
        retryable: true,
        message: expect.stringContaining("unreachable"),
      },
    });
  });

  test("401: a permanent refusal fails the job at once", async () => {
    const t = newTest();
    const ex = await executor([401]);
    const jobId = await readyJob(t, ex.url);
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    expect(await job(t, jobId)).toMatchObject({
      status: "failed",
      error: { code: "dispatch_refused", retryable: false, message: expect.stringContaining("401") },
    });
    expect(await dispatchRetries(t)).toHaveLength(0);
  });

  test("a missing EXECUTOR_SECRET fails the job with a clear message", async () => {
    const t = newTest();
    const ex = await executor();
    const jobId = await readyJob(t, ex.url);
    delete process.env.EXECUTOR_SECRET;
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    expect(await job(t, jobId)).toMatchObject({
      status: "failed",
      error: { message: expect.stringContaining("EXECUTOR_SECRET is not set") },
    });
    expect(ex.requests).toHaveLength(0);
  });

  test("cancel of a dispatched job: the signed cancel reaches the executor and the job ends cancelled", async () => {
    const t = newTest();
    const ex = await executor();
    const jobId = await readyJob(t, ex.url);
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    await (await asAdmin(t, "ops@example.com")).mutation(api.jobs.cancel, { jobId, reason: "wrong tables" });
    expect(await job(t, jobId)).toMatchObject({
      status: "dispatched",
      cancelRequested: { reason: "wrong tables" },
    });
    await t.action(internal.dispatch.sendCancel, { jobId, attempt: 1, tryNumber: 1 });
    const req = ex.requests.at(-1)!;
    expect(req.path).toBe(`/jobs/${jobId}/cancel`);
    expect(JSON.parse(req.body)).toEqual({ jobId, reason: "wrong tables" });
    expect(
      await verifySignature(TEST_EXECUTOR_SECRET, new Headers(req.headers), {
        method: "POST",
        path: req.path,
        body: req.body,
      }),
    ).toEqual({ ok: true });
    expect(await job(t, jobId)).toMatchObject({ status: "cancelled", active: false });
  });

  test("cancel answered 404: the executor does not hold the job, so it ends cancelled", async () => {
    const t = newTest();
    const ex = await executor([202, 404]);
    const jobId = await readyJob(t, ex.url);
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    await (await asAdmin(t)).mutation(api.jobs.cancel, { jobId });
    await t.action(internal.dispatch.sendCancel, { jobId, attempt: 1, tryNumber: 1 });
    expect(await job(t, jobId)).toMatchObject({ status: "cancelled", active: false });
  });

  test("cancel refused with another status whose text mentions 404: the job is not taken for cancelled", async () => {
    const t = newTest();
    const ex = await startServer((req) =>
      req.path === "/jobs"
        ? {
            status: 202,
            body: {
              jobId: JSON.parse(req.body).jobId,
              attempt: 1,
              state: "queued",
              phase: "queued",
              tables: [],
            },
          }
        : { status: 403, body: { error: "the proxy answered 404 upstream" } },
    );
    servers.push(ex);
    const jobId = await readyJob(t, ex.url);
    await t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    await (await asAdmin(t)).mutation(api.jobs.cancel, { jobId });
    await t.action(internal.dispatch.sendCancel, { jobId, attempt: 1, tryNumber: 1 });
    expect(await job(t, jobId)).toMatchObject({ status: "dispatched", cancelRequested: expect.anything() });
  });

  test("cancelled while the dispatch POST was in flight: the executor is told to cancel", async () => {
    const t = newTest();
    const ex = await executor();
    const jobId = await readyJob(t, ex.url);
    await (await asAdmin(t, "ops@example.com")).mutation(api.jobs.cancel, { jobId });
    expect((await job(t, jobId))?.status).toBe("cancelled");
    await t.mutation(internal.dispatch.recordDispatch, {
      jobId,
      attempt: 1,
      tryNumber: 1,
      deadline: Date.now() + 1000,
      outcome: { kind: "ok", status: 202, body: null },
    });
    const cancel = (await scheduled(t)).find((s) => s.name === "dispatch:sendCancel");
    expect(cancel?.args).toEqual({ jobId, attempt: 1, tryNumber: 1 });
    await t.action(internal.dispatch.sendCancel, { jobId, attempt: 1, tryNumber: 1 });
    expect(ex.requests.at(-1)?.path).toBe(`/jobs/${jobId}/cancel`);
    expect((await job(t, jobId))?.status).toBe("cancelled");
  });

  test("a timeout is transient: retried later", async () => {
    const t = newTest();
    const silent = await startSilentServer();
    servers.push(silent);
    const jobId = await readyJob(t, silent.url);
    process.env.EXECUTOR_TIMEOUT_MS = "300";
    const dispatching = t.action(internal.dispatch.dispatchJob, { jobId, attempt: 1, tryNumber: 1 });
    // Timers are fake: wait until the request reached the server, then let the deadline pass.
    while (silent.requests.length === 0) await new Promise((r) => setImmediate(r));
    await vi.advanceTimersByTimeAsync(301);
    await dispatching;
    delete process.env.EXECUTOR_TIMEOUT_MS;
    expect(await job(t, jobId)).toMatchObject({ status: "exporting", dispatchAttempts: 1 });
    expect((await dispatchRetries(t)).at(-1)?.args).toMatchObject({ tryNumber: 2 });
    const events = await t.run((ctx) => ctx.db.query("jobEvents").collect());
    expect(events.at(-1)?.message).toContain("executor timed out");
  });
});
