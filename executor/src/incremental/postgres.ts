/**
 * ChangeTarget for PostgreSQL and PGlite: the statements of one page batch, all inside one transaction.
 * Reuses the import's PostgreSQL session (lock per schema, mapping read-back) and SQL (../import/load/postgres/).
 *
 *   BEGIN
 *   SELECT cursor FROM _convex_sync_state FOR UPDATE          -- must still be the batch's starting cursor
 *   per table: CREATE TABLE | ALTER TABLE ADD (or reuse a column the mapping lacks)/ALTER TYPE jsonb; TRUNCATE; DELETE … USING unnest(ids, ts);
 *              COPY into a temp table; INSERT … ON CONFLICT (_id) DO UPDATE … WHERE cur._ts <= EXCLUDED._ts;
 *              _convex_tables / _convex_columns rows
 *   INSERT … ON CONFLICT (id) DO UPDATE the cursor (and the detached tables) in _convex_sync_state
 *   COMMIT
 */
import { defaultValueRules } from "../import/mapping/plan.js";
import type { ColumnType } from "../import/mapping/types.js";
import { encodeRows } from "../import/load/postgres/encode.js";
import { existingColumnTypes, hasPlannedType } from "../import/load/postgres/replace.js";
import { PostgresConnection } from "../import/load/postgres/session.js";
import {
  addColumnsSql,
  copiedColumns,
  createTableSql,
  metadataTablesSql,
  pgIdentifierRules,
  pgType,
  primaryKeySql,
  qualifiedName,
  quoteIdent,
  recordColumnsQueries,
} from "../import/load/postgres/sql.js";
import type { PgTransport } from "../import/load/postgres/transport.js";
import { qualifiedOf, type PriorTable } from "../import/load/connection.js";
import { inTransaction } from "../import/load/steps.js";
import { float64ToBase64 } from "../import/values.js";
import {
  detachedTablesText,
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

/** Rows per COPY write: bounds the text built at once for pages of large documents. */
const COPY_ROWS_PER_WRITE = 500;
const CHANGES_TABLE = `pg_temp.${quoteIdent("_convex_changes")}`;

export function syncStateTableSql(schema: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, SYNC_STATE_TABLE)} (` +
    `id smallint PRIMARY KEY CHECK (id = 1), cursor text NOT NULL, sync_id text NOT NULL, status text NOT NULL, ` +
    `snapshot_ts bigint, applied_at timestamptz NOT NULL, detached_tables text)`
  );
}

/** A state table created before `detached_tables` existed gains it (NULL: none detached). */
export function syncStateColumnsSql(schema: string): string {
  return `ALTER TABLE ${qualifiedName(schema, SYNC_STATE_TABLE)} ADD COLUMN IF NOT EXISTS detached_tables text`;
}

const FLOAT_MARKERS = {
  nan: float64ToBase64(NaN),
  inf: float64ToBase64(Infinity),
  negInf: float64ToBase64(-Infinity),
  negZero: float64ToBase64(-0),
};

/**
 * SQL turning a typed column's value into the JSON the import writes for it (values.ts toExportJson with
 * negativeZeroAsFloat and positionalLargeFloats): floats keep a `.`, those jsonb would print as integers get
 * `.0`, NaN/±Infinity/-0 become `{"$float": …}`, bytes `{"$bytes": …}`. Used when a column widens to jsonb.
 */
export function jsonFromColumnSql(column: string, from: ColumnType): string {
  switch (from) {
    case "bytes":
      return `jsonb_build_object('$bytes', translate(encode(${column}, 'base64'), E'\\n', ''))`;
    case "float64": {
      const t = `${column}::text`;
      const marker = (b64: string) => `jsonb_build_object('$float', '${b64}')`;
      return (
        `CASE WHEN ${column} IS NULL THEN NULL ` +
        `WHEN ${t} = 'NaN' THEN ${marker(FLOAT_MARKERS.nan)} ` +
        `WHEN ${t} = 'Infinity' THEN ${marker(FLOAT_MARKERS.inf)} ` +
        `WHEN ${t} = '-Infinity' THEN ${marker(FLOAT_MARKERS.negInf)} ` +
        `WHEN ${t} = '-0' THEN ${marker(FLOAT_MARKERS.negZero)} ` +
        `WHEN ${t} ~ 'e\\+' THEN ((${t})::numeric::text || '.0')::jsonb ` +
        `WHEN ${t} ~ '^-?[0-9]+$' THEN (${t} || '.0')::jsonb ` +
        `ELSE (${t})::jsonb END`
      );
    }
    case "id":
    case "string":
    case "unset":
    case "int64":
    case "boolean":
      return `to_jsonb(${column})`;
    case "json":
      return column;
    case "timestamp":
      throw new Error("a generated timestamp column never widens");
  }
}

export class PostgresChangeTarget implements ChangeTarget {
  readonly identifierRules = pgIdentifierRules;
  readonly valueRules = defaultValueRules;
  private readonly session: PostgresConnection;
  private readonly writes = transactionalWrites((body) => this.transaction(body), {
    createBookkeeping: () => this.createBookkeeping(),
    storedCursor: async () => {
      const [row] = await this.db.query<{ cursor: string }>(
        `SELECT cursor FROM ${qualifiedName(this.schema, SYNC_STATE_TABLE)} WHERE id = 1 FOR UPDATE`,
      );
      return row?.cursor ?? null;
    },
    applyTable: (t, state) => this.applyTable(t, state),
    writeState: (state) => this.writeState(state),
    sqlName: (t) => qualifiedName(this.schema, t.sqlTable),
  });

  private constructor(
    private readonly db: PgTransport,
    private readonly schema: string,
    kind: "postgres" | "pglite",
  ) {
    this.session = new PostgresConnection(kind, db);
  }

  /** Connects and takes the schema's lock (the same one the snapshot import takes: they never interleave). */
  static async open(
    db: PgTransport,
    kind: "postgres" | "pglite",
    schema: string,
  ): Promise<PostgresChangeTarget> {
    const target = new PostgresChangeTarget(db, schema, kind);
    try {
      await target.session.begin(schema);
    } catch (err) {
      await db.close();
      throw err;
    }
    return target;
  }

  readPrior(): Promise<Map<string, PriorTable>> {
    return this.session.readPrior();
  }

  async readState(): Promise<SyncState | null> {
    const table = qualifiedName(this.schema, SYNC_STATE_TABLE);
    const [exists] = await this.db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
      table,
    ]);
    if (!exists?.ok) return null;
    // `*`: a state table written before detached_tables existed lacks it (createBookkeeping adds it).
    const [row] = await this.db.query<SyncStateRow>(
      `SELECT *, snapshot_ts::text AS snapshot_text FROM ${table} WHERE id = 1`,
    );
    return row ? syncStateOfRow(row, table) : null;
  }

  async tablesLoadedAfter(appliedAt: Date): Promise<string[]> {
    const tables = qualifiedName(this.schema, "_convex_tables");
    const [exists] = await this.db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
      tables,
    ]);
    if (!exists?.ok) return [];
    const rows = await this.db.query<{ component: string; convex_table: string }>(
      `SELECT component, convex_table FROM ${tables} WHERE loaded_at > $1 ORDER BY component, convex_table`,
      [appliedAt.toISOString()],
    );
    return rows.map(qualifiedOf);
  }

  apply(plan: ApplyPlan): Promise<TableApplyResult[]> {
    return this.writes.apply(plan);
  }

  initialize(state: SyncState): Promise<void> {
    return this.writes.initialize(state);
  }

  private async transaction<T>(run: () => Promise<T>): Promise<T> {
    return inTransaction((sql) => this.db.query(sql), "BEGIN", run);
  }

  private async createBookkeeping(): Promise<void> {
    for (const sql of metadataTablesSql(this.schema)) await this.db.query(sql);
    await this.db.query(syncStateTableSql(this.schema));
    await this.db.query(syncStateColumnsSql(this.schema));
  }

  private async writeState(state: SyncState): Promise<void> {
    await this.db.query(
      `INSERT INTO ${qualifiedName(this.schema, SYNC_STATE_TABLE)} (id, cursor, sync_id, status, snapshot_ts, applied_at, detached_tables) ` +
        `VALUES (1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET cursor = EXCLUDED.cursor, ` +
        `sync_id = EXCLUDED.sync_id, status = EXCLUDED.status, snapshot_ts = EXCLUDED.snapshot_ts, ` +
        `applied_at = EXCLUDED.applied_at, detached_tables = EXCLUDED.detached_tables`,
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

  private async applyTable(t: TableApplyPlan, state: SyncState): Promise<TableApplyResult> {
    const s = this.schema;
    const target = qualifiedName(s, t.sqlTable);
    const ts = quoteIdent(t.columns.find((c) => c.field === TS_FIELD)!.sqlName);
    if (t.isNew) {
      await this.db.query(createTableSql(s, t.sqlTable, t.columns));
      await this.db.query(primaryKeySql(s, t.sqlTable));
    } else {
      if (t.addedColumns.length > 0) await this.addColumns(t);
      for (const { column, from } of t.widenedColumns) {
        const name = quoteIdent(column.sqlName);
        await this.db.query(
          `ALTER TABLE ${target} ALTER COLUMN ${name} TYPE ${pgType(column.type)} USING ${jsonFromColumnSql(name, from)}`,
        );
      }
      if (t.truncated) await this.db.query(`TRUNCATE ${target}`);
    }

    let deleted = 0;
    if (t.deletes.length > 0) {
      const [row] = await this.db.query<{ n: number }>(
        `WITH d AS (DELETE FROM ${target} AS cur USING unnest($1::text[], $2::bigint[]) AS x(id, ts) ` +
          `WHERE cur."_id" = x.id AND (cur.${ts} IS NULL OR cur.${ts} <= x.ts) RETURNING 1) SELECT count(*)::int AS n FROM d`,
        [t.deletes.map((d) => d.id), t.deletes.map((d) => d.ts.toString())],
      );
      deleted = row?.n ?? 0;
    }

    let inserted = 0;
    let updated = 0;
    if (t.upserts.length > 0) {
      const columns = copiedColumns(t.columns);
      const names = columns.map((c) => quoteIdent(c.sqlName)).join(", ");
      await this.db.query(
        `CREATE TEMP TABLE ${quoteIdent("_convex_changes")} (${columns
          .map((c) => `${quoteIdent(c.sqlName)} ${pgType(c.type)}`)
          .join(", ")}) ON COMMIT DROP`,
      );
      const sink = await this.db.copyIn(`COPY ${CHANGES_TABLE} (${names}) FROM ${this.db.copySource}`);
      try {
        for (let i = 0; i < t.upserts.length; i += COPY_ROWS_PER_WRITE)
          await sink.write(encodeRows(columns, t.upserts.slice(i, i + COPY_ROWS_PER_WRITE)));
        await sink.end();
      } catch (err) {
        await sink.abort();
        throw err;
      }
      const set = columns
        .filter((c) => c.type !== "id")
        .map((c) => `${quoteIdent(c.sqlName)} = EXCLUDED.${quoteIdent(c.sqlName)}`)
        .join(", ");
      const [row] = await this.db.query<{ inserted: number; updated: number }>(
        `WITH u AS (INSERT INTO ${target} AS cur (${names}) SELECT ${names} FROM ${CHANGES_TABLE} ` +
          `ON CONFLICT ("_id") DO UPDATE SET ${set} WHERE cur.${ts} IS NULL OR cur.${ts} <= EXCLUDED.${ts} ` +
          `RETURNING (xmax = 0) AS ins) ` +
          `SELECT (count(*) FILTER (WHERE ins))::int AS inserted, (count(*) FILTER (WHERE NOT ins))::int AS updated FROM u`,
      );
      await this.db.query(`DROP TABLE ${CHANGES_TABLE}`);
      inserted = row?.inserted ?? 0;
      updated = row?.updated ?? 0;
    }

    await this.recordTable(t, state, inserted - deleted);
    return { table: t.qualified, sqlTable: t.sqlTable, truncated: t.truncated, inserted, updated, deleted };
  }

  /**
   * New columns of a known table. A column of that name may be there already though `_convex_columns` lacks it:
   * a snapshot sync refills a table with dependents in place (replace.ts), keeping columns its plan lacks — an
   * analyst's, or `_ts` and dropped fields' after the mapping tables were dropped. Such a column holds nothing of
   * ours: it is emptied and given the planned type, as the refill itself reuses it, instead of added again (42701).
   */
  private async addColumns(t: TableApplyPlan): Promise<void> {
    const target = qualifiedName(this.schema, t.sqlTable);
    const existing = await existingColumnTypes(this.db, target);
    const missing = t.addedColumns.filter((c) => !existing.has(c.sqlName));
    const kept = t.addedColumns.filter((c) => existing.has(c.sqlName));
    if (missing.length > 0) await this.db.query(addColumnsSql(this.schema, t.sqlTable, missing));
    if (kept.length === 0) return;
    const names = kept.map((c) => quoteIdent(c.sqlName));
    await this.db.query(
      `ALTER TABLE ${target} ${names.map((n) => `ALTER COLUMN ${n} DROP NOT NULL`).join(", ")}`,
    );
    const sameType = kept
      .filter((c) => hasPlannedType(existing.get(c.sqlName)!, c))
      .map((c) => quoteIdent(c.sqlName));
    if (sameType.length > 0) {
      await this.db.query(
        `UPDATE ${target} SET ${sameType.map((n) => `${n} = NULL`).join(", ")} ` +
          `WHERE ${sameType.map((n) => `${n} IS NOT NULL`).join(" OR ")}`,
      );
    }
    for (const col of kept.filter((c) => !hasPlannedType(existing.get(c.sqlName)!, c))) {
      await this.db.query(
        `ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(col.sqlName)} TYPE ${pgType(col.type)} USING NULL`,
      );
    }
  }

  private async recordTable(t: TableApplyPlan, state: SyncState, rowDelta: number): Promise<void> {
    const tables = qualifiedName(this.schema, "_convex_tables");
    const snapshotTs = state.status === "snapshotting" ? null : (state.snapshotTs?.toString() ?? null);
    if (t.isNew) {
      await this.db.query(
        `INSERT INTO ${tables} (convex_table, component, sql_table, row_count, snapshot_ts, loaded_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [t.convexTable, t.component, t.sqlTable, rowDelta, snapshotTs, state.appliedAt.toISOString()],
      );
    } else {
      await this.db.query(
        `UPDATE ${tables} SET row_count = (CASE WHEN $3 THEN 0 ELSE row_count END) + $4, ` +
          `snapshot_ts = COALESCE($5, snapshot_ts), loaded_at = $6 WHERE component = $1 AND convex_table = $2`,
        [t.component, t.convexTable, t.truncated, rowDelta, snapshotTs, state.appliedAt.toISOString()],
      );
    }
    if (t.isNew || t.addedColumns.length > 0 || t.widenedColumns.length > 0) {
      for (const [sql, params] of recordColumnsQueries(this.schema, t.sqlTable, t.columns))
        await this.db.query(sql, params);
    }
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
