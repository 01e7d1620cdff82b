import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets, uniqueSchema } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "./index.js";
import { shortHash } from "./mapping/names.js";
import type { ConvexObject } from "./values.js";

const doc = (n: number, fields: Record<string, unknown>) =>
  ({ _creationTime: 1.7e12 + n, _id: fakeId(n), ...fields }) as ConvexObject;

const HOSTILE_FIELDS = [
  "we]ird",
  'quo"te',
  "it's",
  "semi;colon",
  "dash--dash",
  "with space",
  "dot.ted",
  "ünïcødé✓",
  "Name",
  "name",
];

for (const target of testTargets()) {
  describe(`names: components, hostile and colliding names (${target.name})`, () => {
    it("quotes every hostile field name and renames case-insensitive collisions deterministically", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const fields = Object.fromEntries(HOSTILE_FIELDS.map((f, i) => [f, `value ${i}`]));
      const zip = await tempSnapshot([{ name: "hostile", docs: [doc(1, fields)] }]);
      await importSnapshot({ snapshotPath: zip, target: url, schema });
      const mapping = await target.query<{ convex_field: string; sql_column: string }>(
        url,
        `SELECT convex_field, sql_column FROM "${schema}"._convex_columns WHERE sql_table = 'hostile'`,
      );
      const byField = Object.fromEntries(mapping.map((m) => [m.convex_field, m.sql_column]));
      for (const f of HOSTILE_FIELDS.filter((f) => f !== "name")) expect(byField[f]).toBe(f);
      expect(byField.name).toBe(`name__${shortHash("name")}`);
      const quoted = HOSTILE_FIELDS.map((f) => `"${(byField[f] ?? "").replace(/"/g, '""')}"`).join(", ");
      const [row] = await target.query<Record<string, string>>(
        url,
        `SELECT ${quoted} FROM "${schema}".hostile`,
      );
      expect(Object.values(row!)).toEqual(HOSTILE_FIELDS.map((_, i) => `value ${i}`));
    });

    it("names component tables <path joined by __>__<table> and renames table names that collide ignoring case", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const zip = await tempSnapshot([
        { name: "Users", docs: [doc(1, { a: 1n })] },
        { name: "users", docs: [doc(2, { b: 2n })] },
        { name: "messages", component: "chat", docs: [doc(3, { text: "hi" })] },
        { name: "jobs", component: "chat/workpool", docs: [doc(4, { n: 4n })] },
      ]);
      const result = await importSnapshot({ snapshotPath: zip, target: url, schema });
      expect(Object.fromEntries(result.tables.map((t) => [t.table, t.sqlTable]))).toEqual({
        Users: "Users",
        users: `users__${shortHash("users")}`,
        "chat/messages": "chat__messages",
        "chat/workpool/jobs": "chat__workpool__jobs",
      });
      const meta = await target.query<{ sql_table: string }>(
        url,
        `SELECT component, convex_table, sql_table FROM "${schema}"._convex_tables`,
      );
      expect(meta.sort((a, b) => (a.sql_table < b.sql_table ? -1 : 1))).toEqual([
        { component: "", convex_table: "Users", sql_table: "Users" },
        { component: "chat", convex_table: "messages", sql_table: "chat__messages" },
        { component: "chat/workpool", convex_table: "jobs", sql_table: "chat__workpool__jobs" },
        { component: "", convex_table: "users", sql_table: `users__${shortHash("users")}` },
      ]);
      const only = await importSnapshot({
        snapshotPath: zip,
        target: url,
        schema,
        tables: ["chat/workpool/jobs"],
      });
      expect(only.tables.map((t) => t.sqlTable)).toEqual(["chat__workpool__jobs"]);
    });

    it("keeps names within the identifier limit with a hash suffix", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const long = "f".repeat(300);
      const zip = await tempSnapshot([{ name: "t", docs: [doc(1, { [long]: 1n })] }]);
      await importSnapshot({ snapshotPath: zip, target: url, schema });
      const [m] = await target.query<{ sql_column: string }>(
        url,
        `SELECT sql_column FROM "${schema}"._convex_columns WHERE convex_field = '${long}'`,
      );
      expect(m!.sql_column).toBe(`${"f".repeat(target.identifierMaxLength - 10)}__${shortHash(long)}`);
    });

    it("keeps unicode, special floats and nested values exactly", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const zip = await tempSnapshot([
        {
          name: "vals",
          docs: [
            doc(1, {
              s: "日本語 🎉 \t tab \n newline \\ backslash",
              f: Number.NaN,
              nested: {
                big: 9007199254740993n,
                bytes: Buffer.from("hi"),
                inf: Infinity,
                list: [1.0, -0, 2n],
              },
            }),
            doc(2, { f: Infinity }),
            doc(3, { f: -Infinity }),
          ],
        },
      ]);
      await importSnapshot({ snapshotPath: zip, target: url, schema });
      const rows = await target.query<{ s: string | null; f: number; nested: string | null }>(
        url,
        `SELECT s, f, ${target.text("nested")} AS nested FROM "${schema}".vals ORDER BY "_creationTime"`,
      );
      expect(rows[0]!.s).toBe("日本語 🎉 \t tab \n newline \\ backslash");
      if (target.nonFiniteFloatsAsJson)
        expect(rows.map((r) => JSON.parse(String(r.f)))).toEqual(
          ["AAAAAAAA+H8=", "AAAAAAAA8H8=", "AAAAAAAA8P8="].map(($float) => ({ $float })),
        );
      else expect(rows.map((r) => r.f)).toEqual([Number.NaN, Infinity, -Infinity]);
      expect(JSON.parse(rows[0]!.nested!)).toEqual({
        big: 9007199254740992, // JSON.parse here rounds; the exact text is checked below
        bytes: { $bytes: "aGk=" },
        inf: { $float: "AAAAAAAA8H8=" },
        list: [1.0, target.jsonKeepsNegativeZero ? -0 : { $float: "AAAAAAAAAIA=" }, 2],
      });
      if (target.jsonKeepsNegativeZero) expect(rows[0]!.nested).toContain("-0.0");
      expect(rows[0]!.nested).toContain("9007199254740993");
    });
  });
}
