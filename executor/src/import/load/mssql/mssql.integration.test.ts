/**
 * The import engine against a real SQL Server. Runs only when MSSQL_URL is set (e.g.
 * MSSQL_URL='mssql://sa:Passw0rd!@localhost:1433/test?trustServerCertificate=true'); otherwise skipped,
 * saying so. Nothing in this file has run in this repository's CI (no SQL Server there).
 */
import sql from "mssql";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../../../test/fixtures/snapshot-zip.js";
import { uniqueSchema } from "../../../../../test/fixtures/targets.js";
import { importSnapshot, SnapshotFormatError } from "../../index.js";
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
});
