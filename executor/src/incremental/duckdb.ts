/**
 * ChangeTarget for a DuckDB warehouse file: the statements of one page batch, all inside one transaction.
 * Reuses the import's DuckDB dialect (../import/load/duckdb/): types and quoting (sql.ts), the appender's cell
 * encoding (append.ts), and the opening with its limits and one-writer-per-file lock (instance.ts) — the lock
 * the snapshot import takes too, so the two never interleave.
 *
 *   BEGIN TRANSACTION
 *   SELECT cursor FROM _convex_sync_state                     -- must still be the batch's starting cursor
 *   per table: CREATE TABLE | ALTER TABLE ADD COLUMN (or reuse a column the mapping lacks); widened columns:
 *              the table rebuilt with them as JSON, values re-encoded (duckdbWiden.ts);
 *              DELETE (truncate); per slice: appender → temp table of deletes, DELETE … USING;
 *              per slice: appender → temp table of changes, DELETE the older versions, INSERT the rows not there;
 *              _convex_tables / _convex_columns rows
 *   DELETE + INSERT the cursor row of _convex_sync_state
 *   COMMIT
 *
 * DuckDB tables have no primary key (sql.ts says why), so the upsert is a delete of every row the change
 * supersedes followed by an insert of the changes whose `_id` is then absent; the changes go in slices bounded by
 * bytes so that a page of large documents fits the memory_limit (duckdbRows.ts).
 */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { defaultValueRules } from "../import/mapping/plan.js";
import {
  groupPriorRows,
  priorRowsSql,
  qualifiedOf,
  type PriorRow,
  type PriorTable,
} from "../import/load/connection.js";
import { inTransaction } from "../import/load/steps.js";
import {
  DEFAULT_DUCKDB_SETTINGS,
  openDuckdb,
  type DuckdbSettings,
  type OpenedDuckdb,
} from "../import/load/duckdb/instance.js";
import {
  addColumnSql,
  columnTypeFromDuckdb,
  createTableSql,
  duckdbIdentifierRules,
  duckdbType,
  metadataTablesSql,
  qualifiedName,
  quoteIdent,
  tablesInSchemaSql,
} from "../import/load/duckdb/sql.js";
import {
  detachedTablesText,
  StepTooLargeError,
  SYNC_STATE_TABLE,
  syncStateOfRow,
  transactionalWrites,
  TS_FIELD,
  type ApplyPlan,
  type ChangeTarget,
  type SyncState,
  type SyncStateRow,
  type TableApplyPlan,
  type TableApplyResult,
} from "./apply.js";
import { DuckdbRowWriter, sliceBytesFor } from "./duckdbRows.js";
import { DuckdbWidener } from "./duckdbWiden.js";

export function syncStateTableSql(schema: string): string {
  // One row (id = 1); no key, like the mapping tables (sql.ts): writeState deletes, then inserts.
  return (
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, SYNC_STATE_TABLE)} (` +
    `id SMALLINT NOT NULL CHECK (id = 1), cursor VARCHAR NOT NULL, sync_id VARCHAR NOT NULL, status VARCHAR NOT NULL, ` +
    `snapshot_ts BIGINT, applied_at TIMESTAMPTZ NOT NULL, detached_tables VARCHAR)`
  );
}

/** A state table created before `detached_tables` existed gains it (NULL: none detached). */
export function syncStateColumnsSql(schema: string): string {
  return `ALTER TABLE ${qualifiedName(schema, SYNC_STATE_TABLE)} ADD COLUMN IF NOT EXISTS detached_tables VARCHAR`;
}

export interface DuckdbChangeTargetOptions {
  settings?: DuckdbSettings;
  /** Called before each statement is sent (appender writes count as one); the crash tests kill the process here. */
  onStatement?: (sql: string) => void;
}

export class DuckdbChangeTarget implements ChangeTarget {
  readonly identifierRules = duckdbIdentifierRules;
  readonly valueRules = defaultValueRules;
  private readonly rowWriter: DuckdbRowWriter;
  private readonly widener: DuckdbWidener;
  private readonly writes = transactionalWrites((body) => this.transaction(body), {
    createBookkeeping: () => this.createBookkeeping(),
    // No row locks in DuckDB; none needed: instance.ts lets one writer at a time open the file.
    storedCursor: async () => {
      const [row] = await this.rows<{ cursor: string }>(
        `SELECT cursor FROM ${qualifiedName(this.schema, SYNC_STATE_TABLE)} WHERE id = 1`,
      );
      return row?.cursor ?? null;
    },
    applyTable: (t, state) => this.applyTable(t, state),
    writeState: (state) => this.writeState(state),
    sqlName: (t) => qualifiedName(this.schema, t.sqlTable),
  });

  private constructor(
    private readonly opened: OpenedDuckdb,
    private readonly schema: string,
    private readonly onStatement: (sql: string) => void,
    memoryLimit: string,
  ) {
    this.rowWriter = new DuckdbRowWriter(
      opened.connection,
      (sql) => this.run(sql),
      onStatement,
      sliceBytesFor(memoryLimit),
    );
    this.widener = new DuckdbWidener(
      opened.connection,
      (sql) => this.run(sql),
      onStatement,
      sliceBytesFor(memoryLimit),
    );
  }

  /** Opens the file for writing: refused (WarehouseInUseError) while any other writer holds it. */
  static async open(
    file: string,
    schema: string,
    options: DuckdbChangeTargetOptions = {},
  ): Promise<DuckdbChangeTarget> {
    const settings = options.settings ?? DEFAULT_DUCKDB_SETTINGS;
    const opened = await openDuckdb(file, settings);
    const target = new DuckdbChangeTarget(
      opened,
      schema,
      options.onStatement ?? (() => {}),
      settings.memoryLimit,
    );
    try {
      await target.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    } catch (err) {
      opened.close();
      throw err;
    }
    return target;
  }

  private get db(): DuckDBConnection {
    return this.opened.connection;
  }

  private async run(sql: string, params?: DuckDBValue[]): Promise<number> {
    this.onStatement(sql);
    return (await this.db.run(sql, params)).rowsChanged;
  }

  private async rows<T>(sql: string, params?: DuckDBValue[]): Promise<T[]> {
    this.onStatement(sql);
    return (await this.db.runAndReadAll(sql, params)).getRowObjectsJS() as T[];
  }

  private async tableNames(): Promise<Set<string>> {
    const rows = await this.rows<{ table_name: string }>(tablesInSchemaSql, [this.schema]);
    return new Set(rows.map((r) => r.table_name));
  }

  async readPrior(): Promise<Map<string, PriorTable>> {
    const tables = await this.tableNames();
    if (!tables.has("_convex_tables") || !tables.has("_convex_columns")) return new Map();
    const prior = await this.rows<PriorRow>(priorRowsSql(this.schema, qualifiedName));
    return groupPriorRows(prior, columnTypeFromDuckdb);
  }

  async readState(): Promise<SyncState | null> {
    if (!(await this.tableNames()).has(SYNC_STATE_TABLE)) return null;
    const table = qualifiedName(this.schema, SYNC_STATE_TABLE);
    // `*`: a state table written before detached_tables existed lacks it (createBookkeeping adds it).
    const [row] = await this.rows<SyncStateRow>(
      `SELECT *, snapshot_ts AS snapshot_text FROM ${table} WHERE id = 1`,
    );
    return row ? syncStateOfRow(row, table) : null;
  }

  async tablesLoadedAfter(appliedAt: Date): Promise<string[]> {
    if (!(await this.tableNames()).has("_convex_tables")) return [];
    const rows = await this.rows<{ component: string; convex_table: string }>(
      `SELECT component, convex_table FROM ${qualifiedName(this.schema, "_convex_tables")} ` +
        `WHERE loaded_at > $1::TIMESTAMPTZ ORDER BY component, convex_table`,
      [appliedAt.toISOString()],
    );
    return rows.map(qualifiedOf);
  }

  async apply(plan: ApplyPlan): Promise<TableApplyResult[]> {
    try {
      return await this.writes.apply(plan);
    } catch (err) {
      throw isOutOfMemory(err) ? new StepTooLargeError(err) : err;
    }
  }

  initialize(state: SyncState): Promise<void> {
    return this.writes.initialize(state);
  }

  private transaction<T>(body: () => Promise<T>): Promise<T> {
    return inTransaction((sql) => this.run(sql), "BEGIN TRANSACTION", body);
  }

  private async createBookkeeping(): Promise<void> {
    for (const sql of metadataTablesSql(this.schema)) await this.run(sql);
    await this.run(syncStateTableSql(this.schema));
    // Before any row change of the transaction: DuckDB refuses to commit an ALTER after its table's rows changed.
    await this.run(syncStateColumnsSql(this.schema));
  }

  private async writeState(state: SyncState): Promise<void> {
    const table = qualifiedName(this.schema, SYNC_STATE_TABLE);
    await this.run(`DELETE FROM ${table}`);
    await this.run(
      `INSERT INTO ${table} (id, cursor, sync_id, status, snapshot_ts, applied_at, detached_tables) ` +
        `VALUES (1, $1, $2, $3, $4::BIGINT, $5::TIMESTAMPTZ, $6)`,
      [
        state.cursor,
        state.syncId,
        state.status,
        state.snapshotTs?.toString() ?? null,
        state.appliedAt.toISOString(),
        detachedTablesText(state.detachedTables),
      ],
    );
  }

  /** Widened columns become JSON by rebuilding the table (duckdbWiden.ts says why), before its row changes. */
  private async widen(t: TableApplyPlan): Promise<void> {
    if (t.widenedColumns.length === 0) return;
    const names = t.widenedColumns.map(({ column }) => column.sqlName);
    await this.widener.rebuild(this.schema, t.sqlTable, names, t.truncated);
  }

  /**
   * New columns of a known table. A column of that name may be there already though `_convex_columns` lacks it:
   * an analyst's (DuckDB's snapshot loads replace tables, so none of ours is left that way). It holds nothing of
   * ours: it is emptied and given the planned type, as on PostgreSQL and SQL Server, instead of added again
   * ("Column with name … already exists"). By ALTERs only — `SET DATA TYPE … USING NULL` empties it even at the
   * same type — since DuckDB refuses to commit a transaction that alters a table after changing its rows.
   */
  private async addColumns(t: TableApplyPlan): Promise<void> {
    if (t.addedColumns.length === 0) return;
    const target = qualifiedName(this.schema, t.sqlTable);
    const existing = await this.rows<{ name: string; nullable: boolean }>(
      `SELECT column_name AS name, is_nullable AS nullable FROM duckdb_columns() ` +
        `WHERE database_name = current_database() AND schema_name = $1 AND table_name = $2`,
      [this.schema, t.sqlTable],
    );
    // DuckDB's names are case-insensitive: "Rank" is the column "rank" would be.
    const byName = new Map(existing.map((c) => [c.name.toLowerCase(), c]));
    for (const column of t.addedColumns) {
      const kept = byName.get(column.sqlName.toLowerCase());
      if (!kept) {
        await this.run(addColumnSql(this.schema, t.sqlTable, column));
        continue;
      }
      const name = quoteIdent(kept.name);
      if (!kept.nullable) await this.run(`ALTER TABLE ${target} ALTER COLUMN ${name} DROP NOT NULL`);
      const type = duckdbType(column.type);
      await this.run(
        `ALTER TABLE ${target} ALTER COLUMN ${name} SET DATA TYPE ${type} USING CAST(NULL AS ${type})`,
      );
    }
  }

  private async applyTable(t: TableApplyPlan, state: SyncState): Promise<TableApplyResult> {
    const s = this.schema;
    const target = qualifiedName(s, t.sqlTable);
    const ts = quoteIdent(t.columns.find((c) => c.field === TS_FIELD)!.sqlName);
    if (t.isNew) {
      await this.run(createTableSql(s, t.sqlTable, t.columns));
    } else {
      await this.addColumns(t);
      await this.widen(t);
      if (t.truncated) await this.run(`DELETE FROM ${target}`);
    }

    const deleted = await this.rowWriter.deleteRows(target, ts, t.deletes);
    const { inserted, updated } = await this.rowWriter.upsertRows(target, ts, t.columns, t.upserts);
    await this.recordTable(t, state, inserted - deleted);
    return { table: t.qualified, sqlTable: t.sqlTable, truncated: t.truncated, inserted, updated, deleted };
  }

  private async recordTable(t: TableApplyPlan, state: SyncState, rowDelta: number): Promise<void> {
    const tables = qualifiedName(this.schema, "_convex_tables");
    const snapshotTs = state.status === "snapshotting" ? null : (state.snapshotTs?.toString() ?? null);
    if (t.isNew) {
      await this.run(
        `INSERT INTO ${tables} (convex_table, component, sql_table, row_count, snapshot_ts, loaded_at) ` +
          `VALUES ($1, $2, $3, $4, $5::BIGINT, $6::TIMESTAMPTZ)`,
        [t.convexTable, t.component, t.sqlTable, BigInt(rowDelta), snapshotTs, state.appliedAt.toISOString()],
      );
    } else {
      await this.run(
        `UPDATE ${tables} SET row_count = (CASE WHEN $3 THEN 0 ELSE row_count END) + $4, ` +
          `snapshot_ts = COALESCE($5::BIGINT, snapshot_ts), loaded_at = $6::TIMESTAMPTZ ` +
          `WHERE component = $1 AND convex_table = $2`,
        [
          t.component,
          t.convexTable,
          t.truncated,
          BigInt(rowDelta),
          snapshotTs,
          state.appliedAt.toISOString(),
        ],
      );
    }
    if (t.isNew || t.addedColumns.length > 0 || t.widenedColumns.length > 0) {
      const columns = qualifiedName(this.schema, "_convex_columns");
      await this.run(`DELETE FROM ${columns} WHERE sql_table = $1`, [t.sqlTable]);
      for (const [i, c] of t.columns.entries()) {
        await this.run(
          `INSERT INTO ${columns} (sql_table, convex_field, sql_column, sql_type, ordinal_position) ` +
            `VALUES ($1, $2, $3, $4, $5)`,
          [t.sqlTable, c.field, c.sqlName, duckdbType(c.type), i + 1],
        );
      }
    }
  }

  async close(): Promise<void> {
    this.opened.close();
  }
}

/** DuckDB's "Out of Memory Error: …" (memory_limit reached), possibly wrapped by applyPlanSteps' table context. */
function isOutOfMemory(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (/Out of Memory Error/.test(e.message)) return true;
  return false;
}
