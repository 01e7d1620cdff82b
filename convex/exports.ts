/**
 * Snapshot exports on the source deployment: request one, then follow it to `completed` with scheduled
 * re-checks (never a blocking loop), then hand the job to dispatch. See docs/reference/convex-export.md §2.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalAction, internalMutation, type MutationCtx } from "./_generated/server";
import { appendEvent, failAttempt, jobForStep, transitionJob } from "./jobs";
import { scheduleStep, stepArgs } from "./lib/jobSteps";
import { decryptSecret } from "./lib/crypto";
import {
  latestExport,
  nsToMs,
  requestExport,
  type ExportState,
  type SourceDeployment,
} from "./lib/sourceDeployment";
import { SourceDeploymentError } from "./lib/sourceError";
import { cursorFromSnapshot, FEED_REASONS } from "./lib/sourceFeed";
import { feedGate } from "./feeds";

export const FIRST_CHECK_DELAY_MS = 5_000;
export const MAX_CHECK_DELAY_MS = 60_000;
/** Give up on one export after this long (the attempt fails, retryably). */
export const MAX_EXPORT_WAIT_MS = 6 * 60 * 60_000;
/** A completed export must stay downloadable this long for the executor to fetch it. */
export const MIN_EXPORT_LIFETIME_MS = 30 * 60_000;

/** Shown while another export (that getLatest may not even show) keeps ours from starting. */
export const WAITING_FOR_OTHER_EXPORT =
  "waiting: another export is running on the source (a dashboard or scheduled backup, or another snapshot " +
  "export); ours is requested again when it ends";

/**
 * No export, or only one that ended before we asked: not ours. `_system/cli/exports:getLatest` shows only
 * snapshot exports, so a dashboard or scheduled backup that refused our request (ExportInProgress) leaves an
 * older snapshot export here until ours is accepted.
 */
export function isStale(state: ExportState, requestedAt: number): boolean {
  const before = (ns: string | undefined) => ns !== undefined && nsToMs(ns) < requestedAt - 1_000;
  switch (state.state) {
    case "none":
      return true;
    case "completed":
      return before(state.completeTs);
    case "failed":
    case "canceled":
      return before(state.endedTs);
    default:
      return false;
  }
}

export function checkDelay(check: number): number {
  return Math.min(MAX_CHECK_DELAY_MS, Math.round(FIRST_CHECK_DELAY_MS * 1.5 ** Math.max(0, check - 1)));
}

function errorOf(error: unknown, code: string): { message: string; code: string; retryable: boolean } {
  if (error instanceof SourceDeploymentError)
    return { message: error.message, code: `source_${error.kind}`, retryable: error.retryable };
  return { message: error instanceof Error ? error.message : String(error), code, retryable: true };
}

export const startExport = internalAction({
  args: stepArgs,
  handler: async (ctx, args): Promise<null> => {
    const step = await ctx.runQuery(internal.jobQueries.stepContext, args);
    if (!step || step.job.status !== "queued") return null;
    if (!(await feedGate(ctx, step.job, step.app))) return null;
    try {
      const deployKey = await decryptSecret(step.app.deployKeyCiphertext);
      const result = await requestExport(
        { url: step.app.deploymentUrl, deployKey, allowInsecureHttp: step.app.allowInsecureHttp ?? false },
        step.app.includeStorage,
      );
      await ctx.runMutation(internal.exports.exportRequested, {
        ...args,
        alreadyRunning: result === "in_progress",
      });
    } catch (error) {
      await ctx.runMutation(internal.exports.attemptFailed, {
        ...args,
        error: errorOf(error, "export_request"),
      });
    }
    return null;
  },
});

export const exportRequested = internalMutation({
  args: { ...stepArgs, alreadyRunning: v.boolean() },
  handler: async (ctx, args): Promise<null> => {
    const job = await jobForStep(ctx, args.jobId, args.attempt, "queued");
    if (!job) return null;
    const now = Date.now();
    await transitionJob(
      ctx,
      job,
      "exporting",
      { export: { requestedAt: now, checks: 0 } },
      {
        level: "info",
        message: args.alreadyRunning
          ? "another export is running on the source (a dashboard or scheduled backup, or another snapshot " +
            "export): following it, or requesting ours when it ends"
          : "snapshot export requested",
        mark: { kind: "exportRequested" },
      },
    );
    await scheduleStep(ctx, args.jobId, checkDelay(1), internal.exports.checkExport, {
      jobId: args.jobId,
      attempt: args.attempt,
      check: 1,
    });
    return null;
  },
});

export const attemptFailed = internalMutation({
  args: {
    ...stepArgs,
    error: v.object({ message: v.string(), code: v.string(), retryable: v.boolean() }),
  },
  handler: async (ctx, args): Promise<null> => {
    const job = await ctx.db.get(args.jobId);
    if (!job || job.attempt !== args.attempt) return null;
    await failAttempt(ctx, job, args.error);
    return null;
  },
});

export const checkExport = internalAction({
  args: { ...stepArgs, check: v.number() },
  handler: async (ctx, args): Promise<null> => {
    const step = await ctx.runQuery(internal.jobQueries.stepContext, args);
    if (!step || step.job.status !== "exporting" || step.job.cancelRequested) return null;
    let state: ExportState;
    let request: "requested" | "blocked" | undefined;
    let feedStart: MintedFeedStart | undefined;
    try {
      const source = {
        url: step.app.deploymentUrl,
        deployKey: await decryptSecret(step.app.deployKeyCiphertext),
        allowInsecureHttp: step.app.allowInsecureHttp ?? false,
      };
      state = await latestExport(source);
      // Nothing of ours yet: our request was refused as ExportInProgress. Ask again; the check interval
      // (at most a minute) paces the requests.
      if (isStale(state, step.job.export?.requestedAt ?? 0))
        request =
          (await requestExport(source, step.app.includeStorage)) === "requested" ? "requested" : "blocked";
      else {
        const at = mintAt(step.job.feedStart, state);
        if (at) feedStart = await mintFeedStart(source, at, step.app.tables);
      }
    } catch (error) {
      const failure = errorOf(error, "export_check");
      // A blip while polling is not worth an attempt: keep checking until the wait limit.
      if (failure.retryable) state = { state: "requested", progress: `check failed: ${failure.message}` };
      else {
        await ctx.runMutation(internal.exports.attemptFailed, {
          jobId: args.jobId,
          attempt: args.attempt,
          error: failure,
        });
        return null;
      }
    }
    await ctx.runMutation(internal.exports.recordCheck, {
      ...args,
      state,
      ...(request ? { request } : {}),
      ...(feedStart ? { feedStart } : {}),
    });
    return null;
  },
});

/** Transient minting failures (unreachable, 5xx) retried at the following export checks before giving up. */
export const MAX_MINT_TRIES = 5;

/**
 * Where a job that starts the feed mints its cursor, or undefined (not now). As soon as the export is seen
 * in_progress, at its `start_ts`: `cursor_from_deltas` takes the set of tables from the source's latest snapshot
 * when it is called (crates/streaming_export/src/lib.rs `data_sync_cursor_from_deltas`), not at the timestamp, so
 * a table replaced (`npx convex import`) between that timestamp and the call would never get its truncate: the
 * sooner the call, the smaller that window. The in_progress `start_ts` is at or before the snapshot the export
 * takes (lib/sourceDeployment.ts): the feed then replays from a little before the snapshot, which converges to the
 * same rows. Never seen in progress (it went by between two checks): at completion, at the snapshot's timestamp.
 * A cursor minted later than the completed snapshot (not expected) is minted again at the snapshot. Transient
 * failures count against MAX_MINT_TRIES in both states, the last try at completion, which then gives up.
 */
export function mintAt(feedStart: Doc<"jobs">["feedStart"], state: ExportState): string | undefined {
  if (!feedStart || feedStart.error !== undefined) return undefined;
  // In progress, at most MAX_MINT_TRIES - 1 transient failures: the last try is kept for the completed export.
  if (state.state === "in_progress")
    return feedStart.cursor || (feedStart.mintTries ?? 0) >= MAX_MINT_TRIES - 1 ? undefined : state.startTs;
  if (state.state !== "completed") return undefined;
  if (!feedStart.cursor) return state.startTs;
  return feedStart.ts !== undefined && BigInt(feedStart.ts) > BigInt(state.startTs)
    ? state.startTs
    : undefined;
}

const mintedFeedStart = v.object({
  ts: v.string(),
  cursor: v.optional(v.string()),
  error: v.optional(v.string()),
  /** The source refused the feed itself (plan, permission): the app's feed is unavailable. */
  unavailable: v.optional(v.boolean()),
  /** A transient failure (unreachable, 5xx): minting is tried again at the next check. */
  retry: v.optional(v.string()),
});
type MintedFeedStart = typeof mintedFeedStart.type;

/** cursor_from_deltas at `ts`, or why not (the snapshot then loads without starting the feed). */
async function mintFeedStart(
  source: SourceDeployment,
  ts: string,
  tables: string[] | null,
): Promise<MintedFeedStart> {
  try {
    return { ts, cursor: await cursorFromSnapshot(source, ts, tables) };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    if (error instanceof SourceDeploymentError && error.retryable) return { ts, retry: message };
    const refused =
      error instanceof SourceDeploymentError &&
      (error.kind === "missing_permission" ||
        (error.kind === "feed_unavailable" && message === FEED_REASONS.plan));
    return { ts, error: message, ...(refused ? { unavailable: true } : {}) };
  }
}

export const exportStateValidator = v.union(
  v.object({ state: v.literal("none") }),
  v.object({ state: v.literal("requested"), progress: v.optional(v.string()) }),
  v.object({
    state: v.literal("in_progress"),
    progress: v.optional(v.string()),
    startTs: v.optional(v.string()),
  }),
  v.object({
    state: v.literal("completed"),
    exportId: v.string(),
    startTs: v.string(),
    completeTs: v.string(),
    expirationTs: v.optional(v.string()),
  }),
  v.object({
    state: v.union(v.literal("failed"), v.literal("canceled")),
    exportId: v.optional(v.string()),
    endedTs: v.optional(v.string()),
  }),
);

export const recordCheck = internalMutation({
  args: {
    ...stepArgs,
    check: v.number(),
    state: exportStateValidator,
    /** The check found nothing of ours and asked again: accepted, or refused as ExportInProgress. */
    request: v.optional(v.union(v.literal("requested"), v.literal("blocked"))),
    /** The job starts the feed and ours is in progress or completed: the cursor minted, or why not. */
    feedStart: v.optional(mintedFeedStart),
  },
  handler: async (ctx, args): Promise<null> => {
    const job = await jobForStep(ctx, args.jobId, args.attempt, "exporting");
    if (!job?.export) return null;
    const now = Date.now();
    const exp = { ...job.export, checks: args.check, state: args.state.state };
    const s = args.state;
    if (s.state === "completed" && !isStale(s, job.export.requestedAt)) {
      if (s.expirationTs && nsToMs(s.expirationTs) < now + MIN_EXPORT_LIFETIME_MS) {
        await failAttempt(ctx, job, {
          message: "the snapshot export expired before it could be used",
          code: "export_expired",
          retryable: true,
        });
        return null;
      }
      const minted = job.feedStart && args.feedStart;
      if (minted && minted.retry !== undefined && (job.feedStart?.mintTries ?? 0) + 1 < MAX_MINT_TRIES) {
        await mintFailedOnce(ctx, job, minted.retry, "dispatching once it is minted");
        await ctx.db.patch(job._id, { export: exp, lastSignOfLifeAt: now, updatedAt: now });
        await scheduleNextCheck(ctx, args);
        return null;
      }
      await ctx.db.patch(job._id, {
        export: { ...exp, snapshotTs: s.startTs, exportId: s.exportId, progress: undefined },
        lastSignOfLifeAt: now,
        updatedAt: now,
      });
      await appendEvent(ctx, job._id, "info", `snapshot ready (start_ts ${s.startTs})`, {
        kind: "exportReady",
      });
      if (minted) await recordMintedFeedStart(ctx, job, minted, "snapshot");
      await scheduleStep(ctx, job._id, 0, internal.dispatch.dispatchJob, {
        jobId: job._id,
        attempt: job.attempt,
        tryNumber: 1,
      });
      return null;
    }
    if ((s.state === "failed" || s.state === "canceled") && !isStale(s, job.export.requestedAt)) {
      await failAttempt(ctx, job, {
        message: `the source deployment reports the export ${s.state}`,
        code: "export_failed",
        retryable: true,
      });
      return null;
    }
    if (now - job.export.requestedAt > MAX_EXPORT_WAIT_MS) {
      await failAttempt(ctx, job, {
        message: `the export did not complete within ${MAX_EXPORT_WAIT_MS / 3_600_000} h`,
        code: "export_timeout",
        retryable: true,
      });
      return null;
    }
    if (args.request === "requested")
      await appendEvent(ctx, job._id, "info", "snapshot export requested", { kind: "exportRequested" });
    const blocked = args.request === "blocked";
    const progress = blocked
      ? WAITING_FOR_OTHER_EXPORT
      : s.state === "requested" || s.state === "in_progress"
        ? s.progress
        : undefined;
    await ctx.db.patch(job._id, {
      export: { ...exp, ...(blocked ? { state: "waiting" } : {}), progress },
      lastSignOfLifeAt: now,
      updatedAt: now,
    });
    if (job.feedStart && args.feedStart && s.state === "in_progress") {
      if (args.feedStart.retry === undefined) await recordMintedFeedStart(ctx, job, args.feedStart, "start");
      else await mintFailedOnce(ctx, job, args.feedStart.retry, "trying again at the next check");
    }
    await scheduleNextCheck(ctx, args);
    return null;
  },
});

async function scheduleNextCheck(
  ctx: MutationCtx,
  args: { jobId: Id<"jobs">; attempt: number; check: number },
): Promise<void> {
  await scheduleStep(ctx, args.jobId, checkDelay(args.check + 1), internal.exports.checkExport, {
    jobId: args.jobId,
    attempt: args.attempt,
    check: args.check + 1,
  });
}

/** A transient minting failure: counted, said on the job, and tried again at the next check (not an attempt). */
async function mintFailedOnce(ctx: MutationCtx, job: Doc<"jobs">, message: string, then: string) {
  const tries = (job.feedStart?.mintTries ?? 0) + 1;
  await ctx.db.patch(job._id, { feedStart: { ...job.feedStart, mintTries: tries } });
  await appendEvent(
    ctx,
    job._id,
    "warn",
    `could not mint the change feed cursor (try ${tries} of ${MAX_MINT_TRIES}): ${message}; ${then}`,
  );
}

/** Keeps the minted cursor on the job for dispatch; a refusal of the feed itself marks the app's feed unavailable. */
async function recordMintedFeedStart(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  minted: MintedFeedStart,
  where: "start" | "snapshot",
) {
  const { unavailable, retry, ...result } = minted;
  // Minting gave up after MAX_MINT_TRIES transient failures: the snapshot loads without starting the feed.
  const feedStart = {
    ...(job.feedStart?.mintTries !== undefined ? { mintTries: job.feedStart.mintTries } : {}),
    ...result,
    ...(retry !== undefined && !result.cursor
      ? { error: `gave up after ${MAX_MINT_TRIES} tries: ${retry}` }
      : {}),
  };
  await ctx.db.patch(job._id, { feedStart });
  if (feedStart.cursor) {
    const at =
      where === "start"
        ? `the export's start (${feedStart.ts}, at or before its snapshot)`
        : `the snapshot (${feedStart.ts})`;
    await appendEvent(ctx, job._id, "info", `change feed cursor minted at ${at}`);
    return;
  }
  await appendEvent(
    ctx,
    job._id,
    "warn",
    `the change feed could not start at this snapshot: ${feedStart.error}; the snapshot loads without it`,
  );
  const app = await ctx.db.get(job.appId);
  if (unavailable && app && feedStart.error)
    await ctx.db.patch(app._id, {
      feed: {
        ...(app.feed ?? {}),
        availability: "unavailable",
        reason: feedStart.error,
        checkedAt: Date.now(),
      },
    });
}
