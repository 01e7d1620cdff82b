import sql from "mssql";
import tedious from "tedious";
import { describe, expect, it } from "vitest";
import { mssqlPoolConfig } from "./config.js";
import { type MssqlConnectionSpec, mssqlSecrets, parseMssqlConnectionString } from "./connection-string.js";

const parse = parseMssqlConnectionString;
const sqlLogin = (user: string, password: string) => ({ type: "sql", user, password }) as const;

/** The passwords every form must carry intact: `;`, `@`, `%`, `'`, `{`, `}` and a doubled-quote case. */
const HARD_PASSWORDS = ["p;w", "p@ss", "100%", "it's", "{br}ace}", 'say "hi"', "a;b@c%d'e{f}g"];

/** Brace-quoting as SqlClient and JDBC define it: `{…}` with `}` doubled inside. */
const braced = (value: string) => `{${value.replace(/}/g, "}}")}}`;

describe("SQL Server connection strings: URL forms", () => {
  it("reads mssql:// with the database in the path and query keys in any case", () => {
    expect(
      parse("mssql://loader:secret@db.local:1444/warehouse?encrypt=true&trustServerCertificate=true"),
    ).toEqual({
      server: "db.local",
      port: 1444,
      database: "warehouse",
      authentication: sqlLogin("loader", "secret"),
      encrypt: true,
      trustServerCertificate: true,
    });
    expect(parse("mssql://u:p@h/dw?TRUSTSERVERCERTIFICATE=True&Encrypt=false")).toMatchObject({
      port: 1433,
      encrypt: false,
      trustServerCertificate: true,
    });
    expect(parse("mssql://u:p@h/dw?trustservercertificate=yes&encrypt=strict")).toMatchObject({
      encrypt: "strict",
      trustServerCertificate: true,
    });
  });

  it("reads sqlserver://host/INSTANCE?database=x with the path as the instance, not the database", () => {
    const c = parse("sqlserver://etl:pw@sql01/BI?database=warehouse");
    expect(c).toMatchObject({ server: "sql01", instanceName: "BI", database: "warehouse" });
    expect(c.port).toBeUndefined();
    expect(parse("sqlserver://etl:pw@sql01:1500?database=dw")).toMatchObject({ server: "sql01", port: 1500 });
    expect(() => parse("sqlserver://etl:pw@sql01/BI")).toThrow(/needs a database/);
  });

  it("reads mssql://host/INSTANCE/database and an encoded host\\INSTANCE", () => {
    expect(parse("mssql://u:p@host/SQLEXPRESS/dw")).toMatchObject({
      server: "host",
      instanceName: "SQLEXPRESS",
      database: "dw",
    });
    expect(parse("mssql://u:p@host%5CSQLEXPRESS/dw")).toMatchObject({
      server: "host",
      instanceName: "SQLEXPRESS",
    });
  });

  it("decodes percent-encoded passwords and user names with every special character", () => {
    for (const password of HARD_PASSWORDS) {
      const url = `mssql://${encodeURIComponent("dom user")}:${encodeURIComponent(password)}@h/dw`;
      expect(parse(url).authentication).toEqual(sqlLogin("dom user", password));
      const go = `sqlserver://u:${encodeURIComponent(password)}@h?database=dw`;
      expect(parse(go).authentication).toEqual(sqlLogin("u", password));
    }
  });

  it("refuses a URL password with a bare % without echoing it", () => {
    const attempt = () => parse("mssql://u:hunter%zz@h/dw");
    expect(attempt).toThrow(/percent-encoded/);
    expect(attempt).not.toThrow(/hunter/);
  });
});

describe("SQL Server connection strings: JDBC", () => {
  it("reads sqlserver://h:1433;databaseName=…;user=…;password=… with or without jdbc:", () => {
    const expected = {
      server: "h",
      port: 1433,
      database: "dw",
      authentication: sqlLogin("etl", "pw"),
      encrypt: true,
      trustServerCertificate: false,
    };
    expect(parse("sqlserver://h:1433;databaseName=dw;user=etl;password=pw")).toEqual(expected);
    expect(parse("jdbc:sqlserver://h:1433;databaseName=dw;user=etl;password=pw")).toEqual(expected);
    expect(
      parse(
        "jdbc:sqlserver://h\\INST;databaseName=dw;user=etl;password=pw;encrypt=false;trustServerCertificate=true",
      ),
    ).toMatchObject({ server: "h", instanceName: "INST", encrypt: false, trustServerCertificate: true });
    expect(
      parse("jdbc:sqlserver://;serverName=h;portNumber=1500;databaseName=dw;user=etl;password=pw"),
    ).toMatchObject({ server: "h", port: 1500 });
  });

  it("reads braced JDBC values with every special character", () => {
    for (const password of HARD_PASSWORDS) {
      const text = `jdbc:sqlserver://h:1433;databaseName=dw;user=etl;password=${braced(password)}`;
      expect(parse(text).authentication).toEqual(sqlLogin("etl", password));
    }
  });
});

describe("SQL Server connection strings: ADO / SqlClient", () => {
  it("keeps the port of Server=h\\INST,1500 and connects to it directly", () => {
    const c = parse("Server=h\\INST,1500;Database=dw;User Id=u;Password=p");
    expect(c).toMatchObject({ server: "h", instanceName: "INST", port: 1500 });
    const config = mssqlPoolConfig(c, { connectionTimeoutMs: 1, requestTimeoutMs: 1 });
    expect(config.port).toBe(1500);
    expect(config.options?.instanceName).toBeUndefined();
  });

  it("reads tcp: prefixes, Data Source / Initial Catalog / UID / PWD aliases and local server names", () => {
    expect(parse("Data Source=tcp:sql01,1533;Initial Catalog=dw;UID=etl;PWD=s3cret")).toMatchObject({
      server: "sql01",
      port: 1533,
      database: "dw",
      authentication: sqlLogin("etl", "s3cret"),
    });
    expect(parse("server=(local);database=dw;user id=u;password=p")).toMatchObject({
      server: "localhost",
      port: 1433,
    });
  });

  it("reads quoted values: '…', \"…\" and {…} with doubled closing quotes", () => {
    expect(parse("Server=h;Database=dw;User Id=u;Password='p;w'").authentication).toEqual(
      sqlLogin("u", "p;w"),
    );
    expect(parse('Server=h;Database=dw;User Id=u;Password="p;w"').authentication).toEqual(
      sqlLogin("u", "p;w"),
    );
    expect(parse("Server=h;Database=dw;User Id=u;Password={p;w}").authentication).toEqual(
      sqlLogin("u", "p;w"),
    );
    expect(parse("Server=h;Database=dw;User Id=u;Password={a}}b}").authentication).toEqual(
      sqlLogin("u", "a}b"),
    );
    expect(parse("Server=h;Database=dw;User Id=u;Password='it''s'").authentication).toEqual(
      sqlLogin("u", "it's"),
    );
    for (const password of HARD_PASSWORDS) {
      const text = `Server=h;Database=dw;User Id=u;Password=${braced(password)};Encrypt=true`;
      expect(parse(text).authentication).toEqual(sqlLogin("u", password));
    }
  });

  it("reads what mssql's own connection-string reader reads (server, port, database, login, TLS)", () => {
    for (const text of [
      "Server=tcp:sql01,1533;Database=dw;User Id=etl;Password={p;w}};x};Encrypt=yes;TrustServerCertificate=true",
      "Data Source=sql02;Initial Catalog=sales;UID=a;PWD='it''s';Encrypt=false",
      'Address=10.0.0.5,1500;Database=x;User ID=u;Password="q""q"',
    ]) {
      const ours = mssqlPoolConfig(parse(text), { connectionTimeoutMs: 1, requestTimeoutMs: 1 });
      const theirs = sql.ConnectionPool.parseConnectionString(text);
      expect({
        server: ours.server,
        port: ours.port,
        database: ours.database,
        user: ours.user,
        password: ours.password,
        encrypt: ours.options?.encrypt,
        trust: ours.options?.trustServerCertificate,
      }).toEqual({
        server: theirs.server,
        port: theirs.port,
        database: theirs.database,
        user: theirs.user,
        password: theirs.password,
        encrypt: theirs.options?.encrypt ?? true, // mssql defaults it to true (tedious/connection-pool.js)
        trust: theirs.options?.trustServerCertificate ?? false,
      });
    }
  });

  it("refuses an unquoted ';' in a value and unknown keys, without echoing them", () => {
    for (const text of [
      "Server=h;Database=dw;User Id=u;Password=hunter;2",
      "Server=h;User Id=u;Password=hunter;2x=y;Database=dw",
      "Server=h;Database=dw;User Id=u;Password={hunter2",
      "Server=h;Database=dw;User Id=u;TrustServerCertficate=true;Password=hunter2",
    ]) {
      expect(() => parse(text)).toThrow(/invalid --target/);
      expect(() => parse(text)).not.toThrow(/hunter|TrustServerCertficate/);
    }
    expect(() => parse("Server=h;Database=dw;User Id=u;Password=p;Encrypt=maybe")).toThrow(/encrypt must be/);
    expect(() => parse("Server=h,99999;Database=dw;User Id=u;Password=p")).toThrow(/port/);
    expect(() => parse("Server=np:\\\\h\\pipe\\sql\\query;Database=dw;User Id=u")).toThrow(/named pipes/);
  });
});

describe("SQL Server connection strings: logins", () => {
  it("refuses Windows integrated authentication, saying why and what works instead", () => {
    for (const text of [
      "Server=h;Database=dw;Integrated Security=SSPI",
      "Server=h;Database=dw;Integrated Security=true",
      "Server=h;Database=dw;Trusted_Connection=yes",
      "Server=h;Database=dw;Authentication=Active Directory Integrated",
      "jdbc:sqlserver://h;databaseName=dw;integratedSecurity=true",
      "mssql://h/dw?integratedSecurity=true",
    ]) {
      expect(() => parse(text)).toThrow(/Windows integrated authentication .*(tedious)/);
      expect(() => parse(text)).toThrow(/NTLM with explicit credentials/);
    }
    expect(
      parse("Server=h;Database=dw;Integrated Security=false;User Id=u;Password=p").authentication.type,
    ).toBe("sql");
  });

  it("needs a login", () => {
    expect(() => parse("Server=h;Database=dw")).toThrow(/User Id \(a login\) is missing/);
  });

  it("reads NTLM from DOMAIN\\user, Domain= or JDBC's authenticationScheme=NTLM", () => {
    const ntlm = { type: "ntlm", domain: "CORP", user: "etl", password: "p;w" };
    expect(parse("Server=h;Database=dw;User Id=CORP\\etl;Password={p;w}").authentication).toEqual(ntlm);
    expect(parse("Server=h;Database=dw;Domain=CORP;User Id=etl;Password='p;w'").authentication).toEqual(ntlm);
    expect(
      parse(
        "jdbc:sqlserver://h;databaseName=dw;integratedSecurity=true;authenticationScheme=NTLM;domain=CORP;user=etl;password={p;w}",
      ).authentication,
    ).toEqual(ntlm);
    expect(parse("mssql://CORP%5Cetl:p%3Bw@h/dw").authentication).toEqual(ntlm);
    expect(() => parse("Server=h;Database=dw;Authentication=NTLM;User Id=etl;Password=p")).toThrow(
      /Domain is missing/,
    );
  });

  it("reads the Entra ID (Azure AD) logins tedious supports and refuses the others", () => {
    expect(
      parse(
        "Server=x.database.windows.net;Database=dw;Authentication=ActiveDirectoryPassword;User Id=a@b.com;Password=p;Client Id=cid",
      ).authentication,
    ).toEqual({ type: "azure-active-directory-password", user: "a@b.com", password: "p", clientId: "cid" });
    expect(() =>
      parse("Server=x;Database=dw;Authentication=Active Directory Password;User Id=a@b.com;Password=p"),
    ).toThrow(/Client Id/);
    expect(
      parse(
        "Server=x;Database=dw;Authentication=ActiveDirectoryServicePrincipal;User Id=cid;Password=sec;Tenant Id=tid",
      ).authentication,
    ).toEqual({
      type: "azure-active-directory-service-principal-secret",
      clientId: "cid",
      clientSecret: "sec",
      tenantId: "tid",
    });
    expect(parse("Server=x;Database=dw;Authentication=ActiveDirectoryDefault").authentication).toEqual({
      type: "azure-active-directory-default",
    });
    expect(() => parse("Server=x;Database=dw;Authentication=ActiveDirectoryInteractive")).toThrow(
      /not supported; supported: a SQL Server login/,
    );
  });

  it("lists every secret for redaction", () => {
    expect(mssqlSecrets(parse("Server=h;Database=dw;User Id=u;Password=pw1"))).toEqual(["pw1"]);
    expect(
      mssqlSecrets(
        parse(
          "Server=x;Database=dw;Authentication=ActiveDirectoryServicePrincipal;User Id=c;Password=sec;Tenant Id=t",
        ),
      ),
    ).toEqual(["sec"]);
  });
});

describe("the pool configuration", () => {
  const settings = { connectionTimeoutMs: 1000, requestTimeoutMs: 1000 };
  /** What mssql hands tedious (node_modules/mssql/lib/tedious/connection-pool.js, _config). */
  const tediousConfig = (c: MssqlConnectionSpec) =>
    (
      new sql.ConnectionPool(mssqlPoolConfig(c, settings)) as unknown as {
        _config(): tedious.ConnectionConfiguration;
      }
    )._config();

  it("is accepted by tedious for every login and for ports and named instances", () => {
    for (const text of [
      "Server=h\\INST,1500;Database=dw;User Id=u;Password=p",
      "Server=h\\INST;Database=dw;User Id=u;Password=p",
      "Server=h;Database=dw;User Id=CORP\\u;Password=p",
      "Server=x;Database=dw;Authentication=ActiveDirectoryPassword;User Id=a@b;Password=p;Client Id=c",
      "Server=x;Database=dw;Authentication=ActiveDirectoryServicePrincipal;User Id=c;Password=s;Tenant Id=t",
      "Server=x;Database=dw;Authentication=ActiveDirectoryDefault",
      "mssql://u:p@h/dw?encrypt=strict",
    ]) {
      const config = tediousConfig(parse(text));
      // tedious validates its configuration in the constructor; it connects only on connect().
      expect(new tedious.Connection(config).config.server).toBe(config.server);
    }
  });

  it("sends the instance name only when no port is fixed, and the right login", () => {
    const byInstance = tediousConfig(parse("Server=h\\INST;Database=dw;User Id=u;Password=p"));
    expect(byInstance.options?.instanceName).toBe("INST");
    expect(byInstance.options?.port).toBeUndefined();
    const byPort = tediousConfig(parse("Server=h\\INST,1500;Database=dw;User Id=u;Password=p"));
    expect(byPort.options?.port).toBe(1500);
    expect(byPort.options?.instanceName).toBeUndefined();
    expect(tediousConfig(parse("Server=h;Database=dw;User Id=CORP\\u;Password=p")).authentication).toEqual({
      type: "ntlm",
      options: { domain: "CORP", userName: "u", password: "p" },
    });
    expect(tediousConfig(parse("Server=h;Database=dw;User Id=u;Password=p")).authentication).toEqual({
      type: "default",
      options: { userName: "u", password: "p" },
    });
  });
});
