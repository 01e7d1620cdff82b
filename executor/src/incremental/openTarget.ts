/**
 * Opens the ChangeTarget of a warehouse string (`postgres://…`, `pglite:<dir>`, `duckdb:<file>`, `mssql://…`):
 * the one place that knows which dialect module applies changes to which target.
 */
import type { DuckdbSettings } from "../import/load/duckdb/instance.js";
import type { PgTransport } from "../import/load/postgres/transport.js";
import { connectPostgres, openPglite } from "../import/load/postgres/transports.js";
import { parseTarget } from "../import/load/target.js";
import type { ChangeTarget } from "./apply.js";
import { DuckdbChangeTarget } from "./duckdb.js";
import { MssqlChangeTarget } from "./mssql.js";
import { PostgresChangeTarget } from "./postgres.js";

export interface OpenChangeTargetOptions {
  /** Called before each statement is sent to the warehouse (the crash tests kill the process here). */
  onStatement?: (sql: string) => void;
  /** DuckDB's memory and thread limits (default: the import's). */
  duckdb?: DuckdbSettings;
}

function counting(db: PgTransport, onStatement: (sql: string) => void): PgTransport {
  return {
    copySource: db.copySource,
    query: (sql, params) => {
      onStatement(sql);
      return db.query(sql, params);
    },
    copyIn: (sql) => {
      onStatement(sql);
      return db.copyIn(sql);
    },
    close: () => db.close(),
  };
}

/** Opens the change target of a warehouse string (SQL Server's is UNVERIFIED against a live server: mssql.ts). */
export async function openChangeTarget(
  target: string,
  schema: string,
  options: OpenChangeTargetOptions = {},
): Promise<ChangeTarget> {
  const spec = parseTarget(target);
  const onStatement = options.onStatement;
  const wrap = (db: PgTransport) => (onStatement ? counting(db, onStatement) : db);
  switch (spec.kind) {
    case "postgres":
      return PostgresChangeTarget.open(
        wrap(await connectPostgres(spec.connectionString)),
        "postgres",
        schema,
      );
    case "pglite":
      return PostgresChangeTarget.open(wrap(await openPglite(spec.dataDir)), "pglite", schema);
    case "duckdb":
      return DuckdbChangeTarget.open(spec.file, schema, { settings: options.duckdb, onStatement });
    case "mssql":
      return MssqlChangeTarget.connect(spec.connection, schema, { onStatement });
  }
}
