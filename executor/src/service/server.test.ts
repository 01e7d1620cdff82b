import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import {
  fakeImport,
  makePayload,
  DEPLOY_KEY,
  SECRET,
  SNAPSHOT_TS,
  replay,
  signedFetch,
  testConfig,
  until,
  type FakeImport,
} from "../../test/harness.js";
import { LEGACY_SAMPLE_ZIPS } from "../../../test/fixtures/legacy-sample-zips.js";
import { startConvexSource, type ConvexSource } from "../../../test/standins/convexSource.js";

import { startExecutor, type RunningExecutor } from "./executor.js";
import { setLogLevel } from "./log.js";

const ANOUK_ZIP = LEGACY_SAMPLE_ZIPS.anoukBackup;

setLogLevel("silent");

const MAX_BODY = 4096;
let convex: ConvexReceiver;
let source: ConvexSource;
let executor: RunningExecutor;
let engine: FakeImport;
let dataDir: string;

beforeAll(async () => {
  convex = await startConvexReceiver(SECRET);
  source = await startConvexSource({ deployKey: DEPLOY_KEY, completedExports: { [SNAPSHOT_TS]: ANOUK_ZIP } });
  engine = fakeImport();
  const config = testConfig({
    convexSiteUrl: convex.url,
    env: { EXECUTOR_MAX_BODY_BYTES: String(MAX_BODY) },
  });
  dataDir = config.dataDir;
  executor = await startExecutor(config, { importFn: engine.fn, probe: async () => ({ reachable: true }) });
});
afterAll(async () => {
  await executor.stop(1_000);
  await source.close();
  await convex.close();
});

const journalFiles = () =>
  existsSync(path.join(dataDir, "jobs")) ? readdirSync(path.join(dataDir, "jobs")).length : 0;

describe("GET /health", () => {
  it("answers without a signature and reveals nothing secret", async () => {
    const response = await fetch(`${executor.url}/health`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ ok: true, accepting: true, contractVersion: 1 });
    expect(text).not.toMatch(/secret|pglite|warehouse|password/i);
  });
});

describe("POST /jobs authentication", () => {
  it("refuses a request without signature headers with 401 and runs nothing", async () => {
    const before = journalFiles();
    const response = await fetch(`${executor.url}/jobs`, {
      method: "POST",
      body: JSON.stringify(makePayload(source.url)),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      code: "unauthorized",
      error: expect.stringMatching(/missing_headers/),
    });
    expect(journalFiles()).toBe(before);
    expect(engine.calls).toHaveLength(0);
  });

  it("refuses a signature made with another secret", async () => {
    const result = await signedFetch(executor.url, "/jobs", {
      body: makePayload(source.url),
      secret: "someone-else-entirely-0123456789-abcdef",
    });
    expect(result.status).toBe(401);
    expect(result.json.error).toMatch(/bad_signature/);
  });

  it("refuses a body that differs from the one signed", async () => {
    const good = await signedFetch(executor.url, "/jobs", { body: { not: "a job" } });
    expect(good.status).toBe(400); // signed correctly, then rejected by the contract
    const tampered = await replay(
      executor.url,
      "/jobs",
      "POST",
      good.sent.headers,
      JSON.stringify(makePayload(source.url)),
    );
    expect(tampered.status).toBe(401);
    expect(tampered.json.error).toMatch(/bad_signature/);
  });

  it("refuses a stale timestamp (more than five minutes old) and one from the future", async () => {
    const old = await signedFetch(executor.url, "/jobs", {
      body: makePayload(source.url),
      nowMs: Date.now() - 6 * 60_000,
    });
    expect(old.status).toBe(401);
    expect(old.json.error).toMatch(/stale/);
    const future = await signedFetch(executor.url, "/jobs", {
      body: makePayload(source.url),
      nowMs: Date.now() + 6 * 60_000,
    });
    expect(future.status).toBe(401);
    expect(engine.calls).toHaveLength(0);
  });

  it("answers a replayed request with the job's state and does not start a second import", async () => {
    const payload = makePayload(source.url);
    const first = await signedFetch(executor.url, "/jobs", { body: payload });
    expect(first.status).toBe(202);
    await until(
      () => executor.jobs.status(payload.jobId)?.state === "succeeded",
      10_000,
      "the job to finish",
    );
    const again = await replay(executor.url, "/jobs", "POST", first.sent.headers, first.sent.raw);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ jobId: payload.jobId, state: "succeeded" });
    expect(engine.calls.filter((c) => c.snapshotPath.includes(SNAPSHOT_TS))).toHaveLength(1);
  });
});

describe("POST /jobs input checks", () => {
  it("refuses an oversized body with 413 before checking anything else", async () => {
    const payload = { ...makePayload(source.url), padding: "x".repeat(MAX_BODY * 2) };
    const result = await signedFetch(executor.url, "/jobs", { body: payload });
    expect(result.status).toBe(413);
    expect(result.json.code).toBe("too_large");
  });

  it("answers malformed JSON with 400 and the parser's reason", async () => {
    const result = await signedFetch(executor.url, "/jobs", { raw: '{"jobId": "x",' });
    expect(result.status).toBe(400);
    expect(result.json.error).toMatch(/not valid JSON/);
  });

  it("answers a payload that breaks the contract with 400 naming the field", async () => {
    const result = await signedFetch(executor.url, "/jobs", {
      body: { ...makePayload(source.url), targetSchema: "drop table;" },
    });
    expect(result.status).toBe(400);
    expect(result.json.error).toMatch(/targetSchema/);
    expect(result.json.error).not.toContain(DEPLOY_KEY);
  });

  it("answers an unknown contract version with 400", async () => {
    const result = await signedFetch(executor.url, "/jobs", {
      body: { ...makePayload(source.url), contractVersion: 2 },
    });
    expect(result.status).toBe(400);
    expect(result.json.error).toMatch(/contractVersion/);
  });
});

describe("GET /jobs/{id} and POST /jobs/{id}/cancel", () => {
  it("need a signature too", async () => {
    expect((await fetch(`${executor.url}/jobs/whatever`)).status).toBe(401);
    const cancel = await fetch(`${executor.url}/jobs/whatever/cancel`, {
      method: "POST",
      body: JSON.stringify({ jobId: "whatever" }),
    });
    expect(cancel.status).toBe(401);
  });

  it("answer 404 for an unknown job", async () => {
    expect((await signedFetch(executor.url, "/jobs/nope")).status).toBe(404);
    const cancel = await signedFetch(executor.url, "/jobs/nope/cancel", { body: { jobId: "nope" } });
    expect(cancel.status).toBe(404);
  });

  it("refuse a cancel whose body names another job", async () => {
    const result = await signedFetch(executor.url, "/jobs/a/cancel", { body: { jobId: "b" } });
    expect(result.status).toBe(400);
  });

  it("refuse a signed status request replayed against another job's path", async () => {
    const signed = await signedFetch(executor.url, "/jobs/nope");
    expect(signed.status).toBe(404); // signed correctly, the job is unknown
    const elsewhere = await replay(executor.url, "/jobs/other", "GET", signed.sent.headers, "");
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.json.error).toMatch(/bad_signature/);
    const withQuery = await replay(executor.url, "/jobs/nope?x=1", "GET", signed.sent.headers, "");
    expect(withQuery.status).toBe(401);
  });

  it("refuse a signed cancel replayed as a submit (another method and path)", async () => {
    const cancel = await signedFetch(executor.url, "/jobs/a/cancel", { body: { jobId: "b" } });
    const asSubmit = await replay(executor.url, "/jobs", "POST", cancel.sent.headers, cancel.sent.raw);
    expect(asSubmit.status).toBe(401);
  });

  it("tell a peer signing with version 1 (no version header) to update", async () => {
    const signed = await signedFetch(executor.url, "/jobs/nope");
    const { "x-signature-version": _version, ...v1Headers } = signed.sent.headers;
    const old = await replay(executor.url, "/jobs/nope", "GET", v1Headers, "");
    expect(old.status).toBe(401);
    expect(old.json.error).toMatch(/signature version 1 is not supported.*version 2/);
  });

  it("answer 405 for a wrong method and 404 for an unknown path", async () => {
    expect((await fetch(`${executor.url}/jobs`)).status).toBe(405);
    expect((await fetch(`${executor.url}/nothing`)).status).toBe(404);
  });
});
