/**
 * The work behind the external HTTP routes, one mutation per request so that authentication, rate limiting,
 * the work itself and the audit entry commit together. http.ts only parses requests and shapes responses.
 * Order: authenticate, then rate limit (an unauthenticated flood cannot drain a real token's bucket), then the
 * token's scope: an app outside it answers exactly like an app that does not exist (404), so a token cannot learn
 * which other apps exist. Refusals before authentication, and rate-limit refusals, are counted (refusals.ts),
 * not audited.
 */
import { v } from "convex/values";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { recordAudit } from "./audit";
import { applyCompletion, applyHeartbeat, applyProgress, type CallbackResult } from "./callbacks";
import { completionCallback, heartbeat, progressCallback } from "./contract/executor";
import { AppDisabledError, startJob } from "./jobs";
import { rateLimiter } from "./rateLimits";
import { countRefusal } from "./refusals";
import { findApiToken, tokenAllowsApp, touchApiToken } from "./tokens";

export interface HttpResult {
  status: number;
  body: Record<string, unknown>;
  retryAfterSeconds?: number;
}

type Authorized = { token: Doc<"apiTokens"> } | { denied: HttpResult };

async function authorize(
  ctx: MutationCtx,
  token: string | null,
  action: string,
  target: string,
  limit: "apiSync" | "apiRead",
): Promise<Authorized> {
  const row = await findApiToken(ctx, token);
  if (!row) {
    await countRefusal(ctx, { route: action, reason: token ? "invalid_token" : "missing_token" });
    return { denied: { status: 401, body: { error: "missing or invalid API token" } } };
  }
  const limited = await rateLimiter.limit(ctx, limit, { key: row._id });
  if (!limited.ok) {
    const retryAfterSeconds = Math.max(1, Math.ceil(limited.retryAfter / 1000));
    await countRefusal(ctx, { route: action, reason: "rate_limited", actor: `token:${row.name}` });
    return { denied: { status: 429, body: { error: "rate limited", retryAfterSeconds }, retryAfterSeconds } };
  }
  await touchApiToken(ctx, row);
  return { token: row };
}

export const triggerSync = internalMutation({
  args: { token: v.union(v.string(), v.null()), slug: v.string() },
  handler: async (ctx, args): Promise<HttpResult> => {
    const action = "http.sync";
    const auth = await authorize(ctx, args.token, action, args.slug, "apiSync");
    if ("denied" in auth) return auth.denied;
    const actor = `token:${auth.token.name}`;
    const app = await ctx.db
      .query("apps")
      .withIndex("by_slug", (q) => q.eq("slug", args.slug))
      .unique();
    if (!app || !tokenAllowsApp(auth.token, app._id)) {
      await recordAudit(ctx, {
        actor,
        action,
        outcome: app ? "denied" : "error",
        httpStatus: 404,
        target: args.slug,
        ...(app ? { detail: "outside the token's scope" } : {}),
      });
      return { status: 404, body: { error: `no app "${args.slug}"` } };
    }
    try {
      const result = await startJob(ctx, app, "api", actor);
      await recordAudit(ctx, {
        actor,
        action,
        outcome: "ok",
        httpStatus: 202,
        target: app.slug,
        detail: result.created ? `started ${result.jobId}` : `already active ${result.jobId}`,
      });
      return { status: 202, body: { jobId: result.jobId, status: result.status, created: result.created } };
    } catch (error) {
      if (!(error instanceof AppDisabledError)) throw error;
      await recordAudit(ctx, {
        actor,
        action,
        outcome: "error",
        httpStatus: 409,
        target: app.slug,
        detail: "disabled",
      });
      return { status: 409, body: { error: error.data.message } };
    }
  },
});

export function jobStatusBody(job: Doc<"jobs">): Record<string, unknown> {
  return {
    jobId: job._id,
    app: job.appSlug,
    status: job.status,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    trigger: job.trigger,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt ?? null,
    durationMs: job.durationMs ?? null,
    phase: job.phase ?? null,
    totalRows: job.totalRows ?? null,
    tables: job.tables,
    error: job.error ?? null,
    kind: job.kind ?? "snapshot",
    kindReason: job.kindReason ?? null,
    changes: job.changes ?? null,
    incremental: job.incremental ?? null,
  };
}

export const jobStatus = internalMutation({
  args: { token: v.union(v.string(), v.null()), jobId: v.string() },
  handler: async (ctx, args): Promise<HttpResult> => {
    const action = "http.jobStatus";
    const auth = await authorize(ctx, args.token, action, args.jobId, "apiRead");
    if ("denied" in auth) return auth.denied;
    const actor = `token:${auth.token.name}`;
    const id = ctx.db.normalizeId("jobs", args.jobId);
    const job = id ? await ctx.db.get(id as Id<"jobs">) : null;
    if (!job || !tokenAllowsApp(auth.token, job.appId)) {
      await recordAudit(ctx, {
        actor,
        action,
        outcome: job ? "denied" : "error",
        httpStatus: 404,
        target: args.jobId,
        ...(job ? { detail: "outside the token's scope" } : {}),
      });
      return { status: 404, body: { error: `no job "${args.jobId}"` } };
    }
    await recordAudit(ctx, { actor, action, outcome: "ok", httpStatus: 200, target: args.jobId });
    return { status: 200, body: jobStatusBody(job) };
  },
});

export const callbackKind = v.union(v.literal("progress"), v.literal("complete"), v.literal("heartbeat"));

/** A signed callback about a job id we have no row for (never existed, or pruned): counted, nothing else. */
async function isUnknownJob(ctx: MutationCtx, jobId: string): Promise<boolean> {
  const id = ctx.db.normalizeId("jobs", jobId);
  return !id || (await ctx.db.get(id)) === null;
}

/** Applies a verified executor callback and audits it. `body` was validated by http.ts. */
export const executorCallback = internalMutation({
  args: { kind: callbackKind, body: v.any() },
  handler: async (ctx, args): Promise<CallbackResult> => {
    const jobId = (args.body as { jobId?: unknown }).jobId;
    if (args.kind !== "heartbeat" && typeof jobId === "string" && (await isUnknownJob(ctx, jobId))) {
      const executorId = String((args.body as { executorId?: unknown }).executorId ?? "?");
      await countRefusal(ctx, {
        route: `http.executor.${args.kind}`,
        reason: "unknown_job",
        actor: `executor:${executorId}`,
      });
      return "unknown_job";
    }
    let result: CallbackResult;
    let executorId: string;
    let target: string | undefined;
    switch (args.kind) {
      case "progress": {
        const p = progressCallback.parse(args.body);
        [executorId, target, result] = [p.executorId, p.jobId, await applyProgress(ctx, p)];
        break;
      }
      case "complete": {
        const c = completionCallback.parse(args.body);
        [executorId, target, result] = [c.executorId, c.jobId, await applyCompletion(ctx, c)];
        break;
      }
      case "heartbeat": {
        const h = heartbeat.parse(args.body);
        [executorId, target, result] = [h.executorId, undefined, await applyHeartbeat(ctx, h)];
        break;
      }
      default:
        return args.kind satisfies never;
    }
    await recordAudit(ctx, {
      actor: `executor:${executorId}`,
      action: `http.executor.${args.kind}`,
      outcome: result === "applied" ? "ok" : "ignored",
      httpStatus: 200,
      ...(target ? { target } : {}),
      detail: result,
    });
    return result;
  },
});
