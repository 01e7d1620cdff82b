/**
 * How SQL and COPY data reach the server: `pg` + pg-copy-streams for PostgreSQL (true streaming with
 * backpressure), and PGlite's COPY FROM '/dev/blob' in bounded chunks (PGlite takes a whole Blob per COPY).
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { CopySink, PgTransport } from "./transport.js";

/** PGlite gets one COPY per this many characters of row text. */
export const PGLITE_COPY_CHUNK_CHARS = 512 * 1024;

export async function connectPostgres(connectionString: string): Promise<PgTransport> {
  const client = new pg.Client({ connectionString, application_name: "convex-warehouse-sync" });
  await client.connect();
  let lostError: Error | undefined;
  client.on("error", (err) => (lostError = err));
  return {
    copySource: "STDIN",
    async query<T>(sql: string, params?: unknown[]) {
      if (lostError) throw lostError;
      return (await client.query(sql, params)).rows as T[];
    },
    async copyIn(sql: string): Promise<CopySink> {
      const stream = client.query(copyFrom(sql));
      let failure: Error | undefined;
      stream.on("error", (err: Error) => (failure ??= err));
      const finished = new Promise<void>((resolve, reject) => {
        stream.on("finish", resolve);
        stream.on("error", reject);
      });
      finished.catch(() => {});
      return {
        async write(text: string) {
          if (failure) throw failure;
          if (!stream.write(text)) {
            await Promise.race([once(stream, "drain"), finished]);
            if (failure) throw failure;
          }
        },
        async end() {
          stream.end();
          await finished;
        },
        async abort() {
          stream.destroy(new Error("aborted"));
          await finished.catch(() => {});
        },
      };
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
}

/**
 * PGlite runs PostgreSQL inside this process: its buffers count against our memory. The defaults
 * (shared_buffers 128 MB) put the process near 290 MB before any data moves; these keep it near 160 MB, and
 * small COPY chunks keep its working memory down (peak RSS 320–380 MB instead of 420–430 MB for 1 GB).
 */
const PGLITE_SETTINGS = ["shared_buffers = 16MB", "maintenance_work_mem = 16MB", "wal_buffers = 1MB"];

/**
 * PGlite is PostgreSQL inside one process: two processes opening the same directory would corrupt it.
 * A lock file holding the owner's pid keeps a second one out; a lock whose process is gone is taken over.
 */
async function lockPgliteDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, ".convex-warehouse-sync.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, String(process.pid), { flag: "wx" });
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `the PGlite warehouse ${dataDir} is in use by process ${owner}; try again when it has finished`,
        );
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new Error(`cannot lock the PGlite warehouse ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function openPglite(dataDir: string): Promise<PgTransport> {
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockPgliteDir(dataDir);
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create({ dataDir, postgresqlconf: PGLITE_SETTINGS }).catch(async (err: unknown) => {
    await unlock();
    throw err;
  });
  return {
    copySource: "'/dev/blob'",
    async query<T>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async copyIn(sql: string): Promise<CopySink> {
      let parts: string[] = [];
      let size = 0;
      const flush = async () => {
        if (size === 0) return;
        const blob = new Blob(parts);
        parts = [];
        size = 0;
        await db.query(sql, [], { blob });
      };
      return {
        async write(text: string) {
          parts.push(text);
          size += text.length;
          if (size >= PGLITE_COPY_CHUNK_CHARS) await flush();
        },
        end: flush,
        async abort() {
          parts = [];
          size = 0;
        },
      };
    },
    async close() {
      await db.close();
      await unlock();
    },
  };
}
