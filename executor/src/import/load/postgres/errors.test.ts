import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../../../test/fixtures/snapshot-zip.js";
import { describeFailure } from "../../../service/jobErrors.js";
import { importSnapshot } from "../../index.js";
import type { ConvexObject } from "../../values.js";
import { classifyTargetError } from "../targetErrors.js";
import { classifyPostgresError } from "./errors.js";

const live = new AbortController().signal;
const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code, severity: "ERROR" });

describe("PostgreSQL errors by SQLSTATE", () => {
  it.each([
    ["23505", "target_duplicate_id", false],
    ["42501", "target_permission_denied", false],
    ["28P01", "target_login_failed", false],
    ["28000", "target_login_failed", false],
    ["3D000", "target_database_missing", false],
    ["42P01", "target_rejected", false],
    ["22P05", "target_rejected", false],
    ["54011", "target_rejected", false],
    ["08006", "target_unreachable", true],
    ["08001", "target_unreachable", true],
    ["40001", "target_conflict", true],
    ["40P01", "target_conflict", true],
    ["55P03", "target_conflict", true],
    ["53100", "target_busy", true],
    ["53300", "target_busy", true],
    ["57P01", "target_busy", true],
    ["57P03", "target_busy", true],
  ])("%s is %s (retryable: %s)", (sqlstate, code, retryable) => {
    expect(classifyPostgresError(pgError(sqlstate))).toMatchObject({ code, retryable });
  });

  it("leaves what it does not know to the caller, and never takes Node's errno codes for a SQLSTATE", () => {
    expect(classifyPostgresError(pgError("XX000"))).toBeNull();
    expect(classifyPostgresError(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toBeNull();
  });

  it("finds the driver's error inside the engine's wrapper (cause) and a refused connection", () => {
    const wrapped = new Error("table users: cannot add the primary key on _id (…)", {
      cause: pgError("23505"),
    });
    expect(classifyTargetError(wrapped)).toMatchObject({ code: "target_duplicate_id", retryable: false });
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(classifyTargetError(refused)).toMatchObject({ code: "target_unreachable", retryable: true });
    expect(classifyTargetError(new Error("something else"))).toBeNull();
  });
});

describe("PGlite's errors are PostgreSQL's", () => {
  it("a duplicate _id in the embedded warehouse fails at once as target_duplicate_id", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pglite-errors-"));
    const docs = [1, 2].map((n) => ({ _creationTime: 1.7e12 + n, _id: fakeId(1) }) as ConvexObject);
    const snapshot = await tempSnapshot([{ name: "users", docs }]);
    const error: unknown = await importSnapshot({ snapshotPath: snapshot, target: `pglite:${dir}` }).then(
      () => expect.unreachable("the import succeeded"),
      (e: unknown) => e,
    );
    expect(describeFailure(error, live, []).error).toMatchObject({
      code: "target_duplicate_id",
      retryable: false,
    });
  });
});

// Errors provoked on the real PostgreSQL: what the job would report, through the executor's describeFailure.
const PG_URL = process.env.PG_URL;
describe.skipIf(!PG_URL)(
  "errors of a real PostgreSQL become terminal job failures with their own code",
  () => {
    const admin = new pg.Pool({ connectionString: PG_URL });
    const suffix = randomBytes(4).toString("hex");
    const schema = `errs_${suffix}`;
    const role = `loader_noright_${suffix}`;
    afterAll(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}__staging" CASCADE`);
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    });

    const doc = (n: number, id = fakeId(n)) => ({ _creationTime: 1.7e12 + n, _id: id, x: n }) as ConvexObject;
    const urlAs = (user: string, database?: string) => {
      const url = new URL(PG_URL!);
      url.username = user;
      if (database) url.pathname = `/${database}`;
      return url.toString();
    };
    async function failureOf(target: string, docs: ConvexObject[] = [doc(1)]) {
      const snapshot = await tempSnapshot([{ name: "users", docs }]);
      const error: unknown = await importSnapshot({ snapshotPath: snapshot, target, schema }).then(
        () => expect.unreachable("the import succeeded"),
        (e: unknown) => e,
      );
      return { error, job: describeFailure(error, live, []).error };
    }

    it("a duplicate _id (23505) fails at once as target_duplicate_id, naming the table", async () => {
      const { error, job } = await failureOf(PG_URL!, [doc(1), doc(2, fakeId(1))]);
      expect(classifyTargetError(error)?.reference).toBe("SQLSTATE 23505");
      expect(job).toMatchObject({ code: "target_duplicate_id", retryable: false });
      expect(job.message).toMatch(/same _id/);
      expect(job.message).toMatch(/users/);
    });

    it("a role without CREATE on the database (42501) fails at once as target_permission_denied", async () => {
      await admin.query(`CREATE ROLE "${role}" LOGIN`);
      const { job } = await failureOf(urlAs(role));
      expect(job).toMatchObject({ code: "target_permission_denied", retryable: false });
      expect(job.message).toMatch(/SQLSTATE 42501/);
    });

    it("a login the server refuses (28000) and a missing database (3D000) fail at once", async () => {
      // This server trusts local connections, so a wrong password cannot be provoked; an unknown role is refused
      // in the same class (28: invalid authorization specification).
      const { job: login } = await failureOf(urlAs(`nobody_${suffix}`));
      expect(login).toMatchObject({ code: "target_login_failed", retryable: false });
      const { job: database } = await failureOf(urlAs("postgres", `missing_${suffix}`));
      expect(database).toMatchObject({ code: "target_database_missing", retryable: false });
    });

    it("a server that cannot be reached is worth another attempt", async () => {
      const { job } = await failureOf("postgres://postgres@127.0.0.1:1/test");
      expect(job).toMatchObject({ code: "target_unreachable", retryable: true });
    });
  },
);
