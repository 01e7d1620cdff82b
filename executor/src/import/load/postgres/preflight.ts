/**
 * The PostgreSQL / PGlite preflight: connect, server version, and the rights an import needs (CREATE on the
 * database for missing schemas, USAGE and CREATE on existing ones, and ownership of the tables it replaces),
 * then what incremental runs need beyond that (../../../incremental/postgres.ts): the DML privileges on the
 * schema's tables and TEMPORARY on the database (each batch stages its changes in a temp table).
 */
import { stagingSchemaName } from "../connection.js";
import {
  checkLine,
  incrementalMissingLine,
  PREFLIGHT_TIMEOUT_MS,
  type PreflightCheck,
  redactMessage,
} from "../preflight.js";
import type { PgTransport } from "./transport.js";

/** `_creationTimeUtc` is a stored generated column (postgres/sql.ts): PostgreSQL 12 and later. */
export const MIN_SERVER_VERSION_NUM = 120000;

export const serverFactsSql = `SELECT current_setting('server_version') AS server_version,
  current_setting('server_version_num')::int AS server_version_num,
  current_database() AS database_name,
  has_database_privilege(current_database(), 'CREATE') AS create_schema,
  has_database_privilege(current_database(), 'TEMPORARY') AS temp_tables`;

/** What an incremental run does to the tables it finds (an owner may have revoked some from itself). */
export const INCREMENTAL_TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"] as const;

/** Per schema: does it exist, may we use and create in it, how many of its tables belong to roles we are not in. */
export const schemaRightsSql = `SELECT s.name AS schema_name,
  n.oid IS NOT NULL AS schema_exists,
  CASE WHEN n.oid IS NULL THEN NULL ELSE has_schema_privilege(n.oid, 'USAGE') AND has_schema_privilege(n.oid, 'CREATE') END AS can_create,
  (SELECT count(*)::int FROM pg_class AS c
     WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT pg_has_role(c.relowner, 'MEMBER')) AS foreign_tables,
  (SELECT COALESCE(jsonb_object_agg(m.privilege, m.n), '{}'::jsonb) FROM (
     SELECT p.privilege, count(*)::int AS n FROM pg_class AS c
       CROSS JOIN unnest(ARRAY['${INCREMENTAL_TABLE_PRIVILEGES.join("', '")}']) AS p(privilege)
      WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT has_table_privilege(c.oid, p.privilege)
      GROUP BY p.privilege) AS m) AS tables_lacking
FROM unnest($1::text[]) AS s(name)
LEFT JOIN pg_namespace AS n ON n.nspname = s.name`;

export interface PgServerFacts {
  server_version: string;
  server_version_num: number;
  database_name: string;
  create_schema: boolean;
  temp_tables: boolean;
}

export interface PgSchemaRights {
  schema_name: string;
  schema_exists: boolean;
  can_create: boolean | null;
  foreign_tables: number;
  /** Per privilege an incremental run uses, how many of the schema's tables this user lacks it on. */
  tables_lacking: Partial<Record<(typeof INCREMENTAL_TABLE_PRIVILEGES)[number], number>>;
}

export type PgPreflightTarget =
  { kind: "postgres"; connectionString: string } | { kind: "pglite"; dataDir: string };

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function evaluatePgFacts(
  kind: "postgres" | "pglite",
  server: PgServerFacts,
  schemas: PgSchemaRights[],
): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  const name = kind === "pglite" ? "PGlite (PostgreSQL" : "PostgreSQL";
  const version = `${name} ${server.server_version}${kind === "pglite" ? ")" : ""}`;
  out.push(
    server.server_version_num >= MIN_SERVER_VERSION_NUM
      ? checkLine("server version", "ok", version)
      : checkLine(
          "server version",
          "fail",
          `${version}: PostgreSQL 12 or later is needed (generated columns)`,
        ),
  );

  if (schemas.length === 0) {
    // No schema named (the executor at start-up): what any app's import needs, its schemas created on first use.
    out.push(
      server.create_schema
        ? checkLine(
            "permissions",
            "ok",
            `CREATE on database ${ident(server.database_name)}: each app's schemas can be created`,
          )
        : checkLine(
            "permissions",
            "warn",
            `no CREATE on database ${ident(server.database_name)}: every app's schema and its __staging schema ` +
              "must exist with USAGE and CREATE granted (or GRANT CREATE ON DATABASE … TO <user>)",
          ),
    );
    return out;
  }
  const missing: string[] = [];
  const fixes: string[] = [];
  const have: string[] = [];
  for (const s of schemas) {
    if (!s.schema_exists) {
      if (server.create_schema) have.push(`may create schema ${ident(s.schema_name)}`);
      else {
        missing.push(
          `CREATE on database ${ident(server.database_name)} (schema ${ident(s.schema_name)} does not exist)`,
        );
        fixes.push(
          `GRANT CREATE ON DATABASE ${ident(server.database_name)} TO <user>, or CREATE SCHEMA ${ident(s.schema_name)} AUTHORIZATION <user>`,
        );
      }
      continue;
    }
    if (!s.can_create) {
      missing.push(`USAGE and CREATE on schema ${ident(s.schema_name)}`);
      fixes.push(`GRANT USAGE, CREATE ON SCHEMA ${ident(s.schema_name)} TO <user>`);
    } else if (s.foreign_tables > 0) {
      missing.push(
        `ownership of ${s.foreign_tables} table(s) in ${ident(s.schema_name)} (replacing a table needs it)`,
      );
      fixes.push(`ALTER TABLE … OWNER TO <user> for the tables in ${ident(s.schema_name)}`);
    } else have.push(`schema ${ident(s.schema_name)} is usable`);
  }
  out.push(
    missing.length
      ? checkLine(
          "permissions",
          "fail",
          `missing ${missing.join("; ")}; as an administrator: ${fixes.join("; ")}`,
        )
      : checkLine("permissions", "ok", have.join("; ")),
  );
  return out;
}

/**
 * What an incremental run needs beyond an import. `target`: the schema's rights (undefined: no schema named,
 * the executor at start-up, when only the database-wide need can be checked and a line is written only if it
 * is missing). A warning, not a failure: the preflight does not know the apps' sync modes.
 */
export function evaluateIncremental(server: PgServerFacts, target?: PgSchemaRights): PreflightCheck[] {
  const missing: string[] = [];
  const fixes: string[] = [];
  if (!server.temp_tables) {
    missing.push(
      `TEMPORARY on database ${ident(server.database_name)} (each run stages changes in a temp table)`,
    );
    fixes.push(`GRANT TEMPORARY ON DATABASE ${ident(server.database_name)} TO <user>`);
  }
  const lacking = INCREMENTAL_TABLE_PRIVILEGES.filter((p) => (target?.tables_lacking[p] ?? 0) > 0);
  if (target && lacking.length > 0) {
    const schema = ident(target.schema_name);
    missing.push(
      `${lacking.map((p) => `${p} on ${target.tables_lacking[p]} table(s)`).join(", ")} in ${schema}`,
    );
    fixes.push(`GRANT ${lacking.join(", ")} ON ALL TABLES IN SCHEMA ${schema} TO <user>`);
  }
  if (missing.length > 0) return [incrementalMissingLine(missing, fixes)];
  if (!target) return [];
  return [
    checkLine(
      "incremental",
      "ok",
      target.schema_exists
        ? `${INCREMENTAL_TABLE_PRIVILEGES.join(", ")} on the tables of ${ident(target.schema_name)}, and temp tables`
        : `temp tables; the tables of ${ident(target.schema_name)} will be this user's`,
    ),
  ];
}

type Queryable = Pick<PgTransport, "query" | "close">;

async function open(target: PgPreflightTarget): Promise<Queryable> {
  if (target.kind === "pglite") return (await import("./transports.js")).openPglite(target.dataDir);
  // Bounded waits: the preflight must answer, not hang on an unreachable host.
  const { default: pg } = await import("pg");
  const client = new pg.Client({
    connectionString: target.connectionString,
    connectionTimeoutMillis: PREFLIGHT_TIMEOUT_MS,
    query_timeout: PREFLIGHT_TIMEOUT_MS,
    application_name: "convex-warehouse-sync preflight",
  });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return {
    query: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[],
    close: () => client.end().catch(() => {}),
  };
}

function secretsOf(target: PgPreflightTarget): string[] {
  if (target.kind === "pglite") return [];
  const url = new URL(target.connectionString);
  return [
    target.connectionString,
    url.password,
    decodeURIComponent(url.password),
    decodeURIComponent(url.username),
  ];
}

function whereOf(target: PgPreflightTarget): string {
  if (target.kind === "pglite") return target.dataDir;
  const url = new URL(target.connectionString);
  return `${url.hostname}:${url.port || "5432"}${url.pathname}`;
}

/** `schema`: the target schema of the import to check for; without it, what any app's import needs. */
export async function postgresPreflight(
  target: PgPreflightTarget,
  schema?: string,
): Promise<PreflightCheck[]> {
  const hide = secretsOf(target);
  let db: Queryable;
  try {
    db = await open(target);
  } catch (error) {
    const message = redactMessage((error as Error).message, hide);
    return [
      checkLine(
        "connection",
        "fail",
        target.kind === "pglite"
          ? `cannot open the PGlite warehouse in ${target.dataDir}: ${message}`
          : `cannot connect to ${whereOf(target)}: ${message} (check host, port, database name, user and password)`,
      ),
    ];
  }
  try {
    const [server] = await db.query<PgServerFacts>(serverFactsSql);
    const schemas =
      schema === undefined
        ? []
        : await db.query<PgSchemaRights>(schemaRightsSql, [[schema, stagingSchemaName(schema)]]);
    return [
      checkLine(
        "connection",
        "ok",
        target.kind === "pglite" ? `opened ${whereOf(target)}` : `reached ${whereOf(target)}`,
      ),
      ...evaluatePgFacts(target.kind, server!, schemas),
      ...evaluateIncremental(
        server!,
        schemas.find((s) => s.schema_name === schema),
      ),
    ];
  } catch (error) {
    return [
      checkLine("connection", "ok", `reached ${whereOf(target)}`),
      checkLine(
        "queries",
        "fail",
        `a catalog query failed: ${redactMessage((error as Error).message, hide)}`,
      ),
    ];
  } finally {
    await db.close();
  }
}
