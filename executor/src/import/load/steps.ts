/**
 * Steps of a TargetConnection that every dialect runs the same way. A dialect session passes in only what
 * differs: its SQL, run on its own session.
 */
import { qualifiedOf, type LoadedTable } from "./connection.js";

/** A row of `<schema>._convex_tables` as `loadedTables` reads it. */
export interface LoadedTableRow {
  component: string;
  convex_table: string;
  sql_table: string;
  /** As text: the column is a 64-bit integer, beyond what a JS number holds exactly. */
  snapshot_ts: string | null;
  loaded_at: Date | string;
}

export interface LoadedTablesQueries {
  /** The rows of `<schema>._convex_tables` ordered by `sql_table`; none when that table does not exist. */
  tables(schema: string): Promise<LoadedTableRow[]>;
  /** The live number of rows in `<schema>.<sqlTable>`. */
  countRows(schema: string, sqlTable: string): Promise<number>;
}

/** What earlier loads put into `schema`, with live row counts (TargetConnection.loadedTables). */
export async function loadedTables(schema: string, queries: LoadedTablesQueries): Promise<LoadedTable[]> {
  const out: LoadedTable[] = [];
  for (const r of await queries.tables(schema)) {
    out.push({
      table: qualifiedOf(r),
      sqlTable: r.sql_table,
      rows: await queries.countRows(schema, r.sql_table),
      snapshotTs: r.snapshot_ts === null ? null : String(r.snapshot_ts),
      loadedAt: new Date(r.loaded_at),
    });
  }
  return out;
}

/**
 * Adds the primary key on `_id` through `add` (TargetConnection.finalizeStaging); a failure, most often
 * duplicate ids, names the table and keeps the server's error as the cause (targetErrors.ts classifies it).
 */
export async function addPrimaryKey(sqlTable: string, add: () => Promise<unknown>): Promise<void> {
  try {
    await add();
  } catch (err) {
    throw new Error(`table ${sqlTable}: cannot add the primary key on _id (${(err as Error).message})`, {
      cause: err,
    });
  }
}

/**
 * Runs `body` in one transaction of a session that takes statements as text (PostgreSQL, DuckDB): `begin` is the
 * dialect's statement; COMMIT after `body`, ROLLBACK when either fails. What throws is the failure itself, never
 * a ROLLBACK that failed too (on a lost connection the server has rolled back already).
 */
export async function inTransaction<T>(
  run: (sql: string) => Promise<unknown>,
  begin: string,
  body: () => Promise<T>,
): Promise<T> {
  await run(begin);
  try {
    const result = await body();
    await run("COMMIT");
    return result;
  } catch (err) {
    await run("ROLLBACK").catch(() => {});
    throw err;
  }
}

/** The staging tables a session created and has not yet swapped into place: what `cleanup` drops. */
export class StagingTables {
  private readonly names = new Set<string>();

  created(sqlTable: string): void {
    this.names.add(sqlTable);
  }

  swapped(sqlTable: string): void {
    this.names.delete(sqlTable);
  }

  /**
   * Drops each through `drop` and forgets them all (TargetConnection.cleanup). Never throws: it runs after a
   * failure too, and a table it cannot drop is dropped by the next run's `begin`.
   */
  async dropAll(drop: (sqlTable: string) => Promise<unknown>): Promise<void> {
    for (const sqlTable of this.names) {
      try {
        await drop(sqlTable);
      } catch {
        // see above
      }
    }
    this.names.clear();
  }
}
