/**
 * Opening a DuckDB warehouse file: memory and thread limits, and one writer at a time.
 *
 * DuckDB itself allows one read-write process per file: the second gets an IO error naming the holder's pid
 * ("Could not set lock on file …: Conflicting lock is held in <program> (PID n)"). That is turned into a message
 * that says what to do. Within one process the OS lock does not apply (POSIX locks are per process), so opens for
 * writing are also registered here: a second import into the same file in the same process is refused the same way.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { ClassifiedTargetError, targetFailure } from "../targetFailure.js";

/** Limits for the embedded engine; they bound the import's memory whatever the snapshot size. */
export interface DuckdbSettings {
  /** DuckDB's `memory_limit`, e.g. "128MB": its buffer pool; operators spill to `<file>.tmp/` beyond it. */
  memoryLimit: string;
  /** DuckDB's worker threads. */
  threads: number;
}

/**
 * Measured with scripts/bench on the 1 GB snapshot (3.6 M documents): node, tsx and the DuckDB library take about
 * 150 MB before any data moves, the decoder's heap 30–70 MB, and DuckDB's memory outside its buffer pool grows
 * with malloc fragmentation; with 64 MB of buffers and one thread the import peaks at 280–310 MB, with 128 MB and
 * two threads at 340 MB, and two threads are no faster (the appender is fed by one JavaScript thread).
 */
export const DEFAULT_DUCKDB_SETTINGS: DuckdbSettings = { memoryLimit: "64MB", threads: 1 };

export interface OpenedDuckdb {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  close(): void;
}

const openForWriting = new Set<string>();

/** Retryable for the executor: the same job succeeds once the other process lets go of the file. */
export class WarehouseInUseError extends ClassifiedTargetError {
  constructor(file: string, holder: string) {
    super(
      `the DuckDB warehouse ${file} is in use by ${holder}; close it there (DuckDB CLI, DBeaver, another import) and try again`,
      targetFailure.transient(
        "target_busy",
        "DuckDB file lock",
        "Another program has the DuckDB warehouse file open (the DuckDB CLI, DBeaver, a notebook, another import); " +
          "DuckDB lets one process write a file at a time. Close it there, or open it read-only; the sync is retried.",
      ),
    );
    this.name = "WarehouseInUseError";
  }
}

const LOCK_CONFLICT = /Could not set lock on file .*?Conflicting lock is held in (.*?) \(PID (\d+)\)/s;

export async function openDuckdb(
  file: string,
  settings: DuckdbSettings,
  options: { readOnly?: boolean } = {},
): Promise<OpenedDuckdb> {
  const resolved = path.resolve(file);
  if (!options.readOnly && openForWriting.has(resolved))
    throw new WarehouseInUseError(resolved, "this process");
  if (!options.readOnly) await mkdir(path.dirname(resolved), { recursive: true });
  const { DuckDBInstance } = await import("@duckdb/node-api");
  let instance: DuckDBInstance;
  try {
    // Reading a warehouse that was never written: an empty in-memory database lists nothing and creates no file.
    const where = options.readOnly && !existsSync(resolved) ? ":memory:" : resolved;
    instance = await DuckDBInstance.create(where, {
      memory_limit: settings.memoryLimit,
      threads: String(settings.threads),
      ...(options.readOnly && where !== ":memory:" ? { access_mode: "READ_ONLY" } : {}),
    });
  } catch (err) {
    const conflict = LOCK_CONFLICT.exec((err as Error).message);
    if (conflict)
      throw new WarehouseInUseError(resolved, `process ${conflict[2]} (${path.basename(conflict[1]!)})`);
    throw err;
  }
  if (!options.readOnly) openForWriting.add(resolved);
  const connection = await instance.connect();
  return {
    instance,
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
      if (!options.readOnly) openForWriting.delete(resolved);
    },
  };
}
