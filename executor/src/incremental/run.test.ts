/**
 * runIncremental's ways of ending early that the executor relies on: `stop` (a job's deadline) ends the run at
 * the last committed step; a stored cursor the source cannot use ends it needing a snapshot. On DuckDB (the
 * default target); the apply itself is covered on every target by apply.test.ts.
 */
import { describe, expect, it } from "vitest";
import { testTargets } from "../../../test/fixtures/targets.js";
import { openChangeTarget } from "./openTarget.js";
import { runIncremental } from "./run.js";
import { syncedWarehouse } from "./testing.js";

const duckdb = testTargets().find((t) => t.name === "duckdb")!;
const SMALL_PAGES = { limits: { pageSizeLimit: 2, maxRowsRead: 4 } };

describe("runIncremental ending early", () => {
  it("stops before the next page once `stop` fires, keeping the steps committed so far", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(
      url,
      (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })),
      SMALL_PAGES,
    );
    try {
      for (let i = 1; i <= 6; i++)
        w.deployment.transaction((tx) => void tx.insert("users", { n: BigInt(i) }));
      const stop = new AbortController();
      const batches: (bigint | null)[] = [];
      const target = await openChangeTarget(url, w.schema);
      try {
        const result = await runIncremental({
          target,
          feed: w.feed,
          stop: stop.signal,
          onBatch: (batch) => {
            batches.push(batch.snapshotTs);
            stop.abort(); // the deadline passes while the first step commits
          },
        });
        expect(result).toMatchObject({ outcome: "stopped", pages: 1, transactions: 1 });
        expect(result.tables).toEqual([
          { table: "users", inserted: 2, updated: 0, deleted: 0, truncated: false },
        ]);
        expect(batches).toEqual([result.snapshotTs]);
        expect(await target.readState()).toMatchObject({ snapshotTs: result.snapshotTs });
      } finally {
        await target.close();
      }
      const { warehouse, source } = await w.compareWithSource();
      expect(warehouse).toEqual(source);
      expect((await w.sync()).outcome).toBe("upToDate");
    } finally {
      await w.close();
    }
  });

  it("needs a snapshot when the source cannot decrypt the stored cursor, and changes nothing", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })));
    try {
      const target = await openChangeTarget(url, w.schema);
      try {
        const state = (await target.readState())!;
        await target.initialize({ ...state, cursor: `01${"00".repeat(40)}` });
        w.deployment.transaction((tx) => void tx.insert("users", { n: 1n }));
        const result = await runIncremental({ target, feed: w.feed });
        expect(result).toMatchObject({ outcome: "needsSnapshot", transactions: 0 });
        expect(result.reason).toMatch(/cannot continue from the stored feed position/);
        expect((await target.readState())!.snapshotTs).toBe(state.snapshotTs);
      } finally {
        await target.close();
      }
    } finally {
      await w.close();
    }
  });
});
