/**
 * Widening on DuckDB: columns of a table turn into JSON holding exactly what the import writes for their values
 * (append.ts: toExportJson), by REBUILDING the table inside the batch's transaction rather than updating it.
 *
 * Why a rebuild: DuckDB keeps a transaction's updated values in its memory, so an `UPDATE` rewriting a column
 * whose values total more than about 32 MiB failed at the executor's memory_limit of 64MB (Out of Memory; in
 * slices too), while rows appended to a table spill to the temp_directory (128 MiB appended in one transaction
 * passed) — seen with DuckDB 1.5 here. The values are re-encoded in JavaScript, not in SQL, whose number
 * formatting is not JavaScript's.
 *
 *   ALTER TABLE t RENAME TO _convex_widening__t     -- before any row change: DuckDB refuses to commit a
 *   CREATE TABLE t (same columns, widened ones JSON)  -- transaction that alters a table after changing its rows
 *   per slice of rowids (bounded by bytes): SELECT the old rows → appender into t, widened cells re-encoded
 *   DROP TABLE _convex_widening__t
 *
 * All of it is transactional (DuckDB's DDL is), so a failure leaves the table as it was. Views bind by name:
 * they read the new table. The rows are read a slice at a time, each read complete before the appender flushes:
 * a flush while a streamed result is open ends that result early, silently (seen here).
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from "@duckdb/node-api";
import { DuckDBBlobValue, DuckDBDataChunk } from "@duckdb/node-api";
import { quoteIdent, quoteLiteral } from "../import/load/duckdb/sql.js";
import { toExportJson, type ConvexValue } from "../import/values.js";

/** The old table's name while it is copied; `_convex_` names are the engine's own. */
export const WIDENING_PREFIX = "_convex_widening__";
/** Rows of the first read; later reads scale by the bytes seen (nextReadRows). */
const FIRST_READ_ROWS = 16;
/** DuckDB's data chunks hold at most this many rows (STANDARD_VECTOR_SIZE). */
const CHUNK_ROWS = 2048;

interface ExistingColumn {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

/** A DuckDB value read back (getColumnsJS) as the Convex value the import had appended. */
function convexValueOf(value: unknown): ConvexValue {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value as ConvexValue;
}

/** About the bytes of a cell read back (DuckDBValue): a string's or blob's length, 8 for anything else. */
function cellBytes(value: DuckDBValue): number {
  if (typeof value === "string") return value.length;
  if (value instanceof DuckDBBlobValue) return value.bytes.length;
  return 8;
}

/**
 * Rows of the next read: scaled so that it holds about `budget` bytes if its rows are like the last read's,
 * at most doubled (rows may grow along the table) and at most one chunk.
 */
export function nextReadRows(rows: number, bytes: number, budget: number): number {
  const scaled = Math.floor((rows * budget) / Math.max(bytes, 1));
  return Math.max(1, Math.min(scaled, rows * 2, CHUNK_ROWS));
}

export class DuckdbWidener {
  constructor(
    private readonly db: DuckDBConnection,
    /** Sends a statement (reporting it first, as duckdb.ts's onStatement does). */
    private readonly run: (sql: string, params?: DuckDBValue[]) => Promise<number>,
    private readonly onStatement: (sql: string) => void,
    readonly sliceBytes: number,
  ) {}

  /**
   * Rebuilds `schema.table` with the columns named in `widened` (SQL names) as JSON; every other column keeps its
   * name, position, type, nullability and default. `empty`: the table is truncated by the batch anyway, so no
   * row is copied.
   */
  async rebuild(schema: string, table: string, widened: readonly string[], empty: boolean): Promise<void> {
    const columns = await this.columns(schema, table);
    const isWidened = new Set(widened.map((n) => n.toLowerCase()));
    const old = WIDENING_PREFIX + table;
    const target = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    const source = `${quoteIdent(schema)}.${quoteIdent(old)}`;
    await this.run(`ALTER TABLE ${target} RENAME TO ${quoteIdent(old)}`);
    const definitions = columns.map((c) => {
      const type = isWidened.has(c.name.toLowerCase()) ? "JSON" : c.type;
      const rest = `${c.default !== null ? ` DEFAULT ${c.default}` : ""}${c.nullable ? "" : " NOT NULL"}`;
      return `${quoteIdent(c.name)} ${type}${rest}`;
    });
    await this.run(`CREATE TABLE ${target} (${definitions.join(", ")})`);
    if (!empty) await this.copy(source, schema, table, columns, isWidened);
    await this.run(`DROP TABLE ${source}`);
  }

  private async columns(schema: string, table: string): Promise<ExistingColumn[]> {
    const sql =
      `SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS "default" ` +
      `FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ${quoteLiteral(schema)} ` +
      `AND table_name = ${quoteLiteral(table)} ORDER BY column_index`;
    this.onStatement(sql);
    return (await this.db.runAndReadAll(sql)).getRowObjectsJS() as unknown as ExistingColumn[];
  }

  private async copy(
    source: string,
    schema: string,
    table: string,
    columns: readonly ExistingColumn[],
    isWidened: ReadonlySet<string>,
  ): Promise<void> {
    const names = columns.map((c) => quoteIdent(c.name));
    // No scan of the values to plan the reads: one over a column of large strings needs a whole vector of them
    // at once (a sum of 48 MiB of 16 KiB strings failed at 64MB); a read bounded by rowid does not.
    const last = `SELECT max(rowid) AS last FROM ${source}`;
    this.onStatement(last);
    const [{ last: lastRowid }] = (await this.db.runAndReadAll(last)).getRowObjectsJS() as [
      { last: bigint | null },
    ];
    if (lastRowid === null) return;
    const widenedAt = columns.map((c) => isWidened.has(c.name.toLowerCase()));
    this.onStatement(`APPEND ${table}`);
    const appender = await this.db.createAppender(table, schema);
    try {
      const types: DuckDBType[] = columns.map((_, i) => appender.columnType(i));
      let rows = FIRST_READ_ROWS;
      let from = 0;
      while (from <= Number(lastRowid)) {
        const sql = `SELECT ${names.join(", ")} FROM ${source} WHERE rowid >= ${from} AND rowid < ${from + rows}`;
        this.onStatement(sql);
        const read = await this.db.runAndReadAll(sql);
        from += rows;
        const values = read.getColumns();
        const js = read.getColumnsJS();
        const cells = values.map((column, i) =>
          widenedAt[i]
            ? js[i]!.map((v) => (v === null || v === undefined ? null : toExportJson(convexValueOf(v))))
            : column,
        );
        for (let r = 0; r < read.currentRowCount; r += CHUNK_ROWS) {
          const n = Math.min(CHUNK_ROWS, read.currentRowCount - r);
          const chunk = DuckDBDataChunk.create(types, n);
          cells.forEach((column, i) => chunk.setColumnValues(i, column.slice(r, r + n)));
          appender.appendDataChunk(chunk);
        }
        this.onStatement(`APPEND ${table}`);
        appender.flushSync(); // before the next read; the rows spill as the transaction grows
        const bytes = cells.reduce<number>(
          (n, column) => column.reduce<number>((m, v) => m + cellBytes(v), n),
          0,
        );
        rows = nextReadRows(rows, bytes, this.sliceBytes);
      }
    } finally {
      appender.closeSync(); // on failure the transaction's rollback discards the rows
    }
  }
}
