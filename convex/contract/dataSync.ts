/**
 * Convex's change feed ("data sync", a paid-plan API), as the backend defines it (get-convex/convex-backend at
 * 94a42c3d): routes in crates/local_backend/src/router.rs, handlers in crates/local_backend/src/streaming_export.rs,
 * wire types in crates/common/src/types/streaming_export/mod.rs and selection.rs. One definition for the executor
 * (which reads the feed) and the control plane (which probes whether an app may use it).
 *
 *   POST /api/v1/data/sync                      {cursor?, selection?} → DataSyncResponse
 *   POST /api/data_sync_cursor_from_deltas      {cursor: <bare integer ns>, selection?} → {cursor}
 *   GET  /api/test_streaming_export_connection  → null when the plan and key allow streaming export
 *
 * `ts` and `snapshotTs` are bare JSON integers in nanoseconds (~1.8e18, above 2^53): the schemas below take the
 * response after a lossless parse (integers as bigint; the executor uses its uniform-export decoder), never
 * `JSON.parse` alone. Document values are in the uniform export encoding, like ZIP exports.
 */
import { z } from "zod";

export const dataSyncRoutes = {
  sync: "/api/v1/data/sync",
  cursorFromDeltas: "/api/data_sync_cursor_from_deltas",
  testConnection: "/api/test_streaming_export_connection",
  listActiveSyncs: "/api/v1/data/list_active_syncs",
} as const;

/** selection.rs `InclusionDefault` (the backend also accepts the aliases `excl` / `incl`). */
const inclusion = z.enum(["excluded", "included", "excl", "incl"]);

/**
 * selection.rs `Selection`: component path ("" = the app) → "excluded" or {table → "excluded" | {column →
 * inclusion, _other}, _other}, plus `_other` for components not listed. `_other` is required at each level
 * (serde has no default for it); omitting the whole selection selects everything.
 */
const tableSelection = z.union([z.literal("excluded"), z.record(z.string(), inclusion)]);
const componentSelection = z.union([
  z.literal("excluded"),
  z.record(z.string(), z.union([inclusion, tableSelection])),
]);
export const dataSyncSelection = z
  .record(z.string(), z.union([inclusion, componentSelection]))
  .refine((s) => typeof s._other === "string", "a selection needs _other at the top level");
export type DataSyncSelection = z.infer<typeof dataSyncSelection>;

/** Selects exactly these qualified tables (`table`, `component/table`), all their columns. */
export function selectionOfTables(qualified: readonly string[]): DataSyncSelection {
  const selection: Record<string, Record<string, unknown> | string> = { _other: "excluded" };
  for (const name of qualified) {
    const slash = name.lastIndexOf("/");
    const component = slash === -1 ? "" : name.slice(0, slash);
    const table = name.slice(slash + 1);
    const tables = (selection[component] ??= { _other: "excluded" }) as Record<string, unknown>;
    tables[table] = { _other: "included" };
  }
  return selection as DataSyncSelection;
}

export const dataSyncRequest = z.object({
  /** Opaque: lowercase hex of an encrypted protobuf (keybroker encrypt_proto). Omit to start from scratch. */
  cursor: z.string().min(1).optional(),
  selection: dataSyncSelection.optional(),
});
export type DataSyncRequest = z.infer<typeof dataSyncRequest>;

const nanoseconds = z.bigint().nonnegative();

/**
 * mod.rs `DataSyncStatus` (untagged, discriminated by `type`): `snapshotting` pages are an incomplete traversal;
 * `stale` and `upToDate` mean everything emitted so far is a consistent snapshot at `snapshotTs`.
 */
export const dataSyncStatus = z.discriminatedUnion("type", [
  z.object({ type: z.literal("snapshotting") }),
  z.object({ type: z.literal("stale"), snapshotTs: nanoseconds }),
  z.object({ type: z.literal("upToDate"), snapshotTs: nanoseconds }),
]);
export type DataSyncStatus = z.infer<typeof dataSyncStatus>;

/** mod.rs `DataSyncTruncate`: drop everything synced for this table, before this page's values. */
export const dataSyncTruncate = z.object({ component: z.string(), table: z.string().min(1) });
export type DataSyncTruncate = z.infer<typeof dataSyncTruncate>;

/** mod.rs `DataSyncValue`: a document's revision at `ts`, or (deleted) a tombstone whose value holds only `_id`. */
export const dataSyncValue = z.object({
  component: z.string(),
  table: z.string().min(1),
  ts: nanoseconds,
  deleted: z.boolean(),
  value: z.looseObject({ _id: z.string().min(1) }),
});
export type DataSyncValue = z.infer<typeof dataSyncValue>;

/**
 * mod.rs `DataSyncResponse`. `hasMore` is always true and `nextCursor` always present (the feed never ends):
 * stop when the status is `upToDate`.
 */
export const dataSyncResponse = z.object({
  status: dataSyncStatus,
  truncates: z.array(dataSyncTruncate),
  values: z.array(dataSyncValue),
  syncId: z.string(),
  pagination: z.object({ hasMore: z.boolean(), nextCursor: z.string().min(1) }),
});
export type DataSyncResponse = z.infer<typeof dataSyncResponse>;

/** The request body of cursor_from_deltas: `cursor` is an i64 and must travel as a bare JSON integer. */
export function cursorFromDeltasBody(ts: bigint, selection?: DataSyncSelection): string {
  if (ts < 0n) throw new RangeError("a document_deltas cursor is a non-negative timestamp");
  const selectionJson = selection === undefined ? "" : `,"selection":${JSON.stringify(selection)}`;
  return `{"cursor":${ts.toString()}${selectionJson}}`;
}

export const cursorFromDeltasResponse = z.object({ cursor: z.string().min(1) });

/** HttpResponseError's body (crates/common/src/http/mod.rs `ResponseErrorMessage`). */
export const convexErrorBody = z.object({ code: z.string(), message: z.string() });

/** The error codes the feed's callers act on, with the status each comes with. */
export const dataSyncErrorCodes = {
  /** 403: not on this plan (model/src/backend_info/mod.rs ensure_streaming_export_enabled). */
  streamingExportNotEnabled: "StreamingExportNotEnabled",
  /** 403: the key lacks deployment:data:view (roles/src/eval.rs require_operation). */
  operationNotPermitted: "OperationNotPermitted",
  /** 400: the cursor is past the document log's retention: start again from a snapshot. */
  cursorExpired: "DataSyncCursorExpired",
  /** 400: the cursor could not be decrypted or parsed, or is ahead of the deployment. */
  invalidCursor: "InvalidDataSyncCursor",
  /** 400: the selection names something invalid. */
  invalidSelection: "InvalidDataSyncSelection",
} as const;
