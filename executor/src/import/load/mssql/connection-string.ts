/**
 * SQL Server connection strings, in every form people paste:
 *
 *   Server=tcp:host\INST,1500;Database=dw;User Id=u;Password={p;w}    ADO.NET / SqlClient (keys case-insensitive)
 *   jdbc:sqlserver://host\INST:1433;databaseName=dw;user=u;password={p;w}            JDBC (`jdbc:` optional)
 *   mssql://u:p@host:1433/dw?encrypt=true&trustServerCertificate=true                URL, path = database
 *   mssql://u:p@host/INSTANCE/dw                                                     URL, old node-mssql form
 *   sqlserver://u:p@host:1433/INSTANCE?database=dw                                   URL, go-mssqldb form
 *
 * Key/value lists (ADO, and the JDBC properties after the first `;`) are tokenised by @tediousjs/connection-string,
 * the parser mssql itself uses (node_modules/mssql/lib/base/connection-pool.js, _parseConnectionString): values
 * may be quoted with '…' or "…" (doubled quote inside) or {…} (`}}` inside). Keys are resolved through the same
 * aliases as there and in @tediousjs/connection-string's MSSQL_SCHEMA, plus the JDBC spellings.
 *
 * Errors never echo the string, a value or an unknown key (an unquoted `;` in a password makes part of the
 * password a "key").
 */
import { MSSQL_SCHEMA, parse } from "@tediousjs/connection-string";
import { TargetUrlError } from "../target-error.js";

/**
 * How to log in. tedious (the driver) cannot do Windows integrated authentication (SSPI/Kerberos with the
 * current Windows user); NTLM with an explicit domain, user and password is its nearest equivalent.
 */
export type MssqlAuthentication =
  | { type: "sql"; user: string; password: string }
  | { type: "ntlm"; domain: string; user: string; password: string }
  | {
      type: "azure-active-directory-password";
      user: string;
      password: string;
      clientId: string;
      tenantId?: string;
    }
  | {
      type: "azure-active-directory-service-principal-secret";
      clientId: string;
      clientSecret: string;
      tenantId: string;
    }
  | { type: "azure-active-directory-default"; clientId?: string };

export interface MssqlConnectionSpec {
  server: string;
  /** Set when the connection goes to a fixed TCP port (given, or 1433 by default without a named instance). */
  port?: number;
  /**
   * Named instance (`host\INSTANCE`). Without a port, the port is discovered through SQL Browser (UDP 1434);
   * with a port (`host\INSTANCE,1500`) the port is used and the name only describes the target.
   */
  instanceName?: string;
  database: string;
  authentication: MssqlAuthentication;
  /** `strict` = TDS 8.0 (TLS before login, SQL Server 2022+). */
  encrypt: boolean | "strict";
  trustServerCertificate: boolean;
}

/** Does the text look like a SQL Server connection string (rather than postgres:// or pglite:)? */
export function isMssqlConnectionString(text: string): boolean {
  return (
    /^(jdbc:)?(mssql|sqlserver):\/\//i.test(text) ||
    /(^|;)\s*(server|data source|address|addr)\s*=/i.test(text)
  );
}

export function parseMssqlConnectionString(text: string): MssqlConnectionSpec {
  const value = text.trim();
  const url = /^(jdbc:)?(mssql|sqlserver):\/\//i.exec(value);
  if (!url) return fromKeys(tokenise(value, "the connection string"), "ADO");
  const rest = value.slice(url[0].length);
  if (url[1] || (url[2]!.toLowerCase() === "sqlserver" && rest.includes(";"))) return parseJdbc(rest);
  return parseUrl(value, url[2]!.toLowerCase() as "mssql" | "sqlserver");
}

/** Every secret a connection carries, for redaction in messages. */
export function mssqlSecrets(connection: MssqlConnectionSpec): string[] {
  const a = connection.authentication;
  switch (a.type) {
    case "sql":
    case "ntlm":
    case "azure-active-directory-password":
      return a.password ? [a.password] : [];
    case "azure-active-directory-service-principal-secret":
      return [a.clientSecret];
    case "azure-active-directory-default":
      return [];
  }
}

// ---------------------------------------------------------------------------------------------------------------

type Keys = ReadonlyMap<string, string>;

/** Canonical key → every accepted spelling (lower case). ADO names and aliases as in MSSQL_SCHEMA; JDBC after. */
const KEYS = {
  server: ["data source", "server", "address", "addr", "network address", "servername"],
  port: ["port", "portnumber"],
  instance: ["instancename", "instance name"],
  database: ["initial catalog", "database", "databasename"],
  user: ["user id", "uid", "user", "username", "user name"],
  password: ["password", "pwd"],
  encrypt: ["encrypt"],
  trustServerCertificate: ["trustservercertificate", "trust server certificate"],
  authentication: ["authentication"],
  authenticationScheme: ["authenticationscheme"],
  domain: ["domain"],
  clientId: ["client id", "clientid"],
  tenantId: ["tenant id", "tenantid"],
  integratedSecurity: ["integrated security", "trusted_connection", "integratedsecurity"],
} as const;
type Key = keyof typeof KEYS;

/** Keys of SqlClient/JDBC strings that are valid but change nothing here (pooling, timeouts, app name…). */
const HARMLESS = new Set([
  ...Object.entries(MSSQL_SCHEMA).flatMap(([name, item]) => [
    name,
    ...(item.aliases ?? []).map((alias) => alias.toLowerCase()),
  ]),
  "applicationname",
  "logintimeout",
  "sendstringparametersasunicode",
  "hostnameincertificate",
  "host name in certificate",
  "command timeout",
  "connect retry count",
  "connect retry interval",
  "pool blocking period",
  "multiple active result sets",
  "multi subnet failover",
  "application intent",
]);
const KNOWN = new Set<string>(Object.values(KEYS).flat());

function tokenise(text: string, what: string): Keys {
  let keys: Keys;
  try {
    keys = parse(text);
  } catch {
    throw new TargetUrlError(
      `${what} is malformed: a quoted value ('…', "…" or {…}) is not closed, or text follows its closing quote`,
    );
  }
  if (danglingText(text, keys))
    throw new TargetUrlError(
      `${what} ends with text that is not key=value (an unquoted ';' in a value?): ` +
        `quote such values: Password='p;w', Password="p;w" or Password={p;w}`,
    );
  return keys;
}

/** The parser drops a last fragment without `=` (`Password=a;b` reads as "a"): is there one? */
function danglingText(text: string, keys: Keys): boolean {
  try {
    const probe = parse(`${text}=`);
    return [...probe.keys()].some((key) => key !== "" && !keys.has(key));
  } catch {
    return false;
  }
}

function get(keys: Keys, key: Key): string | undefined {
  for (const name of KEYS[key]) {
    const value = keys.get(name);
    if (value !== undefined) return value;
  }
  return undefined;
}

function rejectUnknownKeys(keys: Keys, form: string): void {
  let position = 0;
  for (const name of keys.keys()) {
    position++;
    if (KNOWN.has(name) || HARMLESS.has(name)) continue;
    throw new TargetUrlError(
      `${form} connection string: key number ${position} is not a SQL Server connection setting. ` +
        `Check its spelling; a value containing ';' must be quoted: Password='p;w', Password="p;w" or Password={p;w}`,
    );
  }
}

function flag(keys: Keys, key: Key, fallback: boolean): boolean {
  const value = get(keys, key)?.trim().toLowerCase();
  if (value === undefined || value === "") return fallback;
  if (["true", "yes", "1", "mandatory"].includes(value)) return true;
  if (["false", "no", "0", "optional"].includes(value)) return false;
  throw new TargetUrlError(`${KEYS[key][0]} must be true or false`);
}

function encryption(keys: Keys): boolean | "strict" {
  return get(keys, "encrypt")?.trim().toLowerCase() === "strict" ? "strict" : flag(keys, "encrypt", true);
}

function portNumber(text: string, where: string): number {
  const port = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || port < 1 || port > 65535)
    throw new TargetUrlError(`the port in ${where} is not a number from 1 to 65535`);
  return port;
}

/** `tcp:host\INSTANCE,port` as in ADO's Data Source (mssql's connection-pool.js reads it the same way). */
function adoServer(text: string): Pick<MssqlConnectionSpec, "server" | "port" | "instanceName"> {
  let rest = text.trim();
  if (/^np:|^lpc:/i.test(rest))
    throw new TargetUrlError("named pipes and shared memory are not supported: use tcp:host,port");
  rest = rest.replace(/^tcp:/i, "");
  let port: number | undefined;
  const comma = rest.lastIndexOf(",");
  if (comma >= 0) {
    port = portNumber(rest.slice(comma + 1), "Server=host,port");
    rest = rest.slice(0, comma);
  }
  const [host, instanceName] = splitInstance(rest);
  return { server: host, ...(port !== undefined ? { port } : {}), ...(instanceName ? { instanceName } : {}) };
}

function hostAndInstance(text: string): Pick<MssqlConnectionSpec, "server" | "port" | "instanceName"> {
  const [server, instanceName] = splitInstance(text);
  return { server, ...(instanceName ? { instanceName } : {}) };
}

function splitInstance(hostPart: string): [string, string | undefined] {
  const slash = hostPart.indexOf("\\");
  const host = (slash >= 0 ? hostPart.slice(0, slash) : hostPart).trim().replace(/^\[(.*)\]$/, "$1");
  const instance = slash >= 0 ? hostPart.slice(slash + 1).trim() : undefined;
  const server = /^(\.|\(local\)|\(\.\)|\(localdb\))$/i.test(host) ? "localhost" : host;
  return [server, instance || undefined];
}

function parseJdbc(rest: string): MssqlConnectionSpec {
  const semicolon = rest.indexOf(";");
  const head = semicolon >= 0 ? rest.slice(0, semicolon) : rest;
  const keys = new Map(tokenise(semicolon >= 0 ? rest.slice(semicolon + 1) : "", "the JDBC properties"));
  // `[serverName[\instanceName][:portNumber]]`; an IPv6 address is written in brackets.
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(head)!;
  const [server, instanceName] = splitInstance(hostPort[1]!);
  if (server && !keys.has("servername")) keys.set("servername", server);
  if (instanceName && !keys.has("instancename")) keys.set("instancename", instanceName);
  if (hostPort[2] !== undefined && !keys.has("portnumber")) keys.set("portnumber", hostPort[2]);
  return fromKeys(keys, "JDBC");
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TargetUrlError(
      `the ${what} in the URL is not correctly percent-encoded (write % as %25, @ as %40, ; as %3B)`,
    );
  }
}

function parseUrl(value: string, scheme: "mssql" | "sqlserver"): MssqlConnectionSpec {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TargetUrlError(
      "the URL could not be parsed (check the host and that the password is percent-encoded)",
    );
  }
  const keys = new Map<string, string>();
  for (const [name, v] of url.searchParams) keys.set(name.trim().toLowerCase(), v);
  const host = decode(url.hostname, "host");
  const [server, hostInstance] = splitInstance(host);
  keys.set("servername", server);
  if (hostInstance) keys.set("instancename", hostInstance);
  if (url.port) keys.set("portnumber", url.port);
  if (url.username) keys.set("username", decode(url.username, "user name"));
  if (url.password) keys.set("password", decode(url.password, "password"));
  const segments = url.pathname
    .split("/")
    .filter(Boolean)
    .map((s) => decode(s, "path"));
  if (scheme === "sqlserver") {
    // go-mssqldb: sqlserver://user:pass@host/instance?database=db
    if (segments.length > 1) throw new TargetUrlError("sqlserver:// URL: the path is the instance name only");
    if (segments[0]) keys.set("instancename", segments[0]);
  } else {
    // node-mssql: mssql://user:pass@host/database or mssql://user:pass@host/INSTANCE/database
    if (segments.length > 2)
      throw new TargetUrlError("mssql:// URL: the path is /database or /INSTANCE/database");
    if (segments.length === 2) keys.set("instancename", segments[0]!);
    const database = segments.at(-1);
    if (database) keys.set("databasename", database);
  }
  return fromKeys(keys, "URL");
}

function fromKeys(keys: Keys, form: "ADO" | "JDBC" | "URL"): MssqlConnectionSpec {
  rejectUnknownKeys(keys, form);
  const serverText = get(keys, "server");
  if (!serverText?.trim()) throw new TargetUrlError(`${form} connection string needs a server`);
  const target = form === "ADO" ? adoServer(serverText) : hostAndInstance(serverText);
  const portText = get(keys, "port");
  if (portText !== undefined) target.port = portNumber(portText, "the port setting");
  const instance = get(keys, "instance")?.trim();
  if (instance) target.instanceName = instance;
  if (target.port === undefined && !target.instanceName) target.port = 1433;

  const database = get(keys, "database")?.trim();
  if (!database)
    throw new TargetUrlError(
      form === "URL"
        ? "the URL needs a database: mssql://user:pass@host:1433/db or sqlserver://user:pass@host?database=db"
        : form === "JDBC"
          ? "the JDBC string needs databaseName=…"
          : "the connection string needs Database= (or Initial Catalog=)",
    );

  return {
    ...target,
    database,
    authentication: authentication(keys),
    encrypt: encryption(keys),
    trustServerCertificate: flag(keys, "trustServerCertificate", false),
  };
}

const SUPPORTED_LOGINS =
  "supported: a SQL Server login (User Id=…;Password=…), NTLM with explicit credentials " +
  "(User Id=DOMAIN\\user;Password=…, or Domain=…), Authentication=ActiveDirectoryPassword (with Client Id=), " +
  "ActiveDirectoryServicePrincipal (User Id=<client id>;Password=<secret>;Tenant Id=…) or ActiveDirectoryDefault";

function authentication(keys: Keys): MssqlAuthentication {
  const integrated = get(keys, "integratedSecurity")?.trim().toLowerCase();
  const scheme = get(keys, "authenticationScheme")?.trim().toLowerCase();
  // JDBC writes NTLM as integratedSecurity=true;authenticationScheme=NTLM with explicit credentials.
  const method =
    scheme === "ntlm" ? "ntlm" : (get(keys, "authentication") ?? "").replace(/[\s_-]/g, "").toLowerCase();
  const windowsLogin =
    (method !== "ntlm" && integrated !== undefined && !["false", "no", "0", ""].includes(integrated)) ||
    method === "activedirectoryintegrated";
  if (windowsLogin) {
    throw new TargetUrlError(
      "Windows integrated authentication (Integrated Security=SSPI, Trusted_Connection=yes, " +
        "ActiveDirectoryIntegrated) is not possible with this driver (tedious), which cannot log in as the " +
        `current Windows user. Remove it and give a login instead; ${SUPPORTED_LOGINS}`,
    );
  }
  let user = get(keys, "user");
  const password = get(keys, "password") ?? "";
  let domain = get(keys, "domain")?.trim();
  const backslash = user?.indexOf("\\") ?? -1;
  if (user !== undefined && backslash > 0) {
    domain ??= user.slice(0, backslash);
    user = user.slice(backslash + 1);
  }
  const need = (what: string, value: string | undefined): string => {
    if (!value) throw new TargetUrlError(`${what} is missing for this login; ${SUPPORTED_LOGINS}`);
    return value;
  };
  switch (method) {
    case "":
    case "sqlpassword":
    case "ntlm":
      if (domain || method === "ntlm")
        return { type: "ntlm", domain: need("Domain", domain), user: need("User Id", user), password };
      return { type: "sql", user: need("User Id (a login)", user), password };
    case "activedirectorypassword": {
      const tenantId = get(keys, "tenantId");
      return {
        type: "azure-active-directory-password",
        user: need("User Id", user),
        password,
        clientId: need("Client Id (the application id registered in Entra ID)", get(keys, "clientId")),
        ...(tenantId ? { tenantId } : {}),
      };
    }
    case "activedirectoryserviceprincipal":
      return {
        type: "azure-active-directory-service-principal-secret",
        clientId: need("User Id (the application's client id)", user ?? get(keys, "clientId")),
        clientSecret: need("Password (the client secret)", password),
        tenantId: need("Tenant Id", get(keys, "tenantId")),
      };
    case "activedirectorydefault": {
      const clientId = get(keys, "clientId") ?? user;
      return { type: "azure-active-directory-default", ...(clientId ? { clientId } : {}) };
    }
    default:
      throw new TargetUrlError(`this Authentication= method is not supported; ${SUPPORTED_LOGINS}`);
  }
}
