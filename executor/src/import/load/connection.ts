/**
 * What the shared pipeline needs from a target. One implementation per dialect family, each a `…Connection`:
 * load/postgres/ (PostgreSQL and PGlite, which differ only in transport), load/mssql/ and load/duckdb/.
 * Steps they all run the same way live once in ./steps.ts; a dialect supplies its SQL.
 */
import type { TargetKind } from "../../../../convex/contract/executor.js";
import type { IdentifierRules } from "../mapping/names.js";
import type { PriorColumn, ValueRules } from "../mapping/plan.js";
import {
  CREATION_TIME_FIELD,
  CREATION_TIME_UTC_FIELD,
  type ColumnType,
  type PlannedColumn,
} from "../mapping/types.js";
import type { ConvexObject, ConvexValue } from "../values.js";
import { qualify } from "../reader/layout.js";

/** What an earlier load recorded in `_convex_tables` / `_convex_columns`. */
export interface PriorTable {
  qualified: string;
  sqlTable: string;
  columns: PriorColumn[];
}

/** One row of `_convex_tables` LEFT JOIN `_convex_columns`, ordered by table and column position. */
export interface PriorRow {
  component: string;
  convex_table: string;
  sql_table: string;
  convex_field: string | null;
  sql_column: string | null;
  sql_type: string | null;
}

/** The qualified name (`table`, `component/table`) of a `_convex_tables` row. */
export function qualifiedOf(row: { component: string; convex_table: string }): string {
  return qualify(row.component, row.convex_table);
}

/** The query whose rows are PriorRows: the same SQL in every dialect, names quoted by the dialect's `qualifiedName`. */
export function priorRowsSql(
  schema: string,
  qualifiedName: (schema: string, table: string) => string,
): string {
  return `SELECT t.component, t.convex_table, t.sql_table, c.convex_field, c.sql_column, c.sql_type
  FROM ${qualifiedName(schema, "_convex_tables")} t
  LEFT JOIN ${qualifiedName(schema, "_convex_columns")} c ON c.sql_table = t.sql_table
 ORDER BY t.sql_table, c.ordinal_position`;
}

/** Groups mapping rows into tables; `typeOf` reads a recorded SQL type back (unknown types are dropped). */
export function groupPriorRows(
  rows: readonly PriorRow[],
  typeOf: (sqlType: string, field: string) => ColumnType | undefined,
): Map<string, PriorTable> {
  const prior = new Map<string, PriorTable>();
  for (const row of rows) {
    const qualified = qualifiedOf(row);
    let table = prior.get(qualified);
    if (!table) prior.set(qualified, (table = { qualified, sqlTable: row.sql_table, columns: [] }));
    if (row.convex_field === null || row.sql_column === null || row.sql_type === null) continue;
    const type = typeOf(row.sql_type, row.convex_field);
    if (type) table.columns.push({ field: row.convex_field, sqlName: row.sql_column, type });
  }
  return prior;
}

export interface StagingWriter {
  /** Appends documents as rows of the current column list. */
  write(docs: readonly ConvexObject[], lines: readonly number[]): Promise<void>;
  /** Adds columns to the staging table; later rows include them. */
  addColumns(columns: readonly PlannedColumn[]): Promise<void>;
  /** Flushes and closes; resolves to the number of rows written. */
  finish(): Promise<number>;
  /** Stops without committing more rows (on error or cancellation). Never throws. */
  abort(): Promise<void>;
}

export interface SwapTable {
  qualified: string;
  component: string;
  convexTable: string;
  sqlTable: string;
  rows: number;
  columns: readonly PlannedColumn[];
}

export interface SwapMetadata {
  snapshotTs: string | null;
  loadedAt: Date;
}

/** A table as the warehouse holds it now (from `_convex_tables`, with a live row count). */
export interface LoadedTable {
  table: string;
  sqlTable: string;
  rows: number;
  snapshotTs: string | null;
  loadedAt: Date;
}

export interface TargetConnection {
  readonly kind: TargetKind;
  readonly identifierRules: IdentifierRules;
  readonly valueRules: ValueRules;
  /** Creates the schemas if needed, takes an exclusive per-schema lock, drops staging leftovers. */
  begin(schema: string): Promise<void>;
  readPrior(): Promise<Map<string, PriorTable>>;
  /** (Re)creates an empty staging table with these columns. */
  createStaging(sqlTable: string, columns: readonly PlannedColumn[]): Promise<void>;
  openWriter(sqlTable: string, columns: readonly PlannedColumn[]): Promise<StagingWriter>;
  /** Adds the primary key on _id (fails, naming the table, on duplicate ids). */
  finalizeStaging(sqlTable: string, columns: readonly PlannedColumn[]): Promise<void>;
  /** In one transaction: every staging table replaces its target, and the mapping tables are updated. */
  swap(tables: readonly SwapTable[], meta: SwapMetadata): Promise<void>;
  /** What earlier loads put into `schema` (empty when nothing was loaded). Reads only. */
  loadedTables(schema: string): Promise<LoadedTable[]>;
  /** Drops every staging table (after success, failure or cancellation). Never throws. */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}

/** The value of a column in a document (`_creationTimeUtc` is derived from `_creationTime`). */
export function cellValue(doc: ConvexObject, field: string): ConvexValue | undefined {
  return field === CREATION_TIME_UTC_FIELD ? doc[CREATION_TIME_FIELD] : doc[field];
}

/** A value the target cannot hold; the pipeline adds the table, line and field. */
export class CellError extends Error {}

/** `_creationTime` (float ms) as an ISO-8601 UTC string with microseconds, e.g. 2025-04-20T15:16:31.687970Z. */
export function creationTimeIso(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  const iso = new Date(whole).toISOString();
  return `${iso.slice(0, -1)}${String(micros).padStart(3, "0")}Z`;
}

/** Staging schema that holds a schema's tables while they load. */
export function stagingSchemaName(schema: string): string {
  return `${schema}__staging`;
}
