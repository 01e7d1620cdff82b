/**
 * The SQL Server session's logic against a recording stand-in of the wire (testing/recording-wire.ts): what it
 * sends, in which kind of request, in which order, and how it reacts to the server's answers and errors.
 * What the server then does with it is UNVERIFIED here (mssql.integration.test.ts runs with MSSQL_URL).
 */
import { describe, expect, it } from "vitest";
import type { PlannedColumn } from "../../mapping/types.js";
import type { ConvexObject } from "../../values.js";
import type { SwapTable } from "../connection.js";
import { mssqlPoolConfig } from "./config.js";
import { MssqlConnection, SESSION_POOL_SETTINGS } from "./session.js";
import { dependentsSql, lockSql, primaryKeySql, qualifiedName } from "./sql.js";
import { RecordingWire, ServerError } from "./testing/recording-wire.js";
import { scriptedServer, type Script } from "./testing/scripted-server.js";

const columns: PlannedColumn[] = [
  { field: "_id", sqlName: "_id", type: "id", required: true },
  { field: "_creationTime", sqlName: "_creationTime", type: "float64", required: true },
  { field: "body", sqlName: "body", type: "string", required: false },
];
const doc = (n: number, body = "hello"): ConvexObject => ({ _id: `id${n}`, _creationTime: 1000 + n, body });
const docs = (from: number, count: number, body?: string) =>
  Array.from({ length: count }, (_, i) => doc(from + i, body));
const lines = (count: number) => Array.from({ length: count }, (_, i) => i + 1);
const table = (sqlTable: string): SwapTable => ({
  qualified: sqlTable,
  component: "",
  convexTable: sqlTable,
  sqlTable,
  rows: 1,
  columns,
});
const meta = { snapshotTs: "1745162191687970000", loadedAt: new Date("2026-01-02T03:04:05.678Z") };

async function started(script: Script = {}, tuning = {}) {
  const wire = new RecordingWire(scriptedServer(script));
  const target = new MssqlConnection(wire, { swapRetryDelayMs: 0, ...tuning });
  await target.begin("convex");
  return { wire, target };
}

describe("SQL Server session: staging loads", () => {
  it("commits a staging load in batches: a new INSERT BULK every batchRows rows", async () => {
    const { wire, target } = await started({}, { batchRows: 10 });
    await target.createStaging("t", columns);
    const writer = await target.openWriter("t", columns);
    for (let i = 0; i < 7; i++) await writer.write(docs(i * 5, 5), lines(5));
    expect(await writer.finish()).toBe(35);
    expect(wire.sent.filter((s) => s.kind === "bulk").map((s) => s.rows)).toEqual([10, 10, 10, 5]);
    expect(wire.sent.every((s) => s.kind !== "bulk" || !s.inTransaction)).toBe(true);
  });

  it("… and every batchBytes bytes, so a few huge documents also commit along the way", async () => {
    const { wire, target } = await started({}, { batchBytes: 3 * 1024 * 1024 });
    await target.createStaging("t", columns);
    const writer = await target.openWriter("t", columns);
    const huge = "x".repeat(2 * 1024 * 1024); // 2 MB a row as counted (a Latin-1 string, one byte a character)
    for (let i = 0; i < 6; i++) await writer.write([doc(i, huge)], [i + 1]);
    await writer.finish();
    expect(wire.sent.filter((s) => s.kind === "bulk").map((s) => s.rows)).toEqual([2, 2, 2]);
  });

  it("starts no bulk load for a table without rows, and a new one after columns are added", async () => {
    const { wire, target } = await started();
    await target.createStaging("t", columns.slice(0, 2));
    const empty = await target.openWriter("t", columns.slice(0, 2));
    expect(await empty.finish()).toBe(0);
    expect(wire.texts("bulk")).toEqual([]);

    const writer = await target.openWriter("t", columns.slice(0, 2));
    await writer.write(docs(0, 2), lines(2));
    await writer.addColumns(columns.slice(2));
    await writer.write(docs(2, 1), lines(1));
    await writer.finish();
    const bulks = wire.sent.filter((s) => s.kind === "bulk");
    expect(bulks.map((s) => s.rows)).toEqual([2, 1]);
    expect(bulks[1]!.text).toContain("[body] nvarchar(max)");
    const order = wire.sent.map((s) => (s.kind === "bulk" ? "bulk" : s.text.split(" ")[0]));
    expect(order.slice(-4)).toEqual(["bulk", "SELECT", "ALTER", "bulk"]); // the first load ends before ALTER
  });

  it("builds the primary key without a request timeout", async () => {
    const { wire, target } = await started();
    await target.finalizeStaging("t");
    const pk = wire.sent.find((s) => s.text === primaryKeySql("convex__staging", "t"));
    expect(pk?.options.noTimeout).toBe(true);
  });

  it("refuses a table with more columns than SQL Server allows, naming it, before sending anything", async () => {
    const { wire, target } = await started();
    const sent = wire.sent.length;
    const wide = Array.from({ length: 1022 }, (_, i) => ({
      field: `f${i}`,
      sqlName: `f${i}`,
      type: "string" as const,
      required: false,
    }));
    await expect(target.createStaging("wide", [...columns, ...wide])).rejects.toThrow(
      "table wide needs 1025 columns; a SQL Server table holds at most 1024",
    );
    expect(wire.sent.length).toBe(sent);
    await target.createStaging("fits", [...columns, ...wide.slice(1)]);
  });

  it("fails naming both columns when the database collation holds two names equal", async () => {
    const { target } = await started({ equalNames: { 3: 2 } });
    const cols = [...columns, { field: "Body", sqlName: "Bödy", type: "string" as const, required: false }];
    await expect(target.createStaging("t", cols)).rejects.toThrow(
      'table t: columns "body" (field "body") and "Bödy" (field "Body") are the same name under this database\'s collation',
    );
  });
});

describe("SQL Server session: begin", () => {
  it("locks on the schema (by id, in the batch) and reports another import clearly", async () => {
    const { wire } = await started();
    expect(wire.sent[0]).toMatchObject({ kind: "query", text: lockSql, params: { schema: "convex" } });
    const busy = new MssqlConnection(new RecordingWire(scriptedServer({ lockResult: -1 })));
    await expect(busy.begin("Convex")).rejects.toThrow(
      'another import into schema "Convex" is running on this target; try again later',
    );
  });

  it("refuses a schema name whose staging schema would not fit in 128 characters, before sending anything", async () => {
    const wire = new RecordingWire(scriptedServer());
    const target = new MssqlConnection(wire);
    await target.begin("s".repeat(119));
    await expect(new MssqlConnection(wire).begin("s".repeat(120))).rejects.toThrow(
      /has 120 characters; on SQL Server it needs 1 to 119/,
    );
    expect(wire.sent.filter((s) => s.params.schema === "s".repeat(120))).toEqual([]);
  });

  it("goes on when a leftover staging table cannot be dropped; only a table of that name fails, naming it", async () => {
    const { target } = await started({
      undroppable: [{ name: "users", message: "it is referenced by a view" }],
    });
    await target.createStaging("orders", columns);
    await expect(target.createStaging("users", columns)).rejects.toThrow(
      "table users: a staging table [convex__staging].[users] left by an earlier run cannot be dropped " +
        "(it is referenced by a view); drop it by hand",
    );
  });
});

describe("SQL Server session: the swap", () => {
  it("runs XACT_ABORT for the whole session (connection option) and never sends a SET through sp_executesql", async () => {
    const config = mssqlPoolConfig(
      {
        server: "h",
        port: 1433,
        database: "d",
        authentication: { type: "sql", user: "u", password: "p" },
        encrypt: true,
        trustServerCertificate: false,
      },
      SESSION_POOL_SETTINGS,
    );
    expect(config.options?.abortTransactionOnError).toBe(true);
    expect(config.pool?.max).toBe(1);

    const { wire, target } = await started({ dependents: { [qualifiedName("convex", "t")]: {} } });
    await target.swap([table("t")], meta);
    const sets = wire.sent.filter((s) => /^\s*SET\s+(?!@)/im.test(s.text)); // session options, not variables
    expect(sets.map((s) => [s.kind, s.text])).toEqual([
      ["batch", "SET LOCK_TIMEOUT 30000;"],
      ["batch", "SET LOCK_TIMEOUT -1;"],
    ]);
  });

  it("moves a table without dependents in by DROP + TRANSFER, all in one transaction without request timeouts", async () => {
    const { wire, target } = await started({ dependents: { [qualifiedName("convex", "t")]: {} } });
    await target.swap([table("t")], meta);
    const inTx = wire.sent.filter((s) => s.inTransaction && s.kind === "query");
    expect(inTx.some((s) => s.text.includes("ALTER SCHEMA [convex] TRANSFER [convex__staging].[t];"))).toBe(
      true,
    );
    expect(inTx.every((s) => s.options.noTimeout)).toBe(true);
    expect(wire.sent.filter((s) => s.kind === "commit")).toHaveLength(1);
    expect(wire.texts().some((t) => /TRUNCATE|INSERT INTO \[convex\]\.\[t\]/.test(t))).toBe(false);
  });

  it("keeps a table with grants or indexes and refills it (TRUNCATE, INSERT … SELECT), never transferring it", async () => {
    const target_ = qualifiedName("convex", "t");
    const { wire, target } = await started({
      dependents: { [target_]: { grants: 1, indexes: 2 } },
      existingColumns: {
        [target_]: [
          { name: "_id", type: "nvarchar", max_length: 256, scale: 0 },
          { name: "_creationTime", type: "float", max_length: 8, scale: 0 },
        ],
      },
    });
    await target.swap([table("t")], meta);
    const texts = wire.sent.filter((s) => s.inTransaction).map((s) => s.text.split("\n")[0]);
    expect(texts).toContain("TRUNCATE TABLE [convex].[t];");
    expect(texts).toContain(
      "ALTER TABLE [convex].[t] ADD [body] NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;",
    );
    expect(texts).toContain("INSERT INTO [convex].[t] ([_id], [_creationTime], [body])");
    expect(wire.texts().some((t) => t.includes("TRANSFER"))).toBe(false);
  });

  it("refills by key when a foreign key references the table (TRUNCATE is not allowed there)", async () => {
    const target_ = qualifiedName("convex", "t");
    const { wire, target } = await started({
      dependents: { [target_]: { referencing_keys: 1 } },
      existingColumns: {
        [target_]: [
          { name: "_id", type: "nvarchar", max_length: 256, scale: 0 },
          { name: "_creationTime", type: "float", max_length: 8, scale: 0 },
          { name: "body", type: "bigint", max_length: 8, scale: 0 },
        ],
      },
    });
    await target.swap([table("t")], meta);
    const first = wire.sent.filter((s) => s.inTransaction).map((s) => s.text.split("\n")[0] ?? "");
    const at = (prefix: string) => first.findIndex((t) => t.startsWith(prefix));
    expect(at("TRUNCATE")).toBe(-1);
    expect(at("DELETE x FROM [convex].[t]")).toBeGreaterThan(-1);
    expect(at("UPDATE [convex].[t] SET [body] = NULL;")).toBeGreaterThan(at("DELETE x FROM"));
    expect(at("ALTER TABLE [convex].[t] ALTER COLUMN [body] NVARCHAR(MAX)")).toBeGreaterThan(
      at("UPDATE [convex]"),
    );
    expect(at("UPDATE x SET")).toBeGreaterThan(at("ALTER TABLE [convex].[t] ALTER COLUMN"));
    expect(at("INSERT INTO [convex].[t]")).toBeGreaterThan(at("UPDATE x SET"));
  });

  it("changes nothing when this session no longer holds the schema's lock (its connection was replaced)", async () => {
    const { wire, target } = await started({ lockMode: "NoLock" });
    await expect(target.swap([table("t")], meta)).rejects.toThrow(
      'the connection to SQL Server was replaced during the import, and with it the lock on schema "convex"',
    );
    const inTx = wire.sent.filter((s) => s.inTransaction && s.kind === "query");
    expect(inTx.map((s) => s.text.split("\n")[1])).toEqual([
      "SELECT APPLOCK_MODE(N'public', @resource, N'Session') AS mode;",
    ]);
    expect(inTx[0]!.params).toEqual({ schema: "convex" });
    expect(wire.sent.filter((s) => s.kind === "rollback")).toHaveLength(1);
    expect(wire.sent.some((s) => s.kind === "commit")).toBe(false);
  });

  it("refills by key a table that is replicated, tracked by CDC or system-versioned (no DROP, no TRUNCATE)", async () => {
    const target_ = qualifiedName("convex", "t");
    const { wire, target } = await started({
      dependents: { [target_]: { pinned: 1 } },
      existingColumns: { [target_]: [{ name: "_id", type: "nvarchar", max_length: 256, scale: 0 }] },
    });
    await target.swap([table("t")], meta);
    const texts = wire.sent.filter((s) => s.inTransaction).map((s) => s.text);
    expect(texts.some((t) => /TRUNCATE|TRANSFER|DROP TABLE \[convex\]\.\[t\]/.test(t))).toBe(false);
    expect(texts.some((t) => t.startsWith("DELETE x FROM [convex].[t]"))).toBe(true);
    expect(texts.some((t) => t.startsWith("UPDATE x SET"))).toBe(true);
  });

  it("keeps a table with an analyst's constraint, computed column, description or mask (refilled, not replaced)", async () => {
    const target_ = qualifiedName("convex", "t");
    const { wire, target } = await started({
      dependents: { [target_]: { constraints: 1, properties: 1 } },
      existingColumns: { [target_]: [{ name: "_id", type: "nvarchar", max_length: 256, scale: 0 }] },
    });
    await target.swap([table("t")], meta);
    const texts = wire.sent.filter((s) => s.inTransaction).map((s) => s.text);
    expect(texts).toContain("TRUNCATE TABLE [convex].[t];");
    expect(texts.some((t) => t.includes("TRANSFER"))).toBe(false);
  });

  it("keeps a table in place when the server refuses to drop it for a dependent the catalog did not show", async () => {
    // A foreign key from a table the loader may not see (metadata visibility): DROP TABLE fails with 3726.
    const target_ = qualifiedName("convex", "t");
    let refusals = 0;
    const wire = new RecordingWire((text, params) => {
      if (
        text.startsWith("IF OBJECT_ID(@target, N'U') IS NOT NULL DROP TABLE [convex].[t];") &&
        !refusals++
      ) {
        throw new ServerError(
          "Could not drop object 'convex.t' because it is referenced by a FOREIGN KEY constraint.",
          3726,
        );
      }
      return scriptedServer({
        dependents: { [target_]: {} },
        existingColumns: { [target_]: [{ name: "_id", type: "nvarchar", max_length: 256, scale: 0 }] },
      })(text, params);
    });
    const target = new MssqlConnection(wire, { swapRetryDelayMs: 0, swapAttempts: 1 });
    await target.begin("convex");
    await target.swap([table("t")], meta);
    expect(
      wire.sent.filter((s) => ["begin", "rollback", "commit"].includes(s.kind)).map((s) => s.kind),
    ).toEqual(["begin", "rollback", "begin", "commit"]);
    const second = wire.sent.slice(wire.sent.map((s) => s.kind).lastIndexOf("begin")).map((s) => s.text);
    expect(second.some((t) => t.startsWith("DELETE x FROM [convex].[t]"))).toBe(true);
    expect(second.some((t) => /TRUNCATE|TRANSFER/.test(t))).toBe(false);
  });

  it("retries after a lock timeout (1222) or as deadlock victim (1205), rolling back each failed attempt", async () => {
    let failures = [1222, 1205];
    const wire = new RecordingWire((text, params) => {
      if (text === dependentsSql && failures.length) {
        throw new ServerError("lock trouble", failures.shift()!);
      }
      return scriptedServer()(text, params);
    });
    const target = new MssqlConnection(wire, { swapRetryDelayMs: 0 });
    await target.begin("convex");
    await target.swap([table("t")], meta);
    expect(
      wire.sent.filter((s) => ["begin", "rollback", "commit"].includes(s.kind)).map((s) => s.kind),
    ).toEqual(["begin", "rollback", "begin", "rollback", "begin", "commit"]);
    failures = [];
  });

  it("gives up after the last attempt with a message that says nothing changed, and resets the lock timeout", async () => {
    const wire = new RecordingWire((text, params) => {
      if (text === dependentsSql) throw new ServerError("Lock request time out period exceeded.", 1222);
      return scriptedServer()(text, params);
    });
    const target = new MssqlConnection(wire, { swapRetryDelayMs: 0, swapAttempts: 3 });
    await target.begin("convex");
    await expect(target.swap([table("t")], meta)).rejects.toThrow(
      'the swap into schema "convex" failed 3 times (waiting for a lock timed out, error 1222: Lock request ' +
        "time out period exceeded.); other sessions hold locks on its tables; nothing was changed",
    );
    expect(wire.sent.filter((s) => s.kind === "begin")).toHaveLength(3);
    expect(wire.sent.at(-1)).toMatchObject({ kind: "batch", text: "SET LOCK_TIMEOUT -1;" });
  });

  it("does not retry other errors, and names the table that could not be replaced", async () => {
    const wire = new RecordingWire((text, params) => {
      if (text === dependentsSql)
        throw new ServerError("Cannot alter column 'x' because it is schema bound", 5074);
      return scriptedServer()(text, params);
    });
    const target = new MssqlConnection(wire, { swapRetryDelayMs: 0 });
    await target.begin("convex");
    await expect(target.swap([table("t")], meta)).rejects.toThrow(
      "cannot replace [convex].[t]: Cannot alter column 'x' because it is schema bound",
    );
    expect(wire.sent.filter((s) => s.kind === "begin")).toHaveLength(1);
  });

  it("records loaded_at as DATETIME2 and counts as BIGINT, declared rather than inferred", async () => {
    const { wire, target } = await started();
    await target.swap([table("t")], meta);
    const record = wire.sent.find((s) => s.text.includes("INSERT INTO [convex].[_convex_tables]"));
    expect(record?.params).toMatchObject({
      loadedAt: { type: "datetime2", value: meta.loadedAt },
      rowCount: { type: "bigint", value: 1 },
      snapshotTs: { type: "bigint", value: "1745162191687970000" },
    });
  });
});
