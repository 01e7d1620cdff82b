/**
 * Row values for tedious' bulk load (the value conversions it expects; see mssql-loading.md §1.6):
 * BIGINT takes a bigint (exact), VARBINARY a Buffer, BIT a real boolean, DATETIME2 a Date, (MAX) columns need
 * `length: Infinity` in the column declaration. FLOAT goes through a copy of tedious' Float type whose
 * validation keeps -0 (tedious' own runs parseFloat, which turns -0 into 0). Whether SQL Server keeps the sign
 * of a -0 FLOAT it receives is UNVERIFIED (no server here); the bytes sent are -0's.
 */
import tedious from "tedious";
import type { ColumnType, PlannedColumn } from "../../mapping/types.js";
import type { ValueRules } from "../../mapping/plan.js";
import { toExportJson, type ConvexObject, type ConvexValue, type ValueKind } from "../../values.js";
import { CellError, cellValue } from "../connection.js";

const { TYPES } = tedious;

/** SQL Server's FLOAT has no NaN or ±Infinity: such a field is stored as JSON text, losslessly. */
export const mssqlValueRules: ValueRules = {
  typeForValue(kind: ValueKind, value: ConvexValue): ColumnType {
    switch (kind) {
      case "float64":
        return Number.isFinite(value as number) ? "float64" : "json";
      case "array":
      case "object":
        return "json";
      case "null":
        return "unset";
      default:
        return kind;
    }
  },
};

/**
 * tedious' Float (node_modules/tedious/lib/data-types/float.js) with a validation that keeps the sign of zero:
 * its `validate` is `parseFloat(value)`, and `parseFloat(-0)` is `0` (the number is turned into the string
 * "0" first). `writeValue` writes the double as is (writeDoubleLE), so -0 reaches the wire intact.
 */
export const signedZeroFloat: typeof TYPES.Float = {
  ...TYPES.Float,
  validate(value: unknown, collation: unknown, options?: unknown) {
    if (typeof value === "number" && Object.is(value, -0)) return -0;
    return (TYPES.Float.validate as (v: unknown, c: unknown, o?: unknown) => unknown)(
      value,
      collation,
      options,
    );
  },
} as typeof TYPES.Float;

export interface BulkColumn {
  name: string;
  type: (typeof TYPES)[keyof typeof TYPES];
  options: { nullable: boolean; length?: number; scale?: number };
}

export function bulkColumn(col: PlannedColumn): BulkColumn {
  const nullable = !col.required;
  switch (col.type) {
    case "id":
      return { name: col.sqlName, type: TYPES.NVarChar, options: { nullable, length: 128 } };
    case "string":
    case "unset":
    case "json":
      return { name: col.sqlName, type: TYPES.NVarChar, options: { nullable, length: Infinity } };
    case "int64":
      return { name: col.sqlName, type: TYPES.BigInt, options: { nullable } };
    case "float64":
      return { name: col.sqlName, type: signedZeroFloat, options: { nullable } };
    case "boolean":
      return { name: col.sqlName, type: TYPES.Bit, options: { nullable } };
    case "bytes":
      return { name: col.sqlName, type: TYPES.VarBinary, options: { nullable, length: Infinity } };
    case "timestamp":
      return { name: col.sqlName, type: TYPES.DateTime2, options: { nullable, scale: 3 } };
  }
}

export type Cell = string | bigint | number | boolean | Buffer | Date | null;

/**
 * The V8 heap (64-bit, no pointer compression, as Node ships) a row takes while it waits for the server,
 * object headers included: counting only the characters and buffer bytes missed about half of it (a row of
 * the benchmark's events table estimated 527 bytes and held 958). Layouts from V8's objects (src/objects/):
 * a JSArray (32) with its FixedArray (16 + 8 per element); a sequential string 16 + 1 byte per character,
 * 2 if any is beyond Latin-1; a boxed double (HeapNumber) 16; a one-word BigInt 24; a JSDate 104 (its cached
 * date fields); a Buffer 104 (a JSTypedArray with its JSArrayBuffer) plus its bytes; true/false/null 0.
 */
export function rowBytes(row: readonly Cell[]): number {
  let bytes = 48 + 8 * row.length;
  for (const cell of row) {
    if (typeof cell === "string") bytes += stringBytes(cell);
    else if (typeof cell === "number") bytes += 16;
    else if (typeof cell === "bigint") bytes += 24;
    else if (cell instanceof Date) bytes += 104;
    else if (Buffer.isBuffer(cell)) bytes += 104 + cell.length;
  }
  return bytes;
}

const BEYOND_LATIN1 = /[\u0100-\uffff]/;

function stringBytes(s: string): number {
  return Math.ceil((16 + (BEYOND_LATIN1.test(s) ? 2 : 1) * s.length) / 8) * 8;
}

function mismatch(col: PlannedColumn, value: ConvexValue): never {
  throw new CellError(
    `value of type ${typeof value} does not fit column type ${col.type} (internal planning error)`,
  );
}

export function encodeCell(col: PlannedColumn, value: ConvexValue | undefined): Cell {
  if (value === undefined || value === null) return null;
  switch (col.type) {
    case "id":
    case "string":
    case "unset":
      return typeof value === "string" ? value : mismatch(col, value);
    case "int64":
      return typeof value === "bigint" ? value : mismatch(col, value);
    case "float64":
      if (typeof value !== "number") return mismatch(col, value);
      if (!Number.isFinite(value))
        throw new CellError(`${value} cannot be stored in a SQL Server FLOAT column`);
      return value;
    case "boolean":
      return typeof value === "boolean" ? value : mismatch(col, value);
    case "bytes":
      return Buffer.isBuffer(value) ? value : mismatch(col, value);
    case "timestamp":
      return typeof value === "number" ? new Date(Math.floor(value)) : mismatch(col, value);
    case "json":
      return toExportJson(value);
  }
}

export function encodeRow(columns: readonly PlannedColumn[], doc: ConvexObject, docIndex: number): Cell[] {
  const row = new Array<Cell>(columns.length);
  for (let c = 0; c < columns.length; c++) {
    const col = columns[c]!;
    try {
      row[c] = encodeCell(col, cellValue(doc, col.field));
    } catch (err) {
      if (err instanceof CellError) Object.assign(err, { field: col.field, docIndex });
      throw err;
    }
  }
  return row;
}
