/**
 * T-SQL text for the SQL Server target. Identifiers are always bracket-quoted here; values travel only as
 * parameters (@p…) or bulk data. Golden-tested in sql.test.ts; UNVERIFIED against a live server unless the
 * suite ran with MSSQL_URL set.
 */
import type { IdentifierRules } from "../../mapping/names.js";
import type { ColumnType, PlannedColumn } from "../../mapping/types.js";

export const mssqlIdentifierRules: IdentifierRules = {
  length: (name) => name.length, // sysname is nvarchar(128): UTF-16 code units
  maxLength: 128,
};

export function quoteIdent(name: string): string {
  if (name.includes("\u0000")) throw new Error("identifier contains a NUL character");
  return `[${name.replace(/]/g, "]]")}]`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

const SQL_TYPES: Record<ColumnType, string> = {
  id: "NVARCHAR(128) COLLATE Latin1_General_100_BIN2",
  timestamp: "DATETIME2(3)",
  string: "NVARCHAR(MAX)",
  int64: "BIGINT",
  float64: "FLOAT",
  boolean: "BIT",
  bytes: "VARBINARY(MAX)",
  json: "NVARCHAR(MAX)",
  unset: "NVARCHAR(MAX)",
};

/** Recorded in `_convex_columns.sql_type`. JSON columns say so, since NVARCHAR(MAX) alone would not tell. */
const RECORDED_TYPES: Record<ColumnType, string> = {
  ...SQL_TYPES,
  id: "NVARCHAR(128)",
  json: "NVARCHAR(MAX) JSON",
  unset: "NVARCHAR(MAX)",
};

export function mssqlType(type: ColumnType): string {
  return SQL_TYPES[type];
}

export function recordedType(type: ColumnType): string {
  return RECORDED_TYPES[type];
}

export function columnTypeFromRecorded(sqlType: string, field: string): ColumnType | undefined {
  if (field === "_id") return "id";
  const entry = Object.entries(RECORDED_TYPES).find(
    ([type, sql]) => sql === sqlType && type !== "id" && type !== "unset",
  );
  return entry?.[0] as ColumnType | undefined;
}

function columnDefinition(col: PlannedColumn): string {
  return `${quoteIdent(col.sqlName)} ${mssqlType(col.type)} ${col.required ? "NOT NULL" : "NULL"}`;
}

/** `@lockResource`: session-level application lock so that one import per schema runs at a time. */
export const lockSql = `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = @lockResource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @result AS result;`;

/** `@schema`, `@staging`, `@retired`: creates missing schemas and drops staging/retired leftovers. */
export const prepareSchemasSql = `IF SCHEMA_ID(@schema) IS NULL EXEC(N'CREATE SCHEMA ' + QUOTENAME(@schema));
IF SCHEMA_ID(@staging) IS NULL EXEC(N'CREATE SCHEMA ' + QUOTENAME(@staging));
IF SCHEMA_ID(@retired) IS NULL EXEC(N'CREATE SCHEMA ' + QUOTENAME(@retired));
DECLARE @drop nvarchar(max) = N'';
SELECT @drop += N'DROP TABLE ' + QUOTENAME(s.name) + N'.' + QUOTENAME(t.name) + N';'
  FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id
 WHERE s.name IN (@staging, @retired);
EXEC sp_executesql @drop;`;

export function createTableSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  const name = qualifiedName(schema, table);
  return `IF OBJECT_ID(@table, N'U') IS NOT NULL DROP TABLE ${name};
CREATE TABLE ${name} (${columns.map(columnDefinition).join(", ")});`;
}

export function addColumnsSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  return `ALTER TABLE ${qualifiedName(schema, table)} ADD ${columns.map(columnDefinition).join(", ")};`;
}

export function primaryKeySql(schema: string, table: string): string {
  return `ALTER TABLE ${qualifiedName(schema, table)} ADD PRIMARY KEY CLUSTERED (${quoteIdent("_id")});`;
}

export function metadataTablesSql(schema: string): string {
  const tables = qualifiedName(schema, "_convex_tables");
  const columns = qualifiedName(schema, "_convex_columns");
  return `IF OBJECT_ID(@metaTables, N'U') IS NULL CREATE TABLE ${tables} (
  convex_table NVARCHAR(128) NOT NULL, component NVARCHAR(900) NOT NULL, sql_table NVARCHAR(128) NOT NULL,
  row_count BIGINT NOT NULL, snapshot_ts BIGINT NULL, loaded_at DATETIME2(3) NOT NULL,
  PRIMARY KEY (component, convex_table));
IF OBJECT_ID(@metaColumns, N'U') IS NULL CREATE TABLE ${columns} (
  sql_table NVARCHAR(128) NOT NULL, convex_field NVARCHAR(1024) NOT NULL, sql_column NVARCHAR(128) NOT NULL,
  sql_type NVARCHAR(100) NOT NULL, ordinal_position INT NOT NULL,
  PRIMARY KEY (sql_table, ordinal_position));`;
}

/**
 * One table's part of the swap transaction. Parameters: @target (quoted name), @convexTable, @component,
 * @sqlTable, @rowCount, @snapshotTs, @loadedAt, @columns (JSON array of {f, c, t, o}; OPENJSON needs
 * database compatibility level 130, SQL Server 2016+).
 */
export function swapTableSql(schema: string, staging: string, retired: string, table: string): string {
  const meta = qualifiedName(schema, "_convex_tables");
  const cols = qualifiedName(schema, "_convex_columns");
  return `IF OBJECT_ID(@target, N'U') IS NOT NULL ALTER SCHEMA ${quoteIdent(retired)} TRANSFER ${qualifiedName(schema, table)};
ALTER SCHEMA ${quoteIdent(schema)} TRANSFER ${qualifiedName(staging, table)};
DELETE FROM ${meta} WHERE component = @component AND convex_table = @convexTable;
INSERT INTO ${meta} (convex_table, component, sql_table, row_count, snapshot_ts, loaded_at)
  VALUES (@convexTable, @component, @sqlTable, @rowCount, @snapshotTs, @loadedAt);
DELETE FROM ${cols} WHERE sql_table = @sqlTable;
INSERT INTO ${cols} (sql_table, convex_field, sql_column, sql_type, ordinal_position)
  SELECT @sqlTable, f, c, t, o FROM OPENJSON(@columns)
  WITH (f NVARCHAR(1024) '$.f', c NVARCHAR(128) '$.c', t NVARCHAR(100) '$.t', o INT '$.o');`;
}

export function readPriorSql(schema: string): string {
  return `IF OBJECT_ID(@metaTables, N'U') IS NOT NULL AND OBJECT_ID(@metaColumns, N'U') IS NOT NULL
SELECT t.component, t.convex_table, t.sql_table, c.convex_field, c.sql_column, c.sql_type
  FROM ${qualifiedName(schema, "_convex_tables")} t
  LEFT JOIN ${qualifiedName(schema, "_convex_columns")} c ON c.sql_table = t.sql_table
 ORDER BY t.sql_table, c.ordinal_position;`;
}

export function loadedTablesSql(schema: string): string {
  return `IF OBJECT_ID(@metaTables, N'U') IS NOT NULL
SELECT component, convex_table, sql_table, CAST(snapshot_ts AS varchar(20)) AS snapshot_ts, loaded_at
  FROM ${qualifiedName(schema, "_convex_tables")} ORDER BY sql_table;`;
}
