/**
 * Snapshot syncs into a schema the feed applies to, where a view depends on a table: PostgreSQL and PGlite then
 * refill the table in place (import/load/postgres/replace.ts: TRUNCATE, ALTER, INSERT) instead of replacing it,
 * so its columns stay, `_ts` and those of fields the source dropped among them. The feed must resume after such
 * a snapshot (startAfterSnapshot) and the warehouse equal the source row by row. DuckDB always replaces the table
 * (its views bind by name); SQL Server (MSSQL_URL) refills in place like PostgreSQL, UNVERIFIED here. On every
 * target an analyst's column under a field's future name is reused when the field arrives.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { testTargets } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "../import/index.js";
import { openChangeTarget } from "./openTarget.js";
import { startAfterSnapshot } from "./run.js";
import { syncedWarehouse, type SyncedWarehouse } from "./testing.js";

async function snapshotSync(w: SyncedWarehouse): Promise<void> {
  const ts = w.deployment.latestTs;
  const zip = path.join(await mkdtemp(path.join(os.tmpdir(), "refill-")), `snapshot_x_${ts}.zip`);
  await w.deployment.writeSnapshotZip(zip, ts);
  await importSnapshot({ snapshotPath: zip, target: w.url, schema: w.schema, snapshotTs: ts.toString() });
  const t = await openChangeTarget(w.url, w.schema);
  try {
    await startAfterSnapshot(t, w.feed, ts);
  } finally {
    await t.close();
  }
}

for (const target of testTargets()) {
  const query = <T>(url: string, sql: string) => target.query<T>(url, sql);
  const recordedFields = async (url: string, schema: string) =>
    (
      await query<{ f: string }>(
        url,
        `SELECT convex_field AS f FROM "${schema}"._convex_columns WHERE sql_table = 'users' ORDER BY 1`,
      )
    ).map((c) => c.f);

  describe(`incremental sync around a table a view keeps (${target.name})`, () => {
    it("resumes after a snapshot sync refilled the table: the mapping still records _ts and a dropped field", async () => {
      const url = await target.fresh();
      const ids: Record<string, string> = {};
      const w = await syncedWarehouse(url, (d) =>
        d.transaction((tx) => {
          ids.ada = tx.insert("users", { name: "Ada", n: 1n, old: "x" });
          ids.bob = tx.insert("users", { name: "Bob", n: 2n, old: "y" });
        }),
      );
      try {
        w.deployment.transaction((tx) => {
          tx.patch(ids.ada!, { n: 10n });
          ids.cy = tx.insert("users", { name: "Cy", n: 3n, old: "z" });
        });
        expect((await w.sync()).outcome).toBe("upToDate");
        // SELECT * binds every column the table has now, `_ts` included: none of them may be altered later.
        const view = `"${w.schema}".users_view`;
        await query(url, `CREATE VIEW ${view} AS SELECT * FROM "${w.schema}".users`);

        // The source drops the field `old` from every document, then a snapshot sync reloads the schema.
        w.deployment.transaction((tx) => {
          tx.replace(ids.ada!, { name: "Ada", n: 11n });
          tx.replace(ids.bob!, { name: "Bob", n: 2n });
          tx.delete(ids.cy!);
        });
        await snapshotSync(w);
        // The import plans from the prior mapping, so the columns it keeps stay recorded: one source of truth.
        expect(await recordedFields(url, w.schema)).toEqual(
          expect.arrayContaining(["_ts", "old", "n", "name"]),
        );

        w.deployment.transaction((tx) => {
          tx.patch(ids.bob!, { n: 20n });
          ids.dee = tx.insert("users", { name: "Dee", n: 4n });
        });
        const resumed = await w.sync();
        expect(resumed.outcome).toBe("upToDate");
        expect(resumed.tables).toEqual([
          { table: "users", inserted: 1, updated: 1, deleted: 0, truncated: false },
        ]);
        const { warehouse, source } = await w.compareWithSource();
        expect(warehouse).toEqual(source);
        expect(warehouse.get("users")!.get(ids.bob!)!.n).toBe("20");
        const viewed = await query<{ name: string }>(url, `SELECT name FROM ${view} ORDER BY name`);
        expect(viewed.map((r) => r.name)).toEqual(["Ada", "Bob", "Dee"]);
      } finally {
        await w.close();
      }
    });

    it("resumes after the mapping tables were dropped and a snapshot sync refilled the table, keeping _ts and old columns unrecorded", async () => {
      const url = await target.fresh();
      const ids: Record<string, string> = {};
      const w = await syncedWarehouse(url, (d) =>
        d.transaction((tx) => {
          ids.ada = tx.insert("users", { name: "Ada", old: "x" });
          ids.bob = tx.insert("users", { name: "Bob", old: "y" });
        }),
      );
      try {
        w.deployment.transaction((tx) => tx.patch(ids.ada!, { name: "Ada L." }));
        expect((await w.sync()).outcome).toBe("upToDate");
        await query(url, `CREATE VIEW "${w.schema}".users_view AS SELECT _id, name FROM "${w.schema}".users`);
        // An operator starts the schema's bookkeeping over; the data tables (and the view) stay.
        await query(url, `DROP TABLE "${w.schema}"._convex_columns`);
        await query(url, `DROP TABLE "${w.schema}"._convex_tables`);
        w.deployment.transaction((tx) => {
          tx.replace(ids.ada!, { name: "Ada" });
          tx.replace(ids.bob!, { name: "Bob" });
        });
        await snapshotSync(w);
        expect(await recordedFields(url, w.schema)).not.toContain("_ts");

        // The field comes back, and the feed brings `_ts`: both columns are there already where the table was kept.
        w.deployment.transaction((tx) => {
          tx.patch(ids.bob!, { old: "again" });
          ids.cy = tx.insert("users", { name: "Cy" });
        });
        const resumed = await w.sync();
        expect(resumed.outcome).toBe("upToDate");
        expect(resumed.tables).toEqual([
          { table: "users", inserted: 1, updated: 1, deleted: 0, truncated: false },
        ]);
        const { warehouse, source } = await w.compareWithSource();
        expect(warehouse).toEqual(source);
        expect(await recordedFields(url, w.schema)).toEqual(expect.arrayContaining(["_ts", "old"]));
      } finally {
        await w.close();
      }
    });

    // On DuckDB, whose snapshot loads replace the table, only an analyst's column leads here.
    it("empties and retypes a column an analyst added under a field's future name when the field arrives", async () => {
      const url = await target.fresh();
      const ids: Record<string, string> = {};
      const w = await syncedWarehouse(url, (d) =>
        d.transaction((tx) => {
          ids.ada = tx.insert("users", { name: "Ada" });
          ids.bob = tx.insert("users", { name: "Bob" });
        }),
      );
      try {
        const users = `"${w.schema}".users`;
        // PostgreSQL's and DuckDB's reuse also lift NOT NULL; the SQL Server target's does not (mssqlTable.ts).
        await query(url, `ALTER TABLE ${users} ADD score VARCHAR(20)`);
        if (target.name === "mssql") await query(url, `ALTER TABLE ${users} ADD rank BIGINT`);
        else if (target.name === "duckdb") {
          // DuckDB adds no column with a constraint ("not yet supported"): NOT NULL after.
          await query(url, `ALTER TABLE ${users} ADD rank BIGINT DEFAULT 0`);
          await query(url, `ALTER TABLE ${users} ALTER COLUMN rank SET NOT NULL`);
        } else await query(url, `ALTER TABLE ${users} ADD rank BIGINT NOT NULL DEFAULT 0`);
        await query(url, `UPDATE ${users} SET score = 'analyst', rank = 7`);
        w.deployment.transaction((tx) => tx.patch(ids.ada!, { score: 5n, rank: 1n }));
        const result = await w.sync();
        expect(result.outcome).toBe("upToDate");
        const { warehouse, source } = await w.compareWithSource();
        expect(warehouse).toEqual(source); // Bob's score and rank are NULL like the source's absent fields
        expect(warehouse.get("users")!.get(ids.ada!)).toMatchObject({ score: "5", rank: "1" });
        const types = await query<{ f: string; t: string }>(
          url,
          `SELECT convex_field AS f, sql_type AS t FROM "${w.schema}"._convex_columns WHERE convex_field IN ('score', 'rank') ORDER BY 1`,
        );
        expect(types).toEqual([
          { f: "rank", t: target.sqlType("int64") },
          { f: "score", t: target.sqlType("int64") },
        ]);
      } finally {
        await w.close();
      }
    });
  });
}
