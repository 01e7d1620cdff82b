/**
 * Targets the executor's end-to-end tests import into: always a fresh PGlite directory, plus PostgreSQL when
 * PG_URL is set (e.g. postgres://postgres@127.0.0.1:5432/test). `query` reads what landed there.
 */
import path from "node:path";
import pg from "pg";
import { tempDir } from "./harness.js";

export interface E2eTarget {
  name: string;
  /** A target string for a place no earlier test wrote to (PGlite: new directory; PostgreSQL: same database). */
  fresh(): string;
  query<T>(target: string, sql: string): Promise<T[]>;
}

export function e2eTargets(): E2eTarget[] {
  const targets: E2eTarget[] = [
    {
      name: "PGlite",
      fresh: () => `pglite:${path.join(tempDir("executor-pglite"), "warehouse")}`,
      query: async <T>(target: string, sql: string) => {
        const { PGlite } = await import("@electric-sql/pglite");
        const db = await PGlite.create(target.slice("pglite:".length));
        try {
          return (await db.query<T>(sql)).rows;
        } finally {
          await db.close();
        }
      },
    },
  ];
  const pgUrl = process.env.PG_URL;
  if (pgUrl) {
    targets.push({
      name: "PostgreSQL",
      fresh: () => pgUrl,
      query: async <T>(target: string, sql: string) => {
        const client = new pg.Client({ connectionString: target });
        await client.connect();
        try {
          return (await client.query(sql)).rows as T[];
        } finally {
          await client.end();
        }
      },
    });
  }
  return targets;
}

/** A schema name no other test uses. */
export function uniqueSchemaName(prefix = "e2e"): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
}
