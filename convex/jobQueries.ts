/**
 * Job reads: lists and job detail for the dashboard, and the job with its app for the job steps' actions. Every
 * list pages through an index; none reads a whole table.
 */
import {
  paginationOptsValidator,
  type IndexRange,
  type IndexRangeBuilder,
  type PaginationResult,
} from "convex/server";
import { v } from "convex/values";
import type { Doc, Id } from "./_generated/dataModel";
import { internalQuery } from "./_generated/server";
import { adminQuery } from "./access";
import { stepArgs } from "./lib/jobSteps";
import { jobStatus } from "./schema";

/**
 * Epoch-ms bounds on the job's `createdAt` (the time the lists show): from inclusive, to exclusive. Every list
 * below reads one index ending in `createdAt`, so a range narrows the index scan instead of filtering.
 */
const range = { from: v.optional(v.number()), to: v.optional(v.number()) };
type CreatedRange = { from?: number; to?: number };

/** An index range builder whose next field is `createdAt` (after any equalities on the fields before it). */
type AtCreatedAt = IndexRange & Pick<IndexRangeBuilder<Doc<"jobs">, ["createdAt"]>, "gte" | "lt">;

function createdWithin(q: AtCreatedAt, r: CreatedRange): IndexRange {
  const lower = r.from !== undefined ? q.gte("createdAt", r.from) : q;
  return r.to !== undefined ? lower.lt("createdAt", r.to) : lower;
}

/**
 * A job as the dashboard gets it: the feed cursor a snapshot job minted stays on the server (opaque and useless
 * without the deploy key, but it is the executor's input, not the dashboard's); whether one was minted is kept.
 */
export type JobView = Omit<Doc<"jobs">, "feedStart"> & {
  feedStart?: { ts?: string; minted: boolean; error?: string };
};

export function toJobView(job: Doc<"jobs">): JobView {
  const { feedStart, ...rest } = job;
  if (!feedStart) return rest;
  const { cursor, minted, mintTries: _tries, ...start } = feedStart;
  return { ...rest, feedStart: { ...start, minted: cursor !== undefined || minted === true } };
}

function viewPage(result: PaginationResult<Doc<"jobs">>): PaginationResult<JobView> {
  return { ...result, page: result.page.map(toJobView) };
}

export const listByAppArgs = { appId: v.id("apps"), paginationOpts: paginationOptsValidator, ...range };

/** Newest first. */
export const listByApp = adminQuery({
  args: listByAppArgs,
  handler: async (ctx, args): Promise<PaginationResult<JobView>> =>
    viewPage(
      await ctx.db
        .query("jobs")
        .withIndex("by_app_created", (q) => createdWithin(q.eq("appId", args.appId), args))
        .order("desc")
        .paginate(args.paginationOpts),
    ),
});

export const listByStatusArgs = {
  status: jobStatus,
  appId: v.optional(v.id("apps")),
  paginationOpts: paginationOptsValidator,
  ...range,
};

/** Newest first; optionally one app's jobs and a `createdAt` range. */
export const listByStatus = adminQuery({
  args: listByStatusArgs,
  handler: async (ctx, args): Promise<PaginationResult<JobView>> => {
    const { appId } = args;
    const query = appId
      ? ctx.db
          .query("jobs")
          .withIndex("by_app_status_created", (q) =>
            createdWithin(q.eq("appId", appId).eq("status", args.status), args),
          )
      : ctx.db
          .query("jobs")
          .withIndex("by_status_created", (q) => createdWithin(q.eq("status", args.status), args));
    return viewPage(await query.order("desc").paginate(args.paginationOpts));
  },
});

/** Newest first, every app. */
export const listByDateRange = adminQuery({
  args: { from: v.number(), to: v.number(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args): Promise<PaginationResult<JobView>> =>
    viewPage(
      await ctx.db
        .query("jobs")
        .withIndex("by_created", (q) => createdWithin(q, args))
        .order("desc")
        .paginate(args.paginationOpts),
    ),
});

export const DETAIL_EVENTS = 100;

export interface JobDetail {
  job: JobView;
  app: { id: Id<"apps">; name: string; slug: string } | null;
  /** Newest last; at most DETAIL_EVENTS (page older ones with `events`). */
  events: Doc<"jobEvents">[];
}

export const get = adminQuery({
  args: { jobId: v.id("jobs") },
  handler: async (ctx, args): Promise<JobDetail | null> => {
    const job = await ctx.db.get(args.jobId);
    if (!job) return null;
    const app = await ctx.db.get(job.appId);
    const events = await ctx.db
      .query("jobEvents")
      .withIndex("by_job", (q) => q.eq("jobId", job._id))
      .order("desc")
      .take(DETAIL_EVENTS);
    return {
      job: toJobView(job),
      app: app ? { id: app._id, name: app.name, slug: app.slug } : null,
      events: events.reverse(),
    };
  },
});

/** A job's event log, newest first. */
export const events = adminQuery({
  args: { jobId: v.id("jobs"), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args): Promise<PaginationResult<Doc<"jobEvents">>> =>
    ctx.db
      .query("jobEvents")
      .withIndex("by_job", (q) => q.eq("jobId", args.jobId))
      .order("desc")
      .paginate(args.paginationOpts),
});

/**
 * What a job step's action (export request and checks, dispatch, cancel) works from: the job and its app, or null
 * once the job has moved on to another attempt or its app is gone. `check` and `tryNumber` are the steps' own
 * arguments, accepted so a step can pass its arguments through.
 */
export const stepContext = internalQuery({
  args: { ...stepArgs, check: v.optional(v.number()), tryNumber: v.optional(v.number()) },
  handler: async (ctx, args): Promise<{ job: Doc<"jobs">; app: Doc<"apps"> } | null> => {
    const job = await ctx.db.get(args.jobId);
    if (!job || job.attempt !== args.attempt) return null;
    const app = await ctx.db.get(job.appId);
    return app ? { job, app } : null;
  },
});
