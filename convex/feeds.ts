/**
 * What the control plane knows of each app's change feed (`apps.feed`, schema.ts `appFeed`) and how jobs act on
 * it (docs/incremental.md): probing availability (at app save, and when a job needs the feed and the last verdict
 * is unknown or a day old), settling a job whose feed turned out unavailable, and moving the feed position with
 * what the executor reports (an incremental run's position, a snapshot's stored feed start, a fallback to a
 * full snapshot).
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalAction, internalMutation, type ActionCtx, type MutationCtx } from "./_generated/server";
import type { FeedStartResult, IncrementalFigures } from "./contract/executor";
import { AppDisabledError, appendEvent, failAttempt, jobForStep, scheduleFirstStep, startJob } from "./jobs";
import { decryptSecret } from "./lib/crypto";
import { effectiveSyncMode, feedProbeDue, isLaterPosition } from "./lib/jobKind";
import { FEED_REASONS, probeFeed, type FeedProbe } from "./lib/sourceFeed";
import type { AppFeed, SyncMode } from "./schema";

export const feedProbeValidator = v.union(
  v.object({ available: v.literal(true) }),
  v.object({ available: v.literal(false), code: v.string(), reason: v.string() }),
);

/** The app's feed state after a probe's verdict; the position is kept (the warehouse still holds it). */
export function withProbe(feed: AppFeed | undefined, probe: FeedProbe, now: number): AppFeed {
  const { reason: _old, ...rest } = feed ?? { availability: "unknown" as const };
  return probe.available
    ? { ...rest, availability: "available", checkedAt: now }
    : { ...rest, availability: "unavailable", reason: probe.reason, checkedAt: now };
}

/** Probes an app's source; null when the source did not answer about the feed (unreachable, 5xx). */
async function probeApp(app: Doc<"apps">): Promise<FeedProbe | null> {
  try {
    return await probeFeed({
      url: app.deploymentUrl,
      deployKey: await decryptSecret(app.deployKeyCiphertext),
      allowInsecureHttp: app.allowInsecureHttp ?? false,
    });
  } catch {
    return null;
  }
}

export const storeProbe = internalMutation({
  args: { appId: v.id("apps"), probe: feedProbeValidator },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.db.get(args.appId);
    if (app) await ctx.db.patch(app._id, { feed: withProbe(app.feed, args.probe, Date.now()) });
    return null;
  },
});

/** Scheduled after an app is saved in a mode that may use the feed: asks the source and stores the verdict. */
export const probeAndStore = internalAction({
  args: { appId: v.id("apps") },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.runQuery(internal.apps.getWithSecret, { appId: args.appId });
    if (!app || effectiveSyncMode(app) === "snapshot") return null;
    const probe = await probeApp(app);
    if (probe) await ctx.runMutation(internal.feeds.storeProbe, { appId: app._id, probe });
    return null;
  },
});

// ---- app saves ----

/** The feed's availability when an app is saved; unknown (asked again by its first job) if the probe failed. */
export async function feedOnSave(source: {
  url: string;
  deployKey: string;
  allowInsecureHttp: boolean;
}): Promise<AppFeed> {
  try {
    return withProbe(undefined, await probeFeed(source), Date.now());
  } catch {
    return { availability: "unknown" };
  }
}

/**
 * The warehouse's feed position belongs to the target schema and table selection it was started with: changing
 * either means the next incremental run would continue a feed the warehouse does not hold, so a full snapshot.
 */
export function feedAfterUpdate(
  app: Doc<"apps">,
  fields: { targetSchema: string; tables: string[] | null },
): AppFeed | undefined {
  if (!app.feed?.position) return undefined;
  const why =
    fields.targetSchema !== app.targetSchema
      ? "the target schema changed"
      : JSON.stringify(fields.tables) !== JSON.stringify(app.tables)
        ? "the table selection changed"
        : undefined;
  if (!why) return undefined;
  const { position: _cleared, ...feed } = app.feed;
  return { ...feed, needsSnapshot: why };
}

/** An app saved in a mode that may use the feed, with no recent verdict: ask the source in the background. */
export async function probeFeedLater(
  ctx: MutationCtx,
  app: { _id: Id<"apps">; syncMode?: SyncMode; feed?: AppFeed },
) {
  if (effectiveSyncMode(app) !== "snapshot" && feedProbeDue(app.feed, Date.now()))
    await ctx.scheduler.runAfter(0, internal.feeds.probeAndStore, { appId: app._id });
}

// ---- jobs ----

/** A job relies on the feed: an incremental run, or a snapshot that starts the feed. */
export function wantsFeed(job: Doc<"jobs">): boolean {
  return job.kind === "incremental" || job.feedStart !== undefined;
}

/**
 * The first step of a job that relies on the feed (exports.ts startExport, dispatch.ts dispatchJob) asks this
 * before its own work: probes when due, then `settleJobFeed`. False: the job was failed or re-planned; stop.
 */
export async function feedGate(ctx: ActionCtx, job: Doc<"jobs">, app: Doc<"apps">): Promise<boolean> {
  if (!wantsFeed(job)) return true;
  const probe = feedProbeDue(app.feed, Date.now()) ? await probeApp(app) : null;
  const verdict = await ctx.runMutation(internal.feeds.settleJobFeed, {
    jobId: job._id,
    attempt: job.attempt,
    ...(probe ? { probe } : {}),
  });
  return verdict === "continue";
}

/**
 * Stores a probe's verdict and decides for a queued job that relies on the feed. Feed unavailable: in auto mode
 * the job becomes a plain snapshot (an incremental one re-planned to export first); in incremental mode it fails,
 * not retryably, naming the reason — the mode promised the feed, so a silent snapshot would hide the problem.
 */
export const settleJobFeed = internalMutation({
  args: { jobId: v.id("jobs"), attempt: v.number(), probe: v.optional(feedProbeValidator) },
  handler: async (ctx, args): Promise<"continue" | "stop"> => {
    const job = await jobForStep(ctx, args.jobId, args.attempt, "queued");
    const app = job && (await ctx.db.get(job.appId));
    if (!job || !app) return "stop";
    const feed = args.probe ? withProbe(app.feed, args.probe, Date.now()) : app.feed;
    if (args.probe) await ctx.db.patch(app._id, { feed });
    if (!wantsFeed(job)) return "continue";
    const mode = effectiveSyncMode(app);
    // Switched to snapshot mode since the job was queued: it loads a plain snapshot.
    if (mode === "snapshot") return replanAsSnapshot(ctx, job, app, "the app is now in snapshot mode");
    if (feed?.availability !== "unavailable") return "continue";
    const reason = feed.reason ?? "the change feed is unavailable";
    if (mode === "incremental") {
      await failAttempt(ctx, job, {
        message:
          `incremental sync is not possible: ${reason}. Switch the app's sync mode to auto (snapshots while ` +
          `the feed is unavailable) or snapshot`,
        code: "feed_unavailable",
        retryable: false,
      });
      return "stop";
    }
    return replanAsSnapshot(ctx, job, app, `auto → snapshot: ${reason}`);
  },
});

/** The job loads a plain snapshot instead; an incremental one goes back to its export first. */
async function replanAsSnapshot(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  app: Doc<"apps">,
  kindReason: string,
): Promise<"continue" | "stop"> {
  await ctx.db.patch(job._id, {
    kind: "snapshot",
    kindReason,
    feedStart: undefined,
    maxAttempts: app.retry.maxAttempts,
  });
  await appendEvent(ctx, job._id, "warn", kindReason);
  if (job.kind !== "incremental") return "continue";
  await scheduleFirstStep(ctx, job._id, "snapshot", job.attempt, 0);
  return "stop";
}

async function patchFeed(ctx: MutationCtx, appId: Id<"apps">, change: Partial<AppFeed>): Promise<void> {
  const app = await ctx.db.get(appId);
  if (!app) return;
  // Apps that never used the feed keep none: clearing what they do not have changes nothing.
  if (!app.feed && Object.values(change).every((value) => value === undefined)) return;
  const merged: Record<string, unknown> = { ...(app.feed ?? { availability: "unknown" }), ...change };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  await ctx.db.patch(app._id, { feed: merged as AppFeed });
}

/** An incremental run's completion (any outcome): the position moves forward with the steps it committed. */
export async function recordIncrementalRun(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  figures: IncrementalFigures,
): Promise<void> {
  const app = await ctx.db.get(job.appId);
  if (!app || figures.outcome === "needsSnapshot" || figures.position === null) return;
  if (!isLaterPosition(figures.position, app.feed?.position?.ts)) return;
  await patchFeed(ctx, app._id, { position: { ts: figures.position, appliedAt: Date.now() } });
}

/** Executor error codes (executor/src/service/incrementalErrors.ts) that mean the source refuses the feed itself. */
const FEED_REFUSALS: Record<string, string> = {
  feed_not_enabled: FEED_REASONS.plan,
  feed_permission: FEED_REASONS.permission,
};

/**
 * An incremental run failed because the source refuses the feed (the plan changed, the key lost its permission):
 * the app's feed is unavailable from now on, so auto falls back to snapshots at once and incremental mode says why,
 * instead of failing every minute until the next daily probe.
 */
export async function recordFeedRefusal(ctx: MutationCtx, job: Doc<"jobs">, code: string | undefined) {
  const reason = code === undefined ? undefined : FEED_REFUSALS[code];
  if (job.kind !== "incremental" || reason === undefined) return;
  await patchFeed(ctx, job.appId, { availability: "unavailable", reason, checkedAt: Date.now() });
}

/**
 * The feed cannot continue (expired position, dropped tables, a snapshot loaded since…): the position is cleared
 * and a full snapshot starts at once, with the finished job's trigger. Call once the job is final (one active job
 * per app).
 */
export async function startFullSnapshot(ctx: MutationCtx, job: Doc<"jobs">, reason: string): Promise<void> {
  await patchFeed(ctx, job.appId, { position: undefined, needsSnapshot: reason });
  const app = await ctx.db.get(job.appId);
  // A cancelled run starts nothing: the next sync, whenever it comes, is the full snapshot.
  if (!app || job.status === "cancelled") return;
  try {
    const started = await startJob(ctx, app, job.trigger, job.triggeredBy);
    await appendEvent(
      ctx,
      job._id,
      "warn",
      `the change feed needs a full snapshot (${reason}): ${started.created ? "started" : "already active"} snapshot job ${started.jobId}`,
    );
  } catch (error) {
    if (!(error instanceof AppDisabledError)) throw error;
    await appendEvent(
      ctx,
      job._id,
      "warn",
      `the change feed needs a full snapshot (${reason}); not started: the app is disabled`,
    );
  }
}

/**
 * A snapshot job succeeded. One that started the feed and had the executor store its cursor leaves the warehouse
 * at the snapshot's timestamp: incremental runs continue from there. Any other snapshot reloaded the warehouse
 * without a feed position (the executor's snapshot import makes an older one unusable), so the position is cleared.
 */
export async function recordSnapshotLoad(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  result: FeedStartResult | undefined,
): Promise<void> {
  if (job.feedStart === undefined) {
    await patchFeed(ctx, job.appId, { position: undefined });
    return;
  }
  if (result?.stored) {
    await patchFeed(ctx, job.appId, {
      position: { ts: result.position, appliedAt: Date.now() },
      needsSnapshot: undefined,
      storeFailures: undefined,
    });
    await appendEvent(ctx, job._id, "info", `change feed started at the snapshot (${result.position})`);
    const detached = result.detachedTables ?? [];
    if (detached.length > 0)
      await appendEvent(
        ctx,
        job._id,
        "info",
        `warehouse tables this snapshot did not load (dropped in the source, or outside the app's table ` +
          `selection) are kept as they were; the change feed does not maintain them: ${detached.join(", ")}`,
      );
    return;
  }
  const why =
    result?.error ??
    job.feedStart.error ??
    (job.feedStart.cursor || job.feedStart.minted
      ? "the executor did not report storing the feed position"
      : "no feed cursor was minted");
  await patchFeed(ctx, job.appId, {
    position: undefined,
    needsSnapshot: `the last snapshot could not start the change feed: ${why}`,
  });
  await appendEvent(ctx, job._id, "warn", `the change feed was not started: ${why}`);
  if (result && !result.stored) await countStoreFailure(ctx, job, why);
}

/** Consecutive snapshots whose feed position the warehouse could not store before the feed counts as unavailable. */
export const FEED_START_MAX_FAILURES = 3;

/**
 * The executor loaded a snapshot but could not store its feed position. Each such job would start the feed again
 * with another full snapshot, forever; after FEED_START_MAX_FAILURES in a row the feed is marked unavailable with
 * the reason: auto then loads plain snapshots (the feed is asked again after FEED_PROBE_MAX_AGE_MS), incremental
 * mode fails its next job naming it (feeds.ts settleJobFeed).
 */
async function countStoreFailure(ctx: MutationCtx, job: Doc<"jobs">, why: string): Promise<void> {
  const app = await ctx.db.get(job.appId);
  if (!app) return;
  const failures = (app.feed?.storeFailures ?? 0) + 1;
  if (failures < FEED_START_MAX_FAILURES) {
    await patchFeed(ctx, app._id, { storeFailures: failures });
    return;
  }
  const reason =
    `the warehouse could not store the change feed's position after ${failures} snapshots in a row ` +
    `(last: ${why.slice(0, 500)})`;
  await patchFeed(ctx, app._id, {
    availability: "unavailable",
    reason,
    checkedAt: Date.now(),
    storeFailures: undefined,
  });
  await appendEvent(
    ctx,
    job._id,
    "error",
    effectiveSyncMode(app) === "incremental"
      ? `${reason}: incremental sync stops here; its next run fails until this is fixed (or switch the app to auto)`
      : `${reason}: the app syncs by plain snapshots and asks about the feed again in a day`,
  );
}
