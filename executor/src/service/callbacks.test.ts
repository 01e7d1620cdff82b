import { mkdtempSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CompletionCallback, ProgressCallback } from "../../../convex/contract/executor.js";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import { CallbackOutbox } from "./callbacks.js";
import { setLogLevel } from "./log.js";

setLogLevel("silent");

const SECRET = "x".repeat(40);
const FAST = { baseMs: 10, maxMs: 50 };
let convex: ConvexReceiver;
let dir: string;
const opened: CallbackOutbox[] = [];

beforeEach(async () => {
  convex = await startConvexReceiver(SECRET);
  dir = mkdtempSync(path.join(os.tmpdir(), "executor-outbox-"));
});
afterEach(async () => {
  for (const outbox of opened.splice(0)) await outbox.stop();
  await convex.close();
});

async function openOutbox(secret = SECRET): Promise<CallbackOutbox> {
  const outbox = await CallbackOutbox.open({ dir, convexSiteUrl: convex.url, secret, backoff: FAST });
  opened.push(outbox);
  return outbox;
}

let eventCounter = 0;
function progress(jobId: string, rows: number): ProgressCallback {
  return {
    eventId: `evt-progress-${++eventCounter}`,
    executorId: "pc-1",
    at: Date.now(),
    jobId,
    attempt: 1,
    phase: "importing",
    tables: [{ table: "users", state: "loading", rows, bytes: rows * 10 }],
  };
}
function completion(jobId: string): CompletionCallback {
  return {
    eventId: `evt-complete-${++eventCounter}`,
    executorId: "pc-1",
    at: Date.now(),
    jobId,
    attempt: 1,
    outcome: "succeeded",
    tables: [{ table: "users", state: "swapped", rows: 3, bytes: 30 }],
    totalRows: 3,
    durationMs: 5,
  };
}

describe("CallbackOutbox", () => {
  it("delivers signed callbacks in order", async () => {
    const outbox = await openOutbox();
    outbox.start();
    await outbox.enqueue("progress", progress("j1", 1));
    await outbox.enqueue("complete", completion("j1"));
    expect(await outbox.flush(5_000)).toBe(0);
    expect(convex.refused).toEqual([]);
    expect(convex.progress.map((p) => p.jobId)).toEqual(["j1"]);
    expect(convex.completions.map((c) => c.outcome)).toEqual(["succeeded"]);
  });

  it("keeps callbacks while Convex is down and delivers them when it is back", async () => {
    await convex.down();
    const outbox = await openOutbox();
    outbox.start();
    await outbox.enqueue("complete", completion("j1"));
    await outbox.enqueue("complete", completion("j2"));
    expect(await outbox.flush(300)).toBe(2);
    await convex.up();
    expect(await outbox.flush(5_000)).toBe(0);
    expect(convex.completions.map((c) => c.jobId)).toEqual(["j1", "j2"]);
  });

  it("survives a restart: entries left on disk are delivered by the next process", async () => {
    await convex.down();
    const first = await openOutbox();
    first.start();
    await first.enqueue("complete", completion("j-before-restart"));
    await first.stop();
    expect(readdirSync(dir).filter((f) => f.endsWith("-complete.json"))).toHaveLength(1);

    await convex.up();
    const second = await openOutbox();
    expect(second.pending).toBe(1);
    second.start();
    expect(await second.flush(5_000)).toBe(0);
    expect(convex.completions.map((c) => c.jobId)).toEqual(["j-before-restart"]);
    expect(readdirSync(dir).filter((f) => f.endsWith(".json"))).toEqual([]);
  });

  it("keeps only the latest waiting progress of a job, and drops it once the completion is queued", async () => {
    await convex.down();
    const outbox = await openOutbox();
    for (let rows = 1; rows <= 5; rows++) await outbox.enqueue("progress", progress("j1", rows));
    expect(outbox.pending).toBe(1);
    await outbox.enqueue("progress", progress("j2", 7));
    await outbox.enqueue("complete", completion("j1"));
    expect(outbox.pending).toBe(2);
    await convex.up();
    outbox.start();
    expect(await outbox.flush(5_000)).toBe(0);
    expect(convex.progress.map((p) => [p.jobId, p.tables[0]!.rows])).toEqual([["j2", 7]]);
    expect(convex.completions.map((c) => c.jobId)).toEqual(["j1"]);
  });

  it("retries while Convex answers 503", async () => {
    convex.failWith = 503;
    const outbox = await openOutbox();
    outbox.start();
    await outbox.enqueue("complete", completion("j1"));
    await convex.waitFor((c) => c.refused.length >= 2);
    convex.failWith = undefined;
    expect(await outbox.flush(5_000)).toBe(0);
    expect(convex.completions).toHaveLength(1);
  });

  it("moves a callback the control plane rejects as malformed to dead/ and goes on", async () => {
    const outbox = await openOutbox();
    convex.failWith = 400;
    outbox.start();
    await outbox.enqueue("complete", completion("j-bad"));
    await convex.waitFor((c) => c.refused.length >= 1);
    convex.failWith = undefined;
    await outbox.enqueue("complete", completion("j-good"));
    expect(await outbox.flush(5_000)).toBe(0);
    expect(convex.completions.map((c) => c.jobId)).toEqual(["j-good"]);
    expect(readdirSync(path.join(dir, "dead"))).toHaveLength(1);
  });

  it("moves a callback for a job the control plane does not know (404) to dead/ instead of retrying it", async () => {
    const outbox = await openOutbox();
    convex.failWith = 404;
    outbox.start();
    await outbox.enqueue("complete", completion("j-unknown"));
    await convex.waitFor((c) => c.refused.length >= 1);
    convex.failWith = undefined;
    await outbox.enqueue("complete", completion("j-known"));
    expect(await outbox.flush(5_000)).toBe(0);
    expect(convex.refused).toHaveLength(1);
    expect(convex.completions.map((c) => c.jobId)).toEqual(["j-known"]);
    expect(readdirSync(path.join(dir, "dead"))).toHaveLength(1);
  });

  it("signs with the shared secret: a receiver with another secret refuses", async () => {
    const outbox = await openOutbox("y".repeat(40));
    outbox.start();
    await outbox.enqueue("complete", completion("j1"));
    await convex.waitFor((c) => c.refused.length >= 1);
    expect(convex.refused[0]).toMatchObject({ status: 401, reason: "bad_signature" });
    expect(convex.completions).toEqual([]);
  });
});
