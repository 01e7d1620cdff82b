/**
 * Handing jobs to the executor, as job steps: `dispatchJob` POSTs the contract's JobPayload to
 * {EXECUTOR_URL}/jobs through the executor client (lib/executorClient.ts) and `recordDispatch` acts on the answer:
 * transient failures (unreachable, timeout, 408/429/5xx) retry with exponential backoff and jitter up to
 * DISPATCH_MAX_TRIES; anything else fails the job at once. `sendCancel` sends cancel requests for jobs the
 * executor holds, retried the same way up to CANCEL_MAX_TRIES.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
import { internalAction, internalMutation, type ActionCtx } from "./_generated/server";
import {
  CONTRACT_VERSION,
  executorJobStatus,
  executorRoutes,
  incrementalJobPayload,
  snapshotJobPayload,
  type CancelRequest,
  type JobPayload,
} from "./contract/executor";
import { appendEvent, failAttempt, jobForStep, transitionJob } from "./jobs";
import { backoffDelay } from "./contract/backoff";
import { DISPATCH_BACKOFF, DISPATCH_MAX_TRIES } from "./lib/backoff";
import { scheduleStep, stepArgs } from "./lib/jobSteps";
import { decryptSecret } from "./lib/crypto";
import { feedGate } from "./feeds";
import { INCREMENTAL_ATTEMPT_DEADLINE_MS, type JobKind } from "./lib/jobKind";
import { listTables, type SourceDeployment } from "./lib/sourceDeployment";
import { executorConfig } from "./lib/executorConfig";
import {
  acceptedForAttempt,
  postOutcomeValidator,
  postToExecutor,
  type PostOutcome,
} from "./lib/executorClient";

/** How long one snapshot attempt may take on the executor before the watchdog gives up on it. */
export const ATTEMPT_DEADLINE_MS = 12 * 60 * 60_000;
export const CANCEL_MAX_TRIES = 5;

export function attemptDeadlineMs(kind: JobKind | undefined): number {
  return kind === "incremental" ? INCREMENTAL_ATTEMPT_DEADLINE_MS : ATTEMPT_DEADLINE_MS;
}

/** The status a job is dispatched from: after its export, or (incremental: no export) from the queue. */
export function dispatchedFrom(kind: JobKind | undefined): "queued" | "exporting" {
  return kind === "incremental" ? "queued" : "exporting";
}

/**
 * The contract's payload for the job's current attempt. Incremental: `sourceTables` lists the source's tables
 * (null: not listed), so the executor can tell tables dropped in the source. Snapshot: the export's snapshot, and
 * the feed cursor minted at it when the job starts the feed.
 */
export function buildPayload(
  job: Doc<"jobs">,
  app: Doc<"apps">,
  deployKey: string,
  deadline: number,
  sourceTables: string[] | null = null,
): JobPayload {
  const base = {
    contractVersion: CONTRACT_VERSION,
    jobId: job._id,
    attempt: job.attempt,
    app: { slug: app.slug, name: app.name },
    source: { deploymentUrl: app.deploymentUrl, deployKey },
    tables: app.tables,
    targetSchema: app.targetSchema,
    deadline,
  };
  if (job.kind === "incremental")
    return incrementalJobPayload.parse({ ...base, kind: "incremental", incremental: { sourceTables } });
  if (!job.export?.snapshotTs) throw new Error(`job ${job._id} has no snapshot to dispatch`);
  return snapshotJobPayload.parse({
    ...base,
    kind: "snapshot",
    snapshot: {
      snapshotTs: job.export.snapshotTs,
      ...(job.export.exportId ? { exportId: job.export.exportId } : {}),
      includeStorage: app.includeStorage,
    },
    ...(job.feedStart?.cursor ? { feedStart: { cursor: job.feedStart.cursor } } : {}),
  });
}

/** The source's tables for drop detection; null (and a warning on the job) when they cannot be listed. */
async function sourceTablesOf(ctx: ActionCtx, job: Doc<"jobs">, source: SourceDeployment) {
  try {
    return await listTables(source);
  } catch (error) {
    await ctx.runMutation(internal.jobs.logEvent, {
      jobId: job._id,
      level: "warn",
      message: `could not list the source's tables (${error instanceof Error ? error.message : String(error)}); this run cannot notice tables dropped in the source`,
    });
    return null;
  }
}

export const dispatchJob = internalAction({
  args: { ...stepArgs, tryNumber: v.number() },
  handler: async (ctx, args): Promise<null> => {
    const step = await ctx.runQuery(internal.jobQueries.stepContext, args);
    if (!step || step.job.cancelRequested) return null;
    const kind = step.job.kind;
    if (step.job.status !== dispatchedFrom(kind)) return null;
    if (kind === "incremental" && args.tryNumber === 1 && !(await feedGate(ctx, step.job, step.app)))
      return null;
    let outcome: PostOutcome;
    const deadline = Date.now() + attemptDeadlineMs(kind);
    try {
      const config = executorConfig();
      const source = {
        url: step.app.deploymentUrl,
        deployKey: await decryptSecret(step.app.deployKeyCiphertext),
        allowInsecureHttp: step.app.allowInsecureHttp ?? false,
      };
      const sourceTables = kind === "incremental" ? await sourceTablesOf(ctx, step.job, source) : null;
      const payload = buildPayload(step.job, step.app, source.deployKey, deadline, sourceTables);
      outcome = acceptedForAttempt(
        await postToExecutor(config, executorRoutes.jobs, JSON.stringify(payload)),
        step.job.attempt,
      );
    } catch (error) {
      outcome = { kind: "permanent", message: error instanceof Error ? error.message : String(error) };
    }
    await ctx.runMutation(internal.dispatch.recordDispatch, { ...args, outcome, deadline });
    return null;
  },
});

export const recordDispatch = internalMutation({
  args: { ...stepArgs, tryNumber: v.number(), outcome: postOutcomeValidator, deadline: v.number() },
  handler: async (ctx, args): Promise<null> => {
    const { outcome } = args;
    const kind = (await ctx.db.get(args.jobId))?.kind;
    const job = await jobForStep(ctx, args.jobId, args.attempt, dispatchedFrom(kind));
    if (!job) {
      // Cancelled while the POST was in flight: the executor may hold the job now, so tell it.
      const current = await ctx.db.get(args.jobId);
      if (outcome.kind === "ok" && current?.attempt === args.attempt && current.status === "cancelled")
        await ctx.scheduler.runAfter(0, internal.dispatch.sendCancel, {
          jobId: args.jobId,
          attempt: args.attempt,
          tryNumber: 1,
        });
      return null;
    }
    if (outcome.kind === "ok") {
      await transitionJob(
        ctx,
        job,
        "dispatched",
        { dispatchAttempts: args.tryNumber, nextDispatchAt: undefined, attemptDeadline: args.deadline },
        { level: "info", message: `dispatched to the executor (try ${args.tryNumber})` },
      );
      return null;
    }
    if (outcome.kind === "transient" && args.tryNumber < DISPATCH_MAX_TRIES) {
      const delay = backoffDelay(args.tryNumber, DISPATCH_BACKOFF);
      const now = Date.now();
      await ctx.db.patch(job._id, {
        dispatchAttempts: args.tryNumber,
        nextDispatchAt: now + delay,
        lastSignOfLifeAt: now + delay,
        updatedAt: now,
      });
      await appendEvent(
        ctx,
        job._id,
        "warn",
        `dispatch try ${args.tryNumber} of ${DISPATCH_MAX_TRIES}: ${outcome.message}; retrying in ${Math.round(delay / 1000)} s`,
      );
      await scheduleStep(ctx, job._id, delay, internal.dispatch.dispatchJob, {
        jobId: job._id,
        attempt: job.attempt,
        tryNumber: args.tryNumber + 1,
      });
      return null;
    }
    await ctx.db.patch(job._id, { dispatchAttempts: args.tryNumber });
    await failAttempt(ctx, job, {
      message:
        outcome.kind === "transient"
          ? `dispatch gave up after ${args.tryNumber} tries: ${outcome.message}`
          : `dispatch refused: ${outcome.message}`,
      code: outcome.kind === "transient" ? "dispatch_unreachable" : "dispatch_refused",
      retryable: outcome.kind === "transient",
    });
    return null;
  },
});

export const sendCancel = internalAction({
  args: { ...stepArgs, tryNumber: v.number() },
  handler: async (ctx, args): Promise<null> => {
    const step = await ctx.runQuery(internal.jobQueries.stepContext, args);
    // A cancelled job still gets the request (it may have been cancelled while being dispatched).
    if (!step || step.job.status === "succeeded" || step.job.status === "failed") return null;
    const request: CancelRequest = {
      jobId: step.job._id,
      ...(step.job.cancelRequested?.reason ? { reason: step.job.cancelRequested.reason } : {}),
    };
    let outcome: PostOutcome;
    try {
      outcome = await postToExecutor(
        executorConfig(),
        executorRoutes.cancel(step.job._id),
        JSON.stringify(request),
      );
    } catch (error) {
      outcome = { kind: "permanent", message: error instanceof Error ? error.message : String(error) };
    }
    if (outcome.kind === "ok") {
      const status = executorJobStatus.safeParse(outcome.body);
      // The executor may finish the cancel later; it then reports completion with outcome "cancelled".
      if (status.success && status.data.state === "cancelled")
        await ctx.runMutation(internal.jobs.markCancelled, {
          jobId: args.jobId,
          attempt: args.attempt,
          message: "cancelled; the executor confirmed",
        });
      else
        await ctx.runMutation(internal.jobs.logEvent, {
          jobId: args.jobId,
          level: "info",
          message: "the executor accepted the cancel request",
        });
      return null;
    }
    // 404: the executor does not know the job (never received it or lost it): nothing can change the warehouse.
    if (outcome.kind === "permanent" && outcome.status === 404) {
      await ctx.runMutation(internal.jobs.markCancelled, {
        jobId: args.jobId,
        attempt: args.attempt,
        message: "cancelled; the executor does not hold the job",
      });
      return null;
    }
    const retry = outcome.kind === "transient" && args.tryNumber < CANCEL_MAX_TRIES;
    await ctx.runMutation(internal.jobs.logEvent, {
      jobId: args.jobId,
      level: "warn",
      message: `cancel request failed: ${outcome.message}${retry ? "; retrying" : ""}`,
    });
    if (retry)
      await ctx.scheduler.runAfter(
        backoffDelay(args.tryNumber, DISPATCH_BACKOFF),
        internal.dispatch.sendCancel,
        {
          ...args,
          tryNumber: args.tryNumber + 1,
        },
      );
    return null;
  },
});
