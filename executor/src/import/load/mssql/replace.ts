/**
 * Puts one loaded staging table in place of its target, inside the caller's swap transaction: the same
 * behaviour as PostgreSQL (../postgres/replace.ts).
 *
 * Fast path: the old table has nothing attached to it: DROP it and ALTER SCHEMA … TRANSFER the staging table in
 * (metadata only). When something is attached that a new table would lose or that blocks the drop (foreign keys,
 * schema-bound views, table-level grants, analysts' indexes, triggers, constraints, computed columns,
 * descriptions, masks, or replication, change data capture or system versioning), the old table is kept and
 * refilled: TRUNCATE (or, where TRUNCATE is not allowed — a foreign key or a schema-bound object refers to it, or
 * it is replicated, tracked or system-versioned — delete the rows whose _id left the snapshot and update the
 * others by _id), ALTER for new or widened columns, then INSERT … SELECT from staging. A change the server
 * refuses (e.g. widening a column a schema-bound view or an index uses) fails the swap with the server's
 * message; the transaction rolls back and nothing changes.
 * UNVERIFIED against a live server: the catalog views and TRUNCATE's restrictions are from Microsoft's docs.
 */
import type { SwapTable } from "../connection.js";
import {
  addColumnsSql,
  alterColumnSql,
  clearColumnsSql,
  deleteMissingSql,
  dependentsSql,
  dropTableSql,
  existingColumnsSql,
  hasSqlType,
  insertFromStagingSql,
  qualifiedName,
  transferSql,
  truncateSql,
  updateFromStagingSql,
  type ExistingColumn,
} from "./sql.js";
import type { WireQuery } from "./wire.js";

export interface Dependents {
  present: number;
  referencing_keys: number;
  own_keys: number;
  schema_bound: number;
  grants: number;
  indexes: number;
  triggers: number;
  constraints: number;
  properties: number;
  pinned: number;
}

export type ReplaceOutcome = "moved" | "refilled" | "refilled by key";

/**
 * The server refused to drop the old table for something the catalog queries did not show: metadata visibility
 * hides objects the loader has no permission on (a foreign key from, or a schema-bound view in, another
 * schema). 3726: referenced by a foreign key; 3729: referenced by a schema-bound object; 3724: used for
 * replication; 13552: system-versioned. The swap then runs again with this table refilled in place by key.
 */
export const DROP_REFUSED = new Set([3726, 3729, 3724, 13552]);

export class DropRefusedError extends Error {
  constructor(
    readonly sqlTable: string,
    cause: Error,
  ) {
    super(`the server refused to drop ${sqlTable}: ${cause.message}`, { cause });
  }
}

function serverErrorNumber(err: unknown): number | undefined {
  const n = (err as { number?: unknown })?.number;
  return typeof n === "number" ? n : undefined;
}

const LONG = { noTimeout: true };

export async function replaceTable(
  tx: WireQuery,
  schema: string,
  staging: string,
  t: SwapTable,
  /** Refill by key whatever the catalog says (the server refused to drop it: see DropRefusedError). */
  keepInPlace = false,
): Promise<ReplaceOutcome> {
  const target = qualifiedName(schema, t.sqlTable);
  const [deps] = await tx.query<Dependents>(dependentsSql, { target }, LONG);
  const attached = deps
    ? deps.own_keys +
      deps.referencing_keys +
      deps.schema_bound +
      deps.grants +
      deps.indexes +
      deps.triggers +
      deps.constraints +
      deps.properties +
      deps.pinned
    : 0;
  if (!deps?.present || (attached === 0 && !keepInPlace)) {
    try {
      await tx.query(transferSql(schema, staging, t.sqlTable), { target }, LONG);
    } catch (err) {
      const number = serverErrorNumber(err);
      if (deps?.present && number !== undefined && DROP_REFUSED.has(number))
        throw new DropRefusedError(t.sqlTable, err as Error);
      throw err;
    }
    return "moved";
  }

  const existing = new Map(
    (await tx.query<ExistingColumn>(existingColumnsSql, { target }, LONG)).map((c) => [c.name, c]),
  );
  // Added to a table that keeps its rows: nullable whatever the plan says (only system columns are NOT NULL).
  const added = t.columns.filter((c) => !existing.has(c.sqlName)).map((c) => ({ ...c, required: false }));
  const widened = t.columns.filter((c) => {
    const have = existing.get(c.sqlName);
    return have !== undefined && c.type !== "id" && c.type !== "timestamp" && !hasSqlType(have, c.type);
  });
  // TRUNCATE is refused on a table that a foreign key references, that an indexed (schema-bound) view uses, that
  // is published for replication or tracked by change data capture, or that is system-versioned.
  const byKey = keepInPlace || deps.referencing_keys > 0 || deps.schema_bound > 0 || deps.pinned > 0;
  if (byKey) {
    await tx.query(deleteMissingSql(schema, staging, t.sqlTable), {}, LONG);
    if (widened.length > 0) await tx.query(clearColumnsSql(schema, t.sqlTable, widened), {}, LONG);
  } else {
    await tx.query(truncateSql(schema, t.sqlTable), {}, LONG);
  }
  if (added.length > 0) await tx.query(addColumnsSql(schema, t.sqlTable, added), {}, LONG);
  for (const col of widened) await tx.query(alterColumnSql(schema, t.sqlTable, col), {}, LONG);
  if (byKey && t.columns.some((c) => c.sqlName !== "_id")) {
    await tx.query(updateFromStagingSql(schema, staging, t.sqlTable, t.columns), {}, LONG);
  }
  await tx.query(insertFromStagingSql(schema, staging, t.sqlTable, t.columns, byKey), {}, LONG);
  await tx.query(dropTableSql(staging, t.sqlTable), { table: qualifiedName(staging, t.sqlTable) }, LONG);
  return byKey ? "refilled by key" : "refilled";
}
