/**
 * Every T-SQL text the SQL Server session can send must parse under an independent grammar (grammars-v4
 * TSqlParser, npm antlr4ts-sql). The texts are not copies: the real session (session.ts, replace.ts, sql.ts)
 * runs against a recording wire through each path it has: hostile names, every column type, schema evolution,
 * the swap with and without dependents, retries, cleanup after a crash, the lock and the metadata.
 * INSERT BULK exists only inside TDS; its column list is checked as the column list of a CREATE TABLE, and the
 * statement itself against tedious' own builder in bulk.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { ColumnType, PlannedColumn } from "../../mapping/types.js";
import type { ConvexObject } from "../../values.js";
import type { SwapTable } from "../connection.js";
import { MssqlConnection } from "./session.js";
import { qualifiedName } from "./sql.js";
import { RecordingWire, ServerError } from "./testing/recording-wire.js";
import { scriptedServer, type Script } from "./testing/scripted-server.js";
import { tsqlSyntaxErrors } from "./testing/tsql-grammar.js";

const HOSTILE = ["we]ird", "it's", 'a"b', "日本語", "x; DROP TABLE y; --", "[br]", "😀 emoji", "]]", "N'x'"];
const TYPES: ColumnType[] = ["string", "int64", "float64", "boolean", "bytes", "json", "unset"];

const system: PlannedColumn[] = [
  { field: "_id", sqlName: "_id", type: "id", required: true },
  { field: "_creationTime", sqlName: "_creationTime", type: "float64", required: true },
  { field: "_creationTimeUtc", sqlName: "_creationTimeUtc", type: "timestamp", required: true },
];
const columns: PlannedColumn[] = [
  ...system,
  ...HOSTILE.map((name, i) => ({
    field: name,
    sqlName: name,
    type: TYPES[i % TYPES.length]!,
    required: false,
  })),
];
const doc = (n: number): ConvexObject => ({
  _id: `id${n}`,
  _creationTime: 1745162191687.97 + n,
  "we]ird": "text",
  "it's": 5n,
  'a"b': -0,
  日本語: true,
  "x; DROP TABLE y; --": Buffer.from([1, 2]),
  "[br]": { nested: [1n] },
});

const SCHEMA = "My]Sch'ema 日本";
const TABLE = "us]ers; --'";

function swapTable(sqlTable: string, cols: readonly PlannedColumn[]): SwapTable {
  return {
    qualified: sqlTable,
    component: "chat/x",
    convexTable: sqlTable,
    sqlTable,
    rows: 2,
    columns: cols,
  };
}

/** Runs the session through one import and returns the wire with everything it sent. */
async function importWith(script: Script, tables: string[] = [TABLE]): Promise<RecordingWire> {
  const loaded = {
    component: "",
    convex_table: TABLE,
    sql_table: TABLE,
    snapshot_ts: "1",
    loaded_at: new Date(),
  };
  const wire = new RecordingWire(scriptedServer({ loadedTables: [loaded], ...script }));
  const target = new MssqlConnection(wire, { batchRows: 2, swapRetryDelayMs: 0 });
  await target.begin(SCHEMA);
  await target.readPrior();
  for (const table of tables) {
    await target.createStaging(table, columns.slice(0, 6));
    const writer = await target.openWriter(table, columns.slice(0, 6));
    await writer.write([doc(1), doc(2), doc(3)], [1, 2, 3]);
    await writer.addColumns(columns.slice(6));
    await writer.write([doc(4)], [4]);
    await writer.finish();
    await target.finalizeStaging(table);
  }
  await target.swap(
    tables.map((t) => swapTable(t, columns)),
    { snapshotTs: "1745162191687970000", loadedAt: new Date() },
  );
  await target.loadedTables(SCHEMA);
  await target.cleanup();
  return wire;
}

function expectAllParse(wire: RecordingWire, atLeast: number): void {
  const texts = [...wire.texts("query"), ...wire.texts("batch")];
  expect(texts.length).toBeGreaterThanOrEqual(atLeast);
  const failures = texts
    .map((text) => ({ text, errors: tsqlSyntaxErrors(text) }))
    .filter((f) => f.errors.length);
  expect(failures).toEqual([]);
  for (const bulk of wire.texts("bulk")) {
    const list = /^insert bulk [^(]+\((.*)\) WITH \(KEEP_NULLS,TABLOCK\)$/s.exec(bulk);
    expect(list, bulk).not.toBeNull();
    expect(tsqlSyntaxErrors(`CREATE TABLE t (${list![1]});`)).toEqual([]);
  }
}

describe("every T-SQL statement the SQL Server session sends parses under the grammars-v4 T-SQL grammar", () => {
  it("the grammar is not vacuous: it rejects the old prepareSchemasSql (defect 1) and broken statements", () => {
    // The text prepareSchemasSql sent before: EXEC (…) takes only literals and variables, not QUOTENAME(…).
    const oldPrepare = `IF SCHEMA_ID(@schema) IS NULL EXEC(N'CREATE SCHEMA ' + QUOTENAME(@schema));
IF SCHEMA_ID(@staging) IS NULL EXEC(N'CREATE SCHEMA ' + QUOTENAME(@staging));`;
    expect(tsqlSyntaxErrors(oldPrepare).length).toBeGreaterThan(0);
    expect(tsqlSyntaxErrors("CREATE TABLE [a] ([x]] INT);").length).toBeGreaterThan(0); // `]` not doubled
    expect(tsqlSyntaxErrors("CREATE TABLE [a]]b] ([x] INT);")).toEqual([]); // doubled: the name a]b
    expect(tsqlSyntaxErrors("UPDATE x SET FROM [a] AS x;").length).toBeGreaterThan(0);
    // A procedure argument cannot be an expression either (hence lockSql's @resource variable).
    expect(tsqlSyntaxErrors("EXEC sp_getapplock @Resource = N'a' + @b;").length).toBeGreaterThan(0);
    expect(tsqlSyntaxErrors("DECLARE @d nvarchar(max) = N'x' + QUOTENAME(@s); EXEC (@d);")).toEqual([]);
  });

  it("a first import with hostile names and every column type (new table: transfer)", async () => {
    const wire = await importWith({});
    expect(wire.texts("bulk").length).toBeGreaterThan(1);
    expect(wire.texts().some((t) => t.startsWith("SELECT COUNT_BIG(*)"))).toBe(true);
    expect(wire.texts().some((t) => t.includes("ALTER SCHEMA"))).toBe(true);
    expectAllParse(wire, 15);
  });

  it("a reload into tables with dependents: refilled in place, by TRUNCATE or by key, with added and widened columns", async () => {
    const grants = qualifiedName(SCHEMA, "granted");
    const referenced = qualifiedName(SCHEMA, "referenced");
    const existing = [
      { name: "_id", type: "nvarchar", max_length: 256, scale: 0 },
      { name: "_creationTime", type: "float", max_length: 8, scale: 0 },
      { name: "_creationTimeUtc", type: "datetime2", max_length: 8, scale: 3 },
      { name: "we]ird", type: "bigint", max_length: 8, scale: 0 }, // widened to NVARCHAR(MAX)
    ];
    const wire = await importWith(
      {
        dependents: {
          [grants]: { grants: 2, indexes: 1 },
          [referenced]: { referencing_keys: 1, schema_bound: 1 },
        },
        existingColumns: { [grants]: existing, [referenced]: existing },
        priorRows: [
          {
            component: "",
            convex_table: "granted",
            sql_table: "granted",
            convex_field: "we]ird",
            sql_column: "we]ird",
            sql_type: "BIGINT",
          },
        ],
      },
      ["granted", "referenced"],
    );
    const texts = wire.texts();
    expect(texts.some((t) => t.startsWith("TRUNCATE TABLE"))).toBe(true);
    expect(texts.some((t) => t.startsWith("DELETE x FROM"))).toBe(true);
    expect(texts.some((t) => t.includes("ALTER COLUMN"))).toBe(true);
    expect(texts.some((t) => t.startsWith("UPDATE x SET"))).toBe(true);
    expectAllParse(wire, 25);
  });

  it("a swap retried after a lock timeout, and the cleanup after a crash", async () => {
    const wire = await importWith({
      undroppable: [{ name: "old", message: "Cannot drop the table 'old', because it is referenced" }],
      fail: {
        match: (t) => t.startsWith("IF OBJECT_ID(@target, N'U') IS NOT NULL DROP TABLE"),
        nth: 1,
        error: new ServerError("Lock request time out period exceeded.", 1222),
      },
    });
    expect(wire.sent.filter((s) => s.kind === "rollback")).toHaveLength(1);
    expectAllParse(wire, 15);

    const crashed = new RecordingWire(scriptedServer({}));
    const target = new MssqlConnection(crashed);
    await target.begin("convex");
    await target.createStaging("t", columns);
    const writer = await target.openWriter("t", columns);
    await writer.abort();
    await target.cleanup();
    expect(crashed.texts().at(-1)).toMatch(
      /^IF OBJECT_ID\(@table, N'U'\) IS NOT NULL DROP TABLE \[convex__staging\]\.\[t\];$/,
    );
    expectAllParse(crashed, 4);
  });

  it("a reload into tables that are replicated or carry constraints, and one whose DROP the server refuses", async () => {
    const pinned = qualifiedName(SCHEMA, "pinned");
    const constrained = qualifiedName(SCHEMA, "constrained");
    const wire = await importWith(
      {
        dependents: {
          [pinned]: { pinned: 1 },
          [constrained]: { constraints: 2 },
          [qualifiedName(SCHEMA, "refused")]: {}, // exists, nothing the catalog shows
        },
        fail: {
          match: (t) => t.startsWith("IF OBJECT_ID(@target, N'U') IS NOT NULL DROP TABLE"),
          nth: 1,
          error: new ServerError("Could not drop object because it is referenced by a FOREIGN KEY", 3726),
        },
      },
      ["pinned", "constrained", "refused"],
    );
    expect(wire.sent.filter((s) => s.kind === "rollback")).toHaveLength(1);
    const texts = wire.texts();
    expect(texts.filter((t) => t.includes("APPLOCK_MODE"))).toHaveLength(2); // one per attempt
    // pinned in both attempts, refused in the second (its DROP was refused in the first)
    expect(texts.filter((t) => t.startsWith("DELETE x FROM"))).toHaveLength(3);
    expect(texts.filter((t) => t.startsWith("TRUNCATE TABLE"))).toHaveLength(2); // constrained, both attempts
    expectAllParse(wire, 25);
  });

  it("the mapping rows of a table with more columns than one statement may carry", async () => {
    const wide: PlannedColumn[] = [
      ...system,
      ...Array.from({ length: 500 }, (_, i) => ({
        field: `f${i}`,
        sqlName: `f${i}`,
        type: "string" as const,
        required: false,
      })),
    ];
    const wire = new RecordingWire(scriptedServer({}));
    const target = new MssqlConnection(wire);
    await target.begin("convex");
    await target.swap([swapTable("wide", wide)], { snapshotTs: null, loadedAt: new Date() });
    const inserts = wire.sent.filter((s) => s.text.includes("INSERT INTO [convex].[_convex_columns]"));
    expect(inserts).toHaveLength(2);
    expect(Math.max(...inserts.map((s) => Object.keys(s.params).length))).toBeLessThan(2100);
    expectAllParse(wire, 6);
  });
});
