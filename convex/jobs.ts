/**
 * A job's lifecycle: start (with the one-active-job rule), transitions through the state machine, retries of
 * failed attempts, cancellation, and the bounded event log. Every write to a job's status goes through
 * {@link transitionJob}.
 */
import { ConvexError, v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, type MutationCtx, type QueryCtx } from "./_generated/server";
import { adminActor, adminMutation } from "./access";
import { recordAudit } from "./audit";
import { countFinishedJob } from "./dailyStats";
import { scheduleAlert } from "./email";
import { backoffDelay } from "./contract/backoff";
import { assertTransition, executorMayHold, isFinal } from "./lib/jobStateMachine";
import { scheduleStep } from "./lib/jobSteps";
import type { JobEventMark } from "./lib/jobEventMark";
import { chooseJobKind, retryPolicyFor, type JobKind } from "./lib/jobKind";
import { conflict, notFound, type UserErrorData } from "./lib/userError";
import type { JobStatus, JobTrigger, StoredJobError } from "./schema";

export const MAX_EVENTS_PER_JOB = 200;
const MAX_EVENT_MESSAGE = 1000;

type EventLevel = "info" | "warn" | "error";

/** Appends to the job's event log, dropping the oldest entry once the log holds MAX_EVENTS_PER_JOB. */
export async function appendEvent(
  ctx: MutationCtx,
  jobId: Id<"jobs">,
  level: EventLevel,
  message: string,
  mark?: JobEventMark,
): Promise<void> {
  const job = await ctx.db.get(jobId);
  if (!job) return;
  if (job.eventCount >= MAX_EVENTS_PER_JOB) {
    const oldest = await ctx.db
      .query("jobEvents")
      .withIndex("by_job", (q) => q.eq("jobId", jobId))
      .first();
    if (oldest) await ctx.db.delete(oldest._id);
  } else {
    await ctx.db.patch(jobId, { eventCount: job.eventCount + 1 });
  }
  await ctx.db.insert("jobEvents", {
    jobId,
    at: Date.now(),
    level,
    message: message.slice(0, MAX_EVENT_MESSAGE),
    ...(mark ? { mark } : {}),
  });
}

export async function activeJobOf(ctx: QueryCtx, appId: Id<"apps">): Promise<Doc<"jobs"> | null> {
  return ctx.db
    .query("jobs")
    .withIndex("by_app_active", (q) => q.eq("appId", appId).eq("active", true))
    .first();
}

export interface StartResult {
  jobId: Id<"jobs">;
  status: JobStatus;
  /** false when the app already had an active job, which is returned instead. */
  created: boolean;
}

/** A user error (code "conflict"), and a class so the HTTP API and schedules can tell it apart. */
export class AppDisabledError extends ConvexError<UserErrorData> {
  constructor(slug: string) {
    super({ code: "conflict", message: `app ${slug} is disabled; enable it first` });
  }
}

/** Starts a sync of `app`, or returns its active job (one active job per app). */
export async function startJob(
  ctx: MutationCtx,
  app: Doc<"apps">,
  trigger: JobTrigger,
  triggeredBy: string,
): Promise<StartResult> {
  const active = await activeJobOf(ctx, app._id);
  if (active) return { jobId: active._id, status: active.status, created: false };
  if (!app.enabled) throw new AppDisabledError(app.slug);
  const now = Date.now();
  const choice = chooseJobKind(app, now);
  const jobId = await ctx.db.insert("jobs", {
    appId: app._id,
    appSlug: app.slug,
    status: "queued",
    active: true,
    trigger,
    triggeredBy,
    kind: choice.kind,
    ...(choice.kindReason ? { kindReason: choice.kindReason } : {}),
    ...(choice.startsFeed ? { feedStart: {} } : {}),
    attempt: 1,
    maxAttempts: retryPolicyFor(choice.kind, app.retry).maxAttempts,
    createdAt: now,
    updatedAt: now,
    lastSignOfLifeAt: now,
    dispatchAttempts: 0,
    tables: [],
    eventCount: 0,
  });
  const kindText = choice.kindReason ?? (choice.kind === "incremental" ? "incremental" : "snapshot");
  await appendEvent(ctx, jobId, "info", `queued (${trigger} by ${triggeredBy}): ${kindText}`);
  await ctx.db.patch(app._id, { lastJobId: jobId, lastJobStatus: "queued", lastJobAt: now });
  await scheduleFirstStep(ctx, jobId, choice.kind, 1, 0);
  return { jobId, status: "queued", created: true };
}

/** An attempt's first step: a snapshot export, or straight to dispatch for an incremental run. */
export async function scheduleFirstStep(
  ctx: MutationCtx,
  jobId: Id<"jobs">,
  kind: JobKind,
  attempt: number,
  delayMs: number,
): Promise<void> {
  if (kind === "incremental")
    await scheduleStep(ctx, jobId, delayMs, internal.dispatch.dispatchJob, { jobId, attempt, tryNumber: 1 });
  else await scheduleStep(ctx, jobId, delayMs, internal.exports.startExport, { jobId, attempt });
}

type JobPatch = Partial<Omit<Doc<"jobs">, "_id" | "_creationTime" | "status" | "active">>;

/**
 * Moves a job to `to` (validated by the state machine), applies `patch`, logs `event`, and runs the
 * side effects of reaching a final state (app summary, failure streak, alert emails).
 */
export async function transitionJob(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  to: JobStatus,
  patch: JobPatch = {},
  event?: { level: EventLevel; message: string; mark?: JobEventMark },
): Promise<Doc<"jobs">> {
  assertTransition(job._id, job.status, to);
  const now = Date.now();
  const final = isFinal(to);
  await ctx.db.patch(job._id, {
    lastSignOfLifeAt: now,
    ...patch,
    status: to,
    active: !final,
    updatedAt: now,
    ...(final ? { finishedAt: now, durationMs: now - job.createdAt } : {}),
  });
  await appendEvent(
    ctx,
    job._id,
    event?.level ?? (to === "failed" ? "error" : "info"),
    event?.message ?? to,
    event?.mark,
  );
  const app = await ctx.db.get(job.appId);
  if (app && app.lastJobId === job._id) {
    await ctx.db.patch(app._id, { lastJobStatus: to, lastJobAt: now });
    if (to === "failed") {
      await ctx.db.patch(app._id, { failureStreak: app.failureStreak + 1 });
      // One alert per streak: an app syncing every minute must not send one per failed minute.
      if (app.failureStreak === 0) await scheduleAlert(ctx, job, "failure");
    } else if (to === "succeeded") {
      if (app.failureStreak > 0) await scheduleAlert(ctx, job, "recovery");
      await ctx.db.patch(app._id, { failureStreak: 0 });
    }
  }
  if (final) await clearFeedCursor(ctx, job._id);
  const updated = await ctx.db.get(job._id);
  if (!updated) throw new Error(`job ${job._id} vanished during a transition`);
  if (final) await countFinishedJob(ctx, updated);
  return updated;
}

/**
 * A final job's minted feed cursor has done its work (the executor stored it, or it never will): it is not kept in
 * plaintext until retention prunes the job. `minted` keeps that one was. (A new attempt starts from `{}`.)
 */
async function clearFeedCursor(ctx: MutationCtx, jobId: Id<"jobs">): Promise<void> {
  const job = await ctx.db.get(jobId);
  if (!job?.feedStart?.cursor) return;
  const { cursor: _cleared, ...rest } = job.feedStart;
  await ctx.db.patch(jobId, { feedStart: { ...rest, minted: true } });
}

/**
 * Ends the current attempt with `error`. With attempts left and a retryable error the job goes back to
 * `queued` and a fresh attempt starts after the app's backoff; otherwise the job fails for good.
 */
export async function failAttempt(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  error: StoredJobError,
): Promise<Doc<"jobs">> {
  if (isFinal(job.status)) return job;
  if (job.cancelRequested)
    return transitionJob(
      ctx,
      job,
      "cancelled",
      { error },
      { level: "warn", message: `cancelled: ${error.message}` },
    );
  const app = await ctx.db.get(job.appId);
  if (error.retryable && job.attempt < job.maxAttempts && app) {
    const kind = job.kind ?? "snapshot";
    const retry = retryPolicyFor(kind, app.retry);
    const delay = backoffDelay(job.attempt, { baseMs: retry.baseDelayMs, maxMs: retry.maxDelayMs });
    const attempt = job.attempt + 1;
    const next = await transitionJob(
      ctx,
      job,
      "queued",
      {
        attempt,
        error,
        dispatchAttempts: 0,
        export: undefined,
        phase: undefined,
        download: undefined,
        tables: [],
        changes: undefined,
        // A new attempt exports again: a cursor minted for the last one's snapshot is of no use.
        ...(job.feedStart ? { feedStart: {} } : {}),
        nextDispatchAt: undefined,
        // The watchdog must not count the backoff as silence.
        lastSignOfLifeAt: Date.now() + delay,
      },
      {
        level: "warn",
        message: `attempt ${job.attempt} failed: ${error.message}; attempt ${attempt} of ${job.maxAttempts} in ${Math.round(delay / 1000)} s`,
        mark: { kind: "attemptFailed" },
      },
    );
    await scheduleFirstStep(ctx, job._id, kind, attempt, delay);
    return next;
  }
  const why = !error.retryable ? "not retryable" : `attempt ${job.attempt} of ${job.maxAttempts}`;
  return transitionJob(
    ctx,
    job,
    "failed",
    { error },
    { level: "error", message: `failed (${why}): ${error.message}` },
  );
}

/** Loads a job for a scheduled step, or null when the step is stale (other attempt, job over, cancel asked). */
export async function jobForStep(
  ctx: MutationCtx,
  jobId: Id<"jobs">,
  attempt: number,
  expected: JobStatus,
): Promise<Doc<"jobs"> | null> {
  const job = await ctx.db.get(jobId);
  if (!job || job.attempt !== attempt || job.status !== expected || job.cancelRequested) return null;
  return job;
}

export const triggerArgs = { appId: v.id("apps") };

/** "Sync now" from the dashboard. Returns the app's active job instead if it has one. */
export const trigger = adminMutation({
  args: triggerArgs,
  handler: async (ctx, args): Promise<StartResult> => {
    const app = await ctx.db.get(args.appId);
    if (!app) throw notFound(`no app ${args.appId}`);
    const actor = adminActor(ctx.admin);
    const result = await startJob(ctx, app, "manual", actor);
    await recordAudit(ctx, {
      actor,
      action: "jobs.trigger",
      outcome: "ok",
      target: app.slug,
      detail: result.created ? `started ${result.jobId}` : `already active ${result.jobId}`,
    });
    return result;
  },
});

export async function requestCancel(
  ctx: MutationCtx,
  job: Doc<"jobs">,
  by: string,
  reason: string | undefined,
): Promise<Doc<"jobs">> {
  if (isFinal(job.status)) throw conflict(`job ${job._id} is already ${job.status}`);
  if (!executorMayHold(job.status))
    return transitionJob(ctx, job, "cancelled", {}, { level: "warn", message: `cancelled by ${by}` });
  if (!job.cancelRequested) {
    await ctx.db.patch(job._id, { cancelRequested: { at: Date.now(), by, ...(reason ? { reason } : {}) } });
    await appendEvent(ctx, job._id, "warn", `cancel requested by ${by}; telling the executor`);
    await ctx.scheduler.runAfter(0, internal.dispatch.sendCancel, {
      jobId: job._id,
      attempt: job.attempt,
      tryNumber: 1,
    });
  }
  return (await ctx.db.get(job._id))!;
}

export const cancelArgs = { jobId: v.id("jobs"), reason: v.optional(v.string()) };

export const cancel = adminMutation({
  args: cancelArgs,
  handler: async (ctx, args): Promise<{ status: JobStatus; cancelRequested: boolean }> => {
    const job = await ctx.db.get(args.jobId);
    if (!job) throw notFound(`no job ${args.jobId}`);
    const actor = adminActor(ctx.admin);
    const updated = await requestCancel(ctx, job, actor, args.reason?.slice(0, 500));
    await recordAudit(ctx, {
      actor,
      action: "jobs.cancel",
      outcome: "ok",
      target: `${job.appSlug}/${job._id}`,
    });
    return { status: updated.status, cancelRequested: updated.cancelRequested !== undefined };
  },
});

/** The executor confirmed it dropped the job (cancel answer or completion outcome "cancelled"). */
export const markCancelled = internalMutation({
  args: { jobId: v.id("jobs"), attempt: v.number(), message: v.string() },
  handler: async (ctx, args): Promise<null> => {
    const job = await ctx.db.get(args.jobId);
    if (!job || job.attempt !== args.attempt || isFinal(job.status)) return null;
    await transitionJob(ctx, job, "cancelled", {}, { level: "warn", message: args.message });
    return null;
  },
});

export const logEvent = internalMutation({
  args: {
    jobId: v.id("jobs"),
    level: v.union(v.literal("info"), v.literal("warn"), v.literal("error")),
    message: v.string(),
  },
  handler: async (ctx, args): Promise<null> => {
    await appendEvent(ctx, args.jobId, args.level, args.message);
    return null;
  },
});
