/**
 * The SQL Server change target driven for real (./mssql.ts) over the import's recording wire
 * (../import/load/mssql/testing/recording-wire.ts), answering as a server would (a small scripted server below):
 * every T-SQL text it sends parses under the grammars-v4 grammar, the sequence has the properties the
 * guarantees rest on, and int64 values beyond 2^53 reach the driver's wire encoding exact. No SQL Server runs
 * here: what the server does with these statements is UNVERIFIED unless the MSSQL_URL suites ran.
 */
import sql from "mssql";
import tedious from "tedious";
import WritableTrackingBuffer from "tedious/lib/tracking-buffer/writable-tracking-buffer.js";
import { describe, expect, it } from "vitest";
import type { PriorRow } from "../import/load/connection.js";
import { existingColumnsSql, lockHeldSql, lockSql, unlockSql } from "../import/load/mssql/sql.js";
import { RecordingWire, type Sent } from "../import/load/mssql/testing/recording-wire.js";
import { scriptedServer } from "../import/load/mssql/testing/scripted-server.js";
import { tsqlSyntaxErrors } from "../import/load/mssql/testing/tsql-grammar.js";
import { mssqlRequest, type Params } from "../import/load/mssql/wire.js";
import type { PlannedColumn } from "../import/mapping/types.js";
import { toExportJson } from "../import/values.js";
import { applyBatch, CursorMovedError, type SyncState } from "./apply.js";
import type { FeedPage } from "./feedClient.js";
import { MssqlChangeTarget } from "./mssql.js";
import { openChangeTarget } from "./openTarget.js";
import { beginSql, commitSql, rollbackSql } from "./mssqlSql.js";

const BIG = 2n ** 60n + 7n; // above 2^53: a double would round it
const TS = 1_764_400_000_000_000_123n;
const SCHEMA = "My]Sch'ema";

/** What the scripted server holds: the state row, the mapping rows, the rows widened columns hold. */
interface ServerState {
  cursor: string | null;
  snapshotTs?: string | null;
  appliedAt?: Date;
  /** The state row's detached_tables; absent: a state table from before that column. */
  detachedTables?: string | null;
  prior: PriorRow[];
  widened: Record<string, unknown>[];
  /** sp_getapplock's answers, first to last (then 0: granted). */
  lockResults: number[];
  rowCount: number;
  /** sys.columns of existing tables, by quoted name (existingColumnsSql). */
  existing?: Record<string, unknown[]>;
}

class CapturingWire extends RecordingWire {
  /** The rows each bulk load sent, by table. */
  readonly bulkRows = new Map<string, unknown[][]>();

  override async bulkLoad(table: string, columns: readonly PlannedColumn[], rows: AsyncIterable<unknown[]>) {
    const taken: unknown[][] = [];
    this.bulkRows.set(table, taken);
    async function* tap() {
      for await (const row of rows) {
        taken.push(row);
        yield row;
      }
    }
    return super.bulkLoad(table, columns, tap());
  }
}

function server(state: ServerState): CapturingWire {
  const fallback = scriptedServer({});
  return new CapturingWire((text, params) => {
    if (text === lockSql) return [{ result: state.lockResults.shift() ?? 0 }];
    if (text === lockHeldSql) return [{ mode: "Exclusive" }];
    if (text.includes("WITH (UPDLOCK, HOLDLOCK)"))
      return state.cursor === null ? [] : [{ cursor: state.cursor }];
    if (text.startsWith("IF OBJECT_ID(@stateTable, N'U') IS NOT NULL\nSELECT *"))
      return state.cursor === null
        ? []
        : [
            {
              id: 1,
              cursor: state.cursor,
              sync_id: "sync",
              status: "upToDate",
              snapshot_ts: state.snapshotTs ?? null,
              applied_at: state.appliedAt ?? new Date(0),
              ...(state.detachedTables === undefined ? {} : { detached_tables: state.detachedTables }),
              snapshot_text: state.snapshotTs ?? null,
            },
          ];
    if (text.startsWith("IF OBJECT_ID(@metaTables, N'U') IS NOT NULL AND")) return state.prior;
    if (text.startsWith("SELECT [_id] AS id,")) return state.widened;
    if (text.endsWith("SELECT @@ROWCOUNT AS n;")) return [{ n: state.rowCount }];
    if (text === existingColumnsSql) return state.existing?.[params.target as string] ?? [];
    return fallback(text, params);
  });
}

const page = (
  values: FeedPage["values"],
  truncates: FeedPage["truncates"] = [],
  nextCursor = "c2",
): FeedPage => ({
  status: { type: "upToDate", snapshotTs: TS },
  truncates,
  values,
  syncId: "sync",
  pagination: { hasMore: true, nextCursor },
});

const doc = (table: string, id: string, ts: bigint, fields: Record<string, unknown> | null) => ({
  component: table.includes("/") ? table.split("/")[0]! : "",
  table: table.split("/").at(-1)!,
  ts,
  deleted: fields === null,
  value: { _id: id, _creationTime: 1745162191687.5, ...(fields ?? {}) } as never,
});

const prior = (table: string, columns: [string, string][]): PriorRow[] =>
  [
    ["_id", "NVARCHAR(128)"],
    ["_creationTime", "FLOAT"],
    ["_creationTimeUtc", "DATETIME2(3)"],
    ...columns,
  ].map(([field, type]) => ({
    component: "",
    convex_table: table,
    sql_table: table,
    convex_field: field!,
    sql_column: field!,
    sql_type: type!,
  }));

async function target(wire: RecordingWire): Promise<MssqlChangeTarget> {
  return MssqlChangeTarget.open(wire, SCHEMA, { lockRetryMs: 0 });
}

const texts = (sent: readonly Sent[]) => sent.map((s) => s.text);

function expectAllParse(wire: RecordingWire): void {
  const failures = [...wire.texts("query"), ...wire.texts("batch")]
    .map((text) => ({ text, errors: tsqlSyntaxErrors(text) }))
    .filter((f) => f.errors.length);
  expect(failures).toEqual([]);
  for (const bulk of wire.texts("bulk")) {
    const list = /^insert bulk (#\w+)\((.*)\) WITH \(KEEP_NULLS,TABLOCK\)$/s.exec(bulk);
    expect(list, bulk).not.toBeNull();
    expect(tsqlSyntaxErrors(`CREATE TABLE ${list![1]} (${list![2]});`)).toEqual([]);
  }
}

/** The requests of each BEGIN … COMMIT/ROLLBACK batch pair, in order. */
function transactions(sent: readonly Sent[]): { body: Sent[]; end: string }[] {
  const out: { body: Sent[]; end: string }[] = [];
  let current: Sent[] | undefined;
  for (const s of sent) {
    if (s.kind === "batch" && s.text === beginSql) {
      expect(current, "BEGIN inside a transaction").toBeUndefined();
      current = [];
    } else if (s.kind === "batch" && (s.text === commitSql || s.text === rollbackSql)) {
      out.push({ body: current!, end: s.text });
      current = undefined;
    } else if (current) current.push(s);
  }
  expect(current, "a transaction left open").toBeUndefined();
  return out;
}

/** The bytes tedious writes for a parameter as mssql hands it over (tedious' data-types writeValue). */
function tdsValueBytes(params: Params, name: string): Buffer {
  const pool = new sql.ConnectionPool({ server: "localhost", user: "u", password: "p", database: "d" });
  const req = mssqlRequest(pool, params, {}) as unknown as {
    parameters: Record<string, { type: () => unknown; value: unknown }>;
  };
  const param = req.parameters[name]!;
  expect(param.type).toBe(sql.BigInt); // mssql maps it to tedious' TYPES.BigInt (tedious/request.js)
  const type = tedious.TYPES.BigInt as unknown as {
    validate(v: unknown): unknown;
    writeValue(b: unknown, p: { value: unknown }): void;
  };
  const buffer = new WritableTrackingBuffer();
  type.writeValue(buffer, { value: type.validate(param.value) });
  return buffer.data;
}

const int64Bytes = (n: bigint) => {
  const b = Buffer.alloc(9);
  b.writeUInt8(8);
  b.writeBigInt64LE(n, 1);
  return b;
};

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

  it("widens columns to the import's JSON text: values read back, re-encoded in JavaScript, written through #convex_widened", async () => {
    const floats = [0.1 + 0.2, -0, 1e21, 5];
    const state: ServerState = {
      cursor: "c1",
      prior: prior("m", [
        ["n", "BIGINT"],
        ["b", "VARBINARY(MAX)"],
        ["s", "NVARCHAR(MAX)"],
        ["f", "FLOAT"],
        ["ok", "BIT"],
      ]),
      // As tedious returns them (value-parser.js): BIGINT as a decimal string, FLOAT a double, VARBINARY a Buffer.
      widened: floats.map((f, i) => ({
        id: `r${i}`,
        v0: (BIG + BigInt(i)).toString(),
        v1: Buffer.from([i, 255]),
        v2: `s"${i}`,
        v3: f,
        v4: i % 2 === 0,
      })),
      lockResults: [],
      rowCount: 0,
    };
    const wire = server(state);
    const t = await target(wire);
    await applyBatch(t, {
      fromCursor: "c1",
      pages: [page([doc("m", "new", TS, { n: "text", b: 1n, s: 2n, f: "x", ok: "y" })])],
    });
    expectAllParse(wire);
    const body = texts(transactions(wire.sent)[0]!.body);
    const at = (re: RegExp) => body.findIndex((s) => re.test(s));
    const read = at(
      /^SELECT \[_id\] AS id, \[n\] AS v0, \[b\] AS v1, \[s\] AS v2, \[f\] AS v3, \[ok\] AS v4 FROM/,
    );
    const clear = at(
      /^UPDATE \[My\]\]Sch'ema\]\.\[m\] SET \[n\] = NULL, \[b\] = NULL, \[f\] = NULL, \[ok\] = NULL;$/,
    );
    const alter = at(
      /^ALTER TABLE \[My\]\]Sch'ema\]\.\[m\] ALTER COLUMN \[n\] NVARCHAR\(MAX\) COLLATE Latin1_General_100_BIN2 NULL;$/,
    );
    const write = at(
      /^UPDATE cur SET \[n\] = w\.v0, \[b\] = w\.v1, \[s\] = w\.v2, \[f\] = w\.v3, \[ok\] = w\.v4\n/,
    );
    const upsert = at(/^UPDATE cur SET \[_creationTime\]/);
    expect(
      [read, clear, alter, write, upsert].every((i, k, all) => i >= 0 && (k === 0 || i > all[k - 1]!)),
    ).toBe(true);
    // The string column is NVARCHAR(MAX) already: only its values change, no ALTER.
    expect(body.filter((s) => s.includes("ALTER COLUMN"))).toHaveLength(4);
    expect(body.some((s) => s.includes("ALTER COLUMN [s]"))).toBe(false);
    expect(wire.bulkRows.get("#convex_widened")).toEqual(
      state.widened.map((r, i) => [
        `r${i}`,
        (BIG + BigInt(i)).toString(),
        toExportJson(Buffer.from([i, 255])),
        JSON.stringify(`s"${i}`),
        toExportJson(floats[i]!),
        i % 2 === 0 ? "true" : "false",
      ]),
    );
    expect(wire.bulkRows.get("#convex_widened")!.map((r) => r[4])).toEqual([
      "0.30000000000000004",
      "-0.0",
      "1e+21",
      "5.0",
    ]);
    const types = wire.sent.find((s) =>
      s.text.startsWith("INSERT INTO [My]]Sch'ema].[_convex_columns]"),
    )!.params;
    expect(types.t3).toBe("NVARCHAR(MAX) JSON"); // n
  });

  it("a truncated table that widens is emptied first and only changes type (nothing read back)", async () => {
    const state: ServerState = {
      cursor: "c1",
      prior: prior("m", [["n", "BIGINT"]]),
      widened: [{ id: "x", v0: "1" }],
      lockResults: [],
      rowCount: 0,
    };
    const wire = server(state);
    const t = await target(wire);
    await applyBatch(t, {
      fromCursor: "c1",
      pages: [page([doc("m", "new", TS, { n: "text" })], [{ component: "", table: "m" }])],
    });
    const body = texts(transactions(wire.sent)[0]!.body);
    const del = body.indexOf("DELETE FROM [My]]Sch'ema].[m];");
    const alter = body.findIndex((s) => s.includes("ALTER COLUMN [n]"));
    expect(del).toBeGreaterThan(0);
    expect(alter).toBeGreaterThan(del);
    expect(body.some((s) => s.startsWith("SELECT [_id] AS id"))).toBe(false);
    expect(body.find((s) => s.startsWith("UPDATE [My]]Sch'ema].[_convex_tables]"))).toMatch(
      /CASE WHEN @truncated = 1 THEN 0/,
    );
    expectAllParse(wire);
  });

  it("after a snapshot sync refilled a table in place, reuses the columns it kept (_ts among them) instead of adding them again", async () => {
    const state: ServerState = {
      cursor: "c1",
      prior: prior("users", [["n", "BIGINT"]]),
      widened: [],
      lockResults: [],
      rowCount: 1,
      existing: {
        "[My]]Sch'ema].[users]": [
          { name: "_ts", type: "bigint", max_length: 8, scale: 0 }, // kept by the refill, stale values
          { name: "old", type: "bit", max_length: 1, scale: 0 }, // a field the source dropped, back as text
        ],
      },
    };
    const wire = server(state);
    const t = await target(wire);
    await applyBatch(t, {
      fromCursor: "c1",
      pages: [page([doc("users", "u1", TS, { n: 1n, old: "text", fresh: true })])],
    });
    const body = texts(transactions(wire.sent)[0]!.body);
    const u = "[My]]Sch'ema].[users]";
    const clear = body.indexOf(`UPDATE ${u} SET [_ts] = NULL, [old] = NULL;`);
    const add = body.indexOf(`ALTER TABLE ${u} ADD [fresh] BIT NULL;`);
    const alter = body.indexOf(
      `ALTER TABLE ${u} ALTER COLUMN [old] NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;`,
    );
    expect([clear, add, alter].every((i) => i > 0)).toBe(true);
    expect(clear).toBeLessThan(alter);
    expect(body.filter((s) => s.includes("ALTER COLUMN"))).toHaveLength(1); // _ts has the type already
    expectAllParse(wire);
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
