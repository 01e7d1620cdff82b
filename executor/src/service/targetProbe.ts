/**
 * Is the target reachable? A light check for the heartbeat: log in and run `SELECT 1` for PostgreSQL and
 * SQL Server; for DuckDB and PGlite, that the warehouse's directory (or the nearest existing parent) is
 * writable. Error texts never include the connection string.
 */
import path from "node:path";
import { assertCanCreateIn } from "../import/load/localFiles.js";
import { mssqlPoolConfig } from "../import/load/mssql/config.js";
import { mssqlSecrets } from "../import/load/mssql/connection-string.js";
import type { TargetSpec } from "../import/load/target.js";
import { errorMessage } from "./log.js";
import { redact } from "./jobErrors.js";

export const PROBE_TIMEOUT_MS = 5_000;

export interface ProbeResult {
  reachable: boolean;
  error?: string;
}

export async function probeTarget(spec: TargetSpec): Promise<ProbeResult> {
  try {
    switch (spec.kind) {
      case "duckdb":
        await assertCanCreateIn(path.dirname(spec.file));
        return { reachable: true };
      case "pglite":
        await assertCanCreateIn(spec.dataDir);
        return { reachable: true };
      case "postgres":
        await probePostgres(spec.connectionString);
        return { reachable: true };
      case "mssql":
        await probeMssql(spec);
        return { reachable: true };
    }
  } catch (error) {
    const secrets = targetSecrets(spec);
    return { reachable: false, error: redact(errorMessage(error), secrets).slice(0, 1000) };
  }
}

async function probePostgres(connectionString: string): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => {});
  }
}

/** Not run here (no SQL Server on this machine): kept to the driver's documented connect/query calls. */
async function probeMssql(spec: Extract<TargetSpec, { kind: "mssql" }>): Promise<void> {
  const { default: mssql } = await import("mssql");
  const pool = new mssql.ConnectionPool(
    mssqlPoolConfig(spec.connection, {
      connectionTimeoutMs: PROBE_TIMEOUT_MS,
      requestTimeoutMs: PROBE_TIMEOUT_MS,
    }),
  );
  try {
    await pool.connect();
    await pool.request().query("SELECT 1");
  } finally {
    await pool.close().catch(() => {});
  }
}

/** What must never appear in a message about the target: its connection string and password. */
export function targetSecrets(spec: TargetSpec): string[] {
  if (spec.kind === "postgres") {
    const password = new URL(spec.connectionString).password;
    return [spec.connectionString, ...(password ? [password, decodeURIComponent(password)] : [])];
  }
  if (spec.kind === "mssql") return mssqlSecrets(spec.connection);
  return [];
}
