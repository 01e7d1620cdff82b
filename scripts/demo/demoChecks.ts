/**
 * What the demo test reads back to judge a sync: the jobs as the control plane stored them, the feed position the
 * warehouse holds, and the warehouse compared row by row with a fresh snapshot import of the source at that
 * position (test/fixtures/warehouseRows.ts), the way executor/src/incremental/testing.ts compares.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { importSnapshot } from "../../executor/src/import/index.js";
import { readWarehouseRows, withWarehouse, type WarehouseRows } from "../../test/fixtures/warehouseRows.js";
import type { Demo } from "./demo.js";
import type { TableTally } from "./shopActivity.js";

export interface StoredJob {
  id: string;
  status: string;
  kind: string;
  createdAt: number;
  totalRows?: number;
  changes?: ({ table: string; truncated: boolean } & TableTally)[];
  incremental?: {
    outcome: string;
    position: string | null;
    lagMs: number | null;
    cursorAgeMs: number | null;
  };
}

/** The demo app's jobs, oldest first. */
export async function appJobs(demo: Demo): Promise<StoredJob[]> {
  const jobs = await demo.harness.backend.seed<StoredJob[]>(async (ctx) => {
    const all = await ctx.db.query("jobs").order("asc").take(500);
    return all
      .filter((j) => String(j.appId) === demo.appId)
      .map((j) => ({
        id: String(j._id),
        status: String(j.status),
        kind: typeof j.kind === "string" ? j.kind : "snapshot",
        createdAt: Number(j.createdAt),
        ...(typeof j.totalRows === "number" ? { totalRows: j.totalRows } : {}),
        ...(j.changes ? { changes: j.changes as StoredJob["changes"] } : {}),
        ...(j.incremental ? { incremental: j.incremental as StoredJob["incremental"] } : {}),
      }));
  });
  return jobs;
}

/** Per table, the changes of these jobs added up; tables without any left out. */
export function sumChanges(jobs: StoredJob[]): Record<string, TableTally> {
  const sum: Record<string, TableTally> = {};
  for (const job of jobs)
    for (const c of job.changes ?? []) {
      if (c.inserted + c.updated + c.deleted === 0) continue;
      const into = (sum[c.table] ??= { inserted: 0, updated: 0, deleted: 0 });
      into.inserted += c.inserted;
      into.updated += c.updated;
      into.deleted += c.deleted;
    }
  return sum;
}

/**
 * Runs `read` on the warehouse file, again while the executor holds it (DuckDB lets one process open a file for
 * writing; a scheduled sync may be running).
 */
async function whenFree<T>(target: string, read: (target: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read(target);
    } catch (error) {
      if (attempt >= 40 || !/lock/i.test((error as Error).message)) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The warehouse's rows and the feed position it stores (`_convex_sync_state`), read in one go. */
export async function warehouseAtPosition(demo: Demo): Promise<{ position: bigint; rows: WarehouseRows }> {
  return whenFree(demo.warehouseTarget, (target) =>
    withWarehouse(target, async (db) => {
      const [state] = await db.query<{ ts: string }>(
        `SELECT CAST(snapshot_ts AS VARCHAR) AS ts FROM "${demo.schema}"._convex_sync_state`,
      );
      if (!state) throw new Error("the warehouse stores no feed position");
      return { position: BigInt(state.ts), rows: await readWarehouseRows(db, demo.schema) };
    }),
  );
}

/** The demo source at `ts`, imported fresh into a DuckDB file of its own, read back. */
export async function sourceRowsAt(demo: Demo, ts: bigint): Promise<WarehouseRows> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "demo-fresh-"));
  try {
    const zip = path.join(dir, `snapshot_demo-shop_${ts}.zip`);
    await demo.feed.writeSnapshotZip(zip, ts);
    const target = `duckdb:${path.join(dir, "source-at-position.duckdb")}`;
    await importSnapshot({ snapshotPath: zip, target, schema: "fresh", snapshotTs: ts.toString() });
    return await withWarehouse(target, (db) => readWarehouseRows(db, "fresh"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
