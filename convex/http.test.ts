import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import {
  callbackRoutes,
  CONTRACT_VERSION,
  type CompletionCallback,
  type Heartbeat,
  type ProgressCallback,
} from "./contract/executor";
import { signedHeaders } from "./contract/signing";
import type { TokenScope } from "./schema";
import { asAdmin, createApp, newTest, TEST_EXECUTOR_SECRET, type T } from "./test/harness.testkit";

afterEach(() => {
  vi.useRealTimers();
});

async function apiToken(t: T, name = "ci", scope: TokenScope = { kind: "all" }): Promise<string> {
  return (await (await asAdmin(t, `${name}-owner@example.com`)).action(api.tokens.create, { name, scope }))
    .token;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const job = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));
const audit = (t: T) => t.run((ctx) => ctx.db.query("auditLog").collect());
const counters = (t: T) =>
  t.run(async (ctx) =>
    (await ctx.db.query("refusedRequests").collect()).map((r) => [r.route, r.reason, r.actor, r.count]),
  );

async function signedPost(
  t: T,
  path: string,
  body: unknown,
  secret = TEST_EXECUTOR_SECRET,
  nowMs = Date.now(),
) {
  const raw = JSON.stringify(body);
  return t.fetch(path, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(await signedHeaders(secret, { method: "POST", path, body: raw }, nowMs)),
    },
    body: raw,
  });
}

let eventCounter = 0;
const eventId = () => `event-${++eventCounter}-${Math.random().toString(36).slice(2)}`;
/** What every callback carries (the contract's `callbackBase`), from executor pc-1, now. */
const fromExecutor = () => ({ eventId: eventId(), executorId: "pc-1", at: Date.now() });

function progress(jobId: string, extra: Partial<ProgressCallback> = {}): ProgressCallback {
  return {
    ...fromExecutor(),
    jobId,
    attempt: 1,
    phase: "importing",
    tables: [{ table: "users", state: "loading", rows: 10, bytes: 1000, totalBytes: 4000 }],
    ...extra,
  };
}

function completion(jobId: string, extra: Partial<CompletionCallback> = {}): CompletionCallback {
  return {
    ...fromExecutor(),
    jobId,
    attempt: 1,
    outcome: "succeeded",
    tables: [{ table: "users", state: "swapped", rows: 40, bytes: 4000 }],
    totalRows: 40,
    durationMs: 1234,
    ...extra,
  };
}

function heartbeatOf(target: Heartbeat["target"], extra: Partial<Heartbeat> = {}): Heartbeat {
  return {
    ...fromExecutor(),
    version: "0.1.0",
    contractVersion: CONTRACT_VERSION,
    target,
    runningJobs: [],
    queuedJobs: 0,
    ...extra,
  };
}

describe("POST /api/sync/{app}", () => {
  test("202 with the job; a second call returns the same active job", async () => {
    const t = newTest();
    await createApp(t);
    const token = await apiToken(t);
    const first = await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) });
    expect(first.status).toBe(202);
    const body = (await first.json()) as { jobId: string; status: string };
    expect(body).toMatchObject({ status: "queued", created: true });
    const second = await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) });
    expect(await second.json()).toMatchObject({ jobId: body.jobId, created: false });
    expect((await job(t, body.jobId as Id<"jobs">))?.trigger).toBe("api");
  });

  test("401 without a valid token is counted, not audited; 404 for an unknown app is audited", async () => {
    const t = newTest();
    await createApp(t);
    const token = await apiToken(t);
    expect((await t.fetch("/api/sync/shop", { method: "POST" })).status).toBe(401);
    expect((await t.fetch("/api/sync/shop", { method: "POST", headers: bearer("cws_wrong") })).status).toBe(
      401,
    );
    expect((await t.fetch("/api/sync/nope", { method: "POST", headers: bearer(token) })).status).toBe(404);
    const rows = (await audit(t)).filter((r) => r.action === "http.sync");
    expect(rows.map((r) => [r.outcome, r.httpStatus, r.actor])).toEqual([["error", 404, "token:ci"]]);
    expect(await counters(t)).toEqual([
      ["http.sync", "missing_token", "anonymous", 1],
      ["http.sync", "invalid_token", "anonymous", 1],
    ]);
    expect(JSON.stringify([await audit(t), await counters(t)])).not.toContain(token);
  });

  test("a revoked token is refused", async () => {
    const t = newTest();
    await createApp(t);
    const admin = await asAdmin(t);
    const { id, token } = await admin.action(api.tokens.create, { name: "old", scope: { kind: "all" } });
    await admin.mutation(api.tokens.revoke, { tokenId: id });
    expect((await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) })).status).toBe(401);
    const listed = await admin.query(api.tokens.list, {});
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(listed[0]).toMatchObject({ name: "old", revokedAt: expect.any(Number) });
  });

  test("rate limit: bursts of 10, then 429 with Retry-After; refills at one a second; per token", async () => {
    const t = newTest();
    vi.setSystemTime(new Date("2026-11-28T12:00:00Z"));
    await createApp(t);
    const token = await apiToken(t, "busy");
    const other = await apiToken(t, "quiet");
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push((await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) })).status);
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true);
    const limited = await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect((await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(other) })).status).toBe(202);
    vi.setSystemTime(new Date("2026-11-28T12:00:01.100Z"));
    expect((await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) })).status).toBe(202);
    expect((await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) })).status).toBe(429);
  });
});

describe("GET /api/jobs/{jobId}", () => {
  test("returns status and per-table figures with a token; 401 without; 404 for unknown", async () => {
    const t = newTest();
    await createApp(t);
    const token = await apiToken(t);
    const { jobId } = (await (
      await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) })
    ).json()) as {
      jobId: Id<"jobs">;
    };
    await t.run((ctx) =>
      ctx.db.patch(jobId, {
        status: "running",
        tables: [{ table: "users", state: "loading", rows: 5, bytes: 9 }],
      }),
    );
    const res = await t.fetch(`/api/jobs/${jobId}`, { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      jobId,
      app: "shop",
      status: "running",
      tables: [{ table: "users", rows: 5 }],
    });
    expect((await t.fetch(`/api/jobs/${jobId}`)).status).toBe(401);
    expect((await t.fetch(`/api/jobs/notajob`, { headers: bearer(token) })).status).toBe(404);
  });
});

describe("executor callbacks", () => {
  async function dispatchedJob(t: T): Promise<Id<"jobs">> {
    const appId = await createApp(t);
    const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
    await t.run((ctx) => ctx.db.patch(jobId, { status: "dispatched" }));
    return jobId;
  }

  test("progress then completion move the job to running and succeeded with figures", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const p = await signedPost(t, callbackRoutes.progress, progress(jobId));
    expect(p.status).toBe(200);
    expect(await job(t, jobId)).toMatchObject({
      status: "running",
      phase: "importing",
      tables: [{ rows: 10 }],
    });
    const c = await signedPost(t, callbackRoutes.complete, completion(jobId));
    expect(await c.json()).toEqual({ result: "applied" });
    expect(await job(t, jobId)).toMatchObject({ status: "succeeded", totalRows: 40, active: false });
  });

  test("the success event gives the executor's time and the whole run's, with tenths of a second", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 29, 7) });
    const t = newTest();
    const jobId = await dispatchedJob(t);
    vi.setSystemTime(Date.UTC(2026, 10, 29, 7) + 5_600);
    await signedPost(t, callbackRoutes.complete, completion(jobId, { durationMs: 420 }));
    const events = await t.run((ctx) =>
      ctx.db
        .query("jobEvents")
        .withIndex("by_job", (q) => q.eq("jobId", jobId))
        .collect(),
    );
    expect(events.at(-1)?.message).toBe("succeeded: 40 rows; 0.4 s on the executor, 5.6 s since the request");
  });

  test("bad signature, wrong secret, stale timestamp and missing headers are refused and counted", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const body = progress(jobId);
    expect((await signedPost(t, callbackRoutes.progress, body, "wrong-secret")).status).toBe(401);
    expect(
      (await signedPost(t, callbackRoutes.progress, body, TEST_EXECUTOR_SECRET, Date.now() - 6 * 60_000))
        .status,
    ).toBe(401);
    const raw = JSON.stringify(body);
    const headers = await signedHeaders(TEST_EXECUTOR_SECRET, {
      method: "POST",
      path: callbackRoutes.progress,
      body: raw,
    });
    const tampered = await t.fetch(callbackRoutes.progress, {
      method: "POST",
      headers,
      body: raw.replace('"rows":10', '"rows":11'),
    });
    expect(tampered.status).toBe(401);
    expect((await t.fetch(callbackRoutes.progress, { method: "POST", body: raw })).status).toBe(401);
    expect((await job(t, jobId))?.status).toBe("dispatched");
    expect((await audit(t)).filter((r) => r.action === "http.executor.progress")).toEqual([]);
    expect(await counters(t)).toEqual([
      ["http.executor.progress", "bad_signature", "anonymous", 2],
      ["http.executor.progress", "stale", "anonymous", 1],
      ["http.executor.progress", "missing_headers", "anonymous", 1],
    ]);
  });

  test("a signed callback replayed against another route or method is refused", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const raw = JSON.stringify(progress(jobId));
    const headers = await signedHeaders(TEST_EXECUTOR_SECRET, {
      method: "POST",
      path: callbackRoutes.progress,
      body: raw,
    });
    const elsewhere = await t.fetch(callbackRoutes.complete, { method: "POST", headers, body: raw });
    expect(elsewhere.status).toBe(401);
    const withQuery = await t.fetch(`${callbackRoutes.progress}?x=1`, { method: "POST", headers, body: raw });
    expect(withQuery.status).toBe(401);
    expect((await job(t, jobId))?.status).toBe("dispatched");
    const right = await t.fetch(callbackRoutes.progress, { method: "POST", headers, body: raw });
    expect(right.status).toBe(200);
  });

  test("a version-1 signature (timestamp and body only) gets a clear version error", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const raw = JSON.stringify(progress(jobId));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(TEST_EXECUTOR_SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${raw}`));
    const hex = Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
    const res = await t.fetch(callbackRoutes.progress, {
      method: "POST",
      headers: { "x-convex-sync-timestamp": timestamp, "x-convex-sync-signature": hex },
      body: raw,
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /signature version 1 is not supported.*version 2.*update the executor/,
    );
    expect(await counters(t)).toEqual([["http.executor.progress", "unsupported_version", "anonymous", 1]]);
  });

  test("a callback for an unknown job is refused with 404 and writes only a counter", async () => {
    const t = newTest();
    await dispatchedJob(t);
    const before = await t.run(async (ctx) => ({
      receipts: (await ctx.db.query("callbackReceipts").collect()).length,
      audit: (await ctx.db.query("auditLog").collect()).length,
    }));
    for (const jobId of ["not-a-job-id", "also-unknown"]) {
      const res = await signedPost(t, callbackRoutes.complete, completion(jobId));
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: "unknown_job" });
    }
    const after = await t.run(async (ctx) => ({
      receipts: (await ctx.db.query("callbackReceipts").collect()).length,
      audit: (await ctx.db.query("auditLog").collect()).length,
    }));
    expect(after).toEqual(before);
    expect(await counters(t)).toEqual([["http.executor.complete", "unknown_job", "executor:pc-1", 2]]);
  });

  test("a replayed callback (same event id) changes nothing", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const c = completion(jobId, { outcome: "failed", error: { message: "disk full", retryable: false } });
    const first = await signedPost(t, callbackRoutes.complete, c);
    expect(await first.json()).toEqual({ result: "applied" });
    const before = await job(t, jobId);
    const again = await signedPost(t, callbackRoutes.complete, c);
    expect(await again.json()).toEqual({ result: "duplicate" });
    expect(await job(t, jobId)).toEqual(before);
    expect(before).toMatchObject({ status: "failed", error: { message: "disk full" } });
  });

  test("invalid bodies get 400 naming the field", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const res = await signedPost(t, callbackRoutes.progress, { ...progress(jobId), phase: "dancing" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain("phase");
  });

  test("'interrupted' is a retryable failure: the job is re-queued for another attempt", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    await signedPost(t, callbackRoutes.complete, completion(jobId, { outcome: "interrupted" }));
    expect(await job(t, jobId)).toMatchObject({
      status: "queued",
      attempt: 2,
      error: { code: "interrupted", retryable: true },
    });
  });

  test("a completion that overtakes the dispatch bookkeeping still completes the job", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    await t.run((ctx) =>
      ctx.db.patch(jobId, { status: "exporting", export: { requestedAt: 0, checks: 1, snapshotTs: "1" } }),
    );
    const res = await signedPost(t, callbackRoutes.complete, completion(jobId));
    expect(await res.json()).toEqual({ result: "applied" });
    expect((await job(t, jobId))?.status).toBe("succeeded");
  });

  test("callbacks for an old attempt are ignored", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const res = await signedPost(t, callbackRoutes.complete, completion(jobId, { attempt: 7 }));
    expect(await res.json()).toEqual({ result: "ignored" });
    expect((await job(t, jobId))?.status).toBe("dispatched");
  });

  test("heartbeat from an executor on the default DuckDB warehouse is recorded", async () => {
    const t = newTest();
    const res = await signedPost(
      t,
      callbackRoutes.heartbeat,
      heartbeatOf({
        kind: "duckdb",
        host: "embedded",
        database: "C:\\data\\warehouse.duckdb",
        reachable: true,
      }),
    );
    expect(res.status).toBe(200);
    const [executor] = await (await asAdmin(t)).query(api.executors.list, {});
    expect(executor!.target).toMatchObject({ kind: "duckdb", database: "C:\\data\\warehouse.duckdb" });
  });

  test("heartbeat records the executor's status without credentials", async () => {
    const t = newTest();
    const res = await signedPost(
      t,
      callbackRoutes.heartbeat,
      heartbeatOf(
        { kind: "mssql", host: "sql01", database: "warehouse", reachable: true },
        { freeDiskBytes: 10_000_000 },
      ),
    );
    expect(res.status).toBe(200);
    const list = await (await asAdmin(t)).query(api.executors.list, {});
    expect(list).toEqual([
      expect.objectContaining({
        executorId: "pc-1",
        online: true,
        contractCompatible: true,
        target: expect.objectContaining({ host: "sql01" }),
      }),
    ]);
  });

  test("a heartbeat's preflight lines reach the executors list as sent", async () => {
    const t = newTest();
    const checks = [
      { check: "connection", status: "ok", detail: "reached sql01:1433" },
      { check: "permissions", status: "fail", detail: "missing CREATE TABLE; GRANT CREATE TABLE TO <user>" },
    ] as const;
    const res = await signedPost(
      t,
      callbackRoutes.heartbeat,
      heartbeatOf({
        kind: "mssql",
        host: "sql01",
        reachable: true,
        checks: [...checks],
        checkedAt: 1_700_000_000_000,
      }),
    );
    expect(res.status).toBe(200);
    const [executor] = await (await asAdmin(t)).query(api.executors.list, {});
    expect(executor!.target).toMatchObject({ checks, checkedAt: 1_700_000_000_000 });
  });
  test("a heartbeat naming a job queued on the executor keeps the watchdog from failing it", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    // Dispatched long ago, still waiting behind another job on the executor (concurrency 1).
    await t.run((ctx) => ctx.db.patch(jobId, { lastSignOfLifeAt: Date.now() - 3 * 3_600_000 }));
    const res = await signedPost(
      t,
      callbackRoutes.heartbeat,
      heartbeatOf(
        { kind: "pglite", reachable: true },
        { runningJobs: ["some-other-job"], queuedJobs: 1, queuedJobIds: [jobId] },
      ),
    );
    expect(res.status).toBe(200);
    expect(await t.mutation(internal.maintenance.watchdog, {})).toEqual({ failed: 0, cancelled: 0 });
    expect(await job(t, jobId)).toMatchObject({ status: "dispatched", attempt: 1 });
  });
});

describe("health and CORS", () => {
  test("GET /health answers ok and writes nothing", async () => {
    const t = newTest();
    const res = await t.fetch("/health");
    expect(await res.json()).toMatchObject({ status: "ok" });
    expect(await audit(t)).toEqual([]);
    expect(await counters(t)).toEqual([]);
  });

  test("CORS is granted to the dashboard's origin only", async () => {
    const t = newTest();
    const pre = (origin: string) =>
      t.fetch("/api/sync/shop", {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization",
        },
      });
    const ok = await pre("https://dashboard.example.com");
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("https://dashboard.example.com");
    expect(ok.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("authorization");
    const evil = await pre("https://evil.example.com");
    expect(evil.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});
