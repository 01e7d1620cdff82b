/**
 * The job kinds' edges through the real HTTP server, job manager and journal (the import engine stood in):
 * a feed position that cannot be stored, an incremental job past its deadline, and what a restart reports for
 * each kind. The incremental runs themselves: incrementalJobs.test.ts.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import {
  DEPLOY_KEY,
  fakeImport,
  makeIncrementalPayload,
  makePayload,
  SECRET,
  SNAPSHOT_TS,
  signedFetch,
  testConfig,
  type FakeImport,
} from "../../test/harness.js";
import { LEGACY_SAMPLE_ZIPS } from "../../../test/fixtures/legacy-sample-zips.js";
import { startConvexSource, type ConvexSource } from "../../../test/standins/convexSource.js";
import type { ExecutorConfig } from "./config.js";
import { startExecutor, type RunningExecutor } from "./executor.js";
import { jobFileStem, recordOfPayload } from "./journal.js";
import { setLogLevel } from "./log.js";

setLogLevel(process.env.TEST_LOG ? "debug" : "silent");

const CURSOR = `01${"5eed".repeat(30)}`;
const PASSWORD = "sekret-warehouse-pw";

let convex: ConvexReceiver;
let source: ConvexSource;
let engine: FakeImport;
const started: RunningExecutor[] = [];

beforeEach(async () => {
  convex = await startConvexReceiver(SECRET);
  source = await startConvexSource({
    deployKey: DEPLOY_KEY,
    completedExports: { [SNAPSHOT_TS]: LEGACY_SAMPLE_ZIPS.anoukBackup },
  });
  engine = fakeImport(3);
});
afterEach(async () => {
  for (const executor of started.splice(0)) await executor.stop(1_000);
  await source.close();
  await convex.close();
});

async function start(config: ExecutorConfig): Promise<RunningExecutor> {
  const executor = await startExecutor(config, {
    importFn: engine.fn,
    probe: async () => ({ reachable: true }),
    callbackBackoff: { baseMs: 20, maxMs: 100 },
  });
  started.push(executor);
  return executor;
}

const completionOf = async (jobId: string) => {
  await convex.waitFor((c) => c.completions.some((x) => x.jobId === jobId));
  return convex.completions.find((x) => x.jobId === jobId)!;
};

describe("snapshot jobs with feedStart", () => {
  it("succeed when the feed position cannot be stored, saying so without the cursor or the password", async () => {
    // Nothing listens on port 1: the (stood-in) import succeeds, opening the warehouse for the position fails.
    const config = testConfig({
      convexSiteUrl: convex.url,
      target: `postgres://warehouse:${PASSWORD}@127.0.0.1:1/test`,
    });
    const executor = await start(config);
    const payload = makePayload(source.url, { feedStart: { cursor: CURSOR } });
    await signedFetch(executor.url, "/jobs", { body: payload });
    const done = await completionOf(payload.jobId);
    expect(done).toMatchObject({ outcome: "succeeded", totalRows: 3 });
    expect(done.feedStart).toMatchObject({ stored: false, position: SNAPSHOT_TS });
    expect(done.feedStart!.error).toMatch(/position could not be stored/);
    const texts = [
      JSON.stringify(done),
      ...readdirSync(config.dataDir, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => readFileSync(path.join(d.parentPath, d.name), "latin1")),
    ];
    for (const secret of [CURSOR, PASSWORD, DEPLOY_KEY])
      expect(texts.some((t) => t.includes(secret))).toBe(false);
  });
});

describe("incremental jobs", () => {
  it("are refused unsigned or signed with another secret, and nothing runs", async () => {
    const config = testConfig({ convexSiteUrl: convex.url });
    const executor = await start(config);
    const payload = makeIncrementalPayload(source.url, DEPLOY_KEY);
    const forged = await signedFetch(executor.url, "/jobs", {
      body: payload,
      secret: "another-secret-0123456789-abcdefghijkl",
    });
    const unsigned = await fetch(`${executor.url}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect([forged.status, unsigned.status]).toEqual([401, 401]);
    expect(executor.jobs.status(payload.jobId)).toBeUndefined();
    expect(readdirSync(path.join(config.dataDir, "jobs"))).toEqual([]);
  });

  it("refuse to start past their deadline, without calling the source", async () => {
    const executor = await start(testConfig({ convexSiteUrl: convex.url }));
    const payload = makeIncrementalPayload(source.url, DEPLOY_KEY, { deadline: Date.now() - 1 });
    await signedFetch(executor.url, "/jobs", { body: payload });
    const done = await completionOf(payload.jobId);
    expect(done).toMatchObject({ outcome: "failed", error: { code: "deadline_passed", retryable: false } });
    expect(done.incremental).toBeUndefined();
    expect(source.requests).toHaveLength(0);
  });

  it("accept a payload without `kind` as a snapshot job (payloads from before incremental sync)", async () => {
    const executor = await start(testConfig({ convexSiteUrl: convex.url }));
    const { kind: _kind, ...legacy } = makePayload(source.url);
    const response = await signedFetch(executor.url, "/jobs", { body: legacy });
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ kind: "snapshot" });
    expect(await completionOf(legacy.jobId)).toMatchObject({ outcome: "succeeded" });
  });

  it("name the field of an incremental payload that breaks the contract", async () => {
    const executor = await start(testConfig({ convexSiteUrl: convex.url }));
    const payload = makeIncrementalPayload(source.url, DEPLOY_KEY);
    const bad = { ...payload, incremental: { sourceTables: null, maxPages: 0 } };
    const response = await signedFetch(executor.url, "/jobs", { body: bad });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatch(/incremental\.maxPages/);
  });
});

describe("after a restart", () => {
  /** Leaves a journal record as a process that died mid-job would have. */
  function crashedJob(config: ExecutorConfig, payload: Parameters<typeof recordOfPayload>[0], phase: string) {
    const record = { ...recordOfPayload(payload), state: "running", phase, startedAt: Date.now() };
    mkdirSync(path.join(config.dataDir, "jobs"), { recursive: true });
    writeFileSync(
      path.join(config.dataDir, "jobs", `${jobFileStem(payload.jobId)}.json`),
      JSON.stringify(record),
    );
  }

  it("reports an interrupted incremental job: committed steps stay, the next run continues", async () => {
    const config = testConfig({ convexSiteUrl: convex.url });
    const payload = makeIncrementalPayload(source.url, DEPLOY_KEY);
    crashedJob(config, payload, "applying");
    const executor = await start(config);
    const done = await completionOf(payload.jobId);
    expect(done).toMatchObject({
      outcome: "interrupted",
      error: { code: "executor_restarted", retryable: true },
    });
    expect(done.error!.message).toMatch(
      /steps committed before it stay .* continues from the stored feed position/,
    );
    expect(executor.jobs.status(payload.jobId)).toMatchObject({ kind: "incremental", state: "interrupted" });
  });

  it("reports a snapshot job that died in its swap with the feed position not stored (the cursor was in memory only)", async () => {
    const config = testConfig({ convexSiteUrl: convex.url });
    const payload = makePayload(source.url, { feedStart: { cursor: CURSOR } });
    crashedJob(config, payload, "swapping");
    await start(config);
    const done = await completionOf(payload.jobId);
    expect(done).toMatchObject({ outcome: "interrupted" });
    expect(done.feedStart).toMatchObject({ stored: false, position: SNAPSHOT_TS });
    expect(done.feedStart!.error).toMatch(/needs a new snapshot/);
  });

  it("reports no feed position for a snapshot job that died before its swap (the warehouse is unchanged)", async () => {
    const config = testConfig({ convexSiteUrl: convex.url });
    const payload = makePayload(source.url, { feedStart: { cursor: CURSOR } });
    crashedJob(config, payload, "downloading");
    await start(config);
    const done = await completionOf(payload.jobId);
    expect(done).toMatchObject({ outcome: "interrupted" });
    expect(done.feedStart).toBeUndefined();
  });
});
