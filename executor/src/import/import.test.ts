import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeId, writeSnapshotZip, type FixtureTable } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets, uniqueSchema } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "./index.js";
import type { ConvexObject } from "./values.js";

async function tmpZip(tables: FixtureTable[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "snap-"));
  const file = path.join(dir, "snapshot_happy-animal-123_1745162191687970000.zip");
  await writeSnapshotZip(file, tables);
  return file;
}

const t0 = 1745162191687.9707;
function doc(n: number, fields: Record<string, unknown>): ConvexObject {
  return { _creationTime: t0 + n, _id: fakeId(n), ...fields } as ConvexObject;
}

for (const target of testTargets()) {
  describe(`import into ${target.name}`, () => {
    it("maps every Convex type to its column type, exactly", async () => {
      const zip = await tmpZip([
        {
          name: "users",
          docs: [
            doc(1, {
              name: "Ada",
              age: 36n,
              big: 9223372036854775807n,
              small: -9223372036854775808n,
              score: 1.5,
              active: true,
              avatar: Buffer.from([0, 1, 2, 255]),
              tags: ["a", "b"],
              address: { city: "Rome", zip: 100n },
            }),
            doc(2, { name: "Bob", age: 41n, score: -0, active: false, tags: [] }),
          ],
        },
      ]);
      const schema = uniqueSchema();
      const url = await target.fresh();
      const result = await importSnapshot({ snapshotPath: zip, target: url, schema });
      expect(result.totalRows).toBe(2);
      expect(result.snapshotTs).toBe("1745162191687970000");
      const rows = await target.query<Record<string, unknown>>(
        url,
        `SELECT "_id", "_creationTime", "_creationTimeUtc", name, ${target.text("age")} AS age,
                ${target.text("big")} AS big, ${target.text("small")} AS small, score, active,
                ${target.hexSql("avatar")} AS avatar, ${target.text("tags")} AS tags,
                ${target.text("address")} AS address
           FROM "${schema}".users ORDER BY name`,
      );
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({
        _id: fakeId(1),
        _creationTime: t0 + 1,
        name: "Ada",
        age: "36",
        big: "9223372036854775807",
        small: "-9223372036854775808",
        score: 1.5,
        active: true,
        avatar: "000102ff",
      });
      // The JSON text itself differs by target (jsonb re-formats it; DuckDB's JSON keeps the text as written).
      expect(JSON.parse(rows[0]!.tags as string)).toEqual(["a", "b"]);
      expect(JSON.parse(rows[0]!.address as string)).toEqual({ city: "Rome", zip: 100 });
      expect(new Date(rows[0]!._creationTimeUtc as string).toISOString()).toBe("2025-04-20T15:16:31.688Z");
      expect(Object.is(rows[1]!.score, -0)).toBe(true);
      expect(rows[1]).toMatchObject({ big: null, avatar: null, address: null });
      expect(JSON.parse(rows[1]!.tags as string)).toEqual([]);

      const columns = await target.query<{ convex_field: string; sql_type: string }>(
        url,
        `SELECT convex_field, sql_type FROM "${schema}"._convex_columns WHERE sql_table = 'users' ORDER BY ordinal_position`,
      );
      const t = target.sqlType;
      expect(Object.fromEntries(columns.map((c) => [c.convex_field, c.sql_type]))).toEqual({
        _id: t("id"),
        _creationTime: t("float64"),
        _creationTimeUtc: t("timestamp"),
        name: t("string"),
        age: t("int64"),
        big: t("int64"),
        small: t("int64"),
        score: t("float64"),
        active: t("boolean"),
        avatar: t("bytes"),
        tags: t("json"),
        address: t("json"),
      });
      const tables = await target.query(
        url,
        `SELECT convex_table, component, sql_table, CAST(row_count AS INT) AS row_count,
                ${target.text("snapshot_ts")} AS snapshot_ts FROM "${schema}"._convex_tables`,
      );
      expect(tables).toEqual([
        {
          convex_table: "users",
          component: "",
          sql_table: "users",
          row_count: 2,
          snapshot_ts: "1745162191687970000",
        },
      ]);
    });
  });
}

describe("warehouse inventory and the PGlite lock", () => {
  it("lists loaded tables with live row counts, and keeps a second process out of a PGlite warehouse", async () => {
    const { listLoadedTables } = await import("./inventory.js");
    const { writeFile } = await import("node:fs/promises");
    const dir = await mkdtemp(path.join(os.tmpdir(), "inventory-"));
    const zip = await tmpZip([
      { name: "a", docs: [doc(1, {}), doc(2, {})] },
      { name: "b", component: "chat", docs: [doc(3, {})] },
    ]);
    await importSnapshot({ snapshotPath: zip, target: `pglite:${dir}` });
    const tables = await listLoadedTables(`pglite:${dir}`);
    expect(tables.map((t) => [t.table, t.sqlTable, t.rows, t.snapshotTs])).toEqual([
      ["a", "a", 2, "1745162191687970000"],
      ["chat/b", "chat__b", 1, "1745162191687970000"],
    ]);
    await writeFile(path.join(dir, ".convex-warehouse-sync.lock"), String(process.ppid));
    await expect(listLoadedTables(`pglite:${dir}`)).rejects.toThrow(`is in use by process ${process.ppid}`);
    await writeFile(path.join(dir, ".convex-warehouse-sync.lock"), "999999999");
    expect(await listLoadedTables(`pglite:${dir}`)).toHaveLength(2);
  });
});
