/**
 * Snapshot exports on the source deployment: request one, then follow it to `completed` with scheduled
 * re-checks (never a blocking loop), then hand the job to dispatch. See docs/reference/convex-export.md §2.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
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
      // Ours completed: start the feed at its snapshot now, before anything else can change the source.
      else if (state.state === "completed" && step.job.feedStart && !step.job.feedStart.cursor)
        feedStart = await mintFeedStart(source, state.startTs, step.app.tables);
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

const mintedFeedStart = v.object({
  ts: v.string(),
  cursor: v.optional(v.string()),
  error: v.optional(v.string()),
  /** The source refused the feed itself (plan, permission): the app's feed is unavailable. */
  unavailable: v.optional(v.boolean()),
});
type MintedFeedStart = typeof mintedFeedStart.type;

/** cursor_from_deltas at the snapshot's timestamp, or why not (the snapshot then loads without starting the feed). */
async function mintFeedStart(
  source: SourceDeployment,
  ts: string,
  tables: string[] | null,
): Promise<MintedFeedStart> {
  try {
    return { ts, cursor: await cursorFromSnapshot(source, ts, tables) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const refused =
      error instanceof SourceDeploymentError &&
      (error.kind === "missing_permission" ||
        (error.kind === "feed_unavailable" && message === FEED_REASONS.plan));
    return { ts, error: message.slice(0, 1000), ...(refused ? { unavailable: true } : {}) };
  }
}

export const exportStateValidator = v.union(
  v.object({ state: v.literal("none") }),
  v.object({
    state: v.union(v.literal("requested"), v.literal("in_progress")),
    progress: v.optional(v.string()),
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
    /** Ours completed and the job starts the feed: the cursor minted at its snapshot, or why not. */
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
      await ctx.db.patch(job._id, {
        export: { ...exp, snapshotTs: s.startTs, exportId: s.exportId, progress: undefined },
        lastSignOfLifeAt: now,
        updatedAt: now,
      });
      await appendEvent(ctx, job._id, "info", `snapshot ready (start_ts ${s.startTs})`, {
        kind: "exportReady",
      });
      if (job.feedStart && args.feedStart) await recordMintedFeedStart(ctx, job, args.feedStart);
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
    await scheduleStep(ctx, args.jobId, checkDelay(args.check + 1), internal.exports.checkExport, {
      jobId: args.jobId,
      attempt: args.attempt,
      check: args.check + 1,
    });
    return null;
  },
});

/** Keeps the minted cursor on the job for dispatch; a refusal of the feed itself marks the app's feed unavailable. */
async function recordMintedFeedStart(ctx: MutationCtx, job: Doc<"jobs">, minted: MintedFeedStart) {
  const { unavailable, ...feedStart } = minted;
  await ctx.db.patch(job._id, { feedStart });
  if (feedStart.cursor) {
    await appendEvent(ctx, job._id, "info", `change feed cursor minted at the snapshot (${feedStart.ts})`);
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
