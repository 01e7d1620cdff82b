/**
 * Puts one loaded staging table in place of its target, inside the caller's swap transaction.
 *
 * Fast path: DROP the old table and move the staging table into the schema (metadata only).
 * When views (or other rules) depend on the old table, PostgreSQL would refuse the DROP: the old table is then
 * kept and refilled instead (TRUNCATE, ALTER for new or widened columns, INSERT … SELECT from staging), so the
 * views, grants and indexes analysts added stay. A view on a column whose type widened still blocks the load,
 * with PostgreSQL's message naming the view. Columns the plan lacks (an analyst's; ones kept after the mapping
 * tables were dropped) stay, NULL and unrecorded: the change target (incremental/postgres.ts) reuses one by name
 * when a field of that name arrives, as this refill does.
 */
import type { PlannedColumn } from "../../mapping/types.js";
import type { SwapTable } from "../connection.js";
import type { PgTransport } from "./transport.js";
import { columnDefinition, copiedColumns, pgType, qualifiedName, quoteIdent } from "./sql.js";

/** format_type() spelling of our column types, for comparing with an existing table. */
const FORMAT_TYPE: Record<string, string> = { timestamptz: "timestamp with time zone" };

/** The columns a table has now, by name, with their format_type() spelling. */
export async function existingColumnTypes(db: PgTransport, table: string): Promise<Map<string, string>> {
  const rows = await db.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  return new Map(rows.map((c) => [c.name, c.type]));
}

/** Whether an existing column (format_type() spelling) already has the type planned for `col`. */
export function hasPlannedType(have: string, col: PlannedColumn): boolean {
  const want = pgType(col.type);
  return have === (FORMAT_TYPE[want] ?? want);
}

async function hasDependents(db: PgTransport, table: string): Promise<boolean> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
      WHERE d.refobjid = to_regclass($1) AND r.ev_class <> d.refobjid`,
    [table],
  );
  return (row?.n ?? 0) > 0;
}

export async function replaceTable(
  db: PgTransport,
  schema: string,
  staging: string,
  t: SwapTable,
): Promise<"moved" | "refilled"> {
  const target = qualifiedName(schema, t.sqlTable);
  const source = qualifiedName(staging, t.sqlTable);
  if (!(await hasDependents(db, target))) {
    await db.query(`DROP TABLE IF EXISTS ${target}`);
    await db.query(`ALTER TABLE ${source} SET SCHEMA ${quoteIdent(schema)}`);
    return "moved";
  }
  const existing = await existingColumnTypes(db, target);
  await db.query(`TRUNCATE ${target}`);
  for (const col of t.columns) {
    const have = existing.get(col.sqlName);
    if (have === undefined) {
      await db.query(`ALTER TABLE ${target} ADD COLUMN ${columnDefinition(col)}`);
    } else if (col.type !== "id" && col.type !== "timestamp" && !hasPlannedType(have, col)) {
      // The table is empty now: no value needs converting.
      await db.query(
        `ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(col.sqlName)} TYPE ${pgType(col.type)} USING NULL`,
      );
    }
  }
  const names = copiedColumns(t.columns)
    .map((c) => quoteIdent(c.sqlName))
    .join(", ");
  await db.query(`INSERT INTO ${target} (${names}) SELECT ${names} FROM ${source}`);
  await db.query(`DROP TABLE ${source}`);
  return "refilled";
}
