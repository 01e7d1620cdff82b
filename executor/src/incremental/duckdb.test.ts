/**
 * DuckDB-only behaviour of the incremental apply: one writer per warehouse file (the lock the snapshot import
 * takes too), and the sync state written in the same transaction as the rows. The shared semantics are in
 * apply.test.ts and apply.crash.test.ts, which run on DuckDB as well.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { testTargets } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "../import/index.js";
import { WarehouseInUseError } from "../import/load/duckdb/instance.js";
import { openChangeTarget } from "./openTarget.js";
import { syncedWarehouse } from "./testing.js";

const duckdb = testTargets().find((t) => t.name === "duckdb")!;

describe("incremental apply (duckdb only)", () => {
  it("refuses a second writer on the same file while a change target holds it, an import included", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 1n })));
    try {
      const holder = await openChangeTarget(url, w.schema);
      try {
        await expect(openChangeTarget(url, w.schema)).rejects.toBeInstanceOf(WarehouseInUseError);
        const zip = path.join(await mkdtemp(path.join(os.tmpdir(), "lock-")), "snapshot_x_1.zip");
        await w.deployment.writeSnapshotZip(zip, w.deployment.latestTs);
        await expect(importSnapshot({ snapshotPath: zip, target: url, schema: "other" })).rejects.toThrow(
          /in use by this process/,
        );
      } finally {
        await holder.close();
      }
      // Released on close: the next run opens the file.
      w.deployment.transaction((tx) => void tx.insert("users", { n: 2n }));
      expect((await w.sync()).outcome).toBe("upToDate");
      const { warehouse, source } = await w.compareWithSource();
      expect(warehouse).toEqual(source);
    } finally {
      await w.close();
    }
  });

  it("stores the cursor as one row of _convex_sync_state with the snapshot's timestamp", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 1n })));
    try {
      w.deployment.transaction((tx) => void tx.insert("users", { n: 2n }));
      await w.sync();
      w.deployment.transaction((tx) => void tx.insert("users", { n: 3n }));
      await w.sync();
      const rows = await duckdb.query<{ id: number; ts: string; status: string }>(
        url,
        `SELECT id, snapshot_ts::VARCHAR AS ts, status FROM "${w.schema}"._convex_sync_state`,
      );
      expect(rows).toEqual([{ id: 1, ts: w.deployment.latestTs.toString(), status: "upToDate" }]);
    } finally {
      await w.close();
    }
  });
});
