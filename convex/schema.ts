import { authTables } from "@convex-dev/auth/server";
import { zodOutputToConvex, zodOutputToConvexFields } from "convex-helpers/server/zod4";
import { defineSchema, defineTable } from "convex/server";
import { v, type Infer } from "convex/values";
import {
  heartbeat,
  incrementalFigures,
  jobError,
  progressCallback,
  syncKind,
  tableChanges,
  tableFigures,
} from "./contract/executor";
import { jobEventMark } from "./lib/jobEventMark";

/** A job's lifecycle; transitions live in lib/jobStateMachine.ts. */
export const jobStatus = v.union(
  v.literal("queued"),
  v.literal("exporting"),
  v.literal("dispatched"),
  v.literal("running"),
  v.literal("succeeded"),
  v.literal("failed"),
  v.literal("cancelled"),
);
export type JobStatus = Infer<typeof jobStatus>;

export const jobTrigger = v.union(v.literal("manual"), v.literal("api"), v.literal("schedule"));
export type JobTrigger = Infer<typeof jobTrigger>;

export const retryPolicy = v.object({
  /** Attempts per job, the first included. */
  maxAttempts: v.number(),
  baseDelayMs: v.number(),
  maxDelayMs: v.number(),
});
export type RetryPolicy = Infer<typeof retryPolicy>;

export const appSchedule = v.object({ cron: v.string(), timeZone: v.string() });

/**
 * How an app syncs (docs/incremental.md): `snapshot` always exports and reloads everything; `incremental` applies the
 * source's change feed after a first snapshot (the plan must include streaming export); `auto` does incremental
 * where the plan and key allow it and snapshots otherwise. Apps created before modes existed have none: snapshot.
 */
export const syncMode = v.union(v.literal("snapshot"), v.literal("incremental"), v.literal("auto"));
export type SyncMode = Infer<typeof syncMode>;

/** Job kinds (contract `syncKind`): a snapshot reload or an incremental run of the change feed. */
export const jobKind = zodOutputToConvex(syncKind);

/**
 * What the control plane knows of an app's change feed. `availability` is the last probe's verdict
 * (GET /api/test_streaming_export_connection), `reason` why it is unavailable, in words; `position` is set while
 * the warehouse holds a feed position (a snapshot job stored one, or an incremental run moved it) and cleared when
 * the feed must start again from a snapshot (`needsSnapshot` says why).
 */
export const appFeed = v.object({
  availability: v.union(v.literal("unknown"), v.literal("available"), v.literal("unavailable")),
  reason: v.optional(v.string()),
  checkedAt: v.optional(v.number()),
  /** The source timestamp (ns, decimal string) the warehouse equals, and when that was committed (epoch ms). */
  position: v.optional(v.object({ ts: v.string(), appliedAt: v.number() })),
  needsSnapshot: v.optional(v.string()),
  /**
   * Consecutive snapshot jobs whose executor could not store the feed position (`feedStart.stored` false); reset by
   * a stored one. At FEED_START_MAX_FAILURES the feed is marked unavailable with the reason (feeds.ts).
   */
  storeFailures: v.optional(v.number()),
});
export type AppFeed = Infer<typeof appFeed>;

/*
 * Shapes the executor reports are stored as the contract parsed them: their validators are derived from the zod
 * contract (its output side, so a `.default()` field is required here), never copied. A field added to the
 * contract is then stored, instead of compiling and being rejected by `ctx.db.patch` at run time.
 */

/** Per-table figures as reported by the executor (contract `tableFigures`). */
export const tableFiguresValidator = zodOutputToConvex(tableFigures);

/** A job's error (contract `jobError`, `retryable` defaulted). */
export const jobErrorValidator = zodOutputToConvex(jobError);
export type StoredJobError = Infer<typeof jobErrorValidator>;

/**
 * The heartbeat fields an `executors` row keeps, `target` being what the executor reports about its warehouse (never
 * credentials). The rest, e.g. `queuedJobIds`, only refresh jobs' signs of life.
 */
const storedHeartbeat = heartbeat.pick({
  executorId: true,
  version: true,
  contractVersion: true,
  target: true,
  freeDiskBytes: true,
  runningJobs: true,
  queuedJobs: true,
});

export const eventLevel = v.union(v.literal("info"), v.literal("warn"), v.literal("error"));

/** Which apps an API token may trigger and read. Tokens from before scopes existed have none: all apps. */
export const tokenScope = v.union(
  v.object({ kind: v.literal("all") }),
  v.object({ kind: v.literal("apps"), appIds: v.array(v.id("apps")) }),
);
export type TokenScope = Infer<typeof tokenScope>;

export default defineSchema({
  ...authTables,

  /** The allow-list: a signed-in user is an admin iff their email has a row here (see convex/admins.ts). */
  admins: defineTable({ email: v.string(), addedAt: v.number(), addedBy: v.string() }).index("by_email", [
    "email",
  ]),

  apps: defineTable({
    name: v.string(),
    slug: v.string(),
    deploymentUrl: v.string(),
    /**
     * Self-hosted source on a private network reached over plain http (lib/sourceUrl.ts
     * `normalizeDeploymentUrl`): the deploy key then travels unencrypted. Absent = false.
     */
    allowInsecureHttp: v.optional(v.boolean()),
    /** AES-GCM ciphertext (lib/crypto.ts); never leaves the server except inside the signed executor payload. */
    deployKeyCiphertext: v.string(),
    /** Masked form for display, e.g. "prod:happy-animal-123|…3f9a". */
    deployKeyHint: v.string(),
    /** null = every table in the snapshot. */
    tables: v.union(v.array(v.string()), v.null()),
    targetSchema: v.string(),
    schedule: v.union(appSchedule, v.null()),
    enabled: v.boolean(),
    retry: retryPolicy,
    includeStorage: v.boolean(),
    /** Absent on apps from before sync modes: snapshot. New apps default to auto. */
    syncMode: v.optional(syncMode),
    feed: v.optional(appFeed),
    createdAt: v.number(),
    updatedAt: v.number(),
    lastJobId: v.optional(v.id("jobs")),
    lastJobStatus: v.optional(jobStatus),
    lastJobAt: v.optional(v.number()),
    /** Consecutive failed jobs; a success after >0 may send a recovery email. */
    failureStreak: v.number(),
  })
    .index("by_slug", ["slug"])
    .index("by_name", ["name"])
    // Apps sharing a target schema (apps.ts assertSchemaShareable): only snapshot-mode apps may.
    .index("by_target_schema", ["targetSchema"]),

  jobs: defineTable({
    appId: v.id("apps"),
    appSlug: v.string(),
    status: jobStatus,
    /** True while status is not final; the one-active-job rule reads `by_app_active`. */
    active: v.boolean(),
    trigger: jobTrigger,
    triggeredBy: v.string(),
    /** Absent on jobs from before incremental sync: snapshot. */
    kind: v.optional(jobKind),
    /** Why this kind was chosen when it is not the app's usual one, e.g. "full snapshot: the feed position expired". */
    kindReason: v.optional(v.string()),
    attempt: v.number(),
    maxAttempts: v.number(),
    createdAt: v.number(),
    updatedAt: v.number(),
    /** Last time anything happened for this job: transition, export check, callback. The watchdog reads it. */
    lastSignOfLifeAt: v.number(),
    finishedAt: v.optional(v.number()),
    durationMs: v.optional(v.number()),
    export: v.optional(
      v.object({
        requestedAt: v.number(),
        checks: v.number(),
        state: v.optional(v.string()),
        snapshotTs: v.optional(v.string()),
        exportId: v.optional(v.string()),
        progress: v.optional(v.string()),
      }),
    ),
    dispatchAttempts: v.number(),
    /** Epoch ms after which the current attempt is given up (sent to the executor as `deadline`). */
    attemptDeadline: v.optional(v.number()),
    nextDispatchAt: v.optional(v.number()),
    executorId: v.optional(v.string()),
    phase: v.optional(v.string()),
    download: zodOutputToConvex(progressCallback.shape.download),
    tables: v.array(tableFiguresValidator),
    totalRows: v.optional(v.number()),
    /** Incremental jobs: changes committed so far (progress), then the run's figures (completion). */
    changes: v.optional(v.array(zodOutputToConvex(tableChanges))),
    incremental: v.optional(zodOutputToConvex(incrementalFigures)),
    /**
     * Snapshot jobs that start the change feed: present from the start; `cursor` is minted (cursor_from_deltas) at
     * the export's `start_ts` `ts` as soon as the export is seen in progress (else at completion), or `error` says
     * why it could not be; `mintTries` counts transient minting failures (retried at the next export check). The
     * cursor is opaque and useless without the deploy key; the job lists leave it out, and it is cleared once the
     * job is final (`minted` then says one was).
     */
    feedStart: v.optional(
      v.object({
        ts: v.optional(v.string()),
        cursor: v.optional(v.string()),
        error: v.optional(v.string()),
        mintTries: v.optional(v.number()),
        minted: v.optional(v.boolean()),
      }),
    ),
    error: v.optional(jobErrorValidator),
    /**
     * The scheduled function driving the job's current step (export request, export check, dispatch) while it is
     * queued or exporting; the watchdog reads its state in `_scheduled_functions` to notice a step that died.
     */
    step: v.optional(v.object({ functionId: v.id("_scheduled_functions"), name: v.string() })),
    cancelRequested: v.optional(v.object({ at: v.number(), by: v.string(), reason: v.optional(v.string()) })),
    eventCount: v.number(),
  })
    // The dashboard's lists filter and show `createdAt`; each filter combination is one index range on it.
    .index("by_created", ["createdAt"])
    .index("by_app_created", ["appId", "createdAt"])
    .index("by_status_created", ["status", "createdAt"])
    .index("by_app_status_created", ["appId", "status", "createdAt"])
    .index("by_app_active", ["appId", "active"])
    .index("by_active_sign_of_life", ["active", "lastSignOfLifeAt"])
    .index("by_finished", ["finishedAt"])
    .index("by_app_finished", ["appId", "finishedAt"]),

  /**
   * Finished jobs counted per UTC day and app, written as each job ends (dailyStats.ts): the daily chart reads
   * these instead of the jobs, since an app syncing every minute finishes 1,440 jobs a day; the all-apps chart sums
   * a day's app rows. `appId` absent: an all-apps row written before that, no longer read or written.
   */
  dailyJobStats: defineTable({
    day: v.number(),
    /** An app's row; absent on the all-apps shard rows (and on all-apps rows from before shards). */
    appId: v.optional(v.id("apps")),
    /** All-apps rows: one per (day, shard), the jobs of the apps hashed to that shard (dailyStats.ts). */
    shard: v.optional(v.number()),
    succeeded: v.number(),
    failed: v.number(),
    cancelled: v.number(),
    rows: v.number(),
    durationSumMs: v.number(),
    durationCount: v.number(),
    maxDurationMs: v.optional(v.number()),
  })
    .index("by_app_day", ["appId", "day"])
    .index("by_shard_day", ["shard", "day"])
    .index("by_day", ["day"]),

  /** One row: when `dailyJobStats` began counting; the chart reads jobs that finished before it from `jobs`. */
  dailyJobStatsSince: defineTable({ since: v.number() }),

  /** Bounded per job (MAX_EVENTS_PER_JOB in jobs.ts). */
  jobEvents: defineTable({
    jobId: v.id("jobs"),
    at: v.number(),
    level: eventLevel,
    message: v.string(),
    /** The timeline milestone this event marks (lib/jobEventMark.ts); absent on events written before it. */
    mark: v.optional(jobEventMark),
  })
    .index("by_job", ["jobId", "at"])
    .index("by_at", ["at"]),

  /** Executor callback event ids already applied: a repeat changes nothing. */
  callbackReceipts: defineTable({ eventId: v.string(), kind: v.string(), receivedAt: v.number() })
    .index("by_event", ["eventId"])
    .index("by_received", ["receivedAt"]),

  executors: defineTable({
    ...zodOutputToConvexFields(storedHeartbeat.shape),
    lastHeartbeatAt: v.number(),
  }).index("by_executor", ["executorId"]),

  /** A single row (the newest wins). The SMTP password is AES-GCM ciphertext. */
  emailSettings: defineTable({
    enabled: v.boolean(),
    host: v.string(),
    port: v.number(),
    security: v.union(v.literal("tls"), v.literal("starttls"), v.literal("none")),
    username: v.optional(v.string()),
    passwordCiphertext: v.optional(v.string()),
    from: v.string(),
    recipients: v.array(v.string()),
    notifyOnRecovery: v.boolean(),
    updatedAt: v.number(),
  }),

  /** One row per (job, kind): the dedupe key for alerts. */
  notifications: defineTable({
    jobId: v.optional(v.id("jobs")),
    kind: v.union(v.literal("failure"), v.literal("recovery"), v.literal("test")),
    status: v.union(v.literal("pending"), v.literal("sent"), v.literal("error"), v.literal("skipped")),
    error: v.optional(v.string()),
    at: v.number(),
  })
    .index("by_job_kind", ["jobId", "kind"])
    .index("by_at", ["at"]),

  apiTokens: defineTable({
    name: v.string(),
    /** hex SHA-256 of the token; the token itself is shown once at creation. */
    tokenHash: v.string(),
    /** First characters, for recognising a token in lists. */
    prefix: v.string(),
    createdAt: v.number(),
    createdBy: v.string(),
    lastUsedAt: v.optional(v.number()),
    revokedAt: v.optional(v.number()),
    scope: v.optional(tokenScope),
  }).index("by_hash", ["tokenHash"]),

  /**
   * Refused requests folded into counters (refusals.ts): one row per route, reason, caller and minute, so a flood
   * of bad requests costs a handful of rows instead of one audit row each.
   */
  refusedRequests: defineTable({
    minute: v.number(),
    route: v.string(),
    reason: v.string(),
    /** "anonymous", or the authenticated caller of a refused request (e.g. "token:ci" when rate limited). */
    actor: v.string(),
    count: v.number(),
    lastAt: v.number(),
  })
    .index("by_bucket", ["route", "reason", "actor", "minute"])
    .index("by_minute", ["minute"]),

  /** One-time invites to create an admin account (admins.ts). Only the SHA-256 of the invite token is stored. */
  adminInvites: defineTable({
    email: v.string(),
    tokenHash: v.string(),
    createdAt: v.number(),
    expiresAt: v.number(),
    usedAt: v.optional(v.number()),
  })
    .index("by_hash", ["tokenHash"])
    .index("by_email", ["email"]),

  auditLog: defineTable({
    at: v.number(),
    /** "admin:<email>", "token:<name>", "executor:<id>", "anonymous", "system". */
    actor: v.string(),
    action: v.string(),
    outcome: v.union(v.literal("ok"), v.literal("denied"), v.literal("error"), v.literal("ignored")),
    httpStatus: v.optional(v.number()),
    target: v.optional(v.string()),
    detail: v.optional(v.string()),
  }).index("by_at", ["at"]),

  /** A single row of operational settings; defaults in lib/settings.ts when absent. */
  settings: defineTable({
    retentionDays: v.number(),
    staleJobMinutes: v.number(),
    updatedAt: v.number(),
  }),
});
