import path from "node:path";
import { describe, expect, it } from "vitest";
import { describeTarget, parseTarget } from "./target.js";

describe("target connection strings", () => {
  it("reads mssql:// URLs with encoded passwords, options and named instances", () => {
    const spec = parseTarget(
      "mssql://loader:p%40ss%3Bword@db.local:1444/warehouse?encrypt=false&trustServerCertificate=true",
    );
    expect(spec).toEqual({
      kind: "mssql",
      connection: {
        server: "db.local",
        port: 1444,
        database: "warehouse",
        authentication: { type: "sql", user: "loader", password: "p@ss;word" },
        encrypt: false,
        trustServerCertificate: true,
      },
    });
    const named = parseTarget("mssql://u:p@host%5CSQLEXPRESS/dw");
    expect(named).toMatchObject({ connection: { server: "host", instanceName: "SQLEXPRESS" } });
    expect(named.kind === "mssql" && named.connection.port).toBeUndefined();
  });

  it("reads ADO-style connection strings", () => {
    expect(
      parseTarget(
        "Server=tcp:sql01,1533;Initial Catalog=dw;User Id=etl;Password=s3cret;Encrypt=True;TrustServerCertificate=yes",
      ),
    ).toEqual({
      kind: "mssql",
      connection: {
        server: "sql01",
        port: 1533,
        database: "dw",
        authentication: { type: "sql", user: "etl", password: "s3cret" },
        encrypt: true,
        trustServerCertificate: true,
      },
    });
  });

  it("reads postgres:// and pglite: targets", () => {
    expect(parseTarget("postgres://u:pw@pg:5432/test")).toEqual({
      kind: "postgres",
      connectionString: "postgres://u:pw@pg:5432/test",
      host: "pg",
      database: "test",
    });
    expect(parseTarget("pglite:./.data/w")).toEqual({ kind: "pglite", dataDir: path.resolve("./.data/w") });
  });

  it("describes a target without user names or passwords", () => {
    for (const t of [
      "mssql://loader:topsecret@db.local/warehouse",
      "Server=sql01;Database=dw;User Id=etl;Password=topsecret",
      "postgres://etl:topsecret@pg/test",
    ]) {
      const text = JSON.stringify(describeTarget(parseTarget(t)));
      expect(text).not.toMatch(/topsecret|loader|etl/);
    }
    expect(describeTarget(parseTarget("Server=sql01\\BI,1433;Database=dw;User Id=etl;Password=x"))).toEqual({
      kind: "mssql",
      host: "sql01\\BI",
      database: "dw",
    });
  });

  it("refuses unknown schemes and missing databases without echoing the string", () => {
    expect(() => parseTarget("mysql://root:hunter2@x/db")).toThrow(/invalid --target: expected .*mssql:\/\//);
    expect(() => parseTarget("mysql://root:hunter2@x/db")).not.toThrow(/hunter2/);
    expect(() => parseTarget("mssql://u:p@host")).toThrow(/needs a database/);
    expect(() => parseTarget("Server=x;User Id=u")).toThrow(/needs Database=/);
    expect(() => parseTarget("pglite:")).toThrow(/needs a directory/);
  });
});
