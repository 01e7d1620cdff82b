/**
 * Widening by rebuilding a DuckDB table (duckdbWiden.ts): the widened columns become JSON holding the import's
 * JSON text, everything else about the table stays, and a failure part-way leaves the table as it was.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DuckdbWidener, nextReadRows, WIDENING_PREFIX } from "./duckdbWiden.js";

let instance: DuckDBInstance;
let db: DuckDBConnection;

beforeEach(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "widen-"));
  instance = await DuckDBInstance.create(path.join(dir, "w.duckdb"), { memory_limit: "64MB", threads: "1" });
  db = await instance.connect();
  await db.run(
    `CREATE SCHEMA s; CREATE TABLE s.t ("_id" VARCHAR NOT NULL, x DOUBLE, "Note" VARCHAR DEFAULT 'n/a', ` +
      `b BLOB, k BIGINT NOT NULL); CREATE VIEW s.v AS SELECT "_id", x FROM s.t`,
  );
  // 100 rows, so that the copy takes several reads (the first reads 16 rows).
  await db.run(
    `INSERT INTO s.t SELECT 'id' || lpad(i::VARCHAR, 3, '0'), CASE WHEN i % 10 = 0 THEN NULL ELSE i / 10 END, ` +
      `'note ' || i, CASE WHEN i = 1 THEN '\\x00\\xFF'::BLOB END, i FROM range(100) r(i)`,
  );
  await db.run(`UPDATE s.t SET x = '-0.0'::DOUBLE WHERE "_id" = 'id002'`);
  await db.run(`UPDATE s.t SET x = 0.1::DOUBLE + 0.2::DOUBLE WHERE "_id" = 'id003'`);
});

afterEach(() => {
  db.closeSync();
  instance.closeSync();
});

async function rows<T>(sql: string): Promise<T[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as T[];
}

const columnsOf = () =>
  rows<{ name: string; type: string; nullable: boolean; dflt: string | null }>(
    `SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS dflt ` +
      `FROM duckdb_columns() WHERE schema_name = 's' AND table_name = 't' ORDER BY column_index`,
  );

function widener(onStatement: (sql: string) => void = () => {}) {
  return new DuckdbWidener(
    db,
    async (sql) => {
      onStatement(sql);
      return (await db.run(sql)).rowsChanged;
    },
    onStatement,
    400, // bytes per read: several reads of these small rows
  );
}

describe("widening a DuckDB table by rebuilding it", () => {
  it("turns the widened columns into JSON text as the import writes it, keeping every other column as it was", async () => {
    const before = await columnsOf();
    const statements: string[] = [];
    await db.run("BEGIN TRANSACTION");
    await widener((sql) => statements.push(sql)).rebuild("s", "t", ["x", "b"], false);
    await db.run("COMMIT");

    expect(await columnsOf()).toEqual(
      before.map((c) => (c.name === "x" || c.name === "b" ? { ...c, type: "JSON" } : c)),
    );
    expect(statements.filter((s) => s.startsWith("SELECT") && s.includes("rowid >=")).length).toBeGreaterThan(
      2,
    );
    const got = await rows<{ id: string; x: string | null; note: string; b: string | null; k: bigint }>(
      `SELECT "_id" AS id, x::VARCHAR AS x, "Note" AS note, b::VARCHAR AS b, k FROM s.t ORDER BY 1`,
    );
    expect(got).toHaveLength(100);
    expect(got.slice(0, 4)).toEqual([
      { id: "id000", x: null, note: "note 0", b: null, k: 0n },
      { id: "id001", x: "0.1", note: "note 1", b: '{"$bytes":"AP8="}', k: 1n },
      { id: "id002", x: "-0.0", note: "note 2", b: null, k: 2n },
      { id: "id003", x: "0.30000000000000004", note: "note 3", b: null, k: 3n },
    ]);
    expect(got[99]).toEqual({ id: "id099", x: "9.9", note: "note 99", b: null, k: 99n });
    // The view binds by name: it reads the rebuilt table; the old one is gone; NOT NULL and DEFAULT still hold.
    expect(await rows(`SELECT count(*)::INTEGER AS n FROM s.v WHERE x IS NOT NULL`)).toEqual([{ n: 90 }]);
    expect(
      await rows(`SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '${WIDENING_PREFIX}%'`),
    ).toEqual([]);
    await expect(db.run(`INSERT INTO s.t ("_id") VALUES ('z')`)).rejects.toThrow(/NOT NULL/);
    await db.run(`INSERT INTO s.t ("_id", k) VALUES ('z', 1)`);
    expect(await rows(`SELECT "Note" AS note FROM s.t WHERE "_id" = 'z'`)).toEqual([{ note: "n/a" }]);
  });

  it("copies no row of a table the batch truncates", async () => {
    await db.run("BEGIN TRANSACTION");
    await widener().rebuild("s", "t", ["x"], true);
    await db.run("COMMIT");
    expect(await rows(`SELECT count(*)::INTEGER AS n FROM s.t`)).toEqual([{ n: 0 }]);
    expect((await columnsOf()).find((c) => c.name === "x")?.type).toBe("JSON");
  });

  it("leaves the table as it was when the copy fails part-way and the transaction rolls back", async () => {
    const before = await columnsOf();
    let reads = 0;
    await db.run("BEGIN TRANSACTION");
    await expect(
      widener((sql) => {
        if (sql.includes("rowid >=") && ++reads === 3) throw new Error("injected failure at the third read");
      }).rebuild("s", "t", ["x"], false),
    ).rejects.toThrow(/injected/);
    await db.run("ROLLBACK");
    expect(await columnsOf()).toEqual(before);
    expect(await rows(`SELECT count(*)::INTEGER AS n, sum(k)::INTEGER AS k FROM s.t`)).toEqual([
      { n: 100, k: 4950 },
    ]);
    expect(await rows(`SELECT x FROM s.t WHERE "_id" = 'id003'`)).toEqual([{ x: 0.1 + 0.2 }]);
  });
});

describe("rows per read", () => {
  it("scales the next read to the budget by the last read's bytes, at most doubling and at most one chunk", () => {
    expect(nextReadRows(16, 16 * 16_000, 8_000_000)).toBe(32); // doubling at most
    expect(nextReadRows(512, 512 * 16_000, 8_000_000)).toBe(500);
    expect(nextReadRows(1500, 1500 * 10, 8_000_000)).toBe(2048);
    expect(nextReadRows(16, 16 * 2_000_000, 8_000_000)).toBe(4);
    expect(nextReadRows(1, 50_000_000, 8_000_000)).toBe(1);
    expect(nextReadRows(16, 0, 8_000_000)).toBe(32); // a range of deleted rowids
  });
});
