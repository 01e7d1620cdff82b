/**
 * A stand-in for Convex's change feed ("data sync"), built from the backend's source (get-convex/convex-backend
 * at 94a42c3d). A tiny in-memory deployment whose documents change through transactions, and the three routes
 * the executor calls. Kept apart from the source-deployment stand-in so it can be mounted there
 * (`handleDataSyncRequest`) or served alone (`serveDataSyncFeed`).
 *
 * What it copies, and from where:
 * - The paging algorithm: crates/table_iteration/src/data_sync.rs `DataSyncIterator` — a cursor of
 *   (synced_ts, synced tables, in-progress table and last id); each page either walks the in-progress table's
 *   ids at synced_ts (`by_id_page`, chosen while synced_ts is within `by_id_freshness` of the latest timestamp)
 *   or walks the document log forward from synced_ts (`ts_page`), emitting only captured documents and never
 *   splitting a transaction; `reconcile_target_tables` on every call (drops gone tablets, starts added ones).
 * - Truncates: crates/streaming_export/src/lib.rs `data_sync` — one for every tablet that entered the tracked set
 *   (synced + in progress) on this page: a table whose traversal starts, a table added, the new tablet of a table
 *   replaced by `npx convex import`. A dropped tablet just leaves the set: nothing is emitted.
 * - The response and errors: crates/local_backend/src/streaming_export.rs `_data_sync`,
 *   `data_sync_cursor_from_deltas`, `test_streaming_export_connection`, `cursor_expired_error`; checks in the
 *   handler's order (identity 401, JSON body 400 BadJsonBody, plan 403, permission 403, cursor 400).
 * - The cursor: crates/keybroker/src/encryptor.rs `encrypt_proto` — lowercase hex of version byte 1, a 12-byte
 *   nonce, the ciphertext and a 16-byte tag, with the version as associated data. (AES-GCM here: Node has no
 *   AES-GCM-SIV; the payload is JSON instead of protobuf. Both are opaque to clients.)
 * - Limits: crates/common/src/knobs.rs DATA_SYNC_PAGE_SIZE_LIMIT 16384, DATA_SYNC_PAGE_BYTES_LIMIT 64 MiB,
 *   DATA_SYNC_MAX_ROWS_READ 32768, DATA_SYNC_BY_ID_FRESHNESS 30 s, DOCUMENT_RETENTION_DELAY 14 days
 *   (all adjustable here, so tests can page small).
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { decodeUniformLine } from "../../executor/src/import/reader/uniform.js";
import { toExportJson, type ConvexObject } from "../../executor/src/import/values.js";
import { fakeId, writeSnapshotZip, type FixtureTable } from "../fixtures/snapshot-zip.js";

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

interface Tablet {
  id: number;
  component: string;
  table: string;
  createdTs: bigint;
  /** When the tablet left the table mapping (dropped, or replaced by an import). */
  retiredTs: bigint | null;
}

interface LogEntry {
  ts: bigint;
  tablet: number;
  id: string;
  value: ConvexObject | null;
}

/** `DataSyncCursor` plus the sync id (streaming_export/src/lib.rs `SyncCursor`). */
interface CursorState {
  syncedTs: string;
  syncedTables: number[];
  inProgress: { tablet: number; currentId: string | null } | null;
  syncId: string;
}

export interface Transaction {
  /** Inserts into `table` or `component/table`; returns the new id. */
  insert(qualified: string, fields: ConvexObject): string;
  replace(id: string, fields: ConvexObject): void;
  patch(id: string, fields: ConvexObject): void;
  delete(id: string): void;
}

function splitQualified(qualified: string): { component: string; table: string } {
  const slash = qualified.lastIndexOf("/");
  return slash === -1
    ? { component: "", table: qualified }
    : { component: qualified.slice(0, slash), table: qualified.slice(slash + 1) };
}

/** export_fields returns a BTreeMap: fields come out in byte order. */
function sortedFields(doc: ConvexObject): ConvexObject {
  const out: ConvexObject = {};
  for (const key of Object.keys(doc).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[key] = doc[key]!;
  return out;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DeploymentOptions {
  deployKey?: string;
  /** Keys with only some operations (a backups-only key has no ViewData). */
  restrictedKeys?: Record<string, ("ViewData" | "ViewBackups")[]>;
  /** A free plan refuses the feed (model/src/backend_info/mod.rs); self-hosted and paid plans allow it. */
  streamingExportEnabled?: boolean;
  limits?: Partial<FeedLimits>;
  /** The first commit timestamp, ns. */
  startTs?: bigint;
}

export class FeedDeployment {
  readonly deployKey: string;
  readonly limits: FeedLimits;
  streamingExportEnabled: boolean;
  private readonly restricted: Map<string, Set<string>>;
  private readonly key = randomBytes(32);
  private readonly tablets: Tablet[] = [];
  private readonly log: LogEntry[] = [];
  private readonly current = new Map<string, { tablet: number; value: ConvexObject }>();
  private nextTablet = 10_001;
  private nextDoc = 1;
  /** The latest timestamp: the last commit, or later when time passed without commits (`advance`). */
  private latest: bigint;

  constructor(options: DeploymentOptions = {}) {
    this.deployKey = options.deployKey ?? "prod:stand-in-feed|key";
    this.restricted = new Map(
      Object.entries(options.restrictedKeys ?? {}).map(([k, ops]) => [k, new Set(ops)]),
    );
    this.streamingExportEnabled = options.streamingExportEnabled ?? true;
    this.limits = { ...BACKEND_LIMITS, ...options.limits };
    this.latest = options.startTs ?? 1_800_000_000_000_000_000n;
  }

  get latestTs(): bigint {
    return this.latest;
  }

  /** Time passes without writes (the repeatable timestamp keeps moving). */
  advance(ns: bigint): void {
    this.latest += ns;
  }

  private commitTs(): bigint {
    this.latest += 1_000_000n; // one commit per ms
    return this.latest;
  }

  private liveTablet(qualified: string): Tablet | undefined {
    const { component, table } = splitQualified(qualified);
    return this.tablets.find((t) => t.retiredTs === null && t.component === component && t.table === table);
  }

  private newTablet(qualified: string, ts: bigint): Tablet {
    const tablet: Tablet = {
      id: this.nextTablet++,
      ...splitQualified(qualified),
      createdTs: ts,
      retiredTs: null,
    };
    this.tablets.push(tablet);
    return tablet;
  }

  /** Runs writes as one transaction at one commit timestamp (tables are created on first insert). */
  transaction(run: (tx: Transaction) => void): bigint {
    const ts = this.commitTs();
    const writes = new Map<string, { tablet: number; value: ConvexObject | null }>();
    const read = (id: string) => {
      const pending = writes.get(id);
      if (pending) return pending;
      const doc = this.current.get(id);
      if (!doc) throw new Error(`no document ${id}`);
      return doc;
    };
    const tx: Transaction = {
      insert: (qualified, fields) => {
        const tablet = this.liveTablet(qualified) ?? this.newTablet(qualified, ts);
        const id = fakeId(this.nextDoc++, tablet.id);
        writes.set(id, { tablet: tablet.id, value: { ...fields, _id: id, _creationTime: Number(ts) / 1e6 } });
        return id;
      },
      replace: (id, fields) => {
        const doc = read(id);
        if (!doc.value) throw new Error(`document ${id} was deleted`);
        writes.set(id, {
          tablet: doc.tablet,
          value: { ...fields, _id: id, _creationTime: doc.value._creationTime! },
        });
      },
      patch: (id, fields) => {
        const doc = read(id);
        if (!doc.value) throw new Error(`document ${id} was deleted`);
        writes.set(id, { tablet: doc.tablet, value: { ...doc.value, ...fields } });
      },
      delete: (id) => {
        writes.set(id, { tablet: read(id).tablet, value: null });
      },
    };
    run(tx);
    for (const [id, w] of [...writes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      this.log.push({ ts, tablet: w.tablet, id, value: w.value && sortedFields(w.value) });
      if (w.value) this.current.set(id, { tablet: w.tablet, value: w.value });
      else this.current.delete(id);
    }
    return ts;
  }

  /** `npx convex import --replace`: a new tablet with these documents; the old one leaves the mapping. */
  importReplace(qualified: string, docs: readonly ConvexObject[]): bigint {
    const ts = this.commitTs();
    const old = this.liveTablet(qualified);
    if (old) this.retire(old, ts);
    const tablet = this.newTablet(qualified, ts);
    for (const fields of docs) {
      const id = fakeId(this.nextDoc++, tablet.id);
      const value = sortedFields({ ...fields, _id: id, _creationTime: Number(ts) / 1e6 });
      this.log.push({ ts, tablet: tablet.id, id, value });
      this.current.set(id, { tablet: tablet.id, value });
    }
    return ts;
  }

  /** Deletes a table (dashboard "Delete table"): the tablet leaves the mapping, its documents with it. */
  dropTable(qualified: string): bigint {
    const ts = this.commitTs();
    const tablet = this.liveTablet(qualified);
    if (!tablet) throw new Error(`no table ${qualified}`);
    this.retire(tablet, ts);
    return ts;
  }

  private retire(tablet: Tablet, ts: bigint): void {
    tablet.retiredTs = ts;
    for (const [id, doc] of this.current) if (doc.tablet === tablet.id) this.current.delete(id);
  }

  private aliveAt(tablet: Tablet, ts: bigint): boolean {
    return tablet.createdTs <= ts && (tablet.retiredTs === null || tablet.retiredTs > ts);
  }

  /** A tablet's documents at `ts`, in id order: the latest revision at or before `ts` of each live document. */
  private documentsAt(tablet: number, ts: bigint): { id: string; ts: bigint; value: ConvexObject }[] {
    const latest = new Map<string, LogEntry>();
    for (const e of this.log) {
      if (e.ts > ts) break;
      if (e.tablet === tablet) latest.set(e.id, e);
    }
    return [...latest.values()]
      .filter((e) => e.value !== null)
      .map((e) => ({ id: e.id, ts: e.ts, value: e.value! }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Every table that exists at `ts` with its documents: what a snapshot export at `ts` holds. */
  stateAt(ts: bigint): Map<string, ConvexObject[]> {
    const out = new Map<string, ConvexObject[]>();
    for (const t of this.tablets) {
      if (!this.aliveAt(t, ts)) continue;
      const qualified = t.component ? `${t.component}/${t.table}` : t.table;
      out.set(
        qualified,
        this.documentsAt(t.id, ts).map((d) => d.value),
      );
    }
    return out;
  }

  /** A uniform-encoding snapshot ZIP of the state at `ts` (test/fixtures/snapshot-zip.ts). */
  async writeSnapshotZip(file: string, ts: bigint): Promise<void> {
    const tables: FixtureTable[] = [...this.stateAt(ts)].map(([qualified, docs]) => {
      const { component, table } = splitQualified(qualified);
      return { name: table, ...(component ? { component } : {}), docs };
    });
    await writeSnapshotZip(file, tables);
  }

  // ---- the feed (table_iteration/src/data_sync.rs, streaming_export/src/lib.rs) ----

  /** `ResolvedStreamingExportFilter`: live tablets in the selection, in tablet-id order (a BTreeMap). */
  private targetTables(selection: Selection): number[] {
    return this.tablets
      .filter((t) => t.retiredTs === null && selection.includes(t.component, t.table))
      .map((t) => t.id)
      .sort((a, b) => a - b);
  }

  encryptCursor(state: CursorState): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(Buffer.from([1]));
    const body = Buffer.concat([cipher.update(JSON.stringify(state), "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), nonce, body, cipher.getAuthTag()]).toString("hex");
  }

  private decryptCursor(token: string): CursorState {
    try {
      if (!/^([0-9a-f]{2})+$/.test(token)) throw new Error("not hex");
      const bytes = Buffer.from(token, "hex");
      if (bytes[0] !== 1 || bytes.length < 1 + 12 + 16) throw new Error("bad version");
      const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(1, 13));
      decipher.setAAD(Buffer.from([1]));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const plain = Buffer.concat([decipher.update(bytes.subarray(13, bytes.length - 16)), decipher.final()]);
      return JSON.parse(plain.toString("utf8")) as CursorState;
    } catch {
      throw new HttpError(400, "InvalidDataSyncCursor", "Could not parse the data sync cursor");
    }
  }

  private checkRetention(syncedTs: bigint): void {
    if (syncedTs < this.latest - this.limits.retentionNs) {
      throw new HttpError(
        400,
        "DataSyncCursorExpired",
        "The cursor is outside the deployment's data retention window and can no longer be resumed. Restart the sync from scratch by calling /data/sync without a cursor.",
      );
    }
  }

  /** One page: streaming_export `data_sync` around `DataSyncIterator::next_page`. Returns the JSON text. */
  syncPage(cursorToken: string | undefined, selection: Selection): string {
    const latest = this.latest;
    const targets = this.targetTables(selection);
    const before = cursorToken === undefined ? undefined : this.decryptCursor(cursorToken);
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
    this.checkRetention(syncedTs);

    const useById = cursor.inProgress !== null && latest - syncedTs < this.limits.byIdFreshnessNs;
    const entries = useById ? this.byIdPage(cursor, targets) : this.tsPage(cursor, latest);

    const trackedAfter = [...cursor.syncedTables, ...(cursor.inProgress ? [cursor.inProgress.tablet] : [])];
    const truncates = [
      ...new Set(
        trackedAfter
          .filter((id) => !trackedBefore.has(id))
          .map((id) => {
            const t = this.tablets.find((x) => x.id === id)!;
            return JSON.stringify({ component: t.component, table: t.table });
          }),
      ),
    ].sort();

    let status: string;
    if (cursor.inProgress) status = `{"type":"snapshotting"}`;
    else if (BigInt(cursor.syncedTs) < latest) status = `{"type":"stale","snapshotTs":${cursor.syncedTs}}`;
    else status = `{"type":"upToDate","snapshotTs":${cursor.syncedTs}}`;

    const values = entries.map((e) => {
      const t = this.tablets.find((x) => x.id === e.tablet)!;
      const value = e.value ? toExportJson(e.value) : JSON.stringify({ _id: e.id });
      return `{"component":${JSON.stringify(t.component)},"table":${JSON.stringify(t.table)},"ts":${e.ts},"deleted":${e.value === null},"value":${value}}`;
    });
    return (
      `{"status":${status},"truncates":[${truncates.join(",")}],"values":[${values.join(",")}],` +
      `"syncId":${JSON.stringify(cursor.syncId)},"pagination":{"hasMore":true,"nextCursor":"${this.encryptCursor(cursor)}"}}`
    );
  }

  /** `by_id_page`: the in-progress table's next ids at synced_ts; synced_ts does not move. */
  private byIdPage(cursor: CursorState, targets: number[]): LogEntry[] {
    const { tablet, currentId } = cursor.inProgress!;
    const docs = this.documentsAt(tablet, BigInt(cursor.syncedTs)).filter(
      (d) => currentId === null || d.id > currentId,
    );
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
    for (const e of this.log) {
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
    if (ts > this.latest)
      throw new HttpError(
        400,
        "InvalidDataSyncCursor",
        "document_deltas cursor is ahead of the deployment's latest timestamp",
      );
    this.checkRetention(ts);
    return this.encryptCursor({
      syncedTs: ts.toString(),
      syncedTables: this.targetTables(selection),
      inProgress: null,
      syncId: randomUUID(),
    });
  }

  // ---- authentication and the handlers' checks (local_backend/src/streaming_export.rs) ----

  /** The key's operations ("all" for the deploy key), undefined without a key (local_backend/src/authentication.rs). */
  private identityOf(authorization: string | undefined): Set<string> | "all" | undefined {
    if (authorization === undefined) return undefined;
    if (!/^convex /i.test(authorization))
      throw new HttpError(401, "InvalidAuthHeader", "Could not parse as a user identity token");
    const key = authorization.slice(7).trim();
    const ops = key === this.deployKey ? "all" : this.restricted.get(key);
    if (ops === undefined)
      throw new HttpError(401, "BadAdminKey", "The provided admin key was invalid for this instance");
    return ops;
  }

  /** ensure_streaming_export_enabled, then require_operation(ViewData). */
  private ensureAllowed(ops: Set<string> | "all" | undefined): void {
    if (!this.streamingExportEnabled)
      throw new HttpError(
        403,
        "StreamingExportNotEnabled",
        "Streaming export is not available on your current subscription. See https://www.convex.dev/plans to upgrade.",
      );
    if (ops === undefined)
      throw new HttpError(403, "BadDeployKey", "The provided deploy key was invalid for this deployment.");
    if (ops !== "all" && !ops.has("ViewData"))
      throw new HttpError(
        403,
        "OperationNotPermitted",
        "You do not have permission to perform this operation (deployment:data:view).",
      );
  }

  /** Answers one request if it is a feed route; undefined for any other path (to mount beside other routes). */
  handle(request: {
    method: string;
    path: string;
    authorization?: string;
    contentType?: string;
    body: string;
  }): { status: number; body: string } | undefined {
    const route = ROUTES.find((r) => r.method === request.method && r.path === request.path);
    if (!route) return undefined;
    try {
      const ops = this.identityOf(request.authorization);
      let args: Record<string, unknown> = {};
      if (route.method === "POST") {
        if (!/^application\/json/i.test(request.contentType ?? ""))
          throw new HttpError(400, "BadJsonBody", "Expected request with `Content-Type: application/json`");
        try {
          args = decodeUniformLine(request.body) as Record<string, unknown>;
        } catch (err) {
          throw new HttpError(
            400,
            "BadJsonBody",
            `Failed to deserialize the JSON body: ${(err as Error).message}`,
          );
        }
      }
      this.ensureAllowed(ops);
      switch (route.name) {
        case "sync": {
          if (args.cursor !== undefined && args.cursor !== null && typeof args.cursor !== "string")
            throw new HttpError(400, "BadJsonBody", "cursor: invalid type, expected a string");
          const cursor = (args.cursor as string | null | undefined) ?? undefined;
          return { status: 200, body: this.syncPage(cursor, parseSelection(args.selection)) };
        }
        case "cursorFromDeltas": {
          if (typeof args.cursor !== "bigint")
            throw new HttpError(400, "BadJsonBody", "cursor: invalid type, expected i64");
          return {
            status: 200,
            body: JSON.stringify({
              cursor: this.cursorFromDeltas(args.cursor, parseSelection(args.selection)),
            }),
          };
        }
        case "testConnection":
          return { status: 200, body: "null" };
      }
    } catch (err) {
      if (err instanceof HttpError)
        return { status: err.status, body: JSON.stringify({ code: err.code, message: err.message }) };
      throw err;
    }
  }
}

const ROUTES = [
  { name: "sync", method: "POST", path: "/api/v1/data/sync" },
  { name: "cursorFromDeltas", method: "POST", path: "/api/data_sync_cursor_from_deltas" },
  { name: "testConnection", method: "GET", path: "/api/test_streaming_export_connection" },
] as const;

/** `reconcile_target_tables`. */
function reconcile(cursor: CursorState, targets: number[]): CursorState {
  const next = { ...cursor, syncedTables: cursor.syncedTables.filter((t) => targets.includes(t)) };
  if (next.inProgress && !targets.includes(next.inProgress.tablet)) {
    next.inProgress = nextTable(next.syncedTables, targets);
  } else if (!next.inProgress) {
    next.inProgress = nextTable(next.syncedTables, targets);
  }
  return next;
}

/** `advance_to_next_table`. */
function nextTable(synced: number[], targets: number[]): CursorState["inProgress"] {
  const tablet = targets.find((t) => !synced.includes(t));
  return tablet === undefined ? null : { tablet, currentId: null };
}

interface Selection {
  includes(component: string, table: string): boolean;
}

/** selection.rs `Selection::is_table_included` (columns are not filtered here). */
function parseSelection(raw: unknown): Selection {
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

export interface ServedFeed {
  url: string;
  /** Requests answered, in order (path and status), for tests that count retries. */
  requests: { path: string; status: number }[];
  /** The next `n` requests get this status (a proxy's or the backend's transient failure). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

/** Serves the feed routes of `deployment` on 127.0.0.1. */
export async function serveDataSyncFeed(deployment: FeedDeployment, port = 0): Promise<ServedFeed> {
  const requests: ServedFeed["requests"] = [];
  let failures: { n: number; status: number } = { n: 0, status: 503 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      let answer: { status: number; body: string } | undefined;
      if (failures.n > 0) {
        failures.n--;
        answer = {
          status: failures.status,
          body: JSON.stringify({ code: "Overloaded", message: "try again" }),
        };
      } else {
        answer = deployment.handle({
          method: req.method ?? "GET",
          path,
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"],
          body: Buffer.concat(chunks).toString("utf8"),
        }) ?? { status: 404, body: JSON.stringify({ code: "NotFound", message: "" }) };
      }
      requests.push({ path, status: answer.status });
      res.writeHead(answer.status, { "Content-Type": "application/json" });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext(n, status) {
      failures = { n, status };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
