/**
 * T-SQL text of the SQL Server change target (./mssql.ts): the statements of one page batch, written with the
 * import's dialect (../import/load/mssql/sql.ts: quoting, types, the BIN2 collation, the mapping tables). Values
 * travel only as parameters (@…) or bulk data. Every text here is parsed by the grammars-v4 T-SQL grammar in
 * mssql.test.ts, driven through the real target. UNVERIFIED against a live SQL Server unless the incremental
 * suite ran with MSSQL_URL set: locking, XACT_ABORT, @@ROWCOUNT and temp-table scoping are from Microsoft's
 * documentation, not from a run here.
 */
import type { PlannedColumn } from "../import/mapping/types.js";
import {
  lockTimeoutSql,
  MSSQL_COLLATION,
  mssqlType,
  qualifiedName,
  quoteIdent,
} from "../import/load/mssql/sql.js";
import { SYNC_STATE_TABLE } from "./apply.js";

/**
 * Local temp tables of the session (tempdb, gone with the connection). Created by a plain batch, never through
 * sp_executesql (mssql's query()): a #table created inside a procedure's scope is dropped when that scope ends,
 * while one created by a batch lives until the session drops it, and nested scopes (the later sp_executesql
 * calls, the INSERT BULK) see it.
 */
export const CHANGES_TABLE = "#convex_changes";
export const DELETES_TABLE = "#convex_deletes";
export const WIDENED_TABLE = "#convex_widened";

/**
 * A batch waits at most this long for each lock (an analyst's long query on a table it must ALTER or update),
 * then fails with 1222 — a transient error (errors.ts): the transaction rolls back and the next run tries again.
 */
export const BATCH_LOCK_TIMEOUT_MS = 60_000;

/**
 * Plain batches (tedious execSqlBatch) so the SETs hold for the session, not for one sp_executesql call.
 * XACT_ABORT is also on through the session's connection option (abortTransactionOnError, as the import's).
 */
export const beginSql = `SET XACT_ABORT ON;\n${lockTimeoutSql(BATCH_LOCK_TIMEOUT_MS)}\nBEGIN TRANSACTION;`;
export const commitSql = "COMMIT TRANSACTION;";
/** After XACT_ABORT the server has rolled back already: ROLLBACK with no transaction would be error 3903. */
export const rollbackSql = "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;";

const ID = quoteIdent("_id");
const COLLATED = ` COLLATE ${MSSQL_COLLATION}`;

export function stateTable(schema: string): string {
  return qualifiedName(schema, SYNC_STATE_TABLE);
}

/**
 * `@stateTable`. One row (id = 1). `cursor` is a reserved word in T-SQL, hence always [cursor]. snapshot_ts is
 * BIGINT like `_convex_tables.snapshot_ts`: nanoseconds since 1970 fit until 2262. applied_at is DATETIME2(3),
 * the type of `_convex_tables.loaded_at`, so tablesLoadedAfter compares like with like (a JS Date has ms).
 */
export function syncStateTableSql(schema: string): string {
  return `IF OBJECT_ID(@stateTable, N'U') IS NULL CREATE TABLE ${stateTable(schema)} (
  id SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1), [cursor] NVARCHAR(MAX)${COLLATED} NOT NULL,
  sync_id NVARCHAR(MAX)${COLLATED} NOT NULL, status NVARCHAR(20)${COLLATED} NOT NULL,
  snapshot_ts BIGINT NULL, applied_at DATETIME2(3) NOT NULL, detached_tables NVARCHAR(MAX)${COLLATED} NULL);`;
}

/**
 * `@stateTable`: a state table created before `detached_tables` existed gains it (NULL: none detached). A batch
 * of its own: a statement naming the new column compiles only in a later batch.
 */
export function syncStateColumnsSql(schema: string): string {
  return `IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(@stateTable, N'U') AND name = N'detached_tables')
  ALTER TABLE ${stateTable(schema)} ADD detached_tables NVARCHAR(MAX)${COLLATED} NULL;`;
}

/**
 * `@stateTable`: the state row, none when the table does not exist. snapshot_ts as text: beyond 2^53. `*`: a
 * state table written before detached_tables existed lacks it (createBookkeeping adds it).
 */
export function readStateSql(schema: string): string {
  return `IF OBJECT_ID(@stateTable, N'U') IS NOT NULL
SELECT *, CAST(snapshot_ts AS VARCHAR(20)) AS snapshot_text
  FROM ${stateTable(schema)} WHERE id = 1;`;
}

/**
 * Inside the batch's transaction: the stored cursor, its row locked until the commit (UPDLOCK: no other writer;
 * HOLDLOCK: serializable, so a missing row stays missing). The schema's application lock already keeps other
 * runs and imports out; this is the check that the batch was fetched from what the warehouse holds.
 */
export function storedCursorSql(schema: string): string {
  return `SELECT [cursor] FROM ${stateTable(schema)} WITH (UPDLOCK, HOLDLOCK) WHERE id = 1;`;
}

/**
 * `@cursor`, `@syncId`, `@status`, `@snapshotTs`, `@appliedAt`, `@detachedTables`. No MERGE (its known defects);
 * the row is ours.
 */
export function writeStateSql(schema: string): string {
  const table = stateTable(schema);
  return `UPDATE ${table} SET [cursor] = @cursor, sync_id = @syncId, status = @status, snapshot_ts = @snapshotTs,
  applied_at = @appliedAt, detached_tables = @detachedTables WHERE id = 1;
IF @@ROWCOUNT = 0
  INSERT INTO ${table} (id, [cursor], sync_id, status, snapshot_ts, applied_at, detached_tables)
  VALUES (1, @cursor, @syncId, @status, @snapshotTs, @appliedAt, @detachedTables);`;
}

/** `@metaTables`, `@appliedAt`: tables a load wrote after the stored feed position. */
export function tablesLoadedAfterSql(schema: string): string {
  return `IF OBJECT_ID(@metaTables, N'U') IS NOT NULL
SELECT component, convex_table FROM ${qualifiedName(schema, "_convex_tables")}
 WHERE loaded_at > @appliedAt ORDER BY component, convex_table;`;
}

function columnDefinition(col: PlannedColumn): string {
  return `${quoteIdent(col.sqlName)} ${mssqlType(col.type)} ${col.required ? "NOT NULL" : "NULL"}`;
}

/**
 * A table the feed brings: created without the import's `IF OBJECT_ID … DROP TABLE` (that is for its own
 * staging tables): a table of that name that the mapping does not know fails the batch (2714) rather than
 * being dropped. The primary key as the import makes it (sql.ts primaryKeySql).
 */
export function createTableSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  return `CREATE TABLE ${qualifiedName(schema, table)} (${columns.map(columnDefinition).join(", ")});`;
}

/** A session temp table (see CHANGES_TABLE), replacing one an earlier failed batch of this session left. */
export function createTempSql(name: string, columns: readonly PlannedColumn[]): string {
  const defs = columns.map((c) =>
    c.sqlName === "_id" ? `${ID} ${mssqlType("id")} NOT NULL PRIMARY KEY` : columnDefinition(c),
  );
  return `IF OBJECT_ID(N'tempdb..${name}', N'U') IS NOT NULL DROP TABLE ${name};
CREATE TABLE ${name} (${defs.join(", ")});`;
}

export function dropTempSql(name: string): string {
  return `DROP TABLE ${name};`;
}

/** The columns of DELETES_TABLE. */
export const DELETE_COLUMNS: PlannedColumn[] = [
  { field: "_id", sqlName: "_id", type: "id", required: true },
  { field: "ts", sqlName: "ts", type: "int64", required: true },
];

/** Rows a change supersedes: none newer (`_ts` NULL: loaded from a snapshot ZIP, older than any change). */
function guard(ts: string, newer: string): string {
  return `cur.${ts} IS NULL OR cur.${ts} <= ${newer}`;
}

/** A truncate: DELETE, not TRUNCATE TABLE (mssql-review.md "Incremental apply" says why). */
export function deleteAllSql(schema: string, table: string): string {
  return `DELETE FROM ${qualifiedName(schema, table)};`;
}

/** Deletes of the feed, by `_id`, unless the row holds a newer version; the count as `n`. */
export function deleteChangesSql(schema: string, table: string, tsColumn: string): string {
  const ts = quoteIdent(tsColumn);
  return `DELETE cur FROM ${qualifiedName(schema, table)} AS cur JOIN ${DELETES_TABLE} AS x ON x.${ID} = cur.${ID}
 WHERE ${guard(ts, "x.ts")};
SELECT @@ROWCOUNT AS n;`;
}

/** Rows the changes supersede take the changes' values; the count as `n`. */
export function updateChangesSql(
  schema: string,
  table: string,
  columns: readonly PlannedColumn[],
  tsColumn: string,
): string {
  const ts = quoteIdent(tsColumn);
  const sets = columns
    .filter((c) => c.sqlName !== "_id")
    .map((c) => `${quoteIdent(c.sqlName)} = c.${quoteIdent(c.sqlName)}`)
    .join(", ");
  return `UPDATE cur SET ${sets}
  FROM ${qualifiedName(schema, table)} AS cur JOIN ${CHANGES_TABLE} AS c ON c.${ID} = cur.${ID}
 WHERE ${guard(ts, `c.${ts}`)};
SELECT @@ROWCOUNT AS n;`;
}

/** Changes whose `_id` the table does not hold; the count as `n`. */
export function insertChangesSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  const target = qualifiedName(schema, table);
  const names = columns.map((c) => quoteIdent(c.sqlName));
  return `INSERT INTO ${target} (${names.join(", ")})
SELECT ${names.map((n) => `c.${n}`).join(", ")} FROM ${CHANGES_TABLE} AS c
 WHERE NOT EXISTS (SELECT 1 FROM ${target} AS cur WHERE cur.${ID} = c.${ID});
SELECT @@ROWCOUNT AS n;`;
}

/** The values of columns about to widen, as `v0…`, of the rows holding any (read back to be re-encoded). */
export function readWidenedSql(schema: string, table: string, columns: readonly string[]): string {
  const names = columns.map(quoteIdent);
  return `SELECT ${ID} AS id, ${names.map((n, i) => `${n} AS v${i}`).join(", ")} FROM ${qualifiedName(schema, table)}
 WHERE ${names.map((n) => `${n} IS NOT NULL`).join(" OR ")};`;
}

/** Writes the re-encoded JSON text (WIDENED_TABLE's `v0…`) into the widened columns. */
export function writeWidenedSql(schema: string, table: string, columns: readonly string[]): string {
  const sets = columns.map((c, i) => `${quoteIdent(c)} = w.v${i}`).join(", ");
  return `UPDATE cur SET ${sets}
  FROM ${qualifiedName(schema, table)} AS cur JOIN ${WIDENED_TABLE} AS w ON w.${ID} = cur.${ID};`;
}

/** `@convexTable`, `@component`, `@sqlTable`, `@rowCount`, `@snapshotTs`, `@loadedAt`: a new table's mapping row. */
export function insertTableRowSql(schema: string): string {
  return `INSERT INTO ${qualifiedName(schema, "_convex_tables")} (convex_table, component, sql_table, row_count, snapshot_ts, loaded_at)
  VALUES (@convexTable, @component, @sqlTable, @rowCount, @snapshotTs, @loadedAt);`;
}

/**
 * `@component`, `@convexTable`, `@truncated` (0/1), `@rowDelta`, `@snapshotTs` (NULL keeps it), `@loadedAt`.
 * loaded_at moves with each batch, to the state's applied_at: tablesLoadedAfter finds only later loads.
 */
export function updateTableRowSql(schema: string): string {
  return `UPDATE ${qualifiedName(schema, "_convex_tables")}
   SET row_count = CASE WHEN @truncated = 1 THEN 0 ELSE row_count END + @rowDelta,
       snapshot_ts = COALESCE(@snapshotTs, snapshot_ts), loaded_at = @loadedAt
 WHERE component = @component AND convex_table = @convexTable;`;
}

/** `@sqlTable`: before the table's column rows are written again (sql.ts recordColumnsSql). */
export function deleteColumnRowsSql(schema: string): string {
  return `DELETE FROM ${qualifiedName(schema, "_convex_columns")} WHERE sql_table = @sqlTable;`;
}
