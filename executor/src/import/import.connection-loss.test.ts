/** A lost connection mid-load (the server ends our session) fails the import and changes nothing. */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";
import { uniqueSchema } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "./index.js";
import { classifyTargetError } from "./load/targetErrors.js";
import type { ConvexObject } from "./values.js";

const url = process.env.PG_URL;
const doc = (n: number, fields: Record<string, unknown>) =>
  ({ _creationTime: 1.7e12 + n, _id: fakeId(n), ...fields }) as ConvexObject;

async function sql<T>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

describe.skipIf(!url)("connection lost mid-load (PostgreSQL)", () => {
  it("rejects with the server's error and leaves the target as it was", async () => {
    const schema = uniqueSchema();
    await importSnapshot({
      snapshotPath: await tempSnapshot([{ name: "t", docs: [doc(1, { v: "before" })] }]),
      target: url!,
      schema,
    });
    const docs = Array.from({ length: 30_000 }, (_, i) => doc(i, { v: "after", pad: "x".repeat(300) }));
    const zip = await tempSnapshot([{ name: "t", docs }]);
    let killed = false;
    const err = await importSnapshot({
      snapshotPath: zip,
      target: url!,
      schema,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (!killed && (p.tables[0]?.rows ?? 0) > 3000) {
          killed = true;
          // Only this test's session: its COPY names this test's unique staging schema.
          void sql(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE query LIKE '%${schema}__staging%' AND pid <> pg_backend_pid()`,
          );
        }
      },
    }).catch((e: Error) => e);
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(Error);
    // The server's FATAL message, or the socket's reset when the write comes first: a lost connection either way.
    expect((err as Error).message).toMatch(/terminat|Connection|closed|ECONNRESET|EPIPE/i);
    expect(classifyTargetError(err)?.retryable).toBe(true);
    expect(await sql(`SELECT v FROM "${schema}".t`)).toEqual([{ v: "before" }]);
    await sql(`DROP SCHEMA "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}__staging" CASCADE`);
  });
});
