/**
 * The SQL Server preflight: connection and TLS, login, database, server version, compatibility level,
 * collation, permissions, recovery model and free log space, each a line saying what to change; then what
 * incremental runs need beyond an import (./preflightIncremental.ts).
 *
 * UNVERIFIED against a live SQL Server: the catalog queries and error numbers are from Microsoft's documentation
 * (HAS_PERMS_BY_NAME, sys.databases, sys.database_files, sys.dm_db_log_space_usage, SERVERPROPERTY; login errors
 * 4060, 18456), the error codes from tedious' connection.js. The verdicts are unit-tested with recorded rows
 * in preflight.test.ts, and the statements are parsed there by the T-SQL grammar.
 */
import sql from "mssql";
import { stagingSchemaName } from "../connection.js";
import { checkLine, PREFLIGHT_TIMEOUT_MS, type PreflightCheck, redactMessage } from "../preflight.js";
import { mssqlPoolConfig } from "./config.js";
import { incrementalLine } from "./preflightIncremental.js";
import { type MssqlConnectionSpec, mssqlSecrets } from "./connection-string.js";
import { MSSQL_COLLATION } from "./sql.js";
import {
  serverFactsSql,
  databaseRightsSql,
  schemaRightsSql,
  logSpaceSql,
  logFilesSql,
  type ServerFacts,
  type DatabaseRights,
  type SchemaPermissions,
  type LogSpace,
  type LogFile,
  type MssqlFacts,
} from "./preflightSql.js";

/** SQL Server 2016 (13.x): the oldest release the dialect's T-SQL is written for (`sys.tables.temporal_type`). */
export const MIN_MAJOR_VERSION = 13;
/** Below this level (SQL Server 2016's) the dialect is untested; nothing it sends needs more (no OPENJSON). */
export const TESTED_COMPATIBILITY_LEVEL = 130;
/** Free log space under which a large table's staging load may not fit without the log growing. */
export const LOW_LOG_SPACE_BYTES = 1024 ** 3;

// ---------------------------------------------------------------------------------------------------------------
// Connecting: which stage failed, from what tedious and the server said.

export type ConnectStage = "connection" | "tls" | "login" | "database";

export interface ConnectFailure {
  stage: ConnectStage;
  detail: string;
}

interface DriverError {
  code?: string;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_SSL|ERR_TLS|EPROTO/;

/** Node's error codes along the chain (mssql ConnectionError → tedious ConnectionError → socket/TLS error). */
function chain(error: unknown): DriverError[] {
  const out: DriverError[] = [];
  for (let e = error as DriverError | undefined; e && typeof e === "object" && out.length < 5;) {
    out.push(e);
    e = (e.originalError ?? e.cause ?? e.errors?.[0]) as DriverError | undefined;
  }
  return out;
}

/**
 * Which stage a failed connect stopped at. `serverErrors` are the numbers of the server's ERROR tokens during
 * login (tedious emits each as `errorMessage`; its own error keeps only the last one's text).
 */
export function classifyConnectFailure(
  error: unknown,
  serverErrors: readonly number[],
  where: string,
  hide: readonly string[],
): ConnectFailure {
  const errors = chain(error);
  const codes = errors.map((e) => e.code ?? "");
  const message = redactMessage(errors[0]?.message ?? String(error), hide);
  if (serverErrors.includes(4060) || serverErrors.includes(916))
    return {
      stage: "database",
      detail:
        "the login works but cannot open the database (SQL Server error " +
        `${serverErrors.includes(4060) ? 4060 : 916}): check the name, or create a user for the login in it ` +
        "(CREATE USER … FOR LOGIN …)",
    };
  if (serverErrors.includes(40615) || serverErrors.includes(40532))
    return {
      stage: "connection",
      detail:
        "the server refused this client's address (Azure SQL firewall, error " +
        `${serverErrors.includes(40615) ? 40615 : 40532}): allow this machine's IP address`,
    };
  if (codes.includes("EENCRYPT"))
    return { stage: "tls", detail: `${message} (Encrypt= in the connection string)` };
  if (codes.some((c) => TLS_CODES.test(c)) || /certificate|self[- ]signed|SSL routines|TLS/i.test(message))
    return {
      stage: "tls",
      detail:
        `the server's TLS certificate was refused (${message}): install a certificate this machine trusts ` +
        "and use the name it was issued for, or add TrustServerCertificate=true on a network you trust",
    };
  if (codes.includes("ELOGIN") || codes.includes("EFEDAUTH"))
    return {
      stage: "login",
      detail:
        `login failed (${serverErrors.length ? `SQL Server error ${serverErrors.join(", ")}` : message}): ` +
        "check the user name and password, that the login exists and is enabled, and that the server allows " +
        "SQL Server authentication (mixed mode) for SQL logins",
    };
  if (codes.includes("EINSTLOOKUP"))
    return {
      stage: "connection",
      detail:
        `the named instance was not found (${message}): start the SQL Server Browser service and open UDP ` +
        "1434, or give the instance's port (Server=host\\INSTANCE,port)",
    };
  if (codes.includes("ETIMEOUT"))
    return {
      stage: "connection",
      detail: `${where} did not answer in time: check the host name, port and firewall, and that TCP/IP is enabled`,
    };
  return {
    stage: "connection",
    detail:
      `cannot reach ${where} (${message}): check the host name and port, the firewall, and that TCP/IP is ` +
      "enabled for SQL Server (SQL Server Configuration Manager)",
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Verdicts from the facts. Pure: tested with recorded rows.

const STAGES: ConnectStage[] = ["connection", "tls", "login", "database"];

function where(c: MssqlConnectionSpec): string {
  return `${c.server}${c.instanceName ? `\\${c.instanceName}` : ""}${c.port !== undefined ? `:${c.port}` : ""}`;
}

/** Passwords and the user name: lines reach the dashboard, which never shows credentials. */
export function credentialsOf(c: MssqlConnectionSpec): string[] {
  const a = c.authentication;
  return [
    ...mssqlSecrets(c),
    ...("user" in a ? [a.user] : []),
    ...("clientId" in a && a.clientId ? [a.clientId] : []),
  ];
}

function loginKind(c: MssqlConnectionSpec): string {
  switch (c.authentication.type) {
    case "sql":
      return "SQL Server login";
    case "ntlm":
      return "NTLM (Windows account with password)";
    default:
      return `Entra ID (${c.authentication.type.replace("azure-active-directory-", "")})`;
  }
}

function tlsLine(c: MssqlConnectionSpec): PreflightCheck {
  if (c.encrypt === false)
    return checkLine(
      "tls",
      "warn",
      "not encrypted (Encrypt=false): rows travel in clear text; set Encrypt=true unless the network is private",
    );
  if (c.trustServerCertificate)
    return checkLine(
      "tls",
      "warn",
      `encrypted${c.encrypt === "strict" ? " (TDS 8, strict)" : ""}, but the server's certificate is not ` +
        "verified (TrustServerCertificate=true): fine on a trusted network; elsewhere install a certificate " +
        "this machine trusts and remove TrustServerCertificate",
    );
  return checkLine(
    "tls",
    "ok",
    `encrypted${c.encrypt === "strict" ? " (TDS 8, strict)" : ""}, server certificate verified`,
  );
}

/** The lines for a connect that failed: the stages before it passed, the failing one fails, nothing after. */
export function connectFailureChecks(c: MssqlConnectionSpec, failure: ConnectFailure): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  for (const stage of STAGES) {
    if (stage === failure.stage) {
      out.push(checkLine(stage, "fail", failure.detail));
      break;
    }
    if (stage === "connection") out.push(checkLine("connection", "ok", `reached ${where(c)}`));
    if (stage === "tls") out.push(tlsLine(c));
    if (stage === "login") out.push(checkLine("login", "ok", `logged in (${loginKind(c)})`));
  }
  return out;
}

const VERSION_NAMES: Record<number, string> = {
  11: "2012",
  12: "2014",
  13: "2016",
  14: "2017",
  15: "2019",
  16: "2022",
  17: "2025",
};

/** SERVERPROPERTY('EngineEdition'): 5 Azure SQL Database, 8 Azure SQL Managed Instance (both evergreen). */
const AZURE_EDITIONS: Record<number, string> = { 5: "Azure SQL Database", 8: "Azure SQL Managed Instance" };

function bytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MB`;
  return `${Math.round(n / 1024)} KB`;
}

const q = (name: string) => `[${name.replace(/]/g, "]]")}]`;

export function evaluateMssqlFacts(c: MssqlConnectionSpec, facts: MssqlFacts): PreflightCheck[] {
  const s = facts.server;
  const azure = AZURE_EDITIONS[s.engine_edition];
  const out = connectedChecks(c);

  // database
  if (s.state_desc !== "ONLINE")
    out.push(checkLine("database", "fail", `${q(s.database_name)} is ${s.state_desc}: bring it ONLINE`));
  else if (s.is_read_only)
    out.push(
      checkLine(
        "database",
        "fail",
        `${q(s.database_name)} is read-only: ALTER DATABASE ${q(s.database_name)} SET READ_WRITE, or connect ` +
          "to the primary replica",
      ),
    );
  else out.push(checkLine("database", "ok", `${q(s.database_name)} is online and writable`));

  // server version
  const major = Number(s.product_version.split(".")[0]);
  const release = `${s.product_version}${s.product_level ? ` ${s.product_level}` : ""}${s.edition ? `, ${s.edition}` : ""}`;
  if (azure) out.push(checkLine("server version", "ok", `${azure} (${release})`));
  else if (Number.isFinite(major) && major >= MIN_MAJOR_VERSION)
    out.push(checkLine("server version", "ok", `SQL Server ${VERSION_NAMES[major] ?? major} (${release})`));
  else
    out.push(
      checkLine(
        "server version",
        "fail",
        `SQL Server ${VERSION_NAMES[major] ?? s.product_version} (${release}): SQL Server 2016 or later is needed`,
      ),
    );

  // compatibility level
  const level = s.compatibility_level;
  if (level >= TESTED_COMPATIBILITY_LEVEL) out.push(checkLine("compatibility level", "ok", `${level}`));
  else
    out.push(
      checkLine(
        "compatibility level",
        "warn",
        `${level}, below ${TESTED_COMPATIBILITY_LEVEL} (SQL Server 2016): imports avoid features that need more, ` +
          `but this level is untested; raise it with ALTER DATABASE ${q(s.database_name)} SET ` +
          `COMPATIBILITY_LEVEL = ${TESTED_COMPATIBILITY_LEVEL} if nothing else depends on it`,
      ),
    );

  // collation
  if (!s.collation_available)
    out.push(
      checkLine(
        "collation",
        "fail",
        `the server lacks ${MSSQL_COLLATION}, the collation of the warehouse's text columns`,
      ),
    );
  else {
    const insensitive = /_CI_/i.test(s.collation_name ?? "");
    out.push(
      checkLine(
        "collation",
        "ok",
        `database ${s.collation_name ?? "(none)"}${insensitive ? " (case-insensitive names: Convex tables differing only in case get distinct SQL names)" : ""}; ` +
          `text columns use ${MSSQL_COLLATION} (exact comparison): add COLLATE when joining them to columns in another collation`,
      ),
    );
  }

  out.push(permissionsLine(facts.databaseRights, facts.schemas));
  out.push(recoveryLine(s, azure));
  out.push(logSpaceLine(facts));
  return out;
}

function yes(v: number | null): boolean {
  return v === 1;
}

function permissionsLine(database: DatabaseRights, schemas: SchemaPermissions[]): PreflightCheck {
  const missing: string[] = [];
  const grants: string[] = [];
  const have: string[] = [];
  if (!yes(database.create_table)) {
    missing.push("CREATE TABLE");
    grants.push("GRANT CREATE TABLE TO <user>");
  } else have.push("CREATE TABLE");
  if (schemas.length === 0) {
    // No schema named: what any app's import needs, its schemas being created on first use.
    if (missing.length)
      return checkLine(
        "permissions",
        "fail",
        `missing CREATE TABLE; as an administrator: ${grants.join("; ")}`,
      );
    if (yes(database.create_schema))
      return checkLine(
        "permissions",
        "ok",
        "CREATE TABLE and CREATE SCHEMA: each app's schemas can be created",
      );
    return checkLine(
      "permissions",
      "warn",
      "no CREATE SCHEMA: every app's schema and its __staging schema must exist, with ALTER, " +
        "INSERT, SELECT, DELETE granted on them (or GRANT CREATE SCHEMA TO <user>)",
    );
  }
  const toCreate: string[] = [];
  for (const row of schemas) {
    if (!yes(row.schema_exists)) {
      toCreate.push(q(row.schema_name));
      continue;
    }
    const lacking = (
      [
        ["ALTER", row.can_alter],
        ["INSERT", row.can_insert],
        ["SELECT", row.can_select],
        ["DELETE", row.can_delete],
      ] as const
    )
      .filter(([, v]) => !yes(v))
      .map(([p]) => p);
    if (lacking.length) {
      missing.push(`${lacking.join(", ")} on schema ${q(row.schema_name)}`);
      grants.push(`GRANT ${lacking.join(", ")} ON SCHEMA::${q(row.schema_name)} TO <user>`);
    } else have.push(`schema ${q(row.schema_name)} exists with ALTER, INSERT, SELECT, DELETE`);
  }
  if (toCreate.length) {
    if (yes(database.create_schema)) have.push(`CREATE SCHEMA for ${toCreate.join(", ")}`);
    else {
      missing.push(`CREATE SCHEMA (schemas ${toCreate.join(", ")} do not exist)`);
      grants.push(
        `GRANT CREATE SCHEMA TO <user>, or create ${toCreate.join(", ")} with AUTHORIZATION <user>`,
      );
    }
  }
  if (missing.length)
    return checkLine(
      "permissions",
      "fail",
      `missing ${missing.join("; ")}; as an administrator: ${grants.join("; ")}`,
    );
  return checkLine("permissions", "ok", have.join("; "));
}

function recoveryLine(s: ServerFacts, azure: string | undefined): PreflightCheck {
  const model = s.recovery_model_desc;
  if (model === "SIMPLE")
    return checkLine("recovery model", "ok", "SIMPLE: log space of committed load batches is reused");
  if (azure)
    return checkLine(
      "recovery model",
      "ok",
      `${model} (${azure} backs up the log itself; very large imports are paced by its log rate limit)`,
    );
  return checkLine(
    "recovery model",
    "warn",
    `${model}: every loaded row stays in the log until the next log backup${s.log_reuse_wait_desc === "LOG_BACKUP" ? " (the log is waiting for one now)" : ""}; ` +
      "schedule log backups during imports or size the log for the largest import",
  );
}

function logSpaceLine(facts: MssqlFacts): PreflightCheck {
  const files = facts.logFiles;
  const growable = files.filter(
    (f) => f.growth > 0 && (f.max_size === -1 || f.max_size * 8192 > Number(f.size_bytes)),
  );
  const growth = growable.length
    ? `the log grows automatically${growable.some((f) => f.max_size === -1) ? " until the disk is full" : ` up to ${bytes(Math.max(...growable.map((f) => f.max_size * 8192)))}`}`
    : "the log cannot grow (fixed size)";
  if ("error" in facts.logSpace)
    return checkLine(
      "log space",
      "warn",
      `unknown: this login may not read sys.dm_db_log_space_usage (GRANT VIEW SERVER STATE, or VIEW SERVER ` +
        `PERFORMANCE STATE on SQL Server 2022); ${growth}`,
    );
  const total = Number(facts.logSpace.total_log_size_in_bytes);
  const free = total - Number(facts.logSpace.used_log_space_in_bytes);
  const figures = `${bytes(free)} free of ${bytes(total)}`;
  if (free >= LOW_LOG_SPACE_BYTES) return checkLine("log space", "ok", `${figures}; ${growth}`);
  if (growable.length) return checkLine("log space", "ok", `${figures}; ${growth}`);
  return checkLine(
    "log space",
    "fail",
    `${figures} and ${growth}: enlarge the log file (ALTER DATABASE … MODIFY FILE) or allow it to grow`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Running it.

/** `schema`: the target schema of the import to check for; without it, what any app's import needs. */
export async function mssqlPreflight(c: MssqlConnectionSpec, schema?: string): Promise<PreflightCheck[]> {
  const serverErrors: number[] = [];
  const config = mssqlPoolConfig(c, {
    connectionTimeoutMs: PREFLIGHT_TIMEOUT_MS,
    requestTimeoutMs: PREFLIGHT_TIMEOUT_MS,
    pool: { max: 1, min: 0, idleTimeoutMillis: 1_000 },
  });
  config.beforeConnect = (connection) => {
    connection.on("errorMessage", (token: { number: number }) => serverErrors.push(token.number));
  };
  const pool = new sql.ConnectionPool(config);
  pool.on("error", () => {});
  try {
    try {
      await pool.connect();
    } catch (error) {
      return connectFailureChecks(c, classifyConnectFailure(error, serverErrors, where(c), credentialsOf(c)));
    }
    const run = async <T>(text: string, params: Record<string, string> = {}) => {
      const request = pool.request();
      for (const [name, value] of Object.entries(params)) request.input(name, sql.NVarChar(128), value);
      return (await request.query<T>(text)).recordset ?? [];
    };
    const [server] = await run<ServerFacts>(serverFactsSql, { collation: MSSQL_COLLATION });
    if (!server) throw new Error("sys.databases did not list the connected database");
    const [databaseRights] = await run<DatabaseRights>(databaseRightsSql);
    const schemas =
      schema === undefined
        ? []
        : await run<SchemaPermissions>(schemaRightsSql, {
            schema,
            staging: stagingSchemaName(schema),
          });
    const logSpace = await run<LogSpace>(logSpaceSql).then(
      (rows) => rows[0] ?? { error: "no row" },
      (error: Error) => ({ error: error.message }),
    );
    const logFiles = await run<LogFile>(logFilesSql);
    return [
      ...evaluateMssqlFacts(c, {
        server,
        databaseRights: databaseRights ?? { create_schema: null, create_table: null },
        schemas,
        logSpace,
        logFiles,
      }),
      ...incrementalLine(schemas.find((s) => s.schema_name === schema)),
    ];
  } catch (error) {
    return [
      ...connectedChecks(c),
      checkLine(
        "queries",
        "fail",
        `a catalog query failed: ${redactMessage((error as Error).message, credentialsOf(c))}`,
      ),
    ];
  } finally {
    await pool.close().catch(() => {});
  }
}

function connectedChecks(c: MssqlConnectionSpec): PreflightCheck[] {
  return [
    checkLine("connection", "ok", `reached ${where(c)}`),
    tlsLine(c),
    checkLine("login", "ok", `logged in (${loginKind(c)})`),
  ];
}
