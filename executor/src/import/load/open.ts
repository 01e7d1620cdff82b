/** Opens a TargetConnection for a target string (see ./target.ts for the accepted forms). */
import type { TargetConnection } from "./connection.js";
import { DEFAULT_DUCKDB_SETTINGS, type DuckdbSettings } from "./duckdb/instance.js";
import { PostgresConnection } from "./postgres/session.js";
import { connectPostgres, openPglite } from "./postgres/transports.js";
import { parseTarget } from "./target.js";

export interface OpenTargetOptions {
  /** Memory and threads of an embedded DuckDB warehouse. */
  duckdb?: DuckdbSettings;
  /** Only reads will follow (listing the warehouse): DuckDB then lets other readers open the file too. */
  readOnly?: boolean;
}

export async function openTarget(target: string, options: OpenTargetOptions = {}): Promise<TargetConnection> {
  const spec = parseTarget(target);
  switch (spec.kind) {
    case "duckdb": {
      const { DuckdbConnection } = await import("./duckdb/session.js");
      return DuckdbConnection.open(spec.file, options.duckdb ?? DEFAULT_DUCKDB_SETTINGS, {
        readOnly: options.readOnly,
      });
    }
    case "pglite":
      return new PostgresConnection("pglite", await openPglite(spec.dataDir));
    case "postgres":
      return new PostgresConnection("postgres", await connectPostgres(spec.connectionString));
    case "mssql": {
      const { openMssql } = await import("./mssql/session.js");
      return openMssql(spec.connection);
    }
  }
}
