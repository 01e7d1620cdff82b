/**
 * DuckDB SQL text and the rules of the DuckDB dialect, in one place. Identifiers are always quoted here; values
 * never appear in SQL text (they travel through the appender or as prepared-statement parameters).
 *
 * Differences from PostgreSQL that shape the load (checked against DuckDB 1.5 in duckdb.test.ts):
 * - No `ALTER TABLE … SET SCHEMA`: staging tables live in the target schema under a reserved prefix and are
 *   renamed into place (`ALTER TABLE … RENAME TO`, transactional like every DuckDB DDL).
 * - No primary key: a DuckDB primary key is an ART index that must fit in memory (3.6 M ids need more than a
 *   150 MB memory_limit), which would break the import's memory bound. `_id` is `NOT NULL` and checked to be
 *   unique by a grouping query that spills to disk; duplicates fail the load like a primary key would.
 * - Identifiers match case-insensitively even when quoted, so the engine's case-insensitive collision rule is
 *   exactly what DuckDB needs.
 */
import type { IdentifierRules } from "../../mapping/names.js";
import type { ColumnType, PlannedColumn } from "../../mapping/types.js";

/** DuckDB has no identifier length limit; this keeps names readable in every client tool. */
export const duckdbIdentifierRules: IdentifierRules = {
  length: (name) => name.length,
  maxLength: 255,
};

/** Staging tables share the target schema (no SET SCHEMA in DuckDB); `_convex_` names are the engine's own. */
export const STAGING_PREFIX = "_convex_staging__";

export function stagingTableName(sqlTable: string): string {
  return STAGING_PREFIX + sqlTable;
}

export function quoteIdent(name: string): string {
  if (name.includes("\u0000")) throw new Error("identifier contains a NUL character");
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** The SQL types, as created and as recorded in `_convex_columns.sql_type`. */
const SQL_TYPES: Record<ColumnType, string> = {
  id: "VARCHAR",
  timestamp: "TIMESTAMPTZ",
  string: "VARCHAR",
  int64: "BIGINT",
  float64: "DOUBLE",
  boolean: "BOOLEAN",
  bytes: "BLOB",
  json: "JSON",
  unset: "VARCHAR",
};

export function duckdbType(type: ColumnType): string {
  return SQL_TYPES[type];
}

/** Reads back a type recorded in `_convex_columns`. VARCHAR is a string column (an all-null column widens from it). */
export function columnTypeFromDuckdb(sqlType: string, field: string): ColumnType | undefined {
  if (field === "_id") return "id";
  const entry = Object.entries(SQL_TYPES).find(
    ([type, sql]) => sql === sqlType && type !== "id" && type !== "unset",
  );
  return entry?.[0] as ColumnType | undefined;
}

export function columnDefinition(col: PlannedColumn): string {
  return `${quoteIdent(col.sqlName)} ${duckdbType(col.type)}${col.required ? " NOT NULL" : ""}`;
}

export function createTableSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  return `CREATE TABLE ${qualifiedName(schema, table)} (${columns.map(columnDefinition).join(", ")})`;
}

/** DuckDB takes one ADD COLUMN per ALTER TABLE. */
export function addColumnSql(schema: string, table: string, column: PlannedColumn): string {
  // Rows already loaded get NULL; NOT NULL is only ever on system columns, which exist from the start.
  return `ALTER TABLE ${qualifiedName(schema, table)} ADD COLUMN ${quoteIdent(column.sqlName)} ${duckdbType(column.type)}`;
}

/** One `_id` that occurs more than once, if any. */
export function duplicateIdSql(schema: string, table: string): string {
  const id = quoteIdent("_id");
  return `SELECT ${id} AS id, count(*) AS n FROM ${qualifiedName(schema, table)} GROUP BY ${id} HAVING count(*) > 1 LIMIT 1`;
}

export function renameTableSql(schema: string, from: string, to: string): string {
  return `ALTER TABLE ${qualifiedName(schema, from)} RENAME TO ${quoteIdent(to)}`;
}

/**
 * The mapping tables. No primary keys: DuckDB checks keys eagerly, so deleting a table's rows and inserting them
 * again in the swap transaction could be refused; the swap keeps them unique (delete, then insert).
 */
export function metadataTablesSql(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, "_convex_tables")} (` +
      `convex_table VARCHAR NOT NULL, component VARCHAR NOT NULL, sql_table VARCHAR NOT NULL, ` +
      `row_count BIGINT NOT NULL, snapshot_ts BIGINT, loaded_at TIMESTAMPTZ NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, "_convex_columns")} (` +
      `sql_table VARCHAR NOT NULL, convex_field VARCHAR NOT NULL, sql_column VARCHAR NOT NULL, ` +
      `sql_type VARCHAR NOT NULL, ordinal_position INTEGER NOT NULL)`,
  ];
}

/** Tables of a schema, from DuckDB's catalog (`$1` = schema). */
export const tablesInSchemaSql = `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $1`;
