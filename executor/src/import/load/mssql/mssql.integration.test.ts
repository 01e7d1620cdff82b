/**
 * The import engine against a real SQL Server. Runs only when MSSQL_URL is set (e.g.
 * MSSQL_URL='mssql://sa:Passw0rd!@localhost:1433/test?trustServerCertificate=true'); otherwise skipped,
 * saying so. Nothing in this file has run against a server while it was written (none was reachable): its
 * assertions state what the dialect expects of SQL Server (UNVERIFIED until this suite has run on one).
 */
import sql from "mssql";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../../../test/fixtures/snapshot-zip.js";
import { uniqueSchema } from "../../../../../test/fixtures/targets.js";
import { importSnapshot, SnapshotFormatError } from "../../index.js";
import { openTarget } from "../open.js";
import { parseTarget } from "../target.js";
import { mssqlPoolConfig } from "./config.js";
import type { ConvexObject } from "../../values.js";

const url = process.env.MSSQL_URL;
if (!url)
  console.warn(
    "[tests] MSSQL_URL not set: SQL Server integration tests skipped (SQL Server behaviour unverified)",
  );

const doc = (n: number, fields: Record<string, unknown>) =>
  ({ _creationTime: 1745162191687.9707 + n, _id: fakeId(n), ...fields }) as ConvexObject;

async function query<T>(text: string): Promise<T[]> {
  const spec = parseTarget(url!);
  if (spec.kind !== "mssql") throw new Error("MSSQL_URL must be a SQL Server target");
  const pool = await new sql.ConnectionPool(
    mssqlPoolConfig(spec.connection, { connectionTimeoutMs: 30_000, requestTimeoutMs: 60_000 }),
  ).connect();
  try {
    return (await pool.request().query<T>(text)).recordset;
  } finally {
    await pool.close();
  }
}

describe.skipIf(!url)("import into SQL Server", () => {
  it("maps types exactly, stores NaN as JSON text, and swaps atomically", async () => {
    const schema = uniqueSchema();
    const zip = await tempSnapshot([
      {
        name: "users",
        docs: [
          doc(1, {
            name: "Ada",
            big: 9223372036854775807n,
            score: 1.5,
            ok: true,
            blob: Buffer.from([0, 255]),
            tags: ["a"],
            f: 2.5,
          }),
          doc(2, { name: "Bob", big: -9223372036854775808n, ok: false, f: Number.NaN }),
        ],
      },
      { name: "messages", component: "chat", docs: [doc(3, { "we]ird": "x" })] },
    ]);
    const result = await importSnapshot({ snapshotPath: zip, target: url!, schema });
    expect(result.totalRows).toBe(3);
    const rows = await query<Record<string, unknown>>(
      `SELECT name, CAST(big AS varchar(30)) AS big, score, ok, blob, tags, f FROM [${schema}].[users] ORDER BY name`,
    );
    expect(rows[0]).toMatchObject({
      name: "Ada",
      big: "9223372036854775807",
      score: 1.5,
      ok: true,
      tags: '["a"]',
      f: "2.5",
    });
    expect(rows[1]).toMatchObject({ big: "-9223372036854775808", f: '{"$float":"AAAAAAAA+H8="}' });
    const [weird] = await query<Record<string, unknown>>(
      `SELECT [we]]ird] AS w FROM [${schema}].[chat__messages]`,
    );
    expect(weird!.w).toBe("x");
    // The bulk load's column metadata named the column as it is (`we]ird`), not escaped (`we]]ird`).
    const names = await query<{ name: string }>(
      `SELECT c.name FROM sys.columns c WHERE c.object_id = OBJECT_ID(N'[${schema}].[chat__messages]') AND c.name LIKE N'we%'`,
    );
    expect(names.map((n) => n.name)).toEqual(["we]ird"]);

    const bad = await tempSnapshot([
      { name: "users", docs: [doc(1, { name: "Changed" })] },
      { name: "messages", component: "chat", rawDocuments: "{not json\n" },
    ]);
    await expect(importSnapshot({ snapshotPath: bad, target: url!, schema })).rejects.toBeInstanceOf(
      SnapshotFormatError,
    );
    const after = await query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM [${schema}].[users] WHERE name = 'Changed'`,
    );
    expect(after[0]!.n).toBe(0);
  });

  it("keeps -0, joins ids with reference fields, and keeps Convex tables differing only in case apart", async () => {
    const schema = uniqueSchema();
    const zip = await tempSnapshot([
      { name: "Users", docs: [doc(1, { name: "Ada", z: -0 })] },
      { name: "users", docs: [doc(2, { name: "ada" })] },
      { name: "messages", docs: [doc(3, { userId: fakeId(1), text: "hi" })] },
    ]);
    await importSnapshot({ snapshotPath: zip, target: url!, schema });
    const [z] = await query<{ z: number }>(`SELECT z FROM [${schema}].[Users]`);
    expect(Object.is(z!.z, -0)).toBe(true);
    const [joined] = await query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM [${schema}].[Users] u JOIN [${schema}].[messages] m ON u._id = m.userId`,
    );
    expect(joined!.n).toBe(1);
    const mapped = await query<{ convex_table: string }>(
      `SELECT convex_table FROM [${schema}].[_convex_tables] ORDER BY convex_table`,
    );
    expect(mapped.map((m) => m.convex_table)).toEqual(["Users", "messages", "users"]);
    await importSnapshot({ snapshotPath: zip, target: url!, schema });
    const again = await query<{ n: number }>(`SELECT COUNT(*) AS n FROM [${schema}].[_convex_tables]`);
    expect(again[0]!.n).toBe(3);
  });

  it("refills a table with a schema-bound view, an index, a grant and a foreign key in place, keeping them", async () => {
    const schema = uniqueSchema();
    const first = await tempSnapshot([
      { name: "users", docs: [doc(1, { name: "Ada", score: 1n }), doc(2, { name: "Bob", score: 2n })] },
    ]);
    await importSnapshot({ snapshotPath: first, target: url!, schema });
    const s = `[${schema}]`;
    await query(`CREATE VIEW ${s}.[user_names] WITH SCHEMABINDING AS SELECT [_id], [name] FROM ${s}.[users]`);
    await query(`CREATE INDEX [by_name] ON ${s}.[users] ([_creationTime])`);
    await query(`GRANT SELECT ON ${s}.[users] TO public`);
    await query(`ALTER TABLE ${s}.[users] ADD [name_length] AS LEN([name])`); // a computed column is kept too
    await query(
      `CREATE TABLE ${s}.[notes] ([uid] NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL ` +
        `REFERENCES ${s}.[users] ([_id]))`,
    );
    await query(`INSERT INTO ${s}.[notes] ([uid]) VALUES (N'${fakeId(1)}')`);
    const objectId = (await query<{ id: number }>(`SELECT OBJECT_ID(N'${s}.[users]') AS id`))[0]!.id;

    // Bob left, Cy arrived, a field was added and `score` widened from BIGINT to JSON text.
    const second = await tempSnapshot([
      {
        name: "users",
        docs: [doc(1, { name: "Ada L.", score: "high", age: 36n }), doc(3, { name: "Cy", score: 3n })],
      },
    ]);
    await importSnapshot({ snapshotPath: second, target: url!, schema });
    expect((await query<{ id: number }>(`SELECT OBJECT_ID(N'${s}.[users]') AS id`))[0]!.id).toBe(objectId);
    const rows = await query<{ name: string; score: string; age: string | null }>(
      `SELECT name, score, CAST(age AS varchar(20)) AS age FROM ${s}.[users] ORDER BY name`,
    );
    expect(rows).toEqual([
      { name: "Ada L.", score: '"high"', age: "36" },
      { name: "Cy", score: "3", age: null },
    ]);
    expect((await query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${s}.[user_names]`))[0]!.n).toBe(2);
    const lengths = await query<{ name_length: number }>(
      `SELECT name_length FROM ${s}.[users] ORDER BY name`,
    );
    expect(lengths.map((r) => r.name_length)).toEqual([6, 2]);
    const kept = await query<{ grants: number; indexes: number }>(
      `SELECT (SELECT COUNT(*) FROM sys.database_permissions WHERE class = 1 AND major_id = ${objectId}) AS grants,
              (SELECT COUNT(*) FROM sys.indexes WHERE object_id = ${objectId} AND name = 'by_name') AS indexes`,
    );
    expect(kept[0]).toEqual({ grants: 1, indexes: 1 });

    // Ada is referenced by a note: a snapshot without her fails on the foreign key, and nothing changes.
    const third = await tempSnapshot([{ name: "users", docs: [doc(3, { name: "Cy again" })] }]);
    await expect(importSnapshot({ snapshotPath: third, target: url!, schema })).rejects.toThrow(/REFERENCE/i);
    const after = await query<{ name: string }>(`SELECT name FROM ${s}.[users] ORDER BY name`);
    expect(after.map((r) => r.name)).toEqual(["Ada L.", "Cy"]);
    // …and the next import works.
    const fourth = await tempSnapshot([
      { name: "users", docs: [doc(1, { name: "Ada" }), doc(3, { name: "Cy" })] },
    ]);
    await importSnapshot({ snapshotPath: fourth, target: url!, schema });
    expect((await query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${s}.[users]`))[0]!.n).toBe(2);
  });

  it("holds one lock for schema names the database collation holds equal", async () => {
    const schema = uniqueSchema("Lock");
    const [db] = await query<{ collation: string }>(
      `SELECT CAST(DATABASEPROPERTYEX(DB_NAME(), 'Collation') AS nvarchar(128)) AS collation`,
    );
    const first = await openTarget(url!);
    const second = await openTarget(url!);
    try {
      await first.begin(schema);
      const other = second.begin(schema.toLowerCase());
      if (/_CI_/i.test(db!.collation)) await expect(other).rejects.toThrow(/another import into schema/);
      else await other;
    } finally {
      await first.close();
      await second.close();
    }
  });
});
