/** What the warehouse holds: the tables earlier imports loaded, with live row counts. */
import type { LoadedTable } from "./load/connection.js";
import { openTarget } from "./load/open.js";

export type { LoadedTable };

export async function listLoadedTables(target: string, schema = "convex"): Promise<LoadedTable[]> {
  const conn = await openTarget(target, { readOnly: true });
  try {
    return await conn.loadedTables(schema);
  } finally {
    await conn.close();
  }
}
