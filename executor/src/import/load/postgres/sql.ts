/**
 * PostgreSQL SQL text (shared by PostgreSQL and PGlite). Identifiers are always quoted here; values never appear
 * in SQL text (they travel as parameters or COPY data).
 */
import type { IdentifierRules } from "../../mapping/names.js";
import type { ColumnType, PlannedColumn } from "../../mapping/types.js";

export const pgIdentifierRules: IdentifierRules = {
  length: (name) => Buffer.byteLength(name, "utf8"),
  maxLength: 63,
};

export function quoteIdent(name: string): string {
  if (name.includes("\u0000")) throw new Error("identifier contains a NUL character");
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

const SQL_TYPES: Record<ColumnType, string> = {
  id: "text",
  timestamp: "timestamptz",
  string: "text",
  int64: "bigint",
  float64: "double precision",
  boolean: "boolean",
  bytes: "bytea",
  json: "jsonb",
  unset: "text",
};

export function pgType(type: ColumnType): string {
  return SQL_TYPES[type];
}

/** Reads back a type recorded in `_convex_columns`. "text" is a string column (an all-null column widens from it). */
export function columnTypeFromPg(sqlType: string, field: string): ColumnType | undefined {
  if (field === "_id") return "id";
  const entry = Object.entries(SQL_TYPES).find(
    ([type, sql]) => sql === sqlType && type !== "id" && type !== "unset",
  );
  return entry?.[0] as ColumnType | undefined;
}

/**
 * `_id` sorts bytewise (ids are ASCII; the primary key builds faster than with a locale collation), and
 * `_creationTimeUtc` is computed by the server from `_creationTime` instead of being sent as text.
 */
export function columnDefinition(col: PlannedColumn): string {
  const name = quoteIdent(col.sqlName);
  if (col.type === "id") return `${name} text COLLATE "C" NOT NULL`;
  if (col.type === "timestamp") {
    return `${name} timestamptz GENERATED ALWAYS AS (to_timestamp(${quoteIdent("_creationTime")} / 1000.0)) STORED`;
  }
  return `${name} ${pgType(col.type)}${col.required ? " NOT NULL" : ""}`;
}

/** Columns whose values travel in COPY data (generated ones do not). */
export function copiedColumns(columns: readonly PlannedColumn[]): PlannedColumn[] {
  return columns.filter((c) => c.type !== "timestamp");
}

export function createTableSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  return `CREATE TABLE ${qualifiedName(schema, table)} (${columns.map(columnDefinition).join(", ")})`;
}

export function addColumnsSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  return `ALTER TABLE ${qualifiedName(schema, table)} ${columns.map((c) => `ADD COLUMN ${columnDefinition(c)}`).join(", ")}`;
}

export function copySql(
  schema: string,
  table: string,
  columns: readonly PlannedColumn[],
  source: string,
): string {
  const names = copiedColumns(columns).map((c) => quoteIdent(c.sqlName));
  return `COPY ${qualifiedName(schema, table)} (${names.join(", ")}) FROM ${source}`;
}

export function primaryKeySql(schema: string, table: string): string {
  return `ALTER TABLE ${qualifiedName(schema, table)} ADD PRIMARY KEY (${quoteIdent("_id")})`;
}

export function metadataTablesSql(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, "_convex_tables")} (` +
      `convex_table text NOT NULL, component text NOT NULL, sql_table text NOT NULL, row_count bigint NOT NULL, ` +
      `snapshot_ts bigint, loaded_at timestamptz NOT NULL, PRIMARY KEY (component, convex_table))`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, "_convex_columns")} (` +
      `sql_table text NOT NULL, convex_field text NOT NULL, sql_column text NOT NULL, sql_type text NOT NULL, ` +
      `ordinal_position integer NOT NULL, PRIMARY KEY (sql_table, convex_field))`,
  ];
}

/**
 * The statements that replace a table's rows of `_convex_columns` with its current columns, in order (the column
 * list travels as arrays, so one INSERT holds any number of columns).
 */
export function recordColumnsQueries(
  schema: string,
  sqlTable: string,
  columns: readonly PlannedColumn[],
): [sql: string, params: unknown[]][] {
  const table = qualifiedName(schema, "_convex_columns");
  return [
    [`DELETE FROM ${table} WHERE sql_table = $1`, [sqlTable]],
    [
      `INSERT INTO ${table} (sql_table, convex_field, sql_column, sql_type, ordinal_position) ` +
        `SELECT $1, f, c, ty, o FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS u(f, c, ty, o)`,
      [
        sqlTable,
        columns.map((c) => c.field),
        columns.map((c) => c.sqlName),
        columns.map((c) => pgType(c.type)),
        columns.map((_, i) => i + 1),
      ],
    ],
  ];
}

/** Session-level advisory lock key for one schema: one import per schema at a time. */
export function lockSql(): string {
  return `SELECT pg_try_advisory_lock(hashtext($1)) AS locked`;
}
