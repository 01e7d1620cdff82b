/**
 * Incremental sync through the executor's HTTP API, with real parts only: a signed snapshot job with `feedStart`
 * (the real import engine, the ZIP from the source stand-in) stores the feed position; then signed incremental
 * jobs apply the stand-in change feed (test/standins/dataSyncFeed.ts) into the warehouse (DuckDB, PGlite, and
 * PostgreSQL when PG_URL is set) and report progress and figures to the control plane's stand-in receiver.
 * The tests of one warehouse run in order: each continues from the state the previous one left.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { CompletionCallback } from "../../../convex/contract/executor.js";
import { FeedDeployment, serveDataSyncFeed, type ServedFeed } from "../../../test/standins/dataSyncFeed.js";
import { startConvexSource, type ConvexSource } from "../../../test/standins/convexSource.js";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import {
  DEPLOY_KEY,
  makeIncrementalPayload,
  makePayload,
  SECRET,
  signedFetch,
  tempDir,
  testConfig,
} from "../../test/harness.js";
import { createdSchemas, e2eTargets, uniqueSchemaName } from "../../test/targets.js";
import { FeedClient } from "../incremental/feedClient.js";
import { startExecutor, type RunningExecutor } from "./executor.js";
import { setLogLevel } from "./log.js";

/** Everything the executor logs, to check that no feed cursor and no deploy key ever appears there. */
const logged: string[] = [];
setLogLevel("debug");
vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
  logged.push(String(chunk));
  return true;
});

/** A fetch for the feed client that can hold the n-th data-sync request until released (or the job aborts it). */
function gatedFetch() {
  let seen = 0;
  let holdAt = 0;
  let arrived = () => {};
  let release = () => {};
  const gated: typeof fetch = async (input, init) => {
    if (String(input).endsWith("/api/v1/data/sync") && ++seen === holdAt) {
      arrived();
      await new Promise<void>((resolve, reject) => {
        release = resolve;
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason), { once: true });
      });
    }
    return fetch(input, init);
  };
  return {
    fetch: gated,
    /** Holds the `n`-th data-sync request from now; resolves when it arrives. */
    holdNext(n: number): Promise<void> {
      holdAt = seen + n;
      return new Promise<void>((resolve) => (arrived = resolve));
    },
    release: () => release(),
  };
}

const everyFileUnder = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(path.join(d.parentPath, d.name)).toString("latin1"));

let convex: ConvexReceiver;
beforeAll(async () => {
  convex = await startConvexReceiver(SECRET);
});
afterAll(async () => {
  await convex.close();
});

for (const target of e2eTargets()) {
  describe.sequential(`incremental jobs into ${target.name}`, () => {
    const gate = gatedFetch();
    const ids: Record<string, string> = {};
    let deployment: FeedDeployment;
    let feed: ServedFeed;
    let source: ConvexSource;
    let executor: RunningExecutor;
    let targetUrl: string;
    let dataDir: string;
    let schema: string;
    let snapshotTs: string;
    let cursor: string;

    beforeAll(async () => {
      deployment = new FeedDeployment({
        deployKey: DEPLOY_KEY,
        limits: { pageSizeLimit: 3, maxRowsRead: 6 }, // small pages: a run takes several steps
      });
      deployment.transaction((tx) => {
        ids.ada = tx.insert("users", { name: "Ada", n: 1n });
        ids.bob = tx.insert("users", { name: "Bob", n: 2n });
        ids.m1 = tx.insert("chat/messages", { text: "hi" });
      });
      feed = await serveDataSyncFeed(deployment);
      snapshotTs = deployment.latestTs.toString();
      const zip = path.join(tempDir("incremental-e2e"), `snapshot_${snapshotTs}.zip`);
      await deployment.writeSnapshotZip(zip, deployment.latestTs);
      source = await startConvexSource({ deployKey: DEPLOY_KEY, completedExports: { [snapshotTs]: zip } });
      targetUrl = target.fresh();
      const config = testConfig({ convexSiteUrl: convex.url, target: targetUrl });
      dataDir = config.dataDir;
      executor = await startExecutor(config, {
        probe: async () => ({ reachable: true }),
        feedFetch: gate.fetch,
      });
      schema = uniqueSchemaName("inc");
      // What the control plane does right after the export completes: mint the cursor at its timestamp.
      cursor = await new FeedClient({ deploymentUrl: feed.url, deployKey: DEPLOY_KEY }).cursorFromSnapshot(
        deployment.latestTs,
      );
    });
    afterAll(async () => {
      await executor.stop(5_000);
      await feed.close();
      await source.close();
      await target.dropSchemas(targetUrl, createdSchemas);
    });

    async function submit(payload: { jobId: string }): Promise<CompletionCallback> {
      const response = await signedFetch(executor.url, "/jobs", { body: payload });
      expect(response.status).toBe(202);
      await convex.waitFor((c) => c.completions.some((x) => x.jobId === payload.jobId), 60_000);
      return convex.completions.find((x) => x.jobId === payload.jobId)!;
    }
    const incremental = (overrides: Parameters<typeof makeIncrementalPayload>[2] = {}) =>
      makeIncrementalPayload(feed.url, DEPLOY_KEY, { targetSchema: schema, ...overrides });
    const syncState = async () =>
      (
        await target.query<{ ts: string; status: string; cursor: string }>(
          targetUrl,
          `SELECT snapshot_ts::text AS ts, status, cursor FROM "${schema}"._convex_sync_state`,
        )
      )[0];
    const count = async (table: string) =>
      Number(
        (
          await target.query<{ n: number }>(
            targetUrl,
            `SELECT count(*)::int AS n FROM "${schema}"."${table}"`,
          )
        )[0]!.n,
      );

    it("a snapshot job with feedStart loads the snapshot and then stores the feed position", async () => {
      const payload = makePayload(source.url, {
        snapshot: { snapshotTs, includeStorage: false },
        targetSchema: schema,
        feedStart: { cursor },
      });
      const done = await submit(payload);
      expect(done.error).toBeUndefined();
      expect(done).toMatchObject({ outcome: "succeeded", totalRows: 3 });
      expect(done.feedStart).toEqual({ stored: true, position: snapshotTs });
      expect(await syncState()).toEqual({ ts: snapshotTs, status: "stale", cursor });
      expect(await count("users")).toBe(2);
      // The cursor, like the deploy key, is in no file the executor wrote (journal, outbox) and in no log line.
      expect(everyFileUnder(dataDir).some((t) => t.includes(cursor) || t.includes(DEPLOY_KEY))).toBe(false);
      expect(logged.some((line) => line.includes("feed position stored"))).toBe(true);
      expect(logged.some((line) => line.includes(cursor) || line.includes(DEPLOY_KEY))).toBe(false);
    });

    it("an incremental job applies the source's transactions and reports each table's changes", async () => {
      deployment.transaction((tx) => tx.patch(ids.ada!, { n: 2n ** 60n }));
      deployment.transaction((tx) => {
        tx.delete(ids.bob!);
        ids.cy = tx.insert("users", { name: "Cy", n: 3n });
      });
      for (let i = 0; i < 5; i++)
        deployment.transaction((tx) => void tx.insert("chat/messages", { text: `m${i}` }));
      deployment.transaction((tx) => tx.delete(ids.m1!));

      const payload = incremental();
      // Held at the second page: the first step has committed, and its changes must reach the control plane.
      const held = gate.holdNext(2);
      const response = await signedFetch(executor.url, "/jobs", { body: payload });
      expect(response.json).toMatchObject({ kind: "incremental" });
      await held;
      await convex.waitFor((c) =>
        c.progress.some((p) => p.jobId === payload.jobId && (p.changes ?? []).length > 0),
      );
      gate.release();
      await convex.waitFor((c) => c.completions.some((x) => x.jobId === payload.jobId), 60_000);
      const done = convex.completions.find((x) => x.jobId === payload.jobId)!;

      expect(done.error).toBeUndefined();
      expect(done).toMatchObject({ outcome: "succeeded", tables: [], totalRows: 9 });
      const figures = done.incremental!;
      expect(figures).toMatchObject({
        outcome: "upToDate",
        droppedTables: [],
        position: deployment.latestTs.toString(),
        tables: [
          { table: "chat/messages", inserted: 5, updated: 0, deleted: 1, truncated: false },
          { table: "users", inserted: 1, updated: 1, deleted: 1, truncated: false },
        ],
      });
      expect(figures.pages).toBeGreaterThan(1);
      expect(figures.transactions).toBeGreaterThan(1);
      expect(Number.isInteger(figures.lagMs) && Number.isInteger(figures.cursorAgeMs)).toBe(true);

      const progress = convex.progress.filter((p) => p.jobId === payload.jobId);
      expect(progress.every((p) => p.phase === "applying" && p.tables.length === 0)).toBe(true);
      const partial = progress.find((p) => (p.changes ?? []).length > 0)!.changes!;
      for (const t of partial) {
        const final = figures.tables.find((f) => f.table === t.table)!;
        expect(t.inserted + t.updated + t.deleted).toBeLessThanOrEqual(
          final.inserted + final.updated + final.deleted,
        );
      }

      expect((await syncState())!.ts).toBe(figures.position);
      expect(await count("users")).toBe(2);
      expect(await count("chat__messages")).toBe(5);
      expect((await signedFetch(executor.url, `/jobs/${payload.jobId}`)).json).toMatchObject({
        kind: "incremental",
        state: "succeeded",
        phase: "finished",
      });
    });

    it("a cancel during a run ends it cancelled at a committed step, and the next run continues from there", async () => {
      for (let i = 0; i < 8; i++) deployment.transaction((tx) => void tx.insert("users", { name: `u${i}` }));
      const payload = incremental();
      const held = gate.holdNext(2);
      await signedFetch(executor.url, "/jobs", { body: payload });
      await held;
      const cancel = await signedFetch(executor.url, `/jobs/${payload.jobId}/cancel`, {
        body: { jobId: payload.jobId, reason: "test cancel" },
      });
      expect(cancel.json).toMatchObject({ state: "cancelled" });
      await convex.waitFor((c) => c.completions.some((x) => x.jobId === payload.jobId));
      const done = convex.completions.find((x) => x.jobId === payload.jobId)!;
      expect(done).toMatchObject({ outcome: "cancelled", error: { code: "cancelled", retryable: true } });
      expect(done.error!.message).toMatch(/steps committed before it stay/);
      const figures = done.incremental!;
      expect(figures).toMatchObject({ outcome: "stopped", transactions: 1 });
      const inserted = figures.tables.find((t) => t.table === "users")!.inserted;
      expect(inserted).toBeGreaterThan(0);
      expect(inserted).toBeLessThan(8);

      // The warehouse is at the committed step: its stored position, with exactly the source's rows at that time.
      const state = await syncState();
      expect(state!.ts).toBe(figures.position);
      expect(await count("users")).toBe(deployment.stateAt(BigInt(state!.ts)).get("users")!.length);
      expect(await count("users")).toBe(2 + inserted);

      const next = await submit(incremental());
      expect(next.incremental).toMatchObject({
        outcome: "upToDate",
        position: deployment.latestTs.toString(),
      });
      expect(next.incremental!.tables).toEqual([
        { table: "users", inserted: 8 - inserted, updated: 0, deleted: 0, truncated: false },
      ]);
      expect(await count("users")).toBe(10);
    });

    it("stops after the job's maxPages at a committed step, and reports tables the source dropped", async () => {
      for (let i = 0; i < 4; i++) deployment.transaction((tx) => void tx.insert("users", { name: `v${i}` }));
      const cut = await submit(incremental({ incremental: { sourceTables: null, maxPages: 1 } }));
      expect(cut).toMatchObject({
        outcome: "succeeded",
        incremental: { outcome: "stopped", pages: 1, transactions: 1 },
      });
      expect((await syncState())!.ts).toBe(cut.incremental!.position);

      // The feed never reports a dropped table: the control plane's list of the source's tables does.
      const rest = await submit(incremental({ incremental: { sourceTables: ["users"] } }));
      expect(rest).toMatchObject({
        outcome: "succeeded",
        incremental: { outcome: "needsSnapshot", droppedTables: ["chat/messages"] },
      });
      expect(rest.incremental!.reason).toMatch(/tables dropped in the source: chat\/messages/);
      expect(await count("users")).toBe(14);
    });

    it("a deployment without streaming export fails the job with feed_not_enabled, not retryable", async () => {
      deployment.streamingExportEnabled = false;
      try {
        const done = await submit(incremental());
        expect(done).toMatchObject({
          outcome: "failed",
          error: { code: "feed_not_enabled", retryable: false },
        });
        expect(done.error!.message).toMatch(/streaming export/);
        expect(done.incremental).toMatchObject({ transactions: 0, position: (await syncState())!.ts });
      } finally {
        deployment.streamingExportEnabled = true;
      }
    });

    it("a position older than the change log's retention ends the run needing a snapshot, warehouse unchanged", async () => {
      const before = await syncState();
      const rows = await count("users");
      deployment.transaction((tx) => void tx.insert("users", { name: "late" }));
      deployment.advance(deployment.limits.retentionNs + 1_000_000_000n);
      const done = await submit(incremental());
      expect(done.outcome).toBe("succeeded");
      expect(done.incremental).toMatchObject({ outcome: "needsSnapshot", transactions: 0 });
      expect(done.incremental!.reason).toMatch(/older than the source keeps its change log/);
      expect(await syncState()).toEqual(before);
      expect(await count("users")).toBe(rows);
    });

    it("a position the source cannot decrypt ends the run needing a snapshot", async () => {
      const foreign = `01${"ab".repeat(40)}`; // e.g. from another deployment, or damaged
      const load = await submit(
        makePayload(source.url, {
          snapshot: { snapshotTs, includeStorage: false },
          targetSchema: schema,
          feedStart: { cursor: foreign },
        }),
      );
      expect(load.feedStart).toEqual({ stored: true, position: snapshotTs });
      const done = await submit(incremental());
      expect(done.outcome).toBe("succeeded");
      expect(done.incremental).toMatchObject({ outcome: "needsSnapshot", position: snapshotTs });
      expect(done.incremental!.reason).toMatch(/cannot continue from the stored feed position/);
    });
  });
}
