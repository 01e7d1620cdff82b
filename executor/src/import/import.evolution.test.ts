import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets, uniqueSchema } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "./index.js";
import type { ConvexObject } from "./values.js";

const doc = (n: number, fields: Record<string, unknown>) =>
  ({ _creationTime: 1.7e12 + n, _id: fakeId(n), ...fields }) as ConvexObject;

async function columnTypes(
  target: ReturnType<typeof testTargets>[number],
  url: string,
  schema: string,
  table: string,
) {
  const rows = await target.query<{ convex_field: string; sql_column: string; sql_type: string }>(
    url,
    `SELECT convex_field, sql_column, sql_type FROM "${schema}"._convex_columns WHERE sql_table = '${table}' ORDER BY ordinal_position`,
  );
  return rows.map((r) => `${r.convex_field}->${r.sql_column}:${r.sql_type}`);
}

for (const target of testTargets()) {
  describe(`schema changes between and within loads (${target.name})`, () => {
    it("adds new fields, widens changed types, keeps vanished fields as NULL columns, and re-imports identically", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const first = await tempSnapshot([
        { name: "items", docs: [doc(1, { a: 1n, gone: "x" }), doc(2, { a: 2n })] },
      ]);
      await importSnapshot({ snapshotPath: first, target: url, schema });
      const again = await importSnapshot({ snapshotPath: first, target: url, schema });
      expect(again.totalRows).toBe(2);
      const t = target.sqlType;
      expect(await columnTypes(target, url, schema, "items")).toEqual([
        `_id->_id:${t("id")}`,
        `_creationTime->_creationTime:${t("float64")}`,
        `_creationTimeUtc->_creationTimeUtc:${t("timestamp")}`,
        `a->a:${t("int64")}`,
        `gone->gone:${t("unset")}`,
      ]);

      const second = await tempSnapshot([
        { name: "items", docs: [doc(1, { a: "one", added: true }), doc(3, { a: 3n })] },
      ]);
      await importSnapshot({ snapshotPath: second, target: url, schema });
      expect(await columnTypes(target, url, schema, "items")).toEqual([
        `_id->_id:${t("id")}`,
        `_creationTime->_creationTime:${t("float64")}`,
        `_creationTimeUtc->_creationTimeUtc:${t("timestamp")}`,
        `a->a:${t("json")}`,
        `gone->gone:${t("unset")}`,
        `added->added:${t("boolean")}`,
      ]);
      const rows = await target.query(
        url,
        `SELECT ${target.text("a")} AS a, gone, added FROM "${schema}".items ORDER BY "_id"`,
      );
      expect(rows).toEqual([
        { a: '"one"', gone: null, added: true },
        { a: "3", gone: null, added: null },
      ]);
    });

    it("restarts a table's load when a field changes type after the planned sample, losing nothing", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const docs = Array.from({ length: 5000 }, (_, i) =>
        doc(i, { v: i === 4500 ? "text now" : BigInt(i), late: i >= 4000 ? i * 0.5 : null }),
      );
      const zip = await tempSnapshot([{ name: "big", docs }]);
      const result = await importSnapshot({ snapshotPath: zip, target: url, schema });
      expect(result.totalRows).toBe(5000);
      const t = target.sqlType;
      expect(await columnTypes(target, url, schema, "big")).toEqual([
        `_id->_id:${t("id")}`,
        `_creationTime->_creationTime:${t("float64")}`,
        `_creationTimeUtc->_creationTimeUtc:${t("timestamp")}`,
        `v->v:${t("json")}`,
        `late->late:${t("float64")}`,
      ]);
      const [row] = await target.query<{ n: number; texts: number; lates: number; sum: number }>(
        url,
        `SELECT CAST(count(*) AS INT) AS n,
                CAST(SUM(CASE WHEN ${target.text("v")} LIKE '"%' THEN 1 ELSE 0 END) AS INT) AS texts,
                CAST(count(late) AS INT) AS lates, CAST(sum(late) AS DOUBLE PRECISION) AS sum
           FROM "${schema}".big`,
      );
      expect(row).toEqual({
        n: 5000,
        texts: 1,
        lates: 1000,
        sum: Array.from({ length: 1000 }, (_, i) => (4000 + i) * 0.5).reduce((a, b) => a + b),
      });
    });

    it("keeps analysts' views working: a table that views depend on is refilled in place", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const views = uniqueSchema("views");
      const first = await tempSnapshot([
        { name: "orders", docs: [doc(1, { total: 1.5, qty: 1n }), doc(2, { total: 2.5, qty: 2n })] },
      ]);
      await importSnapshot({ snapshotPath: first, target: url, schema });
      await target.query(url, `CREATE SCHEMA "${views}"`);
      await target.query(
        url,
        `CREATE VIEW "${views}".big_orders AS SELECT "_id", total FROM "${schema}".orders WHERE total > 2`,
      );
      const second = await tempSnapshot([
        {
          name: "orders",
          docs: [doc(1, { total: 9.5, qty: "many", note: "new field" }), doc(3, { total: 0.5, qty: 3n })],
        },
      ]);
      await importSnapshot({ snapshotPath: second, target: url, schema });
      expect(await target.query(url, `SELECT "_id", total FROM "${views}".big_orders`)).toEqual([
        { _id: fakeId(1), total: 9.5 },
      ]);
      expect(
        await target.query(
          url,
          `SELECT ${target.text("qty")} AS qty, note FROM "${schema}".orders ORDER BY "_id"`,
        ),
      ).toEqual([
        { qty: '"many"', note: "new field" },
        { qty: "3", note: null },
      ]);
      expect((await columnTypes(target, url, schema, "orders")).slice(3)).toEqual([
        `total->total:${target.sqlType("float64")}`,
        `qty->qty:${target.sqlType("json")}`,
        `note->note:${target.sqlType("string")}`,
      ]);
      const [staging] = await target.query<{ n: number }>(url, target.stagingCountSql(schema));
      expect(staging!.n).toBe(0);
      if (target.name === "postgres") await target.query(url, `DROP SCHEMA "${views}" CASCADE`);
    });

    it("leaves tables that are no longer in the snapshot as they were", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      await importSnapshot({
        snapshotPath: await tempSnapshot([
          { name: "kept", docs: [doc(1, { v: "old" })] },
          { name: "dropped", docs: [doc(2, { v: "old" })] },
        ]),
        target: url,
        schema,
      });
      await importSnapshot({
        snapshotPath: await tempSnapshot([{ name: "kept", docs: [doc(1, { v: "new" })] }]),
        target: url,
        schema,
      });
      expect(await target.query(url, `SELECT v FROM "${schema}".kept`)).toEqual([{ v: "new" }]);
      expect(await target.query(url, `SELECT v FROM "${schema}".dropped`)).toEqual([{ v: "old" }]);
      expect(
        (await target.query<{ t: string }>(url, `SELECT convex_table AS t FROM "${schema}"._convex_tables`))
          .map((r) => r.t)
          .sort(),
      ).toEqual(["dropped", "kept"]);
    });

    it("gives a field that is only ever null a text column", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const zip = await tempSnapshot([{ name: "t", docs: [doc(1, { nothing: null }), doc(2, {})] }]);
      await importSnapshot({ snapshotPath: zip, target: url, schema });
      expect((await columnTypes(target, url, schema, "t")).at(-1)).toBe(
        `nothing->nothing:${target.sqlType("unset")}`,
      );
    });
  });
}
