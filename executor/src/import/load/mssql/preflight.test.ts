/**
 * The SQL Server preflight's verdicts, from recorded rows. UNVERIFIED: no SQL Server runs here, so the rows are
 * written from Microsoft's documentation of each view and function (column names and types as the queries
 * alias them; BIGINT arrives from tedious as a string), not captured from a server. The statements themselves
 * are parsed by the independent T-SQL grammar, and the connect failures are built from the drivers' own error
 * classes the way tedious' connection.js builds them.
 */
import sql from "mssql";
import tedious from "tedious";
import { describe, expect, it } from "vitest";
import { type PreflightCheck, preflightExitCode } from "../preflight.js";
import { parseMssqlConnectionString } from "./connection-string.js";
import {
  classifyConnectFailure,
  connectFailureChecks,
  evaluateMssqlFacts,
  mssqlPreflight,
} from "./preflight.js";
import {
  type MssqlFacts,
  MSSQL_PREFLIGHT_STATEMENTS,
  type SchemaPermissions,
  type ServerFacts,
} from "./preflightSql.js";
import { incrementalLine } from "./preflightIncremental.js";
import { tsqlSyntaxErrors } from "./testing/tsql-grammar.js";

const conn = parseMssqlConnectionString(
  "Server=sql01,1433;Database=warehouse;User Id=loader;Password=Pa55-secret;TrustServerCertificate=true",
);
const verified = parseMssqlConnectionString(
  "Server=sql01;Database=warehouse;User Id=loader;Password=Pa55-secret",
);

const server2022: ServerFacts = {
  product_version: "16.0.4135.4",
  product_level: "RTM",
  edition: "Developer Edition (64-bit)",
  engine_edition: 3,
  database_name: "warehouse",
  compatibility_level: 160,
  collation_name: "SQL_Latin1_General_CP1_CI_AS",
  recovery_model_desc: "SIMPLE",
  log_reuse_wait_desc: "NOTHING",
  state_desc: "ONLINE",
  is_read_only: false,
  collation_available: 1,
};

/** None of the three schemas exists yet (the login has CREATE SCHEMA and CREATE TABLE: databaseRights). */
const creator = (name: string): SchemaPermissions => ({
  schema_name: name,
  schema_exists: 0,
  can_alter: null,
  can_insert: null,
  can_select: null,
  can_delete: null,
  can_update: null,
  tables_without_update: 0,
  tables_without_delete: 0,
});
const schemas = ["convex", "convex__staging"];

const healthy: MssqlFacts = {
  server: server2022,
  databaseRights: { create_schema: 1, create_table: 1 },
  schemas: schemas.map(creator),
  logSpace: { total_log_size_in_bytes: "8388608", used_log_space_in_bytes: "2097152" },
  logFiles: [{ size_bytes: "8388608", max_size: 268435456, growth: 8192, is_percent_growth: false }],
};

const facts = (
  patch: Omit<Partial<MssqlFacts>, "server"> & { server?: Partial<ServerFacts> },
): MssqlFacts => ({
  ...healthy,
  ...patch,
  server: { ...server2022, ...patch.server },
});
const line = (checks: PreflightCheck[], name: string) => checks.find((c) => c.check === name);

describe("SQL Server preflight statements", () => {
  it("parse under the T-SQL grammar", () => {
    for (const text of MSSQL_PREFLIGHT_STATEMENTS) expect(tsqlSyntaxErrors(text), text).toEqual([]);
  });
});

describe("SQL Server preflight verdicts (recorded rows, UNVERIFIED against a server)", () => {
  it("passes a healthy SQL Server 2022 with one line per check, warning about an unverified certificate", () => {
    const checks = evaluateMssqlFacts(conn, healthy);
    expect(checks.map((c) => c.check)).toEqual([
      "connection",
      "tls",
      "login",
      "database",
      "server version",
      "compatibility level",
      "collation",
      "permissions",
      "recovery model",
      "log space",
    ]);
    expect(checks.filter((c) => c.status !== "ok").map((c) => c.check)).toEqual(["tls"]);
    expect(line(checks, "tls")!.detail).toMatch(/not verified \(TrustServerCertificate=true\)/);
    expect(line(checks, "server version")!.detail).toBe(
      "SQL Server 2022 (16.0.4135.4 RTM, Developer Edition (64-bit))",
    );
    expect(line(checks, "permissions")!.detail).toMatch(/CREATE TABLE; CREATE SCHEMA for \[convex\]/);
    expect(line(checks, "log space")!.detail).toMatch(
      /^6 MB free of 8 MB; the log grows automatically up to 2048\.0 GB/,
    );
    expect(preflightExitCode(checks)).toBe(0);
    expect(line(evaluateMssqlFacts(verified, healthy), "tls")).toEqual({
      check: "tls",
      status: "ok",
      detail: "encrypted, server certificate verified",
    });
  });

  it("fails missing permissions and names the GRANT statements that fix them", () => {
    const checks = evaluateMssqlFacts(
      conn,
      facts({
        databaseRights: { create_schema: 0, create_table: 0 },
        schemas: [
          {
            schema_name: "convex",
            schema_exists: 1,
            can_alter: 0,
            can_insert: 1,
            can_select: 1,
            can_delete: 0,
            can_update: 1,
            tables_without_update: 0,
            tables_without_delete: 0,
          },
          creator("convex__staging"),
        ],
      }),
    );
    const permissions = line(checks, "permissions")!;
    expect(permissions.status).toBe("fail");
    expect(permissions.detail).toContain("GRANT CREATE TABLE TO <user>");
    expect(permissions.detail).toContain("GRANT ALTER, DELETE ON SCHEMA::[convex] TO <user>");
    expect(permissions.detail).toContain("GRANT CREATE SCHEMA TO <user>, or create [convex__staging]");
    expect(preflightExitCode(checks)).toBe(1);
  });

  it("accepts existing schemas with ALTER, INSERT, SELECT and DELETE without CREATE SCHEMA", () => {
    const granted = (name: string): SchemaPermissions => ({
      schema_name: name,
      schema_exists: 1,
      can_alter: 1,
      can_insert: 1,
      can_select: 1,
      can_delete: 1,
      can_update: 1,
      tables_without_update: 0,
      tables_without_delete: 0,
    });
    const checks = evaluateMssqlFacts(
      conn,
      facts({ databaseRights: { create_schema: 0, create_table: 1 }, schemas: schemas.map(granted) }),
    );
    expect(line(checks, "permissions")!.status).toBe("ok");
  });

  it("without a schema (the executor at start-up) checks what any app's import needs", () => {
    const verdict = (create_schema: number, create_table: number) =>
      line(
        evaluateMssqlFacts(conn, facts({ databaseRights: { create_schema, create_table }, schemas: [] })),
        "permissions",
      );
    expect(verdict(1, 1)).toMatchObject({ status: "ok", detail: expect.stringContaining("CREATE SCHEMA") });
    expect(verdict(0, 1)).toMatchObject({ status: "warn", detail: expect.stringContaining("must exist") });
    expect(verdict(1, 0)).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("GRANT CREATE TABLE"),
    });
  });

  it("fails servers older than 2016, passes Azure SQL Database whatever its version number", () => {
    const old = evaluateMssqlFacts(conn, facts({ server: { product_version: "12.0.6024.0" } }));
    expect(line(old, "server version")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^SQL Server 2014 .*2016 or later/),
    });
    const azure = evaluateMssqlFacts(
      conn,
      facts({ server: { product_version: "12.0.2000.8", engine_edition: 5, recovery_model_desc: "FULL" } }),
    );
    expect(line(azure, "server version")).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(/^Azure SQL Database/),
    });
    expect(line(azure, "recovery model")!.status).toBe("ok");
  });

  it("warns about a compatibility level below 130 with the statement that raises it", () => {
    const checks = evaluateMssqlFacts(conn, facts({ server: { compatibility_level: 110 } }));
    expect(line(checks, "compatibility level")).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("ALTER DATABASE [warehouse] SET COMPATIBILITY_LEVEL = 130"),
    });
  });

  it("warns about FULL recovery, and says when the log waits for a backup", () => {
    const checks = evaluateMssqlFacts(
      conn,
      facts({ server: { recovery_model_desc: "FULL", log_reuse_wait_desc: "LOG_BACKUP" } }),
    );
    expect(line(checks, "recovery model")).toMatchObject({
      status: "warn",
      detail: expect.stringMatching(/^FULL: .*waiting for one now.*log backups/),
    });
  });

  it("judges free log space with the log's growth, and warns when it cannot be read", () => {
    const small = { total_log_size_in_bytes: "268435456", used_log_space_in_bytes: "67108864" };
    const fixed = evaluateMssqlFacts(
      conn,
      facts({
        logSpace: small,
        logFiles: [{ size_bytes: "268435456", max_size: 32768, growth: 0, is_percent_growth: false }],
      }),
    );
    expect(line(fixed, "log space")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^192 MB free of 256 MB and the log cannot grow/),
    });
    const growing = evaluateMssqlFacts(
      conn,
      facts({
        logSpace: small,
        logFiles: [{ size_bytes: "268435456", max_size: -1, growth: 10, is_percent_growth: true }],
      }),
    );
    expect(line(growing, "log space")).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("until the disk is full"),
    });
    const hidden = evaluateMssqlFacts(
      conn,
      facts({ logSpace: { error: "The user does not have permission to perform this action." } }),
    );
    expect(line(hidden, "log space")).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("VIEW SERVER STATE"),
    });
  });

  it("fails a read-only or offline database and a missing collation", () => {
    expect(
      line(evaluateMssqlFacts(conn, facts({ server: { is_read_only: true } })), "database"),
    ).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("SET READ_WRITE"),
    });
    expect(
      line(evaluateMssqlFacts(conn, facts({ server: { state_desc: "RESTORING" } })), "database")!.status,
    ).toBe("fail");
    expect(
      line(evaluateMssqlFacts(conn, facts({ server: { collation_available: 0 } })), "collation")!.status,
    ).toBe("fail");
  });
});

describe("SQL Server preflight: what incremental runs need (recorded rows, UNVERIFIED against a server)", () => {
  const granted: SchemaPermissions = {
    schema_name: "convex",
    schema_exists: 1,
    can_alter: 1,
    can_insert: 1,
    can_select: 1,
    can_delete: 1,
    can_update: 1,
    tables_without_update: 0,
    tables_without_delete: 0,
  };

  it("warns a login without UPDATE on the schema, naming the GRANT; an import's rights alone still pass", () => {
    const checks = incrementalLine({ ...granted, can_update: 0, tables_without_update: 4 });
    expect(checks).toEqual([
      {
        check: "incremental",
        status: "warn",
        detail: expect.stringMatching(/^missing UPDATE on schema \[convex\]: incremental runs .*would fail/),
      },
    ]);
    expect(checks[0]!.detail).toContain("GRANT UPDATE ON SCHEMA::[convex] TO <user>");
    expect(checks[0]!.detail).not.toContain("4 table(s)"); // the schema grant covers them: one fix, not two
    expect(preflightExitCode(checks)).toBe(0);
    expect(incrementalLine(granted)).toEqual([
      { check: "incremental", status: "ok", detail: expect.stringContaining("UPDATE on schema [convex]") },
    ]);
  });

  it("names tables that deny UPDATE or DELETE though the schema grants them, and how to lift the DENY", () => {
    const [line] = incrementalLine({ ...granted, tables_without_update: 2, tables_without_delete: 1 });
    expect(line!.status).toBe("warn");
    expect(line!.detail).toContain("UPDATE on 2 table(s) of [convex] (denied on the table)");
    expect(line!.detail).toContain("DELETE on 1 table(s) of [convex] (denied on the table)");
    expect(line!.detail).toContain("REVOKE UPDATE ON [convex].<table> FROM <user>");
  });

  it("has no line without a schema (start-up), and defers a schema the first snapshot sync creates", () => {
    expect(incrementalLine(undefined)).toEqual([]);
    expect(incrementalLine(creator("convex"))).toEqual([
      { check: "incremental", status: "ok", detail: expect.stringContaining("does not exist yet") },
    ]);
  });
});

describe("SQL Server preflight: where a connect stopped", () => {
  const hide = ["Pa55-secret", "loader"];
  /** As mssql hands it over: its ConnectionError around tedious' (node_modules/mssql/lib/tedious/connection-pool.js). */
  const fromTedious = (message: string, code: string, cause?: Error) =>
    new sql.ConnectionError(
      new tedious.ConnectionError(message, code, cause ? { cause } : undefined) as unknown as Error,
    );

  it("tells the database from the login by the server's error numbers (4060 before 18456)", () => {
    const error = fromTedious("Login failed for user 'loader'.", "ELOGIN");
    expect(classifyConnectFailure(error, [4060, 18456], "sql01:1433", hide).stage).toBe("database");
    const login = classifyConnectFailure(error, [18456], "sql01:1433", hide);
    expect(login).toMatchObject({
      stage: "login",
      detail: expect.stringContaining("SQL Server error 18456"),
    });
    const noNumbers = classifyConnectFailure(error, [], "sql01:1433", hide);
    expect(noNumbers.detail).toContain("Login failed for user '***'");
    expect(noNumbers.detail).not.toContain("loader");
  });

  it("recognises certificate and encryption failures as TLS", () => {
    const certificate = Object.assign(new Error("self-signed certificate"), {
      code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    });
    const tls = classifyConnectFailure(
      fromTedious("Failed to connect to sql01:1433 - self-signed certificate", "ESOCKET", certificate),
      [],
      "sql01:1433",
      hide,
    );
    expect(tls).toMatchObject({
      stage: "tls",
      detail: expect.stringContaining("TrustServerCertificate=true"),
    });
    expect(
      classifyConnectFailure(
        fromTedious("Server requires encryption, set 'encrypt' config option to `true`.", "EENCRYPT"),
        [],
        "x",
        hide,
      ).stage,
    ).toBe("tls");
  });

  it("points a missing named instance at SQL Browser, and a refused address at the Azure firewall", () => {
    expect(
      classifyConnectFailure(
        fromTedious("Port for SQLEXPRESS not found in sql01", "EINSTLOOKUP"),
        [],
        "x",
        hide,
      ),
    ).toMatchObject({
      stage: "connection",
      detail: expect.stringContaining("SQL Server Browser"),
    });
    expect(
      classifyConnectFailure(fromTedious("Cannot open server", "ELOGIN"), [40615], "x", hide),
    ).toMatchObject({
      stage: "connection",
      detail: expect.stringContaining("firewall"),
    });
  });

  it("reports the stages before the failing one as passed and stops there", () => {
    const checks = connectFailureChecks(conn, { stage: "login", detail: "login failed" });
    expect(checks.map((c) => [c.check, c.status])).toEqual([
      ["connection", "ok"],
      ["tls", "warn"],
      ["login", "fail"],
    ]);
  });

  it("fails the connection line against a port nothing listens on (real tedious), without credentials", async () => {
    const closed = parseMssqlConnectionString(
      "Server=127.0.0.1,1;Database=dw;User Id=loader;Password=Pa55-secret",
    );
    const checks = await mssqlPreflight(closed);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({
      check: "connection",
      status: "fail",
      detail: expect.stringContaining("127.0.0.1:1"),
    });
    expect(JSON.stringify(checks)).not.toMatch(/Pa55-secret|loader/);
  });
});
