/**
 * The audit log: admin actions and every request to the HTTP routes (route, outcome, caller). Entries never
 * carry secrets: callers pass short, already-sanitised `detail` strings.
 */
import { paginationOptsValidator, type PaginationResult } from "convex/server";
import { v, type Infer } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { adminQuery } from "./access";

export const auditEntry = v.object({
  actor: v.string(),
  action: v.string(),
  outcome: v.union(v.literal("ok"), v.literal("denied"), v.literal("error"), v.literal("ignored")),
  httpStatus: v.optional(v.number()),
  target: v.optional(v.string()),
  detail: v.optional(v.string()),
});
export type AuditEntry = Infer<typeof auditEntry>;

const MAX_DETAIL = 500;

export async function recordAudit(ctx: MutationCtx, entry: AuditEntry): Promise<void> {
  await ctx.db.insert("auditLog", {
    ...entry,
    at: Date.now(),
    ...(entry.detail !== undefined ? { detail: entry.detail.slice(0, MAX_DETAIL) } : {}),
  });
}

export const record = internalMutation({ args: auditEntry, handler: recordAudit });

export const listArgs = {
  paginationOpts: paginationOptsValidator,
  /** Epoch ms bounds on the entry time (inclusive from, exclusive to). */
  from: v.optional(v.number()),
  to: v.optional(v.number()),
};

export const list = adminQuery({
  args: listArgs,
  handler: async (ctx, args): Promise<PaginationResult<Doc<"auditLog">>> =>
    ctx.db
      .query("auditLog")
      .withIndex("by_at", (q) => {
        const lower = args.from !== undefined ? q.gte("at", args.from) : q;
        return args.to !== undefined ? lower.lt("at", args.to) : lower;
      })
      .order("desc")
      .paginate(args.paginationOpts),
});
