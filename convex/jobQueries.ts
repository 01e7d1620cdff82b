/**
 * Job lists and job detail for the dashboard. Every list pages through an index; none reads a whole table.
 */
import { paginationOptsValidator, type PaginationResult } from "convex/server";
import { v } from "convex/values";
import type { Doc, Id } from "./_generated/dataModel";
import { adminQuery } from "./access";
import { jobStatus } from "./schema";

/** Epoch-ms bounds on the job's creation time: from inclusive, to exclusive. */
const range = { from: v.optional(v.number()), to: v.optional(v.number()) };

export const listByAppArgs = { appId: v.id("apps"), paginationOpts: paginationOptsValidator, ...range };

/** Newest first. */
export const listByApp = adminQuery({
  args: listByAppArgs,
  handler: async (ctx, args): Promise<PaginationResult<Doc<"jobs">>> =>
    ctx.db
      .query("jobs")
      .withIndex("by_app", (q) => {
        const app = q.eq("appId", args.appId);
        const lower = args.from !== undefined ? app.gte("_creationTime", args.from) : app;
        return args.to !== undefined ? lower.lt("_creationTime", args.to) : lower;
      })
      .order("desc")
      .paginate(args.paginationOpts),
});

export const listByStatus = adminQuery({
  args: { status: jobStatus, appId: v.optional(v.id("apps")), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args): Promise<PaginationResult<Doc<"jobs">>> => {
    const query = args.appId
      ? ctx.db
          .query("jobs")
          .withIndex("by_app_status", (q) => q.eq("appId", args.appId!).eq("status", args.status))
      : ctx.db.query("jobs").withIndex("by_status", (q) => q.eq("status", args.status));
    return query.order("desc").paginate(args.paginationOpts);
  },
});

export const listByDateRange = adminQuery({
  args: { from: v.number(), to: v.number(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args): Promise<PaginationResult<Doc<"jobs">>> =>
    ctx.db
      .query("jobs")
      .withIndex("by_creation_time", (q) => q.gte("_creationTime", args.from).lt("_creationTime", args.to))
      .order("desc")
      .paginate(args.paginationOpts),
});

export const DETAIL_EVENTS = 100;

export interface JobDetail {
  job: Doc<"jobs">;
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
      job,
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
