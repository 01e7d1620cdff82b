/**
 * The SQL Server change target driven for real (./mssql.ts) over the import's recording wire
 * (../import/load/mssql/testing/recording-wire.ts), answering as a server would (a small scripted server below):
 * every T-SQL text it sends parses under the grammars-v4 grammar, the sequence has the properties the
 * guarantees rest on, and int64 values beyond 2^53 reach the driver's wire encoding exact. No SQL Server runs
 * here: what the server does with these statements is UNVERIFIED unless the MSSQL_URL suites ran.
 */
import { describe, expect, it } from "vitest";
import { lockHeldSql, lockSql, unlockSql } from "../import/load/mssql/sql.js";
import { tsqlSyntaxErrors } from "../import/load/mssql/testing/tsql-grammar.js";
import { applyBatch, CursorMovedError, type SyncState } from "./apply.js";
import { MssqlChangeTarget } from "./mssql.js";
import { openChangeTarget } from "./openTarget.js";
import { commitSql, rollbackSql } from "./mssqlSql.js";
import {
  BIG,
  doc,
  expectAllParse,
  int64Bytes,
  page,
  prior,
  SCHEMA,
  server,
  target,
  tdsValueBytes,
  texts,
  transactions,
  TS,
  type ServerState,
} from "./mssqlTesting.js";

describe("SQL Server change target (recording wire, T-SQL grammar)", () => {
  it("applies a batch in one transaction: cursor checked first, guarded changes through #temp tables, state last", async () => {
    const state: ServerState = {
      cursor: "c1",
      prior: prior("users", [["n", "BIGINT"]]),
      widened: [],
      lockResults: [],
      rowCount: 1,
    };
    const wire = server(state);
    const t = await target(wire);
    const results = await applyBatch(t, {
      fromCursor: "c1",
      pages: [
        page([
          doc("users", "u1", TS - 5n, { n: BIG, "we]ird": "x" }),
          doc("users", "u2", TS - 4n, null),
          doc("chat/messages", "m1", TS - 3n, { text: "hi", at: -0, raw: Buffer.from([0, 255]) }),
        ]),
      ],
    });
    await t.close(); // gives the schema's lock back before the connection closes
    expect(wire.sent.at(-1)).toMatchObject({ kind: "query", text: unlockSql, params: { schema: SCHEMA } });
    expect(results.map((r) => [r.table, r.inserted, r.updated, r.deleted])).toEqual([
      ["chat/messages", 1, 1, 0],
      ["users", 1, 1, 1],
    ]);
    expectAllParse(wire);

    const [tx, ...more] = transactions(wire.sent);
    expect(more).toEqual([]);
    expect(tx!.end).toBe(commitSql);
    const body = texts(tx!.body);
    // The lock is still this session's, then the stored cursor is read (locked) before anything changes.
    expect(body[0]).toBe(lockHeldSql);
    const cursorAt = body.findIndex((s) => s.includes("WITH (UPDLOCK, HOLDLOCK)"));
    const firstChange = body.findIndex(
      (s) =>
        /^(CREATE TABLE \[|ALTER|DELETE|UPDATE|INSERT)/m.test(s) && !s.startsWith("IF OBJECT_ID(@metaTables"),
    );
    expect(cursorAt).toBeGreaterThan(0);
    expect(cursorAt).toBeLessThan(firstChange);
    expect(body.at(-1)).toMatch(/^UPDATE \[My\]\]Sch'ema\]\.\[_convex_sync_state\] SET \[cursor\] = @cursor/);
    // Every request of the apply, bulk loads included, ran between BEGIN and COMMIT.
    // Outside it only the lock, the reads before planning, and the unlock at close.
    const outside = wire.sent.filter((s) => !tx!.body.includes(s) && s.kind !== "batch");
    expect(texts(outside)).toEqual([
      lockSql,
      expect.stringMatching(/^IF OBJECT_ID\(@metaTables, N'U'\) IS NOT NULL AND/),
      expect.stringMatching(/^IF OBJECT_ID\(@stateTable, N'U'\) IS NOT NULL\nSELECT \*/),
      unlockSql,
    ]);

    // The new table: created (no DROP of a same-named table) with its key; the known one gains columns.
    expect(body).toContain(
      "CREATE TABLE [My]]Sch'ema].[chat__messages] ([_id] NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL, [_creationTime] FLOAT NOT NULL, [_creationTimeUtc] DATETIME2(3) NOT NULL, [_ts] BIGINT NULL, [text] NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL, [at] FLOAT NULL, [raw] VARBINARY(MAX) NULL);",
    );
    expect(
      body.some((s) =>
        s.startsWith("ALTER TABLE [My]]Sch'ema].[users] ADD [_ts] BIGINT NULL, [we]]ird] NVARCHAR(MAX)"),
      ),
    ).toBe(true);
    // Temp tables by plain batch (a #table made inside sp_executesql dies with it), filled by INSERT BULK.
    const temps = tx!.body.filter((s) => s.text.includes("CREATE TABLE #"));
    expect(temps.map((s) => s.kind)).toEqual(["batch", "batch", "batch"]);
    expect(wire.texts("bulk").map((s) => s.split("(")[0])).toEqual([
      "insert bulk #convex_changes",
      "insert bulk #convex_deletes",
      "insert bulk #convex_changes",
    ]);
    // The _ts guard: a row holding a newer version is neither updated nor deleted; no MERGE anywhere.
    const guarded = body.filter((s) => /^(UPDATE cur|DELETE cur)/.test(s));
    expect(guarded).toHaveLength(3);
    for (const s of guarded)
      expect(s).toMatch(
        /WHERE cur\.\[_ts\] IS NULL OR cur\.\[_ts\] <= (c\.\[_ts\]|x\.ts);\nSELECT @@ROWCOUNT AS n;$/,
      );
    expect(body.filter((s) => s.startsWith("INSERT INTO [My]]Sch'ema].[users]"))).toEqual([
      expect.stringContaining(
        "WHERE NOT EXISTS (SELECT 1 FROM [My]]Sch'ema].[users] AS cur WHERE cur.[_id] = c.[_id])",
      ),
    ]);
    expect(body.some((s) => /\bMERGE\b|OPENJSON|TRUNCATE/.test(s))).toBe(false);

    // int64 beyond 2^53 and the commit timestamp reach the bulk rows as bigints, exact (users: n, then _ts).
    const changes = wire.bulkRows.get("#convex_changes")!;
    expect(changes[0]).toEqual(["u1", 1745162191687.5, new Date(1745162191687), BIG, TS - 5n, "x"]);
    expect(wire.bulkRows.get("#convex_deletes")).toEqual([["u2", TS - 4n]]);
  });

  it("sends the state's and the mapping's int64 values as TDS BIGINT, exact beyond 2^53", async () => {
    const state: ServerState = { cursor: null, prior: [], widened: [], lockResults: [], rowCount: 1 };
    const wire = server(state);
    const t = await target(wire);
    const start: SyncState = {
      cursor: "c0",
      syncId: "s",
      status: "upToDate",
      snapshotTs: TS,
      appliedAt: new Date(5),
      detachedTables: [],
    };
    await t.initialize(start);
    const write = wire.sent.find((s) => s.text.includes("SET [cursor] = @cursor"))!;
    expect(write.params.snapshotTs).toEqual({ type: "bigint", value: TS });
    expect(write.params.appliedAt).toEqual({ type: "datetime2", value: new Date(5) });
    expect(tdsValueBytes(write.params, "snapshotTs")).toEqual(int64Bytes(TS));
    expect(transactions(wire.sent).map((x) => x.end)).toEqual([commitSql]);

    state.cursor = "c0";
    await applyBatch(t, { fromCursor: "c0", pages: [page([doc("users", "u1", TS, { n: 1n })])] });
    const row = wire.sent.find((s) => s.text.startsWith("INSERT INTO [My]]Sch'ema].[_convex_tables]"))!;
    expect(tdsValueBytes(row.params, "snapshotTs")).toEqual(int64Bytes(TS));
    expect(tdsValueBytes(row.params, "rowCount")).toEqual(int64Bytes(1n));
    // The _convex_columns rows record _ts as the import records BIGINT columns.
    const columns = wire.sent.find((s) => s.text.startsWith("INSERT INTO [My]]Sch'ema].[_convex_columns]"))!;
    expect(
      Object.entries(columns.params).filter(([k]) => k.startsWith("f") || k.startsWith("t")),
    ).toContainEqual(["t3", "BIGINT"]);
    expect(columns.params.f3).toBe("_ts");
    expectAllParse(wire);
  });

  it("reads the stored state back exactly (snapshot_ts as text beyond 2^53)", async () => {
    const wire = server({
      cursor: "cx",
      snapshotTs: TS.toString(),
      appliedAt: new Date(7),
      prior: [],
      widened: [],
      lockResults: [],
      rowCount: 0,
    });
    const t = await target(wire);
    expect(await t.readState()).toEqual({
      cursor: "cx",
      syncId: "sync",
      status: "upToDate",
      snapshotTs: TS,
      appliedAt: new Date(7),
      detachedTables: [], // a state row from before detached_tables existed
    });
    expect(await t.readPrior()).toEqual(new Map());
    expectAllParse(wire);
  });

  it("stores the detached tables, adds their column to an older state table, and drops a name the feed brings back", async () => {
    const state: ServerState = {
      cursor: null,
      prior: prior("users", [["n", "BIGINT"]]),
      widened: [],
      lockResults: [],
      rowCount: 1,
    };
    const wire = server(state);
    const t = await target(wire);
    await t.initialize({
      cursor: "c1",
      syncId: "",
      status: "stale",
      snapshotTs: TS,
      appliedAt: new Date(5),
      detachedTables: ["users", "chat/old"],
    });
    const migrate = wire.sent.filter((s) => s.text.includes("ADD detached_tables"));
    expect(migrate).toHaveLength(1);
    expect(migrate[0]!.text).toMatch(
      /^IF NOT EXISTS \(SELECT 1 FROM sys\.columns WHERE object_id = OBJECT_ID\(@stateTable/,
    );
    const writes = () => wire.sent.filter((s) => s.text.includes("SET [cursor] = @cursor"));
    expect(writes()[0]!.params.detachedTables).toBe('["chat/old","users"]');

    state.cursor = "c1";
    state.detachedTables = '["chat/old","users"]';
    expect((await t.readState())?.detachedTables).toEqual(["chat/old", "users"]);
    await applyBatch(t, { fromCursor: "c1", pages: [page([doc("users", "u1", TS, { n: 1n })])] });
    expect(writes()[1]!.params.detachedTables).toBe('["chat/old"]');
    expectAllParse(wire);

    state.detachedTables = "{}";
    await expect(t.readState()).rejects.toThrow(/_convex_sync_state.*detached_tables is not a JSON array/);
  });

  it("refuses a batch fetched from a cursor the warehouse has moved past: rolled back before any change", async () => {
    const state: ServerState = { cursor: "c1", prior: [], widened: [], lockResults: [], rowCount: 1 };
    const wire = server(state);
    const t = await target(wire);
    const plan = { fromCursor: "c1", pages: [page([doc("users", "u1", TS, { n: 1n })])] };
    const prior = await t.readPrior();
    state.cursor = "c9"; // another run committed after this batch was fetched
    const { planBatch } = await import("./apply.js");
    await expect(t.apply(planBatch(plan, prior, t, null))).rejects.toBeInstanceOf(CursorMovedError);
    const [tx] = transactions(wire.sent);
    expect(tx!.end).toBe(rollbackSql);
    expect(texts(tx!.body).some((s) => /^(CREATE TABLE \[|ALTER|DELETE|UPDATE|INSERT)/.test(s))).toBe(false);
    expect(wire.texts("bulk")).toEqual([]);
  });

  it("waits for the schema's lock a while, then says another import or sync holds it; closes the connection", async () => {
    const busy = server({ cursor: null, prior: [], widened: [], lockResults: [-1, -1, 0], rowCount: 0 });
    await MssqlChangeTarget.open(busy, "s", { lockWaitMs: 10, lockRetryMs: 5 });
    expect(busy.texts().filter((s) => s === lockSql)).toHaveLength(3);

    const held = server({ cursor: null, prior: [], widened: [], lockResults: [-1, -1, -1], rowCount: 0 });
    let closed = false;
    held.close = async () => void (closed = true);
    await expect(MssqlChangeTarget.open(held, "s", { lockWaitMs: 0, lockRetryMs: 0 })).rejects.toThrow(
      'another import or incremental sync into schema "s" is running on this target; try again later',
    );
    expect(closed).toBe(true);
  });

  it("counts every statement after the lock (bulk loads too) for the crash tests' kill points", async () => {
    const wire = server({ cursor: "c1", prior: [], widened: [], lockResults: [], rowCount: 0 });
    const seen: string[] = [];
    const t = await MssqlChangeTarget.open(wire, SCHEMA, { onStatement: (s) => seen.push(s) });
    await applyBatch(t, { fromCursor: "c1", pages: [page([doc("users", "u1", TS, { n: 1n })])] });
    await t.close(); // the unlock is no kill point either: the crash test's last run ends with its DONE line
    const sent = wire.sent.filter((s) => s.text !== lockSql && s.text !== unlockSql);
    expect(seen).toEqual(sent.map((s) => (s.kind === "bulk" ? s.text.split("(")[0] : s.text)));
    expect(seen.at(-1)).toBe(commitSql);
  });

  it("the grammar is not vacuous for these statements: an unquoted cursor column does not parse", () => {
    expect(
      tsqlSyntaxErrors("SELECT cursor FROM [s].[_convex_sync_state] WHERE id = 1;").length,
    ).toBeGreaterThan(0);
    expect(
      tsqlSyntaxErrors(
        "SELECT [cursor] FROM [s].[_convex_sync_state] WITH (UPDLOCK, HOLDLOCK) WHERE id = 1;",
      ),
    ).toEqual([]);
  });

  it("openChangeTarget opens SQL Server targets with this target (here: no server listening, so it fails to connect)", async () => {
    await expect(
      openChangeTarget("mssql://u:p@127.0.0.1:1/db?trustServerCertificate=true", "s"),
    ).rejects.toMatchObject({
      code: "ESOCKET",
      message: expect.stringMatching(/Failed to connect to 127\.0\.0\.1:1/),
    });
  });
});
