/**
 * One incremental run: fetch pages from the stored cursor until the feed is up to date, applying each in one
 * target transaction, and report what changed.
 *
 *   const result = await runIncremental({ target, feed });
 *   if (result.outcome === "needsSnapshot") …   // expired cursor, dropped tables, never initialized
 *
 * Not every page is a consistent state. `snapshotting` pages are an incomplete traversal; and a `stale` page that
 * truncates a table replaced by an import reads the new table at a timestamp before the import, so the table is
 * empty (or partial) until later pages bring the import's rows (data_sync.rs `by_id_page` reads at `synced_ts`;
 * found by the kill -9 test). Such pages are held back and applied together, in one transaction, with the next
 * `upToDate` page (or, without a truncate pending, the next `stale` one), so every commit leaves the warehouse
 * equal to the source at one timestamp. Past `maxHeldEntries` entries or `maxHeldBytes` of answers they are applied
 * anyway (bounded memory); the state table then says `snapshotting` until the feed is consistent again.
 */
import type { DataSyncSelection } from "../../../convex/contract/dataSync.js";
import { applyBatch, StepTooLargeError, type ChangeTarget, type TableApplyResult } from "./apply.js";
import { CursorExpiredError, InvalidCursorError, type FeedPage } from "./feedClient.js";

export const DEFAULT_MAX_HELD_ENTRIES = 100_000;
/** Held pages' answers past this many bytes are applied: 100,000 large documents would not fit in memory. */
export const DEFAULT_MAX_HELD_BYTES = 128 * 1024 * 1024;

export interface IncrementalRunOptions {
  target: ChangeTarget;
  feed: { page(cursor: string | undefined, selection?: DataSyncSelection): Promise<FeedPage> };
  selection?: DataSyncSelection;
  maxHeldEntries?: number;
  /** Applies held pages once their answers (FeedPage.bytes) add up to this. Default 128 MiB. */
  maxHeldBytes?: number;
  /** Stop after this many pages even if the feed has more (the next run continues). */
  maxPages?: number;
  /**
   * Qualified names of the source's tables now (the control plane's list: no system tables); with it, tables the
   * source dropped are reported.
   */
  sourceTables?: () => Promise<readonly string[]>;
  /** Aborts the run (an abort during a step leaves that step uncommitted): the signal's reason is thrown. */
  signal?: AbortSignal;
  /** Ends the run before the next page (outcome `stopped`, everything committed so far kept), e.g. at a deadline. */
  stop?: AbortSignal;
  now?: () => Date;
  /** After each committed step: its pages and changes, and the stored position (the last consistent snapshot, ns). */
  onBatch?: (batch: { pages: number; tables: TableApplyResult[]; snapshotTs: bigint | null }) => void;
}

export interface TableTotals {
  table: string;
  inserted: number;
  updated: number;
  deleted: number;
  truncated: boolean;
}

export interface IncrementalRunResult {
  outcome: "upToDate" | "stopped" | "needsSnapshot";
  /** Why a snapshot is needed, in words for the dashboard. */
  reason?: string;
  pages: number;
  transactions: number;
  tables: TableTotals[];
  /**
   * Tables the warehouse held at the start that the source no longer has (the feed says nothing about drops),
   * except those the stored state lists as detached (a snapshot left them as they were) and system tables.
   */
  droppedTables: string[];
  /** The snapshot the warehouse equals after the run (ns). */
  snapshotTs: bigint | null;
  /** How far the warehouse is behind the source's clock at the end of the run. */
  lagMs: number | null;
  /** Age of the stored position when the run started. */
  cursorAgeMs: number | null;
}

/** Adds a step's changes to running totals: a new array sorted by table, `totals` left as it was. */
export function addTableTotals(
  totals: readonly TableTotals[],
  step: readonly TableApplyResult[],
): TableTotals[] {
  const byTable = new Map(totals.map((t) => [t.table, { ...t }]));
  for (const t of step) {
    const sum = byTable.get(t.table) ?? {
      table: t.table,
      inserted: 0,
      updated: 0,
      deleted: 0,
      truncated: false,
    };
    sum.inserted += t.inserted;
    sum.updated += t.updated;
    sum.deleted += t.deleted;
    sum.truncated ||= t.truncated;
    byTable.set(t.table, sum);
  }
  return [...byTable.values()].sort((a, b) => (a.table < b.table ? -1 : 1));
}

function msBehind(now: Date, ts: bigint | null): number | null {
  return ts === null ? null : Math.max(0, now.getTime() - Number(ts / 1_000_000n));
}

/**
 * A page whose position is still before the snapshot the warehouse holds. The cursor a feed starts from is minted
 * at the export's in-progress `start_ts`, and the export reads its snapshot at or after it
 * (crates/application/src/exports/worker.rs, crates/model/src/exports/types.rs `Export::completed`): the first run
 * replays changes the snapshot already has. Committing there would show an older state than the snapshot, so such
 * pages are held like inconsistent ones until the feed passes the snapshot.
 */
function behind(status: FeedPage["status"], warehouseTs: bigint | null): boolean {
  return status.type !== "snapshotting" && warehouseTs !== null && status.snapshotTs < warehouseTs;
}

export async function runIncremental(options: IncrementalRunOptions): Promise<IncrementalRunResult> {
  const now = options.now ?? (() => new Date());
  const maxHeld = options.maxHeldEntries ?? DEFAULT_MAX_HELD_ENTRIES;
  const maxHeldBytes = options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES;
  let totals: TableTotals[] = [];
  const result: IncrementalRunResult = {
    outcome: "stopped",
    pages: 0,
    transactions: 0,
    tables: [],
    droppedTables: [],
    snapshotTs: null,
    lagMs: null,
    cursorAgeMs: null,
  };
  const finish = (r: IncrementalRunResult) => ({ ...r, tables: totals });

  const start = await options.target.readState();
  if (!start) {
    return finish({
      ...result,
      outcome: "needsSnapshot",
      reason: "no feed position stored yet: load a snapshot first",
    });
  }
  const reloaded = await options.target.tablesLoadedAfter(start.appliedAt);
  if (reloaded.length > 0) {
    // Applying from the old position would move reloaded tables back in time until it caught up.
    return finish({
      ...result,
      outcome: "needsSnapshot",
      reason: `a snapshot sync loaded ${reloaded.join(", ")} after the stored feed position: start the feed again from that snapshot`,
    });
  }
  // Before the first page: a table the feed creates during the run is not one the source dropped.
  const tablesAtStart = options.sourceTables ? [...(await options.target.readPrior()).keys()] : [];
  result.cursorAgeMs = msBehind(now(), start.snapshotTs);
  result.snapshotTs = start.snapshotTs;

  let cursor = start.cursor;
  let heldFrom = cursor;
  let held: FeedPage[] = [];
  let heldEntries = 0;
  let heldBytes = 0;
  /** A truncate was applied or is held whose table may still lack rows: consistent again at `upToDate`. */
  let truncatePending = start.status === "snapshotting";
  const flush = async (consistent: boolean) => {
    const tables = await applyBatch(options.target, { fromCursor: heldFrom, pages: held, consistent });
    result.transactions++;
    totals = addTableTotals(totals, tables);
    options.onBatch?.({ pages: held.length, tables, snapshotTs: result.snapshotTs });
    held = [];
    heldEntries = 0;
    heldBytes = 0;
    heldFrom = cursor;
  };

  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    // Held pages are not consistent yet: dropped, the next run fetches them again from the stored cursor.
    if (options.stop?.aborted) break;
    let page: FeedPage;
    try {
      page = await options.feed.page(cursor, options.selection);
    } catch (err) {
      // Held pages are dropped: a snapshot replaces everything anyway.
      if (err instanceof CursorExpiredError)
        return finish({
          ...result,
          outcome: "needsSnapshot",
          reason: "the feed position is older than the source keeps its change log",
        });
      if (err instanceof InvalidCursorError)
        return finish({
          ...result,
          outcome: "needsSnapshot",
          reason:
            "the source cannot continue from the stored feed position (it cannot decrypt it, or it is ahead of the deployment, e.g. after a restore from a backup)",
        });
      throw err;
    }
    result.pages++;
    held.push(page);
    heldEntries += page.values.length;
    heldBytes += page.bytes ?? 0;
    cursor = page.pagination.nextCursor;
    if (page.truncates.length > 0) truncatePending = true;
    if (page.status.type === "upToDate") truncatePending = false;
    const consistent =
      page.status.type !== "snapshotting" && !truncatePending && !behind(page.status, start.snapshotTs);
    const committedTs = result.snapshotTs;
    if (consistent && page.status.type !== "snapshotting") result.snapshotTs = page.status.snapshotTs;
    const lastPage = page.status.type === "upToDate" || result.pages === options.maxPages;
    const overBudget = heldEntries >= maxHeld || heldBytes >= maxHeldBytes;
    try {
      if (consistent || overBudget || lastPage) await flush(consistent);
    } catch (err) {
      if (!(err instanceof StepTooLargeError)) throw err;
      result.snapshotTs = committedTs;
      result.lagMs = msBehind(now(), committedTs);
      return finish({ ...result, outcome: "needsSnapshot", reason: err.message });
    }
    if (page.status.type === "upToDate") {
      result.outcome = "upToDate";
      break;
    }
    if (lastPage) break;
  }
  result.lagMs = msBehind(now(), result.snapshotTs);

  if (options.sourceTables) {
    result.droppedTables = droppedTables(tablesAtStart, await options.sourceTables(), start.detachedTables);
    if (result.droppedTables.length > 0) {
      result.outcome = "needsSnapshot";
      result.reason = `tables dropped in the source: ${result.droppedTables.join(", ")}`;
    }
  }
  return finish(result);
}

/** The control plane lists no system table (convex/lib/sourceDeployment.ts `tablesOf`), nor does the feed. */
function isSystemTable(qualified: string): boolean {
  return (qualified.split("/").at(-1) ?? "").startsWith("_");
}

/**
 * Warehouse tables the source no longer lists, leaving out system tables (`_storage`, `<component>/_storage`,
 * loaded by includeStorage) and tables a snapshot detached (dropped before it, kept as they were).
 */
export function droppedTables(
  warehouse: readonly string[],
  source: readonly string[],
  detached: readonly string[],
): string[] {
  const kept = new Set([...source, ...detached]);
  return warehouse.filter((t) => !kept.has(t) && !isSystemTable(t)).sort();
}

/**
 * Stores the feed position right after a snapshot import: a cursor minted by cursor_from_deltas at the snapshot's
 * timestamp (everything up to it counts as synced). Mint it as soon as the snapshot export completes: a table
 * replaced between the snapshot and the conversion would never get its truncate.
 */
export async function startAfterSnapshot(
  target: ChangeTarget,
  feed: { cursorFromSnapshot(snapshotTs: bigint, selection?: DataSyncSelection): Promise<string> },
  snapshotTs: bigint,
  options: {
    selection?: DataSyncSelection;
    now?: () => Date;
    /** Warehouse tables the snapshot did not load (dropped in the source): the feed does not maintain them. */
    detachedTables?: readonly string[];
  } = {},
): Promise<void> {
  const cursor = await feed.cursorFromSnapshot(snapshotTs, options.selection);
  await target.initialize({
    cursor,
    syncId: "",
    status: "stale",
    snapshotTs,
    appliedAt: (options.now ?? (() => new Date()))(),
    detachedTables: [...(options.detachedTables ?? [])].sort(),
  });
}
