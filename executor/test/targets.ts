/**
 * Targets the executor's end-to-end tests import into: always a fresh DuckDB file and a fresh PGlite directory, plus PostgreSQL when
 * PG_URL is set (e.g. postgres://postgres@127.0.0.1:5432/test). `query` reads what landed there.
 */
import path from "node:path";
import pg from "pg";
import { queryDuckdbFile } from "../../test/fixtures/duckdb-file.js";
import { tempDir } from "./harness.js";

export interface E2eTarget {
  name: string;
  /** A target string for a place no earlier test wrote to (PGlite: new directory; PostgreSQL: same database). */
  fresh(): string;
  query<T>(target: string, sql: string): Promise<T[]>;
  /** Drops the schemas tests created in a shared database (PostgreSQL); a PGlite directory is simply left. */
  dropSchemas(target: string, schemas: readonly string[]): Promise<void>;
}

export function e2eTargets(): E2eTarget[] {
  const targets: E2eTarget[] = [
    {
      name: "DuckDB",
      fresh: () => `duckdb:${path.join(tempDir("executor-duckdb"), "warehouse.duckdb")}`,
      query: queryDuckdbFile,
      dropSchemas: async () => {},
    },
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
      dropSchemas: async () => {},
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
      dropSchemas: async (target: string, schemas: readonly string[]) => {
        const client = new pg.Client({ connectionString: target });
        await client.connect();
        try {
          for (const schema of schemas) {
            // The engine stages into `<schema>__staging`.
            await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            await client.query(`DROP SCHEMA IF EXISTS "${schema}__staging" CASCADE`);
          }
        } finally {
          await client.end();
        }
      },
    });
  }
  return targets;
}

/** Every schema name handed out, so a test file can drop them afterwards. */
export const createdSchemas: string[] = [];

/** A schema name no other test uses. */
export function uniqueSchemaName(prefix = "e2e"): string {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
  createdSchemas.push(name);
  return name;
}
