/**
 * What the SQL Server preflight asks the server (catalog queries; every one parsed by the T-SQL grammar in
 * preflight.test.ts) and the rows it gets back. UNVERIFIED against a live server: from Microsoft's documentation
 * of HAS_PERMS_BY_NAME, sys.databases, sys.database_files, sys.dm_db_log_space_usage and SERVERPROPERTY.
 */

/** Server, database and collation facts; the connected database is always visible in sys.databases. */
export const serverFactsSql = `SELECT
  CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128)) AS product_version,
  CAST(SERVERPROPERTY('ProductLevel') AS NVARCHAR(128)) AS product_level,
  CAST(SERVERPROPERTY('Edition') AS NVARCHAR(128)) AS edition,
  CAST(SERVERPROPERTY('EngineEdition') AS INT) AS engine_edition,
  DB_NAME() AS database_name,
  d.compatibility_level,
  d.collation_name,
  d.recovery_model_desc,
  d.log_reuse_wait_desc,
  d.state_desc,
  d.is_read_only,
  CASE WHEN EXISTS (SELECT 1 FROM sys.fn_helpcollations() WHERE name = @collation) THEN 1 ELSE 0 END
    AS collation_available
FROM sys.databases AS d
WHERE d.database_id = DB_ID();`;

/** What an import needs in the database: CREATE TABLE, and CREATE SCHEMA for schemas that do not exist yet. */
export const databaseRightsSql = `SELECT
  HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE SCHEMA') AS create_schema,
  HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE TABLE') AS create_table;`;

/**
 * Per schema the import uses (target and staging): does it exist, and the rights on it. UPDATE and the per-table
 * counts are what incremental runs add (../../../incremental/mssql.ts: UPDATE … FROM and DELETE … JOIN on the
 * tables it finds); a table-level DENY does not show in the schema's rights, hence the counts.
 */
export const schemaRightsSql = `SELECT
  s.name AS schema_name,
  CASE WHEN SCHEMA_ID(s.name) IS NULL THEN 0 ELSE 1 END AS schema_exists,
  HAS_PERMS_BY_NAME(s.name, 'SCHEMA', 'ALTER') AS can_alter,
  HAS_PERMS_BY_NAME(s.name, 'SCHEMA', 'INSERT') AS can_insert,
  HAS_PERMS_BY_NAME(s.name, 'SCHEMA', 'SELECT') AS can_select,
  HAS_PERMS_BY_NAME(s.name, 'SCHEMA', 'DELETE') AS can_delete,
  HAS_PERMS_BY_NAME(s.name, 'SCHEMA', 'UPDATE') AS can_update,
  (SELECT COUNT(*) FROM sys.tables AS t
    WHERE t.schema_id = SCHEMA_ID(s.name)
      AND HAS_PERMS_BY_NAME(QUOTENAME(s.name) + N'.' + QUOTENAME(t.name), N'OBJECT', N'UPDATE') = 0)
    AS tables_without_update,
  (SELECT COUNT(*) FROM sys.tables AS t
    WHERE t.schema_id = SCHEMA_ID(s.name)
      AND HAS_PERMS_BY_NAME(QUOTENAME(s.name) + N'.' + QUOTENAME(t.name), N'OBJECT', N'DELETE') = 0)
    AS tables_without_delete
FROM (VALUES (@schema), (@staging)) AS s(name);`;

/** Needs VIEW SERVER STATE (VIEW SERVER PERFORMANCE STATE on 2022; VIEW DATABASE STATE on Azure SQL Database). */
export const logSpaceSql = `SELECT total_log_size_in_bytes, used_log_space_in_bytes FROM sys.dm_db_log_space_usage;`;

/** Log files (type 1): size and max_size in 8 KB pages (max_size -1 = until the disk is full), growth. */
export const logFilesSql = `SELECT CAST(size AS BIGINT) * 8192 AS size_bytes, max_size, growth, is_percent_growth
FROM sys.database_files
WHERE type = 1;`;

export const MSSQL_PREFLIGHT_STATEMENTS = [
  serverFactsSql,
  databaseRightsSql,
  schemaRightsSql,
  logSpaceSql,
  logFilesSql,
];

export interface ServerFacts {
  product_version: string;
  product_level: string | null;
  edition: string | null;
  engine_edition: number;
  database_name: string;
  compatibility_level: number;
  collation_name: string | null;
  recovery_model_desc: string;
  log_reuse_wait_desc: string | null;
  state_desc: string;
  is_read_only: boolean;
  collation_available: number;
}

export interface DatabaseRights {
  create_schema: number | null;
  create_table: number | null;
}

export interface SchemaPermissions {
  schema_name: string;
  schema_exists: number;
  can_alter: number | null;
  can_insert: number | null;
  can_select: number | null;
  can_delete: number | null;
  can_update: number | null;
  /** Tables of the schema this user may not UPDATE / DELETE from (0 when the schema does not exist). */
  tables_without_update: number;
  tables_without_delete: number;
}

export interface LogSpace {
  total_log_size_in_bytes: number | string;
  used_log_space_in_bytes: number | string;
}

export interface LogFile {
  size_bytes: number | string;
  max_size: number;
  growth: number;
  is_percent_growth: boolean;
}

export interface MssqlFacts {
  server: ServerFacts;
  databaseRights: DatabaseRights;
  /** Empty when no schema was named (the executor at start-up: each app has its own). */
  schemas: SchemaPermissions[];
  /** An error text when the login may not read sys.dm_db_log_space_usage. */
  logSpace: LogSpace | { error: string };
  logFiles: LogFile[];
}
