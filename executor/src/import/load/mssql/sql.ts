/**
 * T-SQL text for the SQL Server target: the one place where this dialect's statements are written. Identifiers
 * are always bracket-quoted here; values travel only as parameters (@p…) or bulk data. Every statement the
 * session can send is parsed by an independent T-SQL grammar in tsql-grammar.test.ts (grammars-v4 TSqlParser)
 * and golden-tested in sql.test.ts. UNVERIFIED against a live SQL Server unless the suite ran with MSSQL_URL set:
 * in particular the catalog queries (sys.*), the collation behaviour and TRUNCATE/ALTER rules are from
 * Microsoft's documentation, not from a run.
 */
import type { IdentifierRules } from "../../mapping/names.js";
import type { ColumnType, PlannedColumn } from "../../mapping/types.js";
import { priorRowsSql } from "../connection.js";
import type { Params } from "./wire.js";

/**
 * The collation of `_id` and of every character column (strings, ids in reference fields, JSON, the mapping
 * tables' names). One collation, so `JOIN … ON u._id = m.userId` never meets Msg 468 (collation conflict);
 * binary, because Convex compares strings exactly (`Ada` ≠ `ada`); on NVARCHAR, so it exists on SQL Server 2008
 * and later (the `_UTF8` collations need 2019 and VARCHAR). Queries that compare these columns with a column in
 * another collation need an explicit `COLLATE`.
 */
export const MSSQL_COLLATION = "Latin1_General_100_BIN2";

/** `<schema>__staging` must fit in sysname (128), so the schema itself can have at most 119 characters. */
export const MAX_SCHEMA_LENGTH = 128 - "__staging".length;

/**
 * How SQL Server may hold two names equal: identifiers compare in the database's collation, usually
 * case-insensitive, often accent-insensitive, and linguistic collations equate compatibility forms (full-width
 * letters) and expansions (ß = ss). This key folds all of these, so more names count as taken than a given
 * collation would say (an extra rename, never a failed CREATE TABLE). The session also asks the server
 * (equalNamesSql) before creating or widening a table, for whatever a collation equates beyond this.
 */
export function mssqlNameKey(name: string): string {
  return name.normalize("NFKD").replace(/\p{M}/gu, "").toUpperCase().toLowerCase();
}

export const mssqlIdentifierRules: IdentifierRules = {
  length: (name) => name.length, // sysname is nvarchar(128): UTF-16 code units
  maxLength: 128,
  sameNameKey: mssqlNameKey,
};

export function quoteIdent(name: string): string {
  if (name.includes("\u0000")) throw new Error("identifier contains a NUL character");
  return `[${name.replace(/]/g, "]]")}]`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

const COLLATED = ` COLLATE ${MSSQL_COLLATION}`;

/** The SQL type without collation: what `_convex_columns.sql_type` records (JSON columns add " JSON"). */
const BASE_TYPES: Record<ColumnType, string> = {
  id: "NVARCHAR(128)",
  timestamp: "DATETIME2(3)",
  string: "NVARCHAR(MAX)",
  int64: "BIGINT",
  float64: "FLOAT",
  boolean: "BIT",
  bytes: "VARBINARY(MAX)",
  json: "NVARCHAR(MAX)",
  unset: "NVARCHAR(MAX)",
};

const CHARACTER_TYPES = new Set<ColumnType>(["id", "string", "json", "unset"]);

/** The column type as declared in CREATE/ALTER TABLE, with the collation on character columns. */
export function mssqlType(type: ColumnType): string {
  return CHARACTER_TYPES.has(type) ? BASE_TYPES[type] + COLLATED : BASE_TYPES[type];
}

export function recordedType(type: ColumnType): string {
  return type === "json" ? "NVARCHAR(MAX) JSON" : BASE_TYPES[type];
}

export function columnTypeFromRecorded(sqlType: string, field: string): ColumnType | undefined {
  if (field === "_id") return "id";
  const types: ColumnType[] = ["string", "int64", "float64", "boolean", "bytes", "json", "timestamp"];
  return types.find((type) => recordedType(type) === sqlType);
}

/** A column of an existing table as sys.columns describes it. */
export interface ExistingColumn {
  name: string;
  type: string;
  max_length: number;
  scale: number;
}

const SYS_TYPES: Record<ColumnType, { type: string; maxLength?: number; scale?: number }> = {
  id: { type: "nvarchar", maxLength: 256 },
  timestamp: { type: "datetime2", scale: 3 },
  string: { type: "nvarchar", maxLength: -1 },
  int64: { type: "bigint" },
  float64: { type: "float" },
  boolean: { type: "bit" },
  bytes: { type: "varbinary", maxLength: -1 },
  json: { type: "nvarchar", maxLength: -1 },
  unset: { type: "nvarchar", maxLength: -1 },
};

/** Whether an existing column already has the SQL type a planned column needs (collation is not compared). */
export function hasSqlType(existing: ExistingColumn, type: ColumnType): boolean {
  const want = SYS_TYPES[type];
  return (
    existing.type === want.type &&
    (want.maxLength === undefined || existing.max_length === want.maxLength) &&
    (want.scale === undefined || existing.scale === want.scale)
  );
}

function columnDefinition(col: PlannedColumn): string {
  return `${quoteIdent(col.sqlName)} ${mssqlType(col.type)} ${col.required ? "NOT NULL" : "NULL"}`;
}

/** Runs `text` (a T-SQL expression yielding the statement) as dynamic SQL: EXEC (…) takes only a variable. */
function execDynamic(variable: string, text: string): string {
  return `DECLARE ${variable} nvarchar(max) = ${text};
  EXEC (${variable});`;
}

/**
 * `@schema`. Creates the schema when missing (a concurrent creator's "already exists" is not an error), then
 * takes a session-level application lock named after the schema's id, so that one import per schema runs at a
 * time. The id, not the name: sp_getapplock compares resource names in binary, while schema names compare in
 * the database collation (`Convex` and `convex` are one schema under a case-insensitive collation).
 * Returns sp_getapplock's result (>= 0: granted).
 */
const LOCK_RESOURCE = `DECLARE @resource nvarchar(255) = N'convex-warehouse-sync:schema:' + CAST(SCHEMA_ID(@schema) AS nvarchar(12));`;

export const lockSql = `IF SCHEMA_ID(@schema) IS NULL
BEGIN
  BEGIN TRY
  ${execDynamic("@create", "N'CREATE SCHEMA ' + QUOTENAME(@schema)")}
  END TRY
  BEGIN CATCH
    IF SCHEMA_ID(@schema) IS NULL THROW;
  END CATCH;
END;
${LOCK_RESOURCE}
DECLARE @result int;
EXEC @result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @result AS result;`;

/**
 * `@schema`: the mode in which this session holds lockSql's lock ('Exclusive' while it does, 'NoLock' otherwise).
 * The swap asks before changing anything: mssql's pool replaces a connection it finds closed with a new one,
 * which holds no lock (node_modules/mssql/lib/tedious/connection-pool.js, _poolValidate).
 */
export const lockHeldSql = `${LOCK_RESOURCE}
SELECT APPLOCK_MODE(N'public', @resource, N'Session') AS mode;`;

/**
 * `@schema`: gives lockSql's lock back before the connection closes, so that the next holder (an import right
 * after an incremental run) finds it free at once rather than once the server has noticed the closed connection.
 */
export const unlockSql = `${LOCK_RESOURCE}
IF APPLOCK_MODE(N'public', @resource, N'Session') <> N'NoLock'
  EXEC sp_releaseapplock @Resource = @resource, @LockOwner = 'Session';`;

/**
 * `@staging`. Creates the staging schema when missing and drops what an earlier, interrupted run left in it.
 * A leftover that cannot be dropped does not stop the import: it is returned (name, message), and only a table
 * that needs that very name fails, saying so.
 */
export const prepareStagingSql = `IF SCHEMA_ID(@staging) IS NULL
BEGIN
  ${execDynamic("@create", "N'CREATE SCHEMA ' + QUOTENAME(@staging)")}
END;
DECLARE @failed TABLE (name sysname NOT NULL, message nvarchar(4000) NULL);
DECLARE @name sysname, @drop nvarchar(max);
DECLARE leftovers CURSOR LOCAL STATIC FOR SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID(@staging);
OPEN leftovers;
FETCH NEXT FROM leftovers INTO @name;
WHILE @@FETCH_STATUS = 0
BEGIN
  SET @drop = N'DROP TABLE ' + QUOTENAME(@staging) + N'.' + QUOTENAME(@name);
  BEGIN TRY
    EXEC (@drop);
  END TRY
  BEGIN CATCH
    INSERT INTO @failed (name, message) VALUES (@name, ERROR_MESSAGE());
  END CATCH;
  FETCH NEXT FROM leftovers INTO @name;
END;
CLOSE leftovers;
DEALLOCATE leftovers;
SELECT name, message FROM @failed;`;

export function createTableSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  const name = qualifiedName(schema, table);
  return `IF OBJECT_ID(@table, N'U') IS NOT NULL DROP TABLE ${name};
CREATE TABLE ${name} (${columns.map(columnDefinition).join(", ")});`;
}

export function addColumnsSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  return `ALTER TABLE ${qualifiedName(schema, table)} ADD ${columns.map(columnDefinition).join(", ")};`;
}

export function alterColumnSql(schema: string, table: string, col: PlannedColumn): string {
  return `ALTER TABLE ${qualifiedName(schema, table)} ALTER COLUMN ${columnDefinition(col)};`;
}

export function primaryKeySql(schema: string, table: string): string {
  return `ALTER TABLE ${qualifiedName(schema, table)} ADD PRIMARY KEY CLUSTERED (${quoteIdent("_id")});`;
}

export function dropTableSql(schema: string, table: string): string {
  return `IF OBJECT_ID(@table, N'U') IS NOT NULL DROP TABLE ${qualifiedName(schema, table)};`;
}

/**
 * `@metaTables`, `@metaColumns`. The mapping tables. Keys stay within the 900 bytes of a clustered index
 * (`sql_table` is unique in the schema: 256 bytes); names compare in binary, so Convex tables `Users` and
 * `users` keep separate rows.
 */
export function metadataTablesSql(schema: string): string {
  const tables = qualifiedName(schema, "_convex_tables");
  const columns = qualifiedName(schema, "_convex_columns");
  return `IF OBJECT_ID(@metaTables, N'U') IS NULL CREATE TABLE ${tables} (
  convex_table NVARCHAR(MAX)${COLLATED} NOT NULL, component NVARCHAR(MAX)${COLLATED} NOT NULL,
  sql_table NVARCHAR(128)${COLLATED} NOT NULL PRIMARY KEY,
  row_count BIGINT NOT NULL, snapshot_ts BIGINT NULL, loaded_at DATETIME2(3) NOT NULL);
IF OBJECT_ID(@metaColumns, N'U') IS NULL CREATE TABLE ${columns} (
  sql_table NVARCHAR(128)${COLLATED} NOT NULL, convex_field NVARCHAR(MAX)${COLLATED} NOT NULL,
  sql_column NVARCHAR(128)${COLLATED} NOT NULL, sql_type NVARCHAR(100) NOT NULL, ordinal_position INT NOT NULL,
  PRIMARY KEY (sql_table, ordinal_position));`;
}

/** `@convexTable`, `@component`, `@sqlTable`, `@rowCount`, `@snapshotTs`, `@loadedAt`: one table's mapping row. */
export function recordTableSql(schema: string): string {
  const meta = qualifiedName(schema, "_convex_tables");
  return `DELETE FROM ${meta} WHERE sql_table = @sqlTable OR (component = @component AND convex_table = @convexTable);
INSERT INTO ${meta} (convex_table, component, sql_table, row_count, snapshot_ts, loaded_at)
  VALUES (@convexTable, @component, @sqlTable, @rowCount, @snapshotTs, @loadedAt);
DELETE FROM ${qualifiedName(schema, "_convex_columns")} WHERE sql_table = @sqlTable;`;
}

/**
 * Rows of `_convex_columns` per statement: 4 parameters a row plus @sqlTable stays under SQL Server's 2100
 * parameters per request, and under the 1000 rows of a VALUES list. (No OPENJSON: it needs compatibility
 * level 130, which upgraded databases often lack.)
 */
export const COLUMN_ROWS_PER_STATEMENT = 400;

/** `@sqlTable` and `@f<i>`, `@c<i>`, `@t<i>`, `@o<i>` for i < rows. */
export function recordColumnsSql(schema: string, rows: number): string {
  const values = Array.from({ length: rows }, (_, i) => `(@sqlTable, @f${i}, @c${i}, @t${i}, @o${i})`);
  return `INSERT INTO ${qualifiedName(schema, "_convex_columns")} (sql_table, convex_field, sql_column, sql_type, ordinal_position)
  VALUES ${values.join(", ")};`;
}

/**
 * The statements that write a table's `_convex_columns` rows (its columns in order), COLUMN_ROWS_PER_STATEMENT
 * rows each; the table's old rows must be gone first.
 */
export function recordColumnsQueries(
  schema: string,
  sqlTable: string,
  columns: readonly PlannedColumn[],
): [text: string, params: Params][] {
  const queries: [string, Params][] = [];
  for (let from = 0; from < columns.length; from += COLUMN_ROWS_PER_STATEMENT) {
    const chunk = columns.slice(from, from + COLUMN_ROWS_PER_STATEMENT);
    const params: Params = { sqlTable };
    chunk.forEach((c, i) => {
      params[`f${i}`] = c.field;
      params[`c${i}`] = c.sqlName;
      params[`t${i}`] = recordedType(c.type);
      params[`o${i}`] = { type: "int", value: from + i + 1 };
    });
    queries.push([recordColumnsSql(schema, chunk.length), params]);
  }
  return queries;
}

/**
 * `@target`: whether the table exists and what is attached to it that replacing the table would lose or that
 * would block dropping it (foreign keys either way, schema-bound views or functions, table-level permissions,
 * indexes other than the primary key (full-text ones too), triggers, CHECK or DEFAULT constraints, computed
 * columns, descriptions (extended properties such as MS_Description) or dynamic data masks), and whether
 * neither DROP nor TRUNCATE is allowed on it (`pinned`: published for replication, tracked by change data
 * capture, or a system-versioned temporal table; Microsoft's TRUNCATE TABLE and DROP TABLE pages).
 */
export const dependentsSql = `DECLARE @id int = OBJECT_ID(@target, N'U');
SELECT CASE WHEN @id IS NULL THEN 0 ELSE 1 END AS present,
  (SELECT COUNT(*) FROM sys.foreign_keys WHERE referenced_object_id = @id AND parent_object_id <> @id) AS referencing_keys,
  (SELECT COUNT(*) FROM sys.foreign_keys WHERE parent_object_id = @id) AS own_keys,
  (SELECT COUNT(*) FROM sys.sql_expression_dependencies WHERE referenced_id = @id AND is_schema_bound_reference = 1) AS schema_bound,
  (SELECT COUNT(*) FROM sys.database_permissions WHERE class = 1 AND major_id = @id) AS grants,
  (SELECT COUNT(*) FROM sys.indexes WHERE object_id = @id AND is_primary_key = 0 AND type > 0)
    + (SELECT COUNT(*) FROM sys.fulltext_indexes WHERE object_id = @id) AS indexes,
  (SELECT COUNT(*) FROM sys.triggers WHERE parent_id = @id) AS triggers,
  (SELECT COUNT(*) FROM sys.check_constraints WHERE parent_object_id = @id)
    + (SELECT COUNT(*) FROM sys.default_constraints WHERE parent_object_id = @id)
    + (SELECT COUNT(*) FROM sys.computed_columns WHERE object_id = @id) AS constraints,
  (SELECT COUNT(*) FROM sys.extended_properties WHERE class = 1 AND major_id = @id)
    + (SELECT COUNT(*) FROM sys.masked_columns WHERE object_id = @id AND is_masked = 1) AS properties,
  (SELECT COUNT(*) FROM sys.tables WHERE object_id = @id AND (is_replicated = 1 OR is_merge_published = 1
    OR is_tracked_by_cdc = 1 OR temporal_type = 2)) AS pinned;`;

/** `@target`: the existing table's columns. */
export const existingColumnsSql = `SELECT c.name, TYPE_NAME(c.system_type_id) AS type, c.max_length, c.scale
  FROM sys.columns c WHERE c.object_id = OBJECT_ID(@target, N'U') ORDER BY c.column_id;`;

/** `@target`: fast path of the swap. The old table has no dependents: drop it and move the staging table in. */
export function transferSql(schema: string, staging: string, table: string): string {
  return `IF OBJECT_ID(@target, N'U') IS NOT NULL DROP TABLE ${qualifiedName(schema, table)};
ALTER SCHEMA ${quoteIdent(schema)} TRANSFER ${qualifiedName(staging, table)};`;
}

export function truncateSql(schema: string, table: string): string {
  return `TRUNCATE TABLE ${qualifiedName(schema, table)};`;
}

const ID = quoteIdent("_id");

/** Refill by key (when TRUNCATE is not allowed): rows whose `_id` is gone from the snapshot are deleted. */
export function deleteMissingSql(schema: string, staging: string, table: string): string {
  return `DELETE x FROM ${qualifiedName(schema, table)} AS x
 WHERE NOT EXISTS (SELECT 1 FROM ${qualifiedName(staging, table)} AS s WHERE s.${ID} = x.${ID});`;
}

/** Empties columns about to change type, so that ALTER COLUMN converts no value. */
export function clearColumnsSql(schema: string, table: string, columns: readonly PlannedColumn[]): string {
  const sets = columns.map((c) => `${quoteIdent(c.sqlName)} = NULL`).join(", ");
  return `UPDATE ${qualifiedName(schema, table)} SET ${sets};`;
}

export function updateFromStagingSql(
  schema: string,
  staging: string,
  table: string,
  columns: readonly PlannedColumn[],
): string {
  const sets = columns
    .filter((c) => c.sqlName !== "_id")
    .map((c) => `${quoteIdent(c.sqlName)} = s.${quoteIdent(c.sqlName)}`)
    .join(", ");
  return `UPDATE x SET ${sets}
  FROM ${qualifiedName(schema, table)} AS x JOIN ${qualifiedName(staging, table)} AS s ON s.${ID} = x.${ID};`;
}

export function insertFromStagingSql(
  schema: string,
  staging: string,
  table: string,
  columns: readonly PlannedColumn[],
  onlyNew: boolean,
): string {
  const names = columns.map((c) => quoteIdent(c.sqlName));
  const where = onlyNew
    ? `\n WHERE NOT EXISTS (SELECT 1 FROM ${qualifiedName(schema, table)} AS x WHERE x.${ID} = s.${ID})`
    : "";
  return `INSERT INTO ${qualifiedName(schema, table)} (${names.join(", ")})
SELECT ${names.map((n) => `s.${n}`).join(", ")} FROM ${qualifiedName(staging, table)} AS s${where};`;
}

/**
 * Sent as a plain batch (not through sp_executesql, whose SET options end with it), so that it holds for the
 * session: the swap waits at most this long for a lock, then fails with 1222 and is retried.
 */
export function lockTimeoutSql(ms: number): string {
  if (!Number.isInteger(ms) || ms < -1) throw new Error(`invalid lock timeout ${ms}`);
  return `SET LOCK_TIMEOUT ${ms};`;
}

export function readPriorSql(schema: string): string {
  return `IF OBJECT_ID(@metaTables, N'U') IS NOT NULL AND OBJECT_ID(@metaColumns, N'U') IS NOT NULL
${priorRowsSql(schema, qualifiedName)};`;
}

export function loadedTablesSql(schema: string): string {
  return `IF OBJECT_ID(@metaTables, N'U') IS NOT NULL
SELECT component, convex_table, sql_table, CAST(snapshot_ts AS varchar(20)) AS snapshot_ts, loaded_at
  FROM ${qualifiedName(schema, "_convex_tables")} ORDER BY sql_table;`;
}

export function countRowsSql(schema: string, table: string): string {
  return `SELECT COUNT_BIG(*) AS n FROM ${qualifiedName(schema, table)};`;
}

/**
 * `@n0…@n<k-1>`: for each name, the first position holding a name equal to it under the catalog's collation
 * (how SQL Server compares column names in a table and table names in a schema: the database's collation,
 * except in a contained database or one created with CATALOG_COLLATION, the default on Azure SQL Database).
 * A row whose `first_i` differs from its `i` collides with an earlier name. VALUES as a derived table has no
 * row limit (the 1000 rows are INSERT … VALUES'); the names are ≤ 1024 + a few, under 2100 parameters.
 */
export function equalNamesSql(count: number): string {
  const values = Array.from({ length: count }, (_, i) => `(@n${i}, ${i})`).join(", ");
  return `SELECT v.i, (SELECT MIN(w.i) FROM (VALUES ${values}) AS w(n, i)
   WHERE w.n COLLATE CATALOG_DEFAULT = v.n COLLATE CATALOG_DEFAULT) AS first_i
  FROM (VALUES ${values}) AS v(n, i);`;
}
