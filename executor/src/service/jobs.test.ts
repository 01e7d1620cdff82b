import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SnapshotFormatError } from "../import/api.js";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import {
  DEPLOY_KEY,
  fakeImport,
  makePayload,
  SECRET,
  SNAPSHOT_TS,
  signedFetch,
  testConfig,
  until,
  type FakeImport,
} from "../../test/harness.js";
import { LEGACY_SAMPLE_ZIPS } from "../../../test/fixtures/legacy-sample-zips.js";
import { startConvexSource, type ConvexSource } from "../../../test/standins/convexSource.js";
import type { ExecutorConfig } from "./config.js";
import { startExecutor, type RunningExecutor } from "./executor.js";
import { setLogLevel } from "./log.js";

const ANOUK_ZIP = LEGACY_SAMPLE_ZIPS.anoukBackup;

setLogLevel(process.env.TEST_LOG ? "debug" : "silent");

let convex: ConvexReceiver;
let source: ConvexSource;
let engine: FakeImport;
let config: ExecutorConfig;
const started: RunningExecutor[] = [];

beforeEach(async () => {
  convex = await startConvexReceiver(SECRET);
  source = await startConvexSource({ deployKey: DEPLOY_KEY, completedExports: { [SNAPSHOT_TS]: ANOUK_ZIP } });
  engine = fakeImport(3);
  config = testConfig({ convexSiteUrl: convex.url });
});
afterEach(async () => {
  for (const executor of started.splice(0)) await executor.stop(1_000);
  await source.close();
  await convex.close();
});

async function start(env: Partial<ExecutorConfig> = {}): Promise<RunningExecutor> {
  const executor = await startExecutor(
    { ...config, ...env },
    {
      importFn: engine.fn,
      probe: async () => ({ reachable: true }),
      downloadPolicy: { maxAttempts: 3, backoff: { baseMs: 5, maxMs: 20 }, idleTimeoutMs: 2_000 },
      callbackBackoff: { baseMs: 20, maxMs: 100 },
    },
  );
  started.push(executor);
  return executor;
}

const completionOf = (jobId: string) => convex.completions.find((c) => c.jobId === jobId);
const waitForCompletion = async (jobId: string) => {
  await convex.waitFor(() => completionOf(jobId) !== undefined);
  return completionOf(jobId)!;
};
const downloads = () => readdirSync(path.join(config.dataDir, "downloads"));

/** Every file the executor wrote, as text: none may contain the deploy key. */
function everyFileUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(path.join(d.parentPath, d.name)).toString("latin1"));
}

describe("running jobs", () => {
  it("downloads, imports with the job's tables and schema, and reports per-table figures", async () => {
    const executor = await start();
    await convex.waitFor((c) => c.heartbeats.length > 0); // it registers with a heartbeat at start
    expect(convex.heartbeats[0]).toMatchObject({
      executorId: "test-pc",
      target: { kind: "pglite", reachable: true },
    });
    const payload = makePayload(source.url, { tables: ["users"], targetSchema: "anouk" });
    const response = await signedFetch(executor.url, "/jobs", { body: payload });
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ jobId: payload.jobId, attempt: 1 });
    expect(["queued", "running"]).toContain(response.json.state);

    const done = await waitForCompletion(payload.jobId);
    expect(done).toMatchObject({ outcome: "succeeded", totalRows: 3, attempt: 1, executorId: "test-pc" });
    expect(done.tables).toEqual([
      expect.objectContaining({ table: "users", sqlTable: "users", state: "swapped", rows: 3, bytes: 30 }),
    ]);
    expect(engine.calls[0]).toMatchObject({ tables: ["users"], schema: "anouk", snapshotTs: SNAPSHOT_TS });
    expect(convex.progress.some((p) => p.jobId === payload.jobId && p.phase === "importing")).toBe(true);
    const status = await signedFetch(executor.url, `/jobs/${payload.jobId}`);
    expect(status.json).toMatchObject({ state: "succeeded", phase: "finished" });
    expect(downloads()).toEqual([]); // the ZIP is deleted after success
    expect(everyFileUnder(config.dataDir).some((text) => text.includes(DEPLOY_KEY))).toBe(false);
  });

  it("is idempotent by job id: a repeated POST returns the current state and starts nothing", async () => {
    engine.hold();
    const executor = await start();
    const payload = makePayload(source.url);
    const first = await signedFetch(executor.url, "/jobs", { body: payload });
    await until(() => engine.calls.length === 1, 5_000, "the import to start");
    const second = await signedFetch(executor.url, "/jobs", { body: payload });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ jobId: payload.jobId, state: "running" });
    engine.release();
    await waitForCompletion(payload.jobId);
    expect(engine.calls).toHaveLength(1);
  });

  it("runs a higher attempt of a job that failed", async () => {
    const executor = await start();
    engine.failWith = new Error("connection reset by warehouse");
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    expect(await waitForCompletion(payload.jobId)).toMatchObject({ outcome: "failed", attempt: 1 });
    engine.failWith = undefined;
    const retry = await signedFetch(executor.url, "/jobs", { body: { ...payload, attempt: 2 } });
    expect(retry.status).toBe(202);
    await convex.waitFor((c) => c.completions.some((x) => x.jobId === payload.jobId && x.attempt === 2));
    expect(engine.calls).toHaveLength(2);
  });

  it("lets a higher attempt take the place of the same job still waiting in the queue", async () => {
    engine.hold();
    const executor = await start();
    const [first, waiting] = [makePayload(source.url), makePayload(source.url)];
    await signedFetch(executor.url, "/jobs", { body: first });
    await signedFetch(executor.url, "/jobs", { body: waiting });
    await until(() => engine.calls.length === 1, 5_000, "the first import");
    const retry = await signedFetch(executor.url, "/jobs", { body: { ...waiting, attempt: 2 } });
    expect(retry.status).toBe(202);
    expect(retry.json).toMatchObject({ jobId: waiting.jobId, attempt: 2, state: "queued" });
    expect(executor.jobs.queuedJobIds).toEqual([waiting.jobId]);
    engine.release();
    await convex.waitFor(() => completionOf(waiting.jobId) !== undefined);
    expect(convex.completions.filter((c) => c.jobId === waiting.jobId)).toEqual([
      expect.objectContaining({ attempt: 2, outcome: "succeeded" }),
    ]);
    expect(engine.calls).toHaveLength(2);
  });

  it("runs jobs one at a time, in the order they arrived", async () => {
    engine.hold();
    const executor = await start();
    const jobs = [makePayload(source.url), makePayload(source.url), makePayload(source.url)];
    for (const job of jobs) await signedFetch(executor.url, "/jobs", { body: job });
    await until(() => engine.calls.length === 1, 5_000, "the first import");
    expect((await signedFetch(executor.url, `/jobs/${jobs[2]!.jobId}`)).json.state).toBe("queued");
    expect(executor.jobs.runningJobIds).toEqual([jobs[0]!.jobId]);
    engine.release();
    await convex.waitFor(() => jobs.every((j) => completionOf(j.jobId)));
    expect(convex.completions.map((c) => c.jobId)).toEqual(jobs.map((j) => j.jobId));
  });

  it("cancels a queued job without running it", async () => {
    engine.hold();
    const executor = await start();
    const [running, waiting] = [makePayload(source.url), makePayload(source.url)];
    await signedFetch(executor.url, "/jobs", { body: running });
    await signedFetch(executor.url, "/jobs", { body: waiting });
    const cancel = await signedFetch(executor.url, `/jobs/${waiting.jobId}/cancel`, {
      body: { jobId: waiting.jobId, reason: "user asked" },
    });
    expect(cancel.json).toMatchObject({ state: "cancelled" });
    engine.release();
    await waitForCompletion(running.jobId);
    expect(completionOf(waiting.jobId)).toMatchObject({ outcome: "cancelled" });
    expect(engine.calls).toHaveLength(1);
  });

  it("cancels a running import (the engine rolls back) and deletes the ZIP", async () => {
    engine.hold();
    const executor = await start();
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    await until(() => engine.calls.length === 1, 5_000, "the import to start");
    const cancel = await signedFetch(executor.url, `/jobs/${payload.jobId}/cancel`, {
      body: { jobId: payload.jobId },
    });
    expect(cancel.json).toMatchObject({ state: "cancelled", error: { code: "cancelled" } });
    expect(engine.calls[0]!.signal?.aborted).toBe(true);
    expect(await waitForCompletion(payload.jobId)).toMatchObject({
      outcome: "cancelled",
      error: { message: expect.stringMatching(/left unchanged/) },
    });
    expect(downloads()).toEqual([]);
    engine.release();
  });
});

describe("failures", () => {
  it("reports a refused deploy key as a permanent download failure, without the key", async () => {
    const executor = await start();
    const payload = makePayload(source.url, {
      source: { deploymentUrl: source.url, deployKey: "prod:happy-animal-123|wrong-key-value" },
    });
    await signedFetch(executor.url, "/jobs", { body: payload });
    const done = await waitForCompletion(payload.jobId);
    expect(done).toMatchObject({
      outcome: "failed",
      error: { code: "download_unauthorized", retryable: false },
    });
    expect(JSON.stringify(done)).not.toContain("wrong-key-value");
    expect(engine.calls).toHaveLength(0);
    expect(everyFileUnder(config.dataDir).some((t) => t.includes("wrong-key-value"))).toBe(false);
  });

  it("keeps the target's password out of a reported import error", async () => {
    const target = "postgres://warehouse:s3cr3t-pw@127.0.0.1:5432/test";
    const executor = await start(testConfig({ convexSiteUrl: convex.url, target, dataDir: config.dataDir }));
    // Some driver errors echo the connection string they were given.
    engine.failWith = new Error(`could not connect to ${target}: password s3cr3t-pw rejected`);
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    const done = await waitForCompletion(payload.jobId);
    expect(done).toMatchObject({ outcome: "failed", error: { code: "import_failed" } });
    expect(done.error?.message).toMatch(/could not connect to \[redacted\]/);
    expect(JSON.stringify(done)).not.toContain("s3cr3t-pw");
    const status = await signedFetch(executor.url, `/jobs/${payload.jobId}`);
    expect(JSON.stringify(status.json)).not.toContain("s3cr3t-pw");
    expect(everyFileUnder(config.dataDir).some((t) => t.includes("s3cr3t-pw"))).toBe(false);
  });

  it("retries a flaky source deployment and succeeds", async () => {
    const executor = await start();
    source.failNextDownload({ status: 502 }, "drop");
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    expect(await waitForCompletion(payload.jobId)).toMatchObject({ outcome: "succeeded" });
    expect(source.requests.length).toBe(3);
  });

  it("reports bad snapshot input with where it is, and keeps the ZIP for inspection", async () => {
    const executor = await start();
    engine.failWith = new SnapshotFormatError("expected an object", "users/documents.jsonl", 12, "age");
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    const done = await waitForCompletion(payload.jobId);
    expect(done.error).toMatchObject({
      code: "bad_snapshot",
      where: "users/documents.jsonl line 12 field age",
      retryable: false,
    });
    expect(downloads()).toHaveLength(1);
  });

  it("deletes the ZIP of a failed job when keeping is turned off", async () => {
    const executor = await start({ keepFailedZipMs: 0 });
    engine.failWith = new Error("boom");
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    await waitForCompletion(payload.jobId);
    expect(downloads()).toEqual([]);
  });

  it("deletes a failed job's ZIP once its keeping time has passed", async () => {
    const first = await start({ keepFailedZipMs: 50 });
    engine.failWith = new Error("boom");
    const payload = makePayload(source.url);
    await signedFetch(first.url, "/jobs", { body: payload });
    await waitForCompletion(payload.jobId);
    expect(downloads()).toHaveLength(1);
    await first.stop(1_000);
    started.splice(started.indexOf(first), 1);
    await new Promise((r) => setTimeout(r, 100));
    await start({ keepFailedZipMs: 50 });
    expect(downloads()).toEqual([]);
  });

  it("refuses to start a job whose deadline has passed", async () => {
    const executor = await start();
    const payload = makePayload(source.url, { deadline: Date.now() - 1 });
    await signedFetch(executor.url, "/jobs", { body: payload });
    expect(await waitForCompletion(payload.jobId)).toMatchObject({ error: { code: "deadline_passed" } });
    expect(source.requests).toHaveLength(0);
  });

  it("keeps the completion while Convex is down and delivers it when Convex is back", async () => {
    const executor = await start();
    await convex.down();
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    const outboxDir = path.join(config.dataDir, "outbox");
    await until(
      () => readdirSync(outboxDir).some((f) => f.endsWith("-complete.json")),
      10_000,
      "the outbox file",
    );
    expect(executor.jobs.status(payload.jobId)?.state).toBe("succeeded");
    expect(convex.completions).toEqual([]);
    await convex.up();
    expect(await waitForCompletion(payload.jobId)).toMatchObject({ outcome: "succeeded", totalRows: 3 });
  });
});

describe("restart and shutdown", () => {
  it("stops accepting jobs on shutdown and reports the running one as interrupted after the grace period", async () => {
    engine.hold();
    const executor = await start();
    const [running, waiting] = [makePayload(source.url), makePayload(source.url)];
    await signedFetch(executor.url, "/jobs", { body: running });
    await signedFetch(executor.url, "/jobs", { body: waiting });
    await until(() => engine.calls.length === 1, 5_000, "the import to start");
    const stopping = executor.stop(200);
    const refused = await signedFetch(executor.url, "/jobs", { body: makePayload(source.url) });
    expect(refused.status).toBe(503);
    await stopping;
    started.splice(started.indexOf(executor), 1);
    expect(completionOf(running.jobId)).toMatchObject({ outcome: "interrupted" });
    expect(completionOf(waiting.jobId)).toMatchObject({ outcome: "interrupted" });
    expect(engine.calls).toHaveLength(1);
  });

  it("lets the running job finish when it does so within the grace period", async () => {
    engine.hold();
    const executor = await start();
    const payload = makePayload(source.url);
    await signedFetch(executor.url, "/jobs", { body: payload });
    await until(() => engine.calls.length === 1, 5_000, "the import to start");
    setTimeout(() => engine.release(), 100);
    await executor.stop(10_000);
    started.splice(started.indexOf(executor), 1);
    expect(completionOf(payload.jobId)).toMatchObject({ outcome: "succeeded" });
  });

  it("after a restart, reports jobs the journal shows as running as interrupted", async () => {
    await convex.down();
    engine.hold();
    const first = await start();
    const payload = makePayload(source.url);
    await signedFetch(first.url, "/jobs", { body: payload });
    await until(() => engine.calls.length === 1, 5_000, "the import to start");
    // Simulate a crash: the journal on disk still says "running"; nothing was reported.
    const journalDir = path.join(config.dataDir, "jobs");
    const journalFile = path.join(journalDir, readdirSync(journalDir)[0]!);
    const crashedRecord = readFileSync(journalFile, "utf8");
    await first.stop(0);
    started.splice(started.indexOf(first), 1);
    (await import("node:fs")).writeFileSync(journalFile, crashedRecord);
    for (const f of readdirSync(path.join(config.dataDir, "outbox"))) {
      if (f.endsWith(".json")) (await import("node:fs")).rmSync(path.join(config.dataDir, "outbox", f));
    }
    await convex.up();
    const second = await start();
    const done = await waitForCompletion(payload.jobId);
    expect(done).toMatchObject({
      outcome: "interrupted",
      error: { code: "executor_restarted", retryable: true },
    });
    expect((await signedFetch(second.url, `/jobs/${payload.jobId}`)).json.state).toBe("interrupted");
    expect(existsSync(path.join(config.dataDir, "downloads")) && downloads()).toEqual([]);
  });
});
