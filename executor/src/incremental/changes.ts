/**
 * Folds consecutive feed pages into what a target must do per table: whether to truncate first, and the newest
 * version of each document (an upsert, or a delete for a tombstone). A truncate drops everything before it in
 * the same table, including earlier pages of the batch (lib.rs: truncates apply before the page's values).
 */
import { qualify } from "../import/reader/layout.js";
import type { ConvexObject } from "../import/values.js";
import type { FeedPage } from "./feedClient.js";

export interface TableChanges {
  /** `table` or `component/table`. */
  qualified: string;
  component: string;
  table: string;
  truncated: boolean;
  /** id → newest version and its commit timestamp. */
  upserts: Map<string, { ts: bigint; doc: ConvexObject }>;
  /** id → commit timestamp of the deletion. */
  deletes: Map<string, bigint>;
}

export function collectChanges(
  pages: readonly Pick<FeedPage, "truncates" | "values">[],
): Map<string, TableChanges> {
  const tables = new Map<string, TableChanges>();
  const tableOf = (component: string, table: string) => {
    const qualified = qualify(component, table);
    let t = tables.get(qualified);
    if (!t) {
      t = { qualified, component, table, truncated: false, upserts: new Map(), deletes: new Map() };
      tables.set(qualified, t);
    }
    return t;
  };
  for (const page of pages) {
    for (const { component, table } of page.truncates) {
      const t = tableOf(component, table);
      t.truncated = true;
      t.upserts.clear();
      t.deletes.clear();
    }
    for (const v of page.values) {
      const t = tableOf(v.component, v.table);
      const id = v.value._id as string;
      const seen = t.upserts.get(id)?.ts ?? t.deletes.get(id);
      // Each document's revisions come in increasing ts order (data_sync.rs guarantees); an older one is stale.
      if (seen !== undefined && seen > v.ts) continue;
      if (v.deleted) {
        t.upserts.delete(id);
        if (!t.truncated) t.deletes.set(id, v.ts);
      } else {
        t.deletes.delete(id);
        t.upserts.set(id, { ts: v.ts, doc: v.value });
      }
    }
  }
  return tables;
}
