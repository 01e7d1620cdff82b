/**
 * Documents → DuckDB appender rows (node_modules/@duckdb/node-api/lib/DuckDBAppender.d.ts). Every value goes
 * through a typed append call; nothing is formatted as SQL or CSV text except JSON columns, which hold Convex's
 * export JSON as text (DuckDB's JSON type is VARCHAR underneath, so -0.0 and the exact int64 digits are kept).
 */
import { DuckDBTimestampValue, type DuckDBAppender } from "@duckdb/node-api";
import type { PlannedColumn } from "../../mapping/types.js";
import { toExportJson, type ConvexObject, type ConvexValue } from "../../values.js";
import { CellError, cellValue } from "../connection.js";

function mismatch(col: PlannedColumn, value: ConvexValue): never {
  throw new CellError(
    `value of type ${typeof value} does not fit column type ${col.type} (internal planning error)`,
  );
}

/** `_creationTime` (float ms) as microseconds since the epoch, the fraction below 1 µs rounded. */
export function creationTimeMicros(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1000n + BigInt(Math.min(999, Math.round((ms - whole) * 1000)));
}

export function appendCell(
  appender: DuckDBAppender,
  col: PlannedColumn,
  value: ConvexValue | undefined,
): void {
  if (value === undefined || value === null) return appender.appendNull();
  switch (col.type) {
    case "id":
    case "string":
    case "unset":
      return typeof value === "string" ? appender.appendVarchar(value) : mismatch(col, value);
    case "int64":
      return typeof value === "bigint" ? appender.appendBigInt(value) : mismatch(col, value);
    case "float64":
      return typeof value === "number" ? appender.appendDouble(value) : mismatch(col, value);
    case "boolean":
      return typeof value === "boolean" ? appender.appendBoolean(value) : mismatch(col, value);
    case "bytes":
      return Buffer.isBuffer(value) ? appender.appendBlob(value) : mismatch(col, value);
    case "timestamp":
      // A plain TIMESTAMP value into the TIMESTAMPTZ column: DuckDB's appender casts it (both are µs in UTC),
      // one native call instead of building a TIMESTAMPTZ value object per row.
      return typeof value === "number"
        ? appender.appendTimestamp(new DuckDBTimestampValue(creationTimeMicros(value)))
        : mismatch(col, value);
    case "json":
      return appender.appendVarchar(toExportJson(value));
  }
}

/** Appends documents as rows. On a bad cell, throws CellError with `field` and the doc index set. */
export function appendRows(
  appender: DuckDBAppender,
  columns: readonly PlannedColumn[],
  docs: readonly ConvexObject[],
): void {
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d]!;
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      try {
        appendCell(appender, col, cellValue(doc, col.field));
      } catch (err) {
        if (err instanceof CellError) Object.assign(err, { field: col.field, docIndex: d });
        throw err;
      }
    }
    appender.endRow();
  }
}
