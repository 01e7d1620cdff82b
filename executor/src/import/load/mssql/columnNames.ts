/**
 * The check both SQL Server writers (the import's session.ts, the incremental mssqlTable.ts) run before they
 * create a table or add columns: no more columns than a table holds, and no two names equal under the
 * database's collation. The engine renames names equal ignoring case; a collation can equate more (accents under
 * _AI, ß and ss), which CREATE/ALTER TABLE would refuse with Msg 2705: this names the two columns instead.
 */
import type { PlannedColumn } from "../../mapping/types.js";
import { equalNamesSql } from "./sql.js";
import type { MssqlWire, Params } from "./wire.js";

/** Columns per table (non-wide tables; Microsoft's "Maximum capacity specifications for SQL Server"). */
export const MAX_COLUMNS = 1024;

export async function checkColumnNames(
  wire: Pick<MssqlWire, "query">,
  sqlTable: string,
  columns: readonly PlannedColumn[],
): Promise<void> {
  if (columns.length > MAX_COLUMNS) {
    throw new Error(
      `table ${sqlTable} needs ${columns.length} columns; a SQL Server table holds at most ${MAX_COLUMNS}`,
    );
  }
  const params: Params = {};
  columns.forEach((c, i) => (params[`n${i}`] = c.sqlName));
  const rows = await wire.query<{ i: number; first_i: number }>(equalNamesSql(columns.length), params);
  const clash = rows.find((r) => r.first_i !== r.i);
  if (clash) {
    const a = columns[clash.first_i]!;
    const b = columns[clash.i]!;
    throw new Error(
      `table ${sqlTable}: columns "${a.sqlName}" (field ${JSON.stringify(a.field)}) and "${b.sqlName}" ` +
        `(field ${JSON.stringify(b.field)}) are the same name under this database's collation`,
    );
  }
}
