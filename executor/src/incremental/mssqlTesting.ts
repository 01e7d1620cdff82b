/**
 * The SQL Server change target's test kit (mssql.test.ts, mssqlWiden.test.ts): a scripted server behind the import's
 * recording wire (../import/load/mssql/testing/recording-wire.ts) that answers the target's reads, feed pages and
 * documents, and checks on what was sent (every text parses under the T-SQL grammar; BEGIN … COMMIT pairs; the
 * bytes tedious writes for an int64 parameter).
 */
import sql from "mssql";
import tedious from "tedious";
import WritableTrackingBuffer from "tedious/lib/tracking-buffer/writable-tracking-buffer.js";
import { expect } from "vitest";
import type { PriorRow } from "../import/load/connection.js";
import { existingColumnsSql, lockHeldSql, lockSql } from "../import/load/mssql/sql.js";
import { RecordingWire, type Sent } from "../import/load/mssql/testing/recording-wire.js";
import { scriptedServer } from "../import/load/mssql/testing/scripted-server.js";
import { tsqlSyntaxErrors } from "../import/load/mssql/testing/tsql-grammar.js";
import { mssqlRequest, type Params } from "../import/load/mssql/wire.js";
import type { PlannedColumn } from "../import/mapping/types.js";
import type { FeedPage } from "./feedClient.js";
import { MssqlChangeTarget } from "./mssql.js";
import { beginSql, commitSql, rollbackSql } from "./mssqlSql.js";

export const BIG = 2n ** 60n + 7n; // above 2^53: a double would round it
export const TS = 1_764_400_000_000_000_123n;
export const SCHEMA = "My]Sch'ema";

/** What the scripted server holds: the state row, the mapping rows, the rows widened columns hold. */
export interface ServerState {
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

export class CapturingWire extends RecordingWire {
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

export function server(state: ServerState): CapturingWire {
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

export const page = (
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

export const doc = (table: string, id: string, ts: bigint, fields: Record<string, unknown> | null) => ({
  component: table.includes("/") ? table.split("/")[0]! : "",
  table: table.split("/").at(-1)!,
  ts,
  deleted: fields === null,
  value: { _id: id, _creationTime: 1745162191687.5, ...(fields ?? {}) } as never,
});

export const prior = (table: string, columns: [string, string][]): PriorRow[] =>
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

export async function target(wire: RecordingWire): Promise<MssqlChangeTarget> {
  return MssqlChangeTarget.open(wire, SCHEMA, { lockRetryMs: 0 });
}

export const texts = (sent: readonly Sent[]) => sent.map((s) => s.text);

export function expectAllParse(wire: RecordingWire): void {
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
export function transactions(sent: readonly Sent[]): { body: Sent[]; end: string }[] {
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
export function tdsValueBytes(params: Params, name: string): Buffer {
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

export const int64Bytes = (n: bigint) => {
  const b = Buffer.alloc(9);
  b.writeUInt8(8);
  b.writeBigInt64LE(n, 1);
  return b;
};
