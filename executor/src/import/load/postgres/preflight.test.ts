import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueSchema } from "../../../../../test/fixtures/targets.js";
import { preflightExitCode } from "../preflight.js";
import {
  evaluateIncremental,
  postgresPreflight,
  type PgSchemaRights,
  type PgServerFacts,
} from "./preflight.js";

const PG_URL = process.env.PG_URL;
if (!PG_URL) console.warn("[tests] PG_URL not set: PostgreSQL preflight tests skipped");

const verdicts = (checks: { check: string; status: string }[]) => checks.map((c) => `${c.check}:${c.status}`);

describe.skipIf(!PG_URL)("PostgreSQL preflight (real server)", () => {
  const role = `preflight_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  /** PG_URL with the restricted role as the user (the test server trusts local connections). */
  const asRole = () => {
    const url = new URL(PG_URL!);
    url.username = role;
    url.password = "not-a-real-pw";
    return url.toString();
  };

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
  });
  afterAll(async () => {
    await admin.query(`DROP OWNED BY ${role}`);
    await admin.query(`DROP ROLE ${role}`);
    await admin.end();
  });

  it("passes a user that may create schemas, with the server's version", async () => {
    const checks = await postgresPreflight(
      { kind: "postgres", connectionString: PG_URL! },
      uniqueSchema("pf"),
    );
    expect(verdicts(checks)).toEqual([
      "connection:ok",
      "server version:ok",
      "permissions:ok",
      "incremental:ok",
    ]);
    expect(checks[1]!.detail).toMatch(/^PostgreSQL \d+/);
    expect(preflightExitCode(checks)).toBe(0);
  });

  it("fails a user without CREATE on the database, naming the GRANT and never the password", async () => {
    const schema = uniqueSchema("pf");
    const checks = await postgresPreflight({ kind: "postgres", connectionString: asRole() }, schema);
    const permissions = checks.find((c) => c.check === "permissions")!;
    expect(permissions.status).toBe("fail");
    expect(permissions.detail).toContain(
      `GRANT CREATE ON DATABASE "${new URL(PG_URL!).pathname.slice(1)}" TO <user>`,
    );
    expect(permissions.detail).toContain(`"${schema}__staging" does not exist`);
    expect(preflightExitCode(checks)).toBe(1);
    expect(JSON.stringify(checks)).not.toContain("not-a-real-pw");
  });

  it("fails existing schemas whose tables belong to another role (replacing them needs ownership)", async () => {
    const schema = uniqueSchema("pf");
    for (const s of [schema, `${schema}__staging`]) {
      await admin.query(`CREATE SCHEMA "${s}"`);
      await admin.query(`GRANT USAGE, CREATE ON SCHEMA "${s}" TO ${role}`);
    }
    const before = await postgresPreflight({ kind: "postgres", connectionString: asRole() }, schema);
    expect(before.find((c) => c.check === "permissions")).toMatchObject({
      status: "ok",
      detail: expect.stringContaining(`schema "${schema}" is usable`),
    });
    await admin.query(`CREATE TABLE "${schema}".users (_id text)`);
    const after = await postgresPreflight({ kind: "postgres", connectionString: asRole() }, schema);
    expect(after.find((c) => c.check === "permissions")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(`ownership of 1 table(s) in "${schema}"`),
    });
  });

  it("warns an owner without UPDATE and DELETE on the schema's tables that incremental runs would fail", async () => {
    const schema = uniqueSchema("pf");
    for (const s of [schema, `${schema}__staging`]) {
      await admin.query(`CREATE SCHEMA "${s}"`);
      await admin.query(`GRANT USAGE, CREATE ON SCHEMA "${s}" TO ${role}`);
    }
    for (const t of ["users", "orders"]) {
      await admin.query(`CREATE TABLE "${schema}".${t} (_id text)`);
      await admin.query(`ALTER TABLE "${schema}".${t} OWNER TO ${role}`);
    }
    const owner = await postgresPreflight({ kind: "postgres", connectionString: asRole() }, schema);
    expect(verdicts(owner).slice(-2)).toEqual(["permissions:ok", "incremental:ok"]);

    await admin.query(`REVOKE UPDATE ON "${schema}".users, "${schema}".orders FROM ${role}`);
    await admin.query(`REVOKE DELETE ON "${schema}".orders FROM ${role}`);
    const checks = await postgresPreflight({ kind: "postgres", connectionString: asRole() }, schema);
    expect(checks.find((c) => c.check === "permissions")!.status).toBe("ok"); // a snapshot sync can still work
    const incremental = checks.find((c) => c.check === "incremental")!;
    expect(incremental.status).toBe("warn");
    expect(incremental.detail).toContain(`missing UPDATE on 2 table(s), DELETE on 1 table(s) in "${schema}"`);
    expect(incremental.detail).toContain(
      `GRANT UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO <user>`,
    );
    expect(preflightExitCode(checks)).toBe(0);
  });

  it("without a schema (the executor at start-up) checks CREATE on the database", async () => {
    const owner = await postgresPreflight({ kind: "postgres", connectionString: PG_URL! });
    expect(owner.at(-1)).toMatchObject({ check: "permissions", status: "ok" });
    const restricted = await postgresPreflight({ kind: "postgres", connectionString: asRole() });
    expect(restricted.at(-1)).toMatchObject({ check: "permissions", status: "warn" });
    expect(preflightExitCode(restricted)).toBe(0);
  });

  it("fails the connection line for a port nothing listens on, without the password", async () => {
    const checks = await postgresPreflight(
      { kind: "postgres", connectionString: "postgres://etl:hunter22@127.0.0.1:1/dw" },
      "convex",
    );
    expect(verdicts(checks)).toEqual(["connection:fail"]);
    expect(checks[0]!.detail).toContain("127.0.0.1:1/dw");
    expect(JSON.stringify(checks)).not.toContain("hunter22");
  });
});

describe("PGlite preflight", () => {
  it("opens the embedded warehouse and passes", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "preflight-pglite-"));
    const checks = await postgresPreflight({ kind: "pglite", dataDir: dir }, "convex");
    expect(verdicts(checks)).toEqual([
      "connection:ok",
      "server version:ok",
      "permissions:ok",
      "incremental:ok",
    ]);
    expect(checks[1]!.detail).toMatch(/^PGlite \(PostgreSQL \d+/);
  });
});

describe("PostgreSQL preflight: what incremental runs need (recorded rows)", () => {
  const server: PgServerFacts = {
    server_version: "17.2",
    server_version_num: 170002,
    database_name: "dw",
    create_schema: true,
    temp_tables: true,
  };
  const rights: PgSchemaRights = {
    schema_name: "convex",
    schema_exists: true,
    can_create: true,
    foreign_tables: 0,
    tables_lacking: {},
  };

  it("warns without TEMPORARY on the database, at start-up too, and says nothing at start-up otherwise", () => {
    const noTemp = { ...server, temp_tables: false };
    for (const lines of [evaluateIncremental(noTemp, rights), evaluateIncremental(noTemp)]) {
      expect(lines).toEqual([
        {
          check: "incremental",
          status: "warn",
          detail: expect.stringContaining('GRANT TEMPORARY ON DATABASE "dw" TO <user>'),
        },
      ]);
    }
    expect(evaluateIncremental(server)).toEqual([]);
  });

  it("names each missing table privilege with its table count, in the order runs use them", () => {
    const [line] = evaluateIncremental(server, { ...rights, tables_lacking: { TRUNCATE: 3, SELECT: 1 } });
    expect(line).toMatchObject({ check: "incremental", status: "warn" });
    expect(line!.detail).toContain('missing SELECT on 1 table(s), TRUNCATE on 3 table(s) in "convex"');
    expect(line!.detail).toContain('GRANT SELECT, TRUNCATE ON ALL TABLES IN SCHEMA "convex" TO <user>');
  });
});
