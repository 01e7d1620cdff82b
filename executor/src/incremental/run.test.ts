/**
 * runIncremental's ways of ending early that the executor relies on: `stop` (a job's deadline) ends the run at
 * the last committed step; a stored cursor the source cannot use ends it needing a snapshot; the held pages'
 * byte budget; and tables dropped in the source, through the snapshot that follows and the runs after it. On
 * DuckDB (the default target); the apply itself is covered on every target by apply.test.ts. Also the fold of
 * each step's changes into the run's totals (the executor's progress reports use it too).
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeId, writeSnapshotZip, type FixtureTable } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "../import/index.js";
import { storeFeedStart } from "../service/feedStart.js";
import { openChangeTarget } from "./openTarget.js";
import { addTableTotals, droppedTables, runIncremental } from "./run.js";
import { syncedWarehouse, type SyncedWarehouse } from "./testing.js";

const duckdb = testTargets().find((t) => t.name === "duckdb")!;
const SMALL_PAGES = { limits: { pageSizeLimit: 2, maxRowsRead: 4 } };

const step = (table: string, inserted: number, updated = 0, deleted = 0, truncated = false) => ({
  table,
  sqlTable: table,
  inserted,
  updated,
  deleted,
  truncated,
});

describe("addTableTotals", () => {
  it("sums each table's changes over the steps, sorted by table, a truncate sticking", () => {
    const first = addTableTotals([], [step("users", 2, 1), step("chat/messages", 0, 0, 0, true)]);
    const second = addTableTotals(first, [step("users", 1, 0, 3), step("admins", 1)]);
    expect(second).toEqual([
      { table: "admins", inserted: 1, updated: 0, deleted: 0, truncated: false },
      { table: "chat/messages", inserted: 0, updated: 0, deleted: 0, truncated: true },
      { table: "users", inserted: 3, updated: 1, deleted: 3, truncated: false },
    ]);
    expect(first.find((t) => t.table === "users")!.inserted).toBe(2); // the earlier totals are not changed
  });
});

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

/** A `_storage` table as includeStorage exports it: file metadata only. */
const storageTable = (component?: string): FixtureTable => ({
  name: "_storage",
  ...(component ? { component } : {}),
  docs: [
    {
      _id: fakeId(1, 99),
      _creationTime: 1.5e12,
      sha256: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
      size: 3,
    },
  ],
});

/**
 * What a snapshot job with `feedStart` does: the control plane mints the cursor at the export's timestamp, the
 * executor imports the snapshot ZIP and then stores the position (service/feedStart.ts).
 */
async function snapshotSync(w: SyncedWarehouse, extra: FixtureTable[] = []) {
  const ts = w.deployment.latestTs;
  const cursor = await w.feed.cursorFromSnapshot(ts);
  const tables: FixtureTable[] = [...w.deployment.stateAt(ts)].map(([qualified, docs]) => {
    const cut = qualified.lastIndexOf("/");
    return cut < 0
      ? { name: qualified, docs }
      : { name: qualified.slice(cut + 1), component: qualified.slice(0, cut), docs };
  });
  const zip = path.join(await mkdtemp(path.join(os.tmpdir(), "run-")), `snapshot_stand-in_${ts}.zip`);
  await writeSnapshotZip(zip, [...tables, ...extra]);
  const imported = await importSnapshot({
    snapshotPath: zip,
    target: w.url,
    schema: w.schema,
    snapshotTs: ts.toString(),
    includeStorage: extra.length > 0,
  });
  return storeFeedStart(
    { target: w.url, targetSecrets: [] },
    {
      jobId: "job-run-test",
      targetSchema: w.schema,
      snapshotTs: ts.toString(),
      loadedTables: imported.tables.map((t) => t.table),
    },
    cursor,
    [],
  );
}

const sourceTablesOf = (w: SyncedWarehouse) => [...w.deployment.stateAt(w.deployment.latestTs).keys()];

for (const target of testTargets())
  describe(`tables dropped in the source, on ${target.name}`, () => {
    it("ask for one snapshot, which detaches them: the runs after it are up to date, the tables kept as they were", async () => {
      const url = await target.fresh();
      const w = await syncedWarehouse(url, (d) =>
        d.transaction((tx) => {
          tx.insert("users", { n: 0n });
          tx.insert("gone", { note: "kept" });
          tx.insert("chat/old", { text: "kept too" });
        }),
      );
      try {
        w.deployment.dropTable("gone");
        w.deployment.dropTable("chat/old");
        w.deployment.transaction((tx) => void tx.insert("users", { n: 1n }));
        const before = await w.rows(w.schema);

        const first = await w.sync({ sourceTables: true });
        expect(first).toMatchObject({ outcome: "needsSnapshot", droppedTables: ["chat/old", "gone"] });
        expect(first.reason).toBe("tables dropped in the source: chat/old, gone");

        const start = await snapshotSync(w);
        expect(start).toEqual({
          stored: true,
          position: w.deployment.latestTs.toString(),
          detachedTables: ["chat/old", "gone"],
        });

        w.deployment.transaction((tx) => void tx.insert("users", { n: 2n }));
        for (let run = 0; run < 2; run++) {
          const next = await w.sync({ sourceTables: true });
          expect(next).toMatchObject({ outcome: "upToDate", droppedTables: [] });
          expect(next.reason).toBeUndefined();
        }
        const after = await w.rows(w.schema);
        expect(after.get("gone")).toEqual(before.get("gone"));
        expect(after.get("chat/old")).toEqual(before.get("chat/old"));
        expect(after.get("users")).toHaveLength(3);
        const { warehouse, source } = await w.compareWithSource();
        expect(warehouse).toEqual(source);
      } finally {
        await w.close();
      }
    });

    it("are not `_storage` tables, which neither the feed nor the control plane's table list has", async () => {
      const url = await target.fresh();
      const w = await syncedWarehouse(url, (d) =>
        d.transaction((tx) => {
          tx.insert("users", { n: 0n });
          tx.insert("chat/messages", { text: "hi" });
        }),
      );
      try {
        const start = await snapshotSync(w, [storageTable(), storageTable("chat")]);
        expect(start).toEqual({ stored: true, position: w.deployment.latestTs.toString() });
        expect([...(await w.rows(w.schema)).keys()]).toEqual(
          expect.arrayContaining(["_storage", "chat/_storage"]),
        );
        w.deployment.transaction((tx) => void tx.insert("users", { n: 1n }));
        const result = await w.sync({ sourceTables: true });
        expect(result).toMatchObject({ outcome: "upToDate", droppedTables: [] });
      } finally {
        await w.close();
      }
    });
  });

describe("tables dropped in the source", () => {
  it("are only tables the warehouse held when the run started, not one the feed created during it", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })));
    try {
      const listed = sourceTablesOf(w); // the control plane lists the tables before it dispatches the run
      w.deployment.transaction((tx) => void tx.insert("late", { n: 1n }));
      const target = await openChangeTarget(url, w.schema);
      try {
        const result = await runIncremental({ target, feed: w.feed, sourceTables: async () => listed });
        expect(result).toMatchObject({ outcome: "upToDate", droppedTables: [] });
        expect(result.tables.map((t) => t.table)).toEqual(["late"]);
      } finally {
        await target.close();
      }
    } finally {
      await w.close();
    }
  });

  it("leave out system tables and detached ones, in any component", () => {
    expect(
      droppedTables(
        ["users", "gone", "_storage", "chat/_storage", "chat/gone", "chat/old", "a/b/_storage", "kept"],
        ["users"],
        ["kept", "chat/old"],
      ),
    ).toEqual(["chat/gone", "gone"]);
  });
});

describe("held pages", () => {
  it("are applied once their answers reach maxHeldBytes, and the warehouse is consistent at upToDate", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })), {
      limits: { pageSizeLimit: 2, maxRowsRead: 4 },
    });
    try {
      const run = async (maxHeldBytes?: number) => {
        // A table replaced by an import: its pages are held until upToDate (entries stay far below the cap).
        w.deployment.advance(60_000_000_000n);
        w.deployment.importReplace(
          "users",
          Array.from({ length: 6 }, (_, i) => ({ n: BigInt(i), text: "x".repeat(2_000) })),
        );
        const target = await openChangeTarget(url, w.schema);
        try {
          return await runIncremental({
            target,
            feed: w.feed,
            ...(maxHeldBytes !== undefined ? { maxHeldBytes } : {}),
          });
        } finally {
          await target.close();
        }
      };
      const held = await run();
      expect(held).toMatchObject({ outcome: "upToDate", transactions: 1 });
      expect(held.pages).toBeGreaterThan(2);

      const capped = await run(3_000); // about one page of two 2,000-character documents
      expect(capped.outcome).toBe("upToDate");
      expect(capped.transactions).toBeGreaterThan(1);
      const { warehouse, source } = await w.compareWithSource();
      expect(warehouse).toEqual(source);
    } finally {
      await w.close();
    }
  });
});

describe("the first run after a feed start minted before its snapshot", () => {
  it("holds the pages behind the snapshot and commits only once past it, ending equal to the source", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(
      url,
      (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })),
      SMALL_PAGES,
    );
    try {
      // The control plane mints the cursor at the export's in-progress start_ts; the snapshot is read later.
      const mintedAt = w.deployment.latestTs;
      for (let i = 1; i <= 6; i++)
        w.deployment.transaction((tx) => void tx.insert("users", { n: BigInt(i) }));
      const snapshotTs = w.deployment.latestTs;
      const dir = await mkdtemp(path.join(os.tmpdir(), "early-mint-"));
      const zip = path.join(dir, `snapshot_stand-in_${snapshotTs}.zip`);
      await w.deployment.writeSnapshotZip(zip, snapshotTs);
      await importSnapshot({
        snapshotPath: zip,
        target: url,
        schema: w.schema,
        snapshotTs: snapshotTs.toString(),
      });
      const cursor = await w.feed.cursorFromSnapshot(mintedAt);
      const target = await openChangeTarget(url, w.schema);
      try {
        await target.initialize({
          cursor,
          syncId: "",
          status: "stale",
          snapshotTs,
          appliedAt: new Date(),
          detachedTables: [],
        });
        for (let i = 7; i <= 8; i++)
          w.deployment.transaction((tx) => void tx.insert("users", { n: BigInt(i) }));
        const committed: (bigint | null)[] = [];
        const result = await runIncremental({
          target,
          feed: w.feed,
          onBatch: (batch) => committed.push(batch.snapshotTs),
        });
        expect(result.outcome).toBe("upToDate");
        expect(result.pages).toBeGreaterThan(2);
        expect(committed.length).toBeGreaterThan(0);
        for (const ts of committed) expect(ts! >= snapshotTs).toBe(true);
      } finally {
        await target.close();
      }
      const { warehouse, source } = await w.compareWithSource();
      expect(source.get("users")).toHaveLength(9);
      expect(warehouse).toEqual(source);
    } finally {
      await w.close();
    }
  });
});

describe("a step the warehouse cannot hold in memory", () => {
  it("ends the run needing a snapshot (retrying would meet the same step), with nothing of that step applied", async () => {
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) => d.transaction((tx) => void tx.insert("users", { n: 0n })));
    try {
      w.deployment.transaction((tx) => void tx.insert("users", { n: 1n }));
      const before = await w.rows(w.schema);
      let armed = true;
      // What DuckDB throws at its memory_limit, from inside the step's transaction.
      const target = await openChangeTarget(url, w.schema, {
        onStatement: (sql) => {
          if (armed && /^INSERT/i.test(sql)) {
            armed = false;
            throw new Error(
              "Out of Memory Error: failed to allocate data of size 8.0 MiB (60.9 MiB/61.0 MiB used)",
            );
          }
        },
      });
      try {
        const state = (await target.readState())!;
        const result = await runIncremental({ target, feed: w.feed });
        expect(result).toMatchObject({
          outcome: "needsSnapshot",
          transactions: 0,
          snapshotTs: state.snapshotTs,
        });
        expect(result.reason).toMatch(
          /^a step of the change feed needs more memory than the warehouse allows/,
        );
        expect(result.reason).toMatch(/Out of Memory Error/);
        expect((await target.readState())!.cursor).toBe(state.cursor);
      } finally {
        await target.close();
      }
      expect(await w.rows(w.schema)).toEqual(before);
    } finally {
      await w.close();
    }
  });
});
