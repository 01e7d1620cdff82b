/**
 * The executor contract: everything that crosses the wire between the Convex control plane and the executor
 * service on the Windows machine. Both `convex/` and `executor/` import this module; nothing else defines
 * these shapes.
 *
 *   Convex  ── POST {EXECUTOR_URL}/jobs              (JobPayload, signed) ──►  executor
 *   Convex  ── POST {EXECUTOR_URL}/jobs/{id}/cancel  (CancelRequest, signed) ► executor
 *   executor ─ POST {CONVEX_SITE_URL}/executor/progress   (ProgressCallback, signed) ─► Convex
 *   executor ─ POST {CONVEX_SITE_URL}/executor/complete   (CompletionCallback, signed) ► Convex
 *   executor ─ POST {CONVEX_SITE_URL}/executor/heartbeat  (Heartbeat, signed) ─────────► Convex
 *
 * Signing is in ./signing.ts. Every callback carries an `eventId` so receivers can drop repeats.
 */
import { z } from "zod";
import { TARGET_SCHEMA_MAX_LENGTH, TARGET_SCHEMA_PATTERN } from "./targetSchema";

export const CONTRACT_VERSION = 1;

/** Paths on the executor (relative to EXECUTOR_URL). */
export const executorRoutes = {
  jobs: "/jobs",
  job: (jobId: string) => `/jobs/${encodeURIComponent(jobId)}`,
  cancel: (jobId: string) => `/jobs/${encodeURIComponent(jobId)}/cancel`,
  health: "/health",
} as const;

/** Paths on the Convex deployment's HTTP actions (relative to the `.convex.site` URL). */
export const callbackRoutes = {
  progress: "/executor/progress",
  complete: "/executor/complete",
  heartbeat: "/executor/heartbeat",
} as const;

/**
 * A Convex table, qualified by its component path: `messages` for the root app,
 * `workpool/pendingStart` for table `pendingStart` of component `workpool`, `a/b/t` for nested components.
 */
export const qualifiedTableName = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^([A-Za-z_][A-Za-z0-9_]*\/)*[A-Za-z_][A-Za-z0-9_]*$/, "expected <component>/.../<table>");

/** SQL schema names we accept from the control plane (the executor still quotes them). */
export const targetSchemaName = z
  .string()
  .min(1)
  .max(TARGET_SCHEMA_MAX_LENGTH)
  .regex(TARGET_SCHEMA_PATTERN, "letters, digits and _ only, not starting with a digit");

/**
 * How a job brings the warehouse up to date: `snapshot` downloads a snapshot export and swaps every table in
 * (docs/reference/convex-export.md); `incremental` applies the source's change feed from the position stored in
 * the warehouse (docs/incremental.md), one target transaction per consistent step.
 */
export const syncKind = z.enum(["snapshot", "incremental"]);
export type SyncKind = z.infer<typeof syncKind>;

/** A timestamp of the source deployment in nanoseconds, as a decimal string (above 2^53: never a JS number). */
export const sourceTs = z.string().regex(/^\d+$/);

const jobPayloadBase = {
  contractVersion: z.literal(CONTRACT_VERSION),
  jobId: z.string().min(1).max(128),
  attempt: z.number().int().min(1),
  app: z.object({ slug: z.string().min(1).max(64), name: z.string().max(200) }),
  source: z.object({
    /** e.g. https://happy-animal-123.convex.cloud */
    deploymentUrl: z.url(),
    /** Sent only in this payload, only over the tunnel. Never logged or written to disk by the executor. */
    deployKey: z.string().min(1),
  }),
  /** null = every table in the snapshot (or, incremental, in the feed). */
  tables: z.array(qualifiedTableName).nullable(),
  targetSchema: targetSchemaName,
  /** Epoch ms after which the control plane gives up on this attempt. */
  deadline: z.number().int(),
};

export const snapshotJobPayload = z.object({
  ...jobPayloadBase,
  /** Absent in payloads from before incremental sync existed. */
  kind: z.literal("snapshot").default("snapshot"),
  snapshot: z.object({
    /** The export's start_ts in nanoseconds, as a decimal string; the download id. */
    snapshotTs: sourceTs,
    exportId: z.string().optional(),
    includeStorage: z.boolean().default(false),
  }),
  /**
   * Apps that sync incrementally: the change-feed cursor the control plane minted (cursor_from_deltas) at the
   * snapshot's timestamp right after the export completed. The executor stores it in the warehouse's
   * `_convex_sync_state` once the swap has committed; later `incremental` jobs continue from it.
   */
  feedStart: z.object({ cursor: z.string().min(1).max(100_000) }).optional(),
});

export const incrementalJobPayload = z.object({
  ...jobPayloadBase,
  kind: z.literal("incremental"),
  incremental: z.object({
    /**
     * The source's tables (qualified) when the job was dispatched: warehouse tables missing from it were dropped in
     * the source, which the feed never reports. null = not listed (no drop detection this run).
     */
    sourceTables: z.array(qualifiedTableName).max(10_000).nullable(),
    /** Stop after this many feed pages even if there are more (the next run continues). Absent = until up to date. */
    maxPages: z.number().int().min(1).optional(),
  }),
});

export const jobPayload = z.union([snapshotJobPayload, incrementalJobPayload]);
export type JobPayload = z.infer<typeof jobPayload>;
export type SnapshotJobPayload = z.infer<typeof snapshotJobPayload>;
export type IncrementalJobPayload = z.infer<typeof incrementalJobPayload>;

export const tableState = z.enum(["pending", "loading", "loaded", "swapped", "skipped", "failed"]);
export type TableState = z.infer<typeof tableState>;

export const tableFigures = z.object({
  table: qualifiedTableName,
  sqlTable: z.string().optional(),
  state: tableState,
  rows: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** Uncompressed size of the table's documents.jsonl, when known: lets the dashboard draw a real bar. */
  totalBytes: z.number().int().min(0).optional(),
  columns: z.number().int().min(0).optional(),
  seconds: z.number().min(0).optional(),
});
export type TableFigures = z.infer<typeof tableFigures>;

/** What an incremental job changed in one table (counts of documents, summed over the run's transactions). */
export const tableChanges = z.object({
  table: qualifiedTableName,
  inserted: z.number().int().min(0),
  updated: z.number().int().min(0),
  deleted: z.number().int().min(0),
  /** The table was emptied first (new in the feed, or replaced by an import in the source). */
  truncated: z.boolean(),
});
export type TableChanges = z.infer<typeof tableChanges>;

/**
 * `upToDate`: the warehouse equals the source at `position`. `stopped`: cut short (maxPages, deadline) at a committed
 * step; the next run continues. `needsSnapshot`: the feed cannot continue (`reason`: expired position, dropped
 * tables, no position stored, a snapshot loaded since); nothing was changed by the step that found it.
 */
export const incrementalOutcome = z.enum(["upToDate", "stopped", "needsSnapshot"]);
export type IncrementalOutcome = z.infer<typeof incrementalOutcome>;

export const incrementalFigures = z.object({
  outcome: incrementalOutcome,
  reason: z.string().max(2000).optional(),
  pages: z.number().int().min(0),
  /** Target transactions committed (each a consistent state of the source). */
  transactions: z.number().int().min(0),
  tables: z.array(tableChanges).max(10_000),
  droppedTables: z.array(qualifiedTableName).max(10_000),
  /** The source timestamp the warehouse equals after the run (ns); null when none is stored. */
  position: sourceTs.nullable(),
  /** How far the warehouse was behind the source's clock when the run ended. */
  lagMs: z.number().int().min(0).nullable(),
  /** Age of the stored position when the run started. */
  cursorAgeMs: z.number().int().min(0).nullable(),
});
export type IncrementalFigures = z.infer<typeof incrementalFigures>;

/** A snapshot job given `feedStart`: whether the warehouse now holds the feed position, at which timestamp. */
export const feedStartResult = z.object({
  stored: z.boolean(),
  /** The snapshot's timestamp, where the feed continues from (ns). */
  position: sourceTs,
  error: z.string().max(2000).optional(),
  /**
   * Stored: warehouse tables this snapshot did not load (dropped in the source, or outside the app's table
   * selection), kept as they were; the feed does not maintain them. Absent = none.
   */
  detachedTables: z.array(qualifiedTableName).max(10_000).optional(),
});
export type FeedStartResult = z.infer<typeof feedStartResult>;

/** `applying`: an incremental job reading the change feed and committing its steps. */
export const jobPhase = z.enum(["queued", "downloading", "importing", "swapping", "applying", "finished"]);
export type JobPhase = z.infer<typeof jobPhase>;

const callbackBase = {
  /** Unique per callback; a receiver that has seen it already answers 200 and changes nothing. */
  eventId: z.string().min(8).max(128),
  executorId: z.string().min(1).max(128),
  /** Epoch ms on the executor when the event was created. */
  at: z.number().int(),
};

export const progressCallback = z.object({
  ...callbackBase,
  jobId: z.string().min(1).max(128),
  attempt: z.number().int().min(1),
  phase: jobPhase,
  download: z
    .object({ bytes: z.number().int().min(0), totalBytes: z.number().int().min(0).optional() })
    .optional(),
  tables: z.array(tableFigures).max(10_000),
  /** Incremental jobs: the changes committed so far. */
  changes: z.array(tableChanges).max(10_000).optional(),
  message: z.string().max(2000).optional(),
});
export type ProgressCallback = z.infer<typeof progressCallback>;

export const jobOutcome = z.enum(["succeeded", "failed", "cancelled", "interrupted"]);
export type JobOutcome = z.infer<typeof jobOutcome>;

export const jobError = z.object({
  message: z.string().max(4000),
  /** Machine-readable class, e.g. "download_unauthorized", "bad_snapshot", "target_unreachable". */
  code: z.string().max(100).optional(),
  /** Where it happened, e.g. "users/documents.jsonl line 12 field age". */
  where: z.string().max(1000).optional(),
  /** True when a later attempt may succeed (network, timeouts); false for bad input or bad credentials. */
  retryable: z.boolean().default(true),
});
export type JobError = z.infer<typeof jobError>;

export const completionCallback = z.object({
  ...callbackBase,
  jobId: z.string().min(1).max(128),
  attempt: z.number().int().min(1),
  outcome: jobOutcome,
  tables: z.array(tableFigures).max(10_000),
  totalRows: z.number().int().min(0),
  durationMs: z.number().int().min(0),
  error: jobError.optional(),
  /** Incremental jobs: what the run did (also on failure: the steps committed before it). */
  incremental: incrementalFigures.optional(),
  /** Snapshot jobs sent with `feedStart`. */
  feedStart: feedStartResult.optional(),
});
export type CompletionCallback = z.infer<typeof completionCallback>;

export const targetKind = z.enum(["mssql", "postgres", "duckdb", "pglite"]);
export type TargetKind = z.infer<typeof targetKind>;

/**
 * One line of the target preflight (`npm run import -- --check`, and the executor at start-up): what was checked,
 * the verdict, and what to change. Never credentials.
 */
export const preflightCheck = z.object({
  check: z.string().max(40),
  status: z.enum(["ok", "warn", "fail"]),
  detail: z.string().max(500),
});
export type PreflightCheck = z.infer<typeof preflightCheck>;

export const heartbeat = z.object({
  ...callbackBase,
  version: z.string().max(50),
  contractVersion: z.number().int(),
  /** Never credentials: only what an admin needs to recognise the target. */
  target: z.object({
    kind: targetKind,
    host: z.string().max(255).optional(),
    database: z.string().max(255).optional(),
    reachable: z.boolean(),
    error: z.string().max(1000).optional(),
    /** The preflight run at the executor's start-up (added after contract version 1 shipped, so optional). */
    checks: z.array(preflightCheck).max(20).optional(),
    checkedAt: z.number().int().optional(),
  }),
  freeDiskBytes: z.number().int().min(0).optional(),
  runningJobs: z.array(z.string()).max(100),
  queuedJobs: z.number().int().min(0),
  /**
   * The ids of the queued jobs (added after contract version 1 shipped, so optional). A job waiting its turn on
   * the executor is alive: without the ids, the watchdog took a long wait in the queue for silence.
   */
  queuedJobIds: z.array(z.string()).max(100).optional(),
});
export type Heartbeat = z.infer<typeof heartbeat>;

export const cancelRequest = z.object({
  jobId: z.string().min(1).max(128),
  reason: z.string().max(500).optional(),
});
export type CancelRequest = z.infer<typeof cancelRequest>;

/** The executor's view of a job, returned by POST /jobs, GET /jobs/{id} and POST /jobs/{id}/cancel. */
export const executorJobStatus = z.object({
  jobId: z.string(),
  attempt: z.number().int().min(1),
  state: z.enum(["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]),
  kind: syncKind.optional(),
  phase: jobPhase,
  tables: z.array(tableFigures),
  error: jobError.optional(),
});
export type ExecutorJobStatus = z.infer<typeof executorJobStatus>;

/** Error body for any non-2xx answer from either side. */
export const errorBody = z.object({ error: z.string(), code: z.string().optional() });
export type ErrorBody = z.infer<typeof errorBody>;
