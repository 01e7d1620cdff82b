/**
 * Refused requests as counters instead of audit rows. The audit log keeps what authenticated callers did; a request
 * refused before anyone was authenticated (bad token, bad signature, unknown path) or refused by a rate limit only
 * increments the counter of its (route, reason, caller, minute) bucket. A flood of 100,000 bad requests therefore
 * costs one row per route, reason and minute, pruned with the audit log (maintenance.ts).
 */
import { v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { adminQuery } from "./access";

const MINUTE_MS = 60_000;
const MAX_LISTED = 500;

export interface Refusal {
  /** e.g. "http.sync", "http.executor.progress". */
  route: string;
  /** A short machine word: "unauthenticated", "bad_signature", "rate_limited", "unknown_job", … */
  reason: string;
  /** Defaults to "anonymous". Never a secret: token names, executor ids. */
  actor?: string;
}

export const refusalArgs = { route: v.string(), reason: v.string(), actor: v.optional(v.string()) };

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

export async function countRefusal(ctx: MutationCtx, refusal: Refusal): Promise<void> {
  const now = Date.now();
  const minute = minuteOf(now);
  const route = refusal.route.slice(0, 100);
  const reason = refusal.reason.slice(0, 100);
  const actor = (refusal.actor ?? "anonymous").slice(0, 200);
  const bucket = await ctx.db
    .query("refusedRequests")
    .withIndex("by_bucket", (q) =>
      q.eq("route", route).eq("reason", reason).eq("actor", actor).eq("minute", minute),
    )
    .unique();
  if (bucket) await ctx.db.patch(bucket._id, { count: bucket.count + 1, lastAt: now });
  else await ctx.db.insert("refusedRequests", { minute, route, reason, actor, count: 1, lastAt: now });
}

export const count = internalMutation({
  args: refusalArgs,
  handler: async (ctx, args): Promise<null> => {
    await countRefusal(ctx, args);
    return null;
  },
});

/** The newest buckets first, for the operator (`since`: epoch ms, default the last 24 hours). */
export const recent = adminQuery({
  args: { since: v.optional(v.number()) },
  handler: async (ctx, args): Promise<Doc<"refusedRequests">[]> => {
    const since = args.since ?? Date.now() - 24 * 60 * MINUTE_MS;
    return ctx.db
      .query("refusedRequests")
      .withIndex("by_minute", (q) => q.gte("minute", minuteOf(since)))
      .order("desc")
      .take(MAX_LISTED);
  },
});
