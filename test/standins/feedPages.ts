/**
 * The change feed's pages (get-convex/convex-backend at 94a42c3d):
 * - crates/table_iteration/src/data_sync.rs `DataSyncIterator` — a cursor of (synced_ts, synced tables,
 *   in-progress table and last id); each page either walks the in-progress table's ids at synced_ts (`by_id_page`,
 *   chosen while synced_ts is within `by_id_freshness` of the latest timestamp) or walks the document log forward
 *   from synced_ts (`ts_page`), emitting only captured documents and never splitting a transaction;
 *   `reconcile_target_tables` on every call (drops gone tablets, starts added ones).
 * - crates/streaming_export/src/lib.rs `data_sync` — a truncate for every tablet that entered the tracked set
 *   (synced + in progress) on this page: a table whose traversal starts, a table added, the new tablet of a table
 *   replaced by `npx convex import`. A dropped tablet just leaves the set: nothing is emitted.
 * - Limits: crates/common/src/knobs.rs DATA_SYNC_PAGE_SIZE_LIMIT 16384, DATA_SYNC_PAGE_BYTES_LIMIT 64 MiB,
 *   DATA_SYNC_MAX_ROWS_READ 32768, DATA_SYNC_BY_ID_FRESHNESS 30 s, DOCUMENT_RETENTION_DELAY 14 days
 *   (all adjustable here, so tests can page small).
 */
import { randomUUID } from "node:crypto";
import { toExportJson } from "../../executor/src/import/values.js";
import type { CursorCipher, CursorState } from "./feedCursor.js";
import type { FeedStore, LogEntry } from "./feedStore.js";
import { HttpError } from "./httpError.js";

const SECOND_NS = 1_000_000_000n;

export interface FeedLimits {
  pageSizeLimit: number;
  pageBytesLimit: number;
  maxRowsRead: number;
  byIdFreshnessNs: bigint;
  retentionNs: bigint;
}

export const BACKEND_LIMITS: FeedLimits = {
  pageSizeLimit: 16_384,
  pageBytesLimit: 1 << 26,
  maxRowsRead: 32_768,
  byIdFreshnessNs: 30n * SECOND_NS,
  retentionNs: 14n * 24n * 3600n * SECOND_NS,
};

export interface Selection {
  includes(component: string, table: string): boolean;
}

/** selection.rs `Selection::is_table_included` (columns are not filtered here). */
export function parseSelection(raw: unknown): Selection {
  if (raw === undefined || raw === null) return { includes: () => true };
  if (typeof raw !== "object" || typeof (raw as Record<string, unknown>)._other !== "string")
    throw new HttpError(400, "BadJsonBody", "selection: missing field `_other`");
  const s = raw as Record<string, unknown>;
  const included = (v: unknown) => v === "included" || v === "incl";
  return {
    includes(component, table) {
      const c = s[component] ?? s._other;
      if (typeof c === "string") return included(c);
      const tables = c as Record<string, unknown>;
      const t = tables[table] ?? tables._other;
      return typeof t === "string" ? included(t) : t !== undefined;
    },
  };
}

/** `reconcile_target_tables`. */
function reconcile(cursor: CursorState, targets: number[]): CursorState {
  const next = { ...cursor, syncedTables: cursor.syncedTables.filter((t) => targets.includes(t)) };
  if (!next.inProgress || !targets.includes(next.inProgress.tablet))
    next.inProgress = nextTable(next.syncedTables, targets);
  return next;
}

/** `advance_to_next_table`. */
function nextTable(synced: number[], targets: number[]): CursorState["inProgress"] {
  const tablet = targets.find((t) => !synced.includes(t));
  return tablet === undefined ? null : { tablet, currentId: null };
}

export class DataSyncPages {
  constructor(
    private readonly store: FeedStore,
    private readonly cipher: CursorCipher,
    readonly limits: FeedLimits,
  ) {}

  /** `ResolvedStreamingExportFilter`: live tablets in the selection, in tablet-id order (a BTreeMap). */
  private targetTables(selection: Selection): number[] {
    return this.store
      .tabletsNow()
      .filter((t) => selection.includes(t.component, t.table))
      .map((t) => t.id)
      .sort((a, b) => a - b);
  }

  private checkRetention(syncedTs: bigint, latest: bigint): void {
    if (syncedTs < latest - this.limits.retentionNs) {
      throw new HttpError(
        400,
        "DataSyncCursorExpired",
        "The cursor is outside the deployment's data retention window and can no longer be resumed. Restart the sync from scratch by calling /data/sync without a cursor.",
      );
    }
  }

  /** One page: streaming_export `data_sync` around `DataSyncIterator::next_page`. Returns the JSON text. */
  syncPage(cursorToken: string | undefined, selection: Selection): string {
    const latest = this.store.latestTs;
    const targets = this.targetTables(selection);
    const before = cursorToken === undefined ? undefined : this.cipher.decrypt(cursorToken);
    const trackedBefore = new Set<number>(
      before ? [...before.syncedTables, ...(before.inProgress ? [before.inProgress.tablet] : [])] : [],
    );
    const cursor: CursorState = before
      ? reconcile(before, targets)
      : {
          syncedTs: latest.toString(),
          syncedTables: [],
          inProgress: nextTable([], targets),
          syncId: randomUUID(),
        };
    const syncedTs = BigInt(cursor.syncedTs);
    if (syncedTs > latest)
      throw new HttpError(
        400,
        "InvalidDataSyncCursor",
        "data sync cursor is ahead of the deployment's latest timestamp",
      );
    this.checkRetention(syncedTs, latest);

    const useById = cursor.inProgress !== null && latest - syncedTs < this.limits.byIdFreshnessNs;
    const entries = useById ? this.byIdPage(cursor, targets) : this.tsPage(cursor, latest);

    const trackedAfter = [...cursor.syncedTables, ...(cursor.inProgress ? [cursor.inProgress.tablet] : [])];
    const truncates = [
      ...new Set(
        trackedAfter
          .filter((id) => !trackedBefore.has(id))
          .map((id) => {
            const t = this.store.tablet(id);
            return JSON.stringify({ component: t.component, table: t.table });
          }),
      ),
    ].sort();

    let status: string;
    if (cursor.inProgress) status = `{"type":"snapshotting"}`;
    else if (BigInt(cursor.syncedTs) < latest) status = `{"type":"stale","snapshotTs":${cursor.syncedTs}}`;
    else status = `{"type":"upToDate","snapshotTs":${cursor.syncedTs}}`;

    const values = entries.map((e) => {
      const t = this.store.tablet(e.tablet);
      const value = e.value ? toExportJson(e.value) : JSON.stringify({ _id: e.id });
      return `{"component":${JSON.stringify(t.component)},"table":${JSON.stringify(t.table)},"ts":${e.ts},"deleted":${e.value === null},"value":${value}}`;
    });
    return (
      `{"status":${status},"truncates":[${truncates.join(",")}],"values":[${values.join(",")}],` +
      `"syncId":${JSON.stringify(cursor.syncId)},"pagination":{"hasMore":true,"nextCursor":"${this.cipher.encrypt(cursor)}"}}`
    );
  }

  /** `by_id_page`: the in-progress table's next ids at synced_ts; synced_ts does not move. */
  private byIdPage(cursor: CursorState, targets: number[]): LogEntry[] {
    const { tablet, currentId } = cursor.inProgress!;
    const docs = this.store
      .documentsAt(tablet, BigInt(cursor.syncedTs))
      .filter((d) => currentId === null || d.id > currentId);
    const entries: LogEntry[] = [];
    let bytes = 0;
    let limited = false;
    for (const d of docs) {
      entries.push({ ts: d.ts, tablet, id: d.id, value: d.value });
      bytes += toExportJson(d.value).length;
      if (bytes >= this.limits.pageBytesLimit || entries.length >= this.limits.pageSizeLimit) {
        limited = true;
        break;
      }
    }
    if (limited) {
      cursor.inProgress = { tablet, currentId: entries.at(-1)!.id };
    } else {
      cursor.syncedTables = [...cursor.syncedTables, tablet];
      cursor.inProgress = nextTable(cursor.syncedTables, targets);
    }
    return entries;
  }

  /** `is_captured`: the cursor has emitted this document's id already. */
  private captured(e: LogEntry, cursor: CursorState): boolean {
    if (cursor.syncedTables.includes(e.tablet)) return true;
    const p = cursor.inProgress;
    return p !== null && p.tablet === e.tablet && p.currentId !== null && e.id <= p.currentId;
  }

  /** `ts_page`: the log after synced_ts, whole commits only, captured documents only. */
  private tsPage(cursor: CursorState, latest: bigint): LogEntry[] {
    const start = BigInt(cursor.syncedTs);
    const entries: LogEntry[] = [];
    let newSyncedTs = latest;
    let curTs: bigint | null = null;
    let batch: LogEntry[] = [];
    let batchBytes = 0;
    let pageBytes = 0;
    let rowsRead = 0;
    let committedAny = false;
    let hitLimit = false;
    for (const e of this.store.logEntries()) {
      if (e.ts <= start || e.ts > latest) continue;
      if (e.ts !== curTs) {
        if (curTs !== null) {
          entries.push(...batch);
          pageBytes += batchBytes;
          batch = [];
          batchBytes = 0;
          newSyncedTs = curTs;
          committedAny = true;
          if (
            rowsRead >= this.limits.maxRowsRead ||
            entries.length >= this.limits.pageSizeLimit ||
            pageBytes >= this.limits.pageBytesLimit
          ) {
            hitLimit = true;
            break;
          }
        }
        curTs = e.ts;
      }
      rowsRead++;
      if (this.captured(e, cursor)) {
        batch.push(e);
        batchBytes += e.value ? toExportJson(e.value).length : 0;
      }
      if (rowsRead >= this.limits.maxRowsRead && committedAny) {
        hitLimit = true;
        break;
      }
    }
    if (!hitLimit) {
      entries.push(...batch);
      newSyncedTs = latest;
    }
    cursor.syncedTs = newSyncedTs.toString();
    return entries;
  }

  /** `data_sync_cursor_from_deltas`: everything selected counts as synced up to `ts`. */
  cursorFromDeltas(ts: bigint, selection: Selection): string {
    const latest = this.store.latestTs;
    if (ts > latest)
      throw new HttpError(
        400,
        "InvalidDataSyncCursor",
        "document_deltas cursor is ahead of the deployment's latest timestamp",
      );
    this.checkRetention(ts, latest);
    return this.cipher.encrypt({
      syncedTs: ts.toString(),
      syncedTables: this.targetTables(selection),
      inProgress: null,
      syncId: randomUUID(),
    });
  }
}
