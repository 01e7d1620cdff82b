/**
 * DuckDB's incremental apply within its memory_limit: a feed page of large documents (the feed's 64 MiB page,
 * 4,096 × ~16 KiB) applies at the executor's default limit (64MB) in ONE transaction, the changes staged and
 * merged in slices bounded by bytes (duckdbRows.ts); a failure after some slices leaves nothing applied.
 */
import { describe, expect, it } from "vitest";
import { testTargets } from "../../../test/fixtures/targets.js";
import { DEFAULT_DUCKDB_SETTINGS, type DuckdbSettings } from "../import/load/duckdb/instance.js";
import type { ConvexObject, ConvexValue } from "../import/values.js";
import { applyBatch } from "./apply.js";
import { byteSlices, sliceBytesFor } from "./duckdbRows.js";
import type { FeedPage } from "./feedClient.js";
import { openChangeTarget } from "./openTarget.js";
import { syncedWarehouse } from "./testing.js";

const duckdb = testTargets().find((t) => t.name === "duckdb")!;
const SCHEMA = "big";
const TS0 = 1_800_000_000_000_000_000n;

/** One feed page: `docs` documents of `padBytes` each in table `events`, version `round`. */
function page(
  docs: number,
  padBytes: number,
  round: number,
  pad: (n: number) => ConvexValue | undefined = () => undefined,
): FeedPage {
  const text = "x".repeat(padBytes);
  const values = [];
  for (let n = 0; n < docs; n++) {
    values.push({
      component: "",
      table: "events",
      ts: TS0 + BigInt(round),
      deleted: false,
      value: {
        _id: `id${String(n).padStart(8, "0")}`,
        _creationTime: 1.7e12 + n,
        round,
        pad: pad(n) ?? text + n,
      },
    });
  }
  return {
    status: { type: "upToDate", snapshotTs: TS0 + BigInt(round) },
    truncates: [],
    values,
    syncId: "test",
    pagination: { hasMore: false, nextCursor: `c${round}` },
  };
}

/** A fresh warehouse file with the feed started; read it (duckdb.query) only while no target holds it open. */
async function warehouse(settings: DuckdbSettings, onStatement?: (sql: string) => void) {
  const url = await duckdb.fresh();
  const open = () =>
    openChangeTarget(url, SCHEMA, { duckdb: settings, onStatement: (sql) => onStatement?.(sql) });
  const t = await open();
  await t.initialize({
    cursor: "c-start",
    syncId: "test",
    status: "upToDate",
    snapshotTs: 1n,
    appliedAt: new Date(),
    detachedTables: [],
  });
  return { url, target: t, open };
}

async function rounds(url: string) {
  return duckdb.query<{ round: number; n: bigint; bytes: bigint }>(
    url,
    `SELECT round, count(*) AS n, sum(length(pad)) AS bytes FROM "${SCHEMA}".events GROUP BY round ORDER BY round`,
  );
}

async function storedCursor(url: string): Promise<string> {
  const [row] = await duckdb.query<{ cursor: string }>(
    url,
    `SELECT cursor FROM "${SCHEMA}"._convex_sync_state`,
  );
  return row!.cursor;
}

describe("incremental apply on DuckDB within its memory_limit", () => {
  it("applies a 64 MiB page of 4,096 documents of ~16 KiB at the default 64MB limit, then updates them all", async () => {
    const statements: string[] = [];
    const { url, target } = await warehouse(DEFAULT_DUCKDB_SETTINGS, (sql) => statements.push(sql));
    try {
      const [insert] = await applyBatch(target, { fromCursor: "c-start", pages: [page(4096, 16_000, 0)] });
      expect(insert).toMatchObject({ inserted: 4096, updated: 0, deleted: 0 });
      statements.length = 0;
      const [update] = await applyBatch(target, { fromCursor: "c0", pages: [page(4096, 16_000, 1)] });
      expect(update).toMatchObject({ inserted: 0, updated: 4096, deleted: 0 });
      // One transaction for the page, its changes merged in several slices.
      expect(statements.filter((s) => /^(BEGIN|COMMIT|ROLLBACK)/.test(s))).toEqual([
        "BEGIN TRANSACTION",
        "COMMIT",
      ]);
      expect(
        statements.filter((s) => s.startsWith(`INSERT INTO "${SCHEMA}"."events"`)).length,
      ).toBeGreaterThan(1);
    } finally {
      await target.close();
    }
    let bytes = 0n;
    for (let n = 0; n < 4096; n++) bytes += BigInt(16_000 + String(n).length);
    expect(await rounds(url)).toEqual([{ round: 1, n: 4096n, bytes }]);
    expect(await storedCursor(url)).toBe("c1");
  });

  it("rolls the whole batch back when a statement fails after some slices were merged", async () => {
    let failAt: RegExp | null = null;
    let seen = 0;
    const settings = { ...DEFAULT_DUCKDB_SETTINGS, memoryLimit: "16MB" }; // slices of 2 MB: a 4 MiB page is several
    const { url, target, open } = await warehouse(settings, (sql) => {
      if (failAt?.test(sql) && ++seen === 2) throw new Error("injected failure at the second slice's INSERT");
    });
    try {
      await applyBatch(target, { fromCursor: "c-start", pages: [page(1024, 4000, 0)] });
      failAt = new RegExp(`^INSERT INTO "${SCHEMA}"\\."events"`);
      await expect(applyBatch(target, { fromCursor: "c0", pages: [page(1024, 4000, 1)] })).rejects.toThrow(
        /injected failure/,
      );
      expect(seen).toBe(2); // the first slice had been merged when the second failed
    } finally {
      await target.close();
    }
    expect(await rounds(url)).toMatchObject([{ round: 0, n: 1024n }]);
    expect(await storedCursor(url)).toBe("c0");

    failAt = null;
    const again = await open();
    try {
      const [result] = await applyBatch(again, { fromCursor: "c0", pages: [page(1024, 4000, 1)] });
      expect(result).toMatchObject({ inserted: 0, updated: 1024 });
    } finally {
      await again.close();
    }
    expect(await rounds(url)).toMatchObject([{ round: 1, n: 1024n }]);
  });

  it("widens a column of 32 MiB of large values to JSON, each value the import's JSON text", async () => {
    const { url, target } = await warehouse(DEFAULT_DUCKDB_SETTINGS);
    try {
      await applyBatch(target, { fromCursor: "c-start", pages: [page(2048, 16_000, 0)] });
      // One document's pad becomes a number: the column widens to JSON, every old string re-encoded.
      const [widened] = await applyBatch(target, { fromCursor: "c0", pages: [page(1, 0, 1, () => 2.5)] });
      expect(widened).toMatchObject({ updated: 1 });
    } finally {
      await target.close();
    }
    const rows = await duckdb.query<{ id: string; pad: string; type: string }>(
      url,
      `SELECT "_id" AS id, pad::VARCHAR AS pad, typeof(pad) AS type FROM "${SCHEMA}".events WHERE "_id" IN ('id00000000', 'id00002047') ORDER BY 1`,
    );
    const [strings] = await duckdb.query<{ n: bigint }>(
      url,
      `SELECT count(*) AS n FROM "${SCHEMA}".events WHERE pad::VARCHAR = '"' || repeat('x', 16000) || CAST(substr("_id", 3) AS INTEGER)::VARCHAR || '"'`,
    );
    expect(strings).toEqual({ n: 2047n });
    expect(rows).toEqual([
      { id: "id00000000", pad: "2.5", type: "JSON" },
      { id: "id00002047", pad: JSON.stringify("x".repeat(16_000) + 2047), type: "JSON" },
    ]);
  });
});

describe("widening on DuckDB within its memory_limit", () => {
  it("widens a column holding 48 MiB of values at the default 64MB limit, equal to a fresh import", async () => {
    // 48 MiB: past the 32 MiB that an UPDATE of the values could rewrite at 64MB (it failed with Out of Memory).
    const url = await duckdb.fresh();
    const w = await syncedWarehouse(url, (d) =>
      d.transaction((tx) => {
        for (let n = 0; n < 3072; n++)
          void tx.insert("events", { n: BigInt(n), pad: "x".repeat(16_384) + n });
      }),
    );
    try {
      // One document's pad becomes a number: the column widens to JSON, every old string re-encoded.
      w.deployment.transaction((tx) => void tx.insert("events", { n: -1n, pad: 2.5 }));
      const result = await w.sync();
      expect(result.outcome).toBe("upToDate");
      expect(result.tables).toEqual([
        { table: "events", inserted: 1, updated: 0, deleted: 0, truncated: false },
      ]);
      const { warehouse, source } = await w.compareWithSource();
      expect(warehouse.get("events")!.size).toBe(3073);
      expect(warehouse).toEqual(source);
    } finally {
      await w.close();
    }
  });
});

describe("slices of changes", () => {
  it("takes an eighth of the memory_limit as DuckDB reads its units, a fallback for other forms", () => {
    expect(sliceBytesFor("64MB")).toBe(8_000_000);
    expect(sliceBytesFor("1GiB")).toBe(2 ** 27);
    expect(sliceBytesFor(" 512 kb ")).toBe(1 << 18); // at least 256 KiB
    expect(sliceBytesFor("80%")).toBe(8_000_000);
  });

  it("keeps rows in order, each slice within the budget unless one row alone exceeds it", () => {
    const rows: ConvexObject[] = [3, 3, 3, 7, 2, 12, 1].map((n, i) => ({ i, n }));
    const slices = [...byteSlices(rows, (r) => r.n as number, 6)].map((s) => s.map((r) => r.n));
    expect(slices).toEqual([[3, 3], [3], [7], [2], [12], [1]]);
    expect([...byteSlices([], () => 1, 6)]).toEqual([]);
  });
});
