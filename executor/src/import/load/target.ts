/**
 * Target connection strings: parsing and a credential-free description.
 *
 *   mssql://user:password@host:1433/database?encrypt=true&trustServerCertificate=true
 *   Server=host,1433;Database=db;User Id=u;Password=p;Encrypt=true;TrustServerCertificate=true   (ADO style)
 *   postgres://user:password@host:5432/database   (also postgresql://)
 *   pglite:<directory>                              (embedded; created if missing)
 */
import path from "node:path";
import type { TargetKind } from "../../../../convex/contract/executor.js";

export interface MssqlConnection {
  server: string;
  port: number;
  database: string;
  user?: string;
  password?: string;
  /** Named instance (`host\\INSTANCE`); when set, the port is discovered through SQL Browser. */
  instanceName?: string;
  encrypt: boolean;
  trustServerCertificate: boolean;
}

export type TargetSpec =
  | { kind: "pglite"; dataDir: string }
  | { kind: "postgres"; connectionString: string; host: string; database: string }
  | { kind: "mssql"; connection: MssqlConnection };

export const DEFAULT_TARGET = "pglite:./.data/warehouse";

export class TargetUrlError extends Error {
  constructor(message: string) {
    super(`invalid --target: ${message}`);
    this.name = "TargetUrlError";
  }
}

export function parseTarget(text: string): TargetSpec {
  const value = text.trim();
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
  if (/^(mssql|sqlserver):\/\//i.test(value)) return { kind: "mssql", connection: parseMssqlUrl(value) };
  if (/(^|;)\s*(server|data source|address)\s*=/i.test(value)) {
    return { kind: "mssql", connection: parseAdoConnectionString(value) };
  }
  throw new TargetUrlError(
    "expected mssql://…, an ADO string (Server=…;Database=…), postgres://… or pglite:<directory>",
  );
}

/** What may be shown to people and sent to the control plane: never a user name or password. */
export function describeTarget(spec: TargetSpec): { kind: TargetKind; host?: string; database?: string } {
  switch (spec.kind) {
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

function bool(value: string | null | undefined, fallback: boolean): boolean {
  if (value === null || value === undefined || value === "") return fallback;
  return /^(true|yes|1|strict|mandatory)$/i.test(value.trim());
}

function splitHost(
  hostPart: string,
  port: number,
): Pick<MssqlConnection, "server" | "port" | "instanceName"> {
  const [server, instanceName] = hostPart.split("\\");
  return { server: server || "localhost", port, ...(instanceName ? { instanceName } : {}) };
}

function parseMssqlUrl(value: string): MssqlConnection {
  const url = safeUrl(value.replace(/^sqlserver:/i, "mssql:"));
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!database) throw new TargetUrlError("mssql URL needs a database name: mssql://user:pass@host:1433/db");
  const host = decodeURIComponent(url.hostname);
  return {
    ...splitHost(host, url.port ? Number(url.port) : 1433),
    database,
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    encrypt: bool(url.searchParams.get("encrypt"), true),
    trustServerCertificate: bool(url.searchParams.get("trustServerCertificate"), false),
  };
}

function parseAdoConnectionString(value: string): MssqlConnection {
  const fields = new Map<string, string>();
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const get = (...names: string[]) => names.map((n) => fields.get(n)).find((v) => v !== undefined);
  let hostPart = get("server", "data source", "address") ?? "";
  hostPart = hostPart.replace(/^tcp:/i, "");
  let port = 1433;
  const comma = hostPart.lastIndexOf(",");
  if (comma >= 0) {
    port = Number(hostPart.slice(comma + 1));
    hostPart = hostPart.slice(0, comma);
    if (!Number.isInteger(port) || port <= 0)
      throw new TargetUrlError("the port after the comma in Server= is not a number");
  }
  const database = get("database", "initial catalog");
  if (!database) throw new TargetUrlError("the connection string needs Database= (or Initial Catalog=)");
  const user = get("user id", "uid", "user");
  const password = get("password", "pwd");
  return {
    ...splitHost(hostPart, port),
    database,
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
    encrypt: bool(get("encrypt"), true),
    trustServerCertificate: bool(get("trustservercertificate"), false),
  };
}
