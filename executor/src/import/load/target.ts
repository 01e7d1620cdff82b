/**
 * Target connection strings: parsing and a credential-free description.
 *
 *   SQL Server: mssql://…, sqlserver://…, jdbc:sqlserver://…, Server=…;Database=…   (mssql/connection-string.ts)
 *   postgres://user:password@host:5432/database   (also postgresql://)
 *   duckdb:<file>                                   (embedded DuckDB warehouse file; created if missing)
 *   pglite:<directory>                              (embedded; created if missing)
 */
import path from "node:path";
import type { TargetKind } from "../../../../convex/contract/executor.js";
import {
  isMssqlConnectionString,
  type MssqlConnectionSpec,
  parseMssqlConnectionString,
} from "./mssql/connection-string.js";
import { TargetUrlError } from "./target-error.js";

export type { MssqlConnectionSpec } from "./mssql/connection-string.js";

export type TargetSpec =
  | { kind: "duckdb"; file: string }
  | { kind: "pglite"; dataDir: string }
  | { kind: "postgres"; connectionString: string; host: string; database: string }
  | { kind: "mssql"; connection: MssqlConnectionSpec };

export const DEFAULT_TARGET = "duckdb:./.data/warehouse.duckdb";

export { TargetUrlError };

export function parseTarget(text: string): TargetSpec {
  const value = text.trim();
  if (value.startsWith("duckdb:")) {
    const file = value.slice("duckdb:".length).replace(/^\/\/(?=\/|[A-Za-z]:)/, "");
    if (!file) throw new TargetUrlError("duckdb: needs a file, e.g. duckdb:./.data/warehouse.duckdb");
    return { kind: "duckdb", file: path.resolve(file) };
  }
  if (value.startsWith("pglite:")) {
    const dir = value.slice("pglite:".length).replace(/^\/\/(?=\/|[A-Za-z]:)/, "");
    if (!dir) throw new TargetUrlError("pglite: needs a directory, e.g. pglite:./.data/warehouse");
    return { kind: "pglite", dataDir: path.resolve(dir) };
  }
  if (/^postgres(ql)?:\/\//i.test(value)) {
    const url = safeUrl(value);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
    if (!database)
      throw new TargetUrlError("postgres URL needs a database name: postgres://user@host:5432/db");
    return { kind: "postgres", connectionString: value, host: url.hostname, database };
  }
  if (isMssqlConnectionString(value)) return { kind: "mssql", connection: parseMssqlConnectionString(value) };
  throw new TargetUrlError(
    "expected duckdb:<file>, mssql://…, an ADO string (Server=…;Database=…), postgres://… or pglite:<directory>",
  );
}

/** What may be shown to people and sent to the control plane: never a user name or password. */
export function describeTarget(spec: TargetSpec): { kind: TargetKind; host?: string; database?: string } {
  switch (spec.kind) {
    case "duckdb":
      return { kind: "duckdb", host: "embedded", database: spec.file };
    case "pglite":
      return { kind: "pglite", host: "embedded", database: spec.dataDir };
    case "postgres":
      return { kind: "postgres", host: spec.host, database: spec.database };
    case "mssql":
      return {
        kind: "mssql",
        host:
          spec.connection.server + (spec.connection.instanceName ? `\\${spec.connection.instanceName}` : ""),
        database: spec.connection.database,
      };
  }
}

function safeUrl(value: string): URL {
  try {
    return new URL(value);
  } catch {
    // Never echo the string: it may hold a password.
    throw new TargetUrlError(
      "the URL could not be parsed (check the scheme and that the password is URL-encoded)",
    );
  }
}
