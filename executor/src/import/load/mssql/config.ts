/**
 * An mssql pool configuration from a parsed connection. One place for it, used by the import session, the
 * heartbeat's probe and the preflight, so all three log in the same way.
 *
 * mssql (node_modules/mssql/lib/tedious/connection-pool.js, _config) passes `authentication` through to tedious
 * as given, and drops `port` when `options.instanceName` is set (tedious refuses both: connection.js "Port and
 * instanceName are mutually exclusive"), so a fixed port and a named instance are never sent together.
 */
import type sql from "mssql";
import type { MssqlConnectionSpec } from "./connection-string.js";

export interface PoolSettings {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** The import holds one connection for its whole run (session-level application lock). */
  pool?: { max: number; min: number; idleTimeoutMillis: number };
  /** More tedious options for this use (e.g. abortTransactionOnError for the import's session). */
  options?: sql.IOptions;
}

export const APP_NAME = "convex-warehouse-sync";

export function mssqlPoolConfig(connection: MssqlConnectionSpec, settings: PoolSettings): sql.config {
  const byPort = connection.port !== undefined;
  return {
    server: connection.server,
    ...(byPort ? { port: connection.port } : {}),
    database: connection.database,
    ...credentials(connection.authentication),
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    ...(settings.pool ? { pool: settings.pool } : {}),
    options: {
      encrypt: connection.encrypt,
      trustServerCertificate: connection.trustServerCertificate,
      ...(!byPort && connection.instanceName ? { instanceName: connection.instanceName } : {}),
      appName: APP_NAME,
      ...settings.options,
    },
  };
}

function credentials(auth: MssqlConnectionSpec["authentication"]): Partial<sql.config> {
  switch (auth.type) {
    case "sql":
      return { user: auth.user, password: auth.password };
    case "ntlm":
      return {
        authentication: {
          type: "ntlm",
          options: { domain: auth.domain, userName: auth.user, password: auth.password },
        },
      };
    case "azure-active-directory-password":
      return {
        authentication: {
          type: auth.type,
          options: {
            userName: auth.user,
            password: auth.password,
            clientId: auth.clientId,
            // tedious' connection.js uses `tenantId ?? 'common'` (its type says required).
            tenantId: auth.tenantId ?? "common",
          },
        },
      };
    case "azure-active-directory-service-principal-secret":
      return {
        authentication: {
          type: auth.type,
          options: { clientId: auth.clientId, clientSecret: auth.clientSecret, tenantId: auth.tenantId },
        },
      };
    case "azure-active-directory-default":
      return {
        authentication: {
          type: auth.type,
          options: auth.clientId ? { clientId: auth.clientId } : {},
        },
      };
  }
}
