import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CompletionCallback } from "../../../convex/contract/executor.js";
import { testTargets } from "../../../test/fixtures/targets.js";
import { makeIncrementalPayload, SECRET, tempDir } from "../../test/harness.js";
import { openChangeTarget } from "../incremental/openTarget.js";
import { syncedWarehouse, type SyncedWarehouse } from "../incremental/testing.js";
import { CallbackOutbox } from "./callbacks.js";
import { deadlineSignal, runIncrementalJob, STOP_MARGIN_MS, stopTime } from "./incrementalRunner.js";
import { JobJournal, recordOfPayload, type IncrementalJobRecord } from "./journal.js";
import { setLogLevel } from "./log.js";
import type { RunnerDeps } from "./runner.js";

setLogLevel(process.env.TEST_LOG ? "debug" : "silent");

describe("deadlineSignal", () => {
  afterEach(() => vi.useRealTimers());

  it("fires at the deadline, also one beyond setTimeout's longest delay", () => {
    vi.useFakeTimers({ now: 0 });
    const soon = deadlineSignal(1_000);
    const far = deadlineSignal(2 ** 31 + 5_000);
    vi.advanceTimersByTime(999);
    expect(soon.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(soon.signal.aborted).toBe(true);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(far.signal.aborted).toBe(false);
    vi.advanceTimersByTime(6_000);
    expect(far.signal.aborted).toBe(true);
    far.clear();
  });

  it("has fired already for a deadline in the past, and stops nothing once cleared", () => {
    vi.useFakeTimers({ now: 10_000 });
    expect(deadlineSignal(5_000).signal.aborted).toBe(true);
    const cleared = deadlineSignal(20_000);
    cleared.clear();
    vi.advanceTimersByTime(20_000);
    expect(cleared.signal.aborted).toBe(false);
  });
});

describe("stopTime", () => {
  it("keeps min(2 min, a tenth of the attempt) before the deadline", () => {
    const hour = 3_600_000;
    expect(stopTime({ receivedAt: 0, deadline: hour })).toBe(hour - STOP_MARGIN_MS);
    expect(stopTime({ receivedAt: 0, deadline: 600_000 })).toBe(540_000);
    expect(stopTime({ receivedAt: 5_000, deadline: 5_000 })).toBe(5_000);
  });
});

const duckdb = testTargets().find((t) => t.name === "duckdb")!;

/** The runner's own parts, real: the journal and outbox on disk (not delivered), the warehouse, the feed. */
async function runJob(w: SyncedWarehouse, record: IncrementalJobRecord, feedFetch?: typeof fetch) {
  const dir = tempDir("incremental-runner");
  const deps: RunnerDeps = {
    target: w.url,
    targetSecrets: [w.url],
    downloadsDir: path.join(dir, "downloads"),
    executorId: "test-pc",
    progressIntervalMs: 60_000,
    keepFailedZipMs: 0,
    importFn: () => Promise.reject(new Error("no snapshot import in an incremental job")),
    outbox: await CallbackOutbox.open({
      dir: path.join(dir, "outbox"),
      convexSiteUrl: "http://127.0.0.1:1",
      secret: SECRET,
    }),
    journal: await JobJournal.open(path.join(dir, "jobs")),
    ...(feedFetch ? { feedFetch } : {}),
  };
  await runIncrementalJob(deps, record, { deployKey: w.deployment.deployKey }, new AbortController().signal);
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
  const completion = files
    .filter((f) => f.endsWith("-complete.json"))
    .map((f) => (JSON.parse(readFileSync(f, "utf8")) as { body: CompletionCallback }).body)[0]!;
  return { completion, written: files.map((f) => readFileSync(f, "latin1")) };
}

const recordFor = (w: SyncedWarehouse, timing: { receivedAt: number; deadline: number }) =>
  recordOfPayload(
    makeIncrementalPayload(w.served.url, w.deployment.deployKey, {
      targetSchema: w.schema,
      deadline: timing.deadline,
    }),
    timing.receivedAt,
  ) as IncrementalJobRecord;

describe("runIncrementalJob", () => {
  it("stops before the watchdog's deadline: a run within the margin ends `stopped`, succeeded, warehouse unchanged", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })));
    try {
      w.deployment.transaction((tx) => void tx.insert("users", { n: 1n }));
      const now = Date.now();
      // Queued for ten minutes of an hour's attempt, 30 s left: inside the two-minute margin.
      const late = recordFor(w, { receivedAt: now - 30 * 60_000, deadline: now + 30_000 });
      const { completion } = await runJob(w, late);
      expect(completion).toMatchObject({
        outcome: "succeeded",
        incremental: { outcome: "stopped", pages: 0, transactions: 0 },
      });
      expect(completion.incremental!.reason).toMatch(/deadline was near/);
      expect((await w.rows(w.schema)).get("users")).toHaveLength(1);

      const inTime = recordFor(w, { receivedAt: now, deadline: now + 3_600_000 });
      const done = await runJob(w, inTime);
      expect(done.completion.incremental).toMatchObject({ outcome: "upToDate", transactions: 1 });
    } finally {
      await w.close();
    }
  });

  it("redacts the stored and the latest feed cursors from a failure that echoes them", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })), {
      limits: { pageSizeLimit: 2, maxRowsRead: 4 },
    });
    try {
      for (let i = 1; i <= 4; i++)
        w.deployment.transaction((tx) => void tx.insert("users", { n: BigInt(i) }));
      const target = await openChangeTarget(url, w.schema);
      const stored = (await target.readState())!.cursor;
      await target.close();
      const asked: string[] = [];
      // The second page is refused with a message quoting the cursors (as a proxy or a driver might).
      const echoing: typeof fetch = async (input, init) => {
        if (!String(input).endsWith("/api/v1/data/sync")) return fetch(input, init);
        const cursor = (JSON.parse(String(init!.body)) as { cursor: string }).cursor;
        asked.push(cursor);
        if (asked.length < 2) return fetch(input, init);
        const message = `cannot continue from ${cursor} (the run began at ${stored})`;
        return new Response(JSON.stringify({ code: "Echo", message }), { status: 400 });
      };
      const record = recordFor(w, { receivedAt: Date.now(), deadline: Date.now() + 3_600_000 });
      const { completion, written } = await runJob(w, record, echoing);
      expect(completion).toMatchObject({
        outcome: "failed",
        error: { code: "feed_refused" },
        incremental: { transactions: 1 },
      });
      expect(asked).toHaveLength(2);
      expect(asked[0]).toBe(stored);
      expect(asked[1]).not.toBe(stored);
      expect(completion.error!.message).toMatch(
        /cannot continue from \[redacted\] \(the run began at \[redacted\]\)/,
      );
      for (const cursor of asked) {
        expect(JSON.stringify(completion)).not.toContain(cursor);
        expect(written.some((text) => text.includes(cursor))).toBe(false);
      }
    } finally {
      await w.close();
    }
  });
});
