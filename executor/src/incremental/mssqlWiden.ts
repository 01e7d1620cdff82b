/**
 * Widening on SQL Server (./mssql.ts): columns whose values change type become the import's JSON column
 * (NVARCHAR(MAX), BIN2) holding exactly the text the import writes for their values (encode.ts: toExportJson).
 * T-SQL cannot print a FLOAT as JavaScript does (shortest round-trip digits, `.0`, exponent forms) nor an int64
 * as JSON text without a detour, so, as on DuckDB, the values are read back, encoded here, and written through a
 * temp table. Inside the batch's transaction. Reads the widened columns' non-null values into memory: widening
 * is rare. UNVERIFIED against a live SQL Server (how tedious returns each type is from its value-parser.js:
 * BIGINT as a decimal string, FLOAT as a double, VARBINARY as a Buffer, BIT as a boolean).
 */
import type { ColumnType, PlannedColumn } from "../import/mapping/types.js";
import { alterColumnSql, clearColumnsSql, mssqlType } from "../import/load/mssql/sql.js";
import type { MssqlWire } from "../import/load/mssql/wire.js";
import { encodeRow } from "../import/load/mssql/encode.js";
import { toExportJson, type ConvexObject, type ConvexValue } from "../import/values.js";
import type { TableApplyPlan } from "./apply.js";
import { createTempSql, dropTempSql, readWidenedSql, WIDENED_TABLE, writeWidenedSql } from "./mssqlSql.js";

const LONG = { noTimeout: true };

/** A cell as tedious returned it, as the Convex value the import had written. */
export function convexValueOf(from: ColumnType, value: unknown): ConvexValue {
  switch (from) {
    case "int64":
      return BigInt(value as string | number | bigint);
    case "bytes":
      return Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
    default:
      return value as ConvexValue;
  }
}

/** The JSON text the import writes for a value read back from a column of type `from`. */
export function widenedText(from: ColumnType, to: ColumnType, value: unknown): string {
  if (to !== "json") throw new Error(`a ${from} column cannot change to ${to} (internal planning error)`);
  return toExportJson(convexValueOf(from, value));
}

export async function widenColumns(wire: MssqlWire, schema: string, t: TableApplyPlan): Promise<void> {
  if (t.widenedColumns.length === 0) return;
  const names = t.widenedColumns.map((w) => w.column.sqlName);
  const rows = await wire.query<Record<string, unknown>>(readWidenedSql(schema, t.sqlTable, names), {}, LONG);
  // A string column is NVARCHAR(MAX) in the same collation already: only its values change.
  const retyped = t.widenedColumns
    .filter((w) => mssqlType(w.from) !== mssqlType(w.column.type))
    .map((w) => w.column);
  // Emptied first, so that ALTER COLUMN converts nothing (VARBINARY → NVARCHAR would reinterpret the bytes).
  if (rows.length > 0 && retyped.length > 0)
    await wire.query(clearColumnsSql(schema, t.sqlTable, retyped), {}, LONG);
  for (const col of retyped) await wire.query(alterColumnSql(schema, t.sqlTable, col), {}, LONG);
  if (rows.length === 0) return;

  const columns: PlannedColumn[] = [
    { field: "_id", sqlName: "_id", type: "id", required: true },
    ...names.map((_, i) => ({ field: `v${i}`, sqlName: `v${i}`, type: "string" as const, required: false })),
  ];
  const docs: ConvexObject[] = rows.map((r) => {
    const doc: ConvexObject = { _id: r.id as string };
    t.widenedColumns.forEach(({ column, from }, i) => {
      const v = r[`v${i}`];
      if (v !== null && v !== undefined) doc[`v${i}`] = widenedText(from, column.type, v);
    });
    return doc;
  });
  await wire.batch(createTempSql(WIDENED_TABLE, columns));
  await wire.bulkLoad(WIDENED_TABLE, columns, rowsOf(columns, docs));
  await wire.query(writeWidenedSql(schema, t.sqlTable, names), {}, LONG);
  await wire.batch(dropTempSql(WIDENED_TABLE));
}

async function* rowsOf(columns: readonly PlannedColumn[], docs: readonly ConvexObject[]) {
  for (let i = 0; i < docs.length; i++) yield encodeRow(columns, docs[i]!, i);
}
