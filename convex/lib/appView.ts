/**
 * What a client may see of an app (apps.list / apps.get): never the key's ciphertext; the sync mode as it takes
 * effect, and what is known of its change feed (availability and why, position, a pending full snapshot).
 */
import { v } from "convex/values";
import type { Doc } from "../_generated/dataModel";
import schema, { jobKind, jobStatus, syncMode } from "../schema";
import { effectiveSyncMode } from "./jobKind";

/**
 * The app's newest job. `status` and `at` (its last transition) come from the app row; the job's own figures
 * are absent when it has been pruned (retention) or, for `durationMs`, while it is still running.
 */
export const lastJobView = v.object({
  id: v.id("jobs"),
  status: jobStatus,
  at: v.number(),
  createdAt: v.optional(v.number()),
  durationMs: v.optional(v.number()),
  totalRows: v.optional(v.number()),
  /** Absent on jobs from before incremental sync: snapshot. */
  kind: v.optional(jobKind),
});
export type LastJobView = typeof lastJobView.type;

/**
 * The apps table's fields without the key's ciphertext (its masked hint stays), with the last-job pointers read
 * into `lastJob`.
 */
export const appView = schema.tables.apps.validator
  .omit("deployKeyCiphertext", "allowInsecureHttp", "lastJobId", "lastJobStatus", "lastJobAt", "syncMode")
  .extend({
    id: v.id("apps"),
    allowInsecureHttp: v.boolean(),
    /** Absent on apps from before sync modes: shown as the snapshot mode they keep. */
    syncMode,
    lastJob: v.union(lastJobView, v.null()),
    nextRuns: v.array(v.number()),
  });
export type AppView = typeof appView.type;

export function toAppView(app: Doc<"apps">, nextRuns: number[], lastJob: Doc<"jobs"> | null): AppView {
  return {
    id: app._id,
    name: app.name,
    slug: app.slug,
    deploymentUrl: app.deploymentUrl,
    allowInsecureHttp: app.allowInsecureHttp ?? false,
    deployKeyHint: app.deployKeyHint,
    tables: app.tables,
    targetSchema: app.targetSchema,
    schedule: app.schedule,
    enabled: app.enabled,
    retry: app.retry,
    includeStorage: app.includeStorage,
    syncMode: effectiveSyncMode(app),
    ...(app.feed ? { feed: app.feed } : {}),
    createdAt: app.createdAt,
    updatedAt: app.updatedAt,
    lastJob: toLastJobView(app, lastJob),
    failureStreak: app.failureStreak,
    nextRuns,
  };
}

function toLastJobView(app: Doc<"apps">, job: Doc<"jobs"> | null): LastJobView | null {
  if (!app.lastJobId || !app.lastJobStatus || !app.lastJobAt) return null;
  const view: LastJobView = { id: app.lastJobId, status: app.lastJobStatus, at: app.lastJobAt };
  if (!job) return view;
  return {
    ...view,
    createdAt: job.createdAt,
    ...(job.durationMs !== undefined ? { durationMs: job.durationMs } : {}),
    ...(job.totalRows !== undefined ? { totalRows: job.totalRows } : {}),
    kind: job.kind ?? "snapshot",
  };
}
