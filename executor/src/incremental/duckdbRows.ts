/**
 * The row changes of one table in a DuckDB batch — deletes and upserts — staged through temp tables
 * in slices bounded by bytes, all inside the batch's one transaction (duckdb.ts opens and commits it).
 *
 * Why slices: an `INSERT … SELECT` from a temp table holding a whole feed page of large documents (4,096 × 16 KiB)
 * fails at the executor's memory_limit of 64MB ("Out of Memory Error … 60.9 MiB/61.0 MiB used"; so does one of
 * 32 MiB), though both tables' blocks can spill to the temp_directory (`<file>.tmp`, DuckDB's default for a file)
 * and appending 128 MiB in one transaction passes — seen with DuckDB 1.5 here. With the changes staged and merged
 * a slice at a time (a few MiB), each statement needs little memory, and what the transaction has written so far
 * spills. Within a batch each `_id` has one change (changes.ts keeps the newest), so slices are disjoint and the
 * per-slice merge equals the whole one.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { PlannedColumn } from "../import/mapping/types.js";
import { cellValue } from "../import/load/connection.js";
import { appendRows } from "../import/load/duckdb/append.js";
import { columnDefinition, quoteIdent } from "../import/load/duckdb/sql.js";
import type { ConvexObject, ConvexValue } from "../import/values.js";

/** Temp tables live in the connection's own catalog: never in the warehouse file, gone with the connection. */
const CHANGES_TABLE = "_convex_changes";
const DELETES_TABLE = "_convex_deletes";
const temp = (table: string) => `temp.main.${quoteIdent(table)}`;
/** Rows per appender write: bounds the values converted at once. */
const APPEND_ROWS_PER_WRITE = 500;
/** Slice bytes when the memory_limit is not a plain size (e.g. "80%"): the figure for the default 64MB. */
const FALLBACK_SLICE_BYTES = 8_000_000;

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Bytes of changes staged and merged per statement: an eighth of DuckDB's memory_limit (units as DuckDB reads
 * them: KB = 1000, KiB = 1024). A slice of a quarter (16 MiB at 64MB) passed here, half failed.
 */
export function sliceBytesFor(memoryLimit: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(memoryLimit);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return FALLBACK_SLICE_BYTES;
  return Math.max(1 << 18, Math.floor((Number(m[1]) * unit) / 8));
}

/** About the bytes a value takes in a DuckDB row (a JSON column's text, a string's UTF-8). */
export function approxBytes(value: ConvexValue | undefined): number {
  if (value === undefined || value === null) return 4;
  if (typeof value === "string") return Buffer.byteLength(value);
  if (typeof value === "number" || typeof value === "bigint") return 24;
  if (typeof value === "boolean") return 5;
  if (Buffer.isBuffer(value)) return Math.ceil((value.length * 4) / 3) + 16;
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + approxBytes(v) + 1, 2);
  let n = 2;
  for (const [k, v] of Object.entries(value)) n += Buffer.byteLength(k) + approxBytes(v) + 4;
  return n;
}

/** Consecutive slices of `rows` whose bytes stay within `budget` (a row larger than it is a slice alone). */
export function* byteSlices<T>(
  rows: readonly T[],
  bytesOf: (row: T) => number,
  budget: number,
): Generator<T[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const b = bytesOf(rows[i]!);
    if (i > start && bytes + b > budget) {
      yield rows.slice(start, i);
      start = i;
      bytes = 0;
    }
    bytes += b;
  }
  if (start < rows.length) yield rows.slice(start);
}

const rowBytes = (columns: readonly PlannedColumn[]) => (row: ConvexObject) =>
  columns.reduce((n, c) => n + approxBytes(cellValue(row, c.field)) + 8, 0);

export class DuckdbRowWriter {
  constructor(
    private readonly db: DuckDBConnection,
    /** Sends a statement (reporting it first, as duckdb.ts's onStatement does) and returns the rows changed. */
    private readonly run: (sql: string) => Promise<number>,
    private readonly onStatement: (sql: string) => void,
    readonly sliceBytes: number,
  ) {}

  /**
   * Deletes rows whose `_id` is deleted by a version at least as new as the row's (`_ts` NULL: from a snapshot,
   * older than any change). Returns the rows deleted.
   */
  async deleteRows(
    target: string,
    ts: string,
    deletes: readonly { id: string; ts: bigint }[],
  ): Promise<number> {
    const columns: PlannedColumn[] = [
      { field: "id", sqlName: "id", type: "id", required: true },
      { field: "ts", sqlName: "ts", type: "int64", required: true },
    ];
    const rows = deletes.map((d) => ({ id: d.id, ts: d.ts }));
    let deleted = 0;
    for (const slice of byteSlices(rows, rowBytes(columns), this.sliceBytes)) {
      await this.fillTemp(DELETES_TABLE, columns, slice);
      deleted += await this.run(
        `DELETE FROM ${target} USING ${temp(DELETES_TABLE)} AS x ` +
          `WHERE ${target}."_id" = x.id AND (${target}.${ts} IS NULL OR ${target}.${ts} <= x.ts)`,
      );
    }
    if (rows.length > 0) await this.run(`DROP TABLE ${temp(DELETES_TABLE)}`);
    return deleted;
  }

  /**
   * Upserts on `_id` without a key: per slice, DELETE every row a change supersedes (`_ts` NULL or not newer) —
   * the updated count — then INSERT the changes whose `_id` is then absent; a row with a newer `_ts` stays.
   */
  async upsertRows(
    target: string,
    ts: string,
    columns: readonly PlannedColumn[],
    upserts: readonly ConvexObject[],
  ): Promise<{ inserted: number; updated: number }> {
    const names = columns.map((c) => quoteIdent(c.sqlName)).join(", ");
    let updated = 0;
    let written = 0;
    for (const slice of byteSlices(upserts, rowBytes(columns), this.sliceBytes)) {
      await this.fillTemp(CHANGES_TABLE, columns, slice);
      updated += await this.run(
        `DELETE FROM ${target} USING ${temp(CHANGES_TABLE)} AS c ` +
          `WHERE ${target}."_id" = c."_id" AND (${target}.${ts} IS NULL OR ${target}.${ts} <= c.${ts})`,
      );
      written += await this.run(
        `INSERT INTO ${target} (${names}) SELECT ${names} FROM ${temp(CHANGES_TABLE)} AS c ` +
          `WHERE NOT EXISTS (SELECT 1 FROM ${target} AS cur WHERE cur."_id" = c."_id")`,
      );
    }
    if (upserts.length > 0) await this.run(`DROP TABLE ${temp(CHANGES_TABLE)}`);
    return { inserted: written - updated, updated };
  }

  /** (Re)creates a temp table and fills it through the appender. */
  private async fillTemp(
    table: string,
    columns: readonly PlannedColumn[],
    rows: readonly ConvexObject[],
  ): Promise<void> {
    await this.run(
      `CREATE OR REPLACE TEMP TABLE ${quoteIdent(table)} (${columns.map(columnDefinition).join(", ")})`,
    );
    this.onStatement(`APPEND ${table}`);
    const appender = await this.db.createAppender(table, "main", "temp");
    try {
      for (let i = 0; i < rows.length; i += APPEND_ROWS_PER_WRITE)
        appendRows(appender, columns, rows.slice(i, i + APPEND_ROWS_PER_WRITE));
    } finally {
      appender.closeSync(); // flushes; on failure the transaction's rollback discards the rows
    }
  }
}
