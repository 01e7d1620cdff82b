import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LEGACY_SAMPLE_ZIPS } from "../../../test/fixtures/legacy-sample-zips.js";
import { startConvexSource, type ConvexSource } from "../../../test/standins/convexSource.js";
import { DownloadError, downloadSnapshot, type DownloadRequest } from "./download.js";
import { setLogLevel } from "./log.js";

const ANOUK_ZIP = LEGACY_SAMPLE_ZIPS.anoukBackup;

setLogLevel("silent");

const DEPLOY_KEY = "prod:happy-animal-123|secret-deploy-key";
const TS = "1745162191687000000";
const FAST = { maxAttempts: 4, backoff: { baseMs: 5, maxMs: 20 }, idleTimeoutMs: 2_000 };

let source: ConvexSource;
let dir: string;
beforeEach(async () => {
  source = await startConvexSource({ deployKey: DEPLOY_KEY, completedExports: { [TS]: ANOUK_ZIP } });
  dir = mkdtempSync(path.join(os.tmpdir(), "executor-download-"));
});
afterEach(() => source.close());

function request(overrides: Partial<DownloadRequest> = {}): DownloadRequest {
  return {
    deploymentUrl: source.url,
    deployKey: DEPLOY_KEY,
    snapshotTs: TS,
    destination: path.join(dir, "snapshot.zip"),
    policy: FAST,
    ...overrides,
  };
}

const original = readFileSync(ANOUK_ZIP);

describe("downloadSnapshot", () => {
  it("streams the ZIP to the destination and reports progress up to the full size", async () => {
    const seen: Array<[number, number | undefined]> = [];
    const result = await downloadSnapshot(request({ onProgress: (b, t) => seen.push([b, t]) }));
    expect(readFileSync(result.path).equals(original)).toBe(true);
    expect(result.bytes).toBe(original.length);
    expect(seen.at(-1)).toEqual([original.length, original.length]);
    expect(source.requests[0]!.authorization).toBe(`Convex ${DEPLOY_KEY}`);
  });

  it("fails at once on 401, without retrying, and leaves no partial file", async () => {
    const error = await downloadSnapshot(request({ deployKey: "prod:wrong|key" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ code: "download_unauthorized", retryable: false, status: 401 });
    expect((error as Error).message).not.toContain("wrong|key");
    expect(source.requests).toHaveLength(1);
    expect(existsSync(path.join(dir, "snapshot.zip.part"))).toBe(false);
  });

  it("fails at once on 404 (export expired)", async () => {
    const error = await downloadSnapshot(request({ snapshotTs: "1" })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "snapshot_not_found", retryable: false });
    expect(source.requests).toHaveLength(1);
  });

  it("retries 500s with backoff and then succeeds", async () => {
    source.failNextDownload({ status: 500 }, { status: 503 });
    const result = await downloadSnapshot(request());
    expect(result.attempts).toBe(3);
    expect(readFileSync(result.path).equals(original)).toBe(true);
  });

  it("gives up after the last attempt with a retryable error", async () => {
    source.failNextDownload({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const error = await downloadSnapshot(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "download_failed", retryable: true });
    expect((error as Error).message).toMatch(/gave up after 4 attempts/);
  });

  it("restarts from the first byte after the connection drops (Convex ignores Range)", async () => {
    source.failNextDownload("drop");
    const result = await downloadSnapshot(request());
    expect(readFileSync(result.path).equals(original)).toBe(true);
    expect(result.bytes).toBe(original.length);
    expect(source.requests).toHaveLength(2);
    expect(source.requests.map((r) => r.range)).toEqual([undefined, undefined]);
    expect(source.requests[1]!.status).toBe(200);
  });

  it("downloads through a deployment URL with a path prefix (self-hosted behind a proxy)", async () => {
    const proxied = await startConvexSource({
      deployKey: DEPLOY_KEY,
      completedExports: { [TS]: ANOUK_ZIP },
      pathPrefix: "/convex",
    });
    try {
      const result = await downloadSnapshot(request({ deploymentUrl: `${proxied.url}/convex/` }));
      expect(readFileSync(result.path).equals(original)).toBe(true);
      expect(proxied.requests[0]!.path).toBe(`/convex/api/export/zip/${TS}`);
    } finally {
      await proxied.close();
    }
  });

  it("names the missing DownloadBackups permission of a restricted key, without retrying", async () => {
    const key = "prod:happy-animal-123|restricted-key";
    const restricted = await startConvexSource({
      deployKey: DEPLOY_KEY,
      restrictedKeys: { [key]: ["ViewData", "ViewBackups", "CreateBackups"] },
      completedExports: { [TS]: ANOUK_ZIP },
    });
    try {
      const error = await downloadSnapshot(request({ deploymentUrl: restricted.url, deployKey: key })).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: "download_unauthorized", retryable: false, status: 403 });
      expect((error as Error).message).toMatch(/lacks the DownloadBackups permission/);
      expect(restricted.requests).toHaveLength(1);
    } finally {
      await restricted.close();
    }
  });

  it("notices a truncated body (short of Content-Length) and completes it", async () => {
    source.failNextDownload("truncate");
    const result = await downloadSnapshot(request());
    expect(readFileSync(result.path).equals(original)).toBe(true);
    expect(source.requests.length).toBeGreaterThanOrEqual(2);
  });

  it("a snapshot not yet completed is not found (downloads by timestamp see only completed exports)", async () => {
    const pending = await startConvexSource({ deployKey: DEPLOY_KEY, worker: "manual" });
    try {
      const asked = await fetch(`${pending.url}/api/export/request/zip`, {
        method: "POST",
        headers: { Authorization: `Convex ${DEPLOY_KEY}` },
      });
      expect(asked.status).toBe(200);
      pending.exportWorker.step();
      const inProgress = pending.exportWorker.documents()[0]!;
      expect(inProgress.state).toBe("in_progress");
      const snapshotTs = String(inProgress.start_ts);
      const error = await downloadSnapshot(request({ deploymentUrl: pending.url, snapshotTs })).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: "snapshot_not_found", retryable: false, status: 404 });
    } finally {
      await pending.close();
    }
  });

  it("abandons a stalled attempt after the idle timeout and retries", async () => {
    source.failNextDownload("stall");
    const result = await downloadSnapshot(request({ policy: { ...FAST, idleTimeoutMs: 200 } }));
    expect(result.attempts).toBe(2);
    expect(readFileSync(result.path).equals(original)).toBe(true);
  });

  it("survives a slow server", async () => {
    source.failNextDownload({ slowChunkMs: 10 });
    const result = await downloadSnapshot(request());
    expect(result.attempts).toBe(1);
    expect(readFileSync(result.path).equals(original)).toBe(true);
  });

  it("stops when cancelled, with the signal's reason, leaving no partial file", async () => {
    source.failNextDownload({ slowChunkMs: 50 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("cancelled by test")), 100);
    const error = await downloadSnapshot(request({ signal: controller.signal })).catch((e: unknown) => e);
    expect((error as Error).message).toBe("cancelled by test");
    expect(existsSync(path.join(dir, "snapshot.zip.part"))).toBe(false);
    expect(existsSync(path.join(dir, "snapshot.zip"))).toBe(false);
  });
});
