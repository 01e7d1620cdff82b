/** Opens a TargetConnection for a target string (see ./target.ts for the accepted forms). */
import type { TargetConnection } from "./connection.js";
import { PostgresConnection } from "./postgres/session.js";
import { connectPostgres, openPglite } from "./postgres/transports.js";
import { parseTarget } from "./target.js";

export async function openTarget(target: string): Promise<TargetConnection> {
  const spec = parseTarget(target);
  switch (spec.kind) {
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
