/**
 * The audit log: admin actions and every request to the HTTP routes (route, outcome, caller). Entries never
 * carry secrets: callers pass short, already-sanitised `detail` strings.
 */
import { paginationOptsValidator, type PaginationResult } from "convex/server";
import { v, type Infer } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { adminQuery } from "./access";
import schema from "./schema";

/** An audit row as callers give it: the table's fields but `at`, which `recordAudit` sets. */
export const auditEntry = schema.tables.auditLog.validator.omit("at");
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
