/**
 * HTTP routes of the control plane.
 *
 *   POST /api/sync/{app}       external trigger (Bearer API token) → 202 {jobId, status}
 *   GET  /api/jobs/{jobId}     job status and per-table figures (same token)
 *   POST /executor/progress | /executor/complete | /executor/heartbeat   signed executor callbacks
 *   GET  /health
 *   + Convex Auth's routes
 *
 * CORS is answered only for DASHBOARD_ORIGIN (comma-separated list allowed). What an authenticated caller does is
 * audited inside the mutation that does the work; a request refused before authentication (or by a rate limit)
 * only increments a counter (refusals.ts), so floods do not grow the audit log. Tokens and signatures are compared
 * in constant time (tokens.ts, contract/signing.ts).
 */
import { corsRouter } from "convex-helpers/server/cors";
import { httpRouter } from "convex/server";
import { z } from "zod";
import { internal } from "./_generated/api";
import { httpAction, type ActionCtx } from "./_generated/server";
import { auth } from "./auth";
import { callbackRoutes, completionCallback, heartbeat, progressCallback } from "./contract/executor";
import { describeSignatureFailure, requestTarget, verifySignature } from "./contract/signing";
import type { HttpResult } from "./httpApi";
import type { Refusal } from "./refusals";
import { dashboardOrigins } from "./lib/dashboardOrigin";
import { bearerToken } from "./tokens";

const MAX_CALLBACK_BYTES = 2 * 1024 * 1024;

export { dashboardOrigins };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

function fromResult(result: HttpResult): Response {
  return json(
    result.status,
    result.body,
    result.retryAfterSeconds !== undefined ? { "Retry-After": String(result.retryAfterSeconds) } : {},
  );
}

/** The last path segment after `prefix`, decoded; null when absent or nested. */
function tail(request: Request, prefix: string): string | null {
  const path = new URL(request.url).pathname;
  const rest = path.slice(prefix.length);
  if (!rest || rest.includes("/")) return null;
  try {
    return decodeURIComponent(rest);
  } catch {
    return null;
  }
}

/** Counts a refused request; a counter that cannot be written (contention under a flood) never fails the answer. */
async function countRefusal(ctx: ActionCtx, refusal: Refusal): Promise<void> {
  try {
    await ctx.runMutation(internal.refusals.count, refusal);
  } catch (error) {
    console.warn(`[http] refusal not counted: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function notFound(ctx: ActionCtx, route: string, error: string): Promise<Response> {
  await countRefusal(ctx, { route, reason: "bad_path" });
  return json(404, { error });
}

const syncTrigger = httpAction(async (ctx, request) => {
  const slug = tail(request, "/api/sync/");
  const token = bearerToken(request.headers.get("Authorization"));
  if (slug === null) return notFound(ctx, "http.sync", "expected /api/sync/{app}");
  return fromResult(await ctx.runMutation(internal.httpApi.triggerSync, { token, slug }));
});

const jobStatus = httpAction(async (ctx, request) => {
  const jobId = tail(request, "/api/jobs/");
  const token = bearerToken(request.headers.get("Authorization"));
  if (jobId === null) return notFound(ctx, "http.jobStatus", "expected /api/jobs/{jobId}");
  return fromResult(await ctx.runMutation(internal.httpApi.jobStatus, { token, jobId }));
});

// Anonymous and read-only: neither audited nor counted.
const health = httpAction(async () => json(200, { status: "ok", time: Date.now() }));

const callbackSchemas = {
  progress: progressCallback,
  complete: completionCallback,
  heartbeat: heartbeat,
} as const;

function executorCallback(kind: keyof typeof callbackSchemas) {
  return httpAction(async (ctx, request) => {
    const action = `http.executor.${kind}`;
    const deny = async (status: number, error: string, reason: string) => {
      await countRefusal(ctx, { route: action, reason });
      return json(status, { error });
    };
    const length = Number(request.headers.get("Content-Length") ?? "0");
    if (length > MAX_CALLBACK_BYTES) return deny(413, "body too large", "too_large");
    const raw = await request.text();
    if (raw.length > MAX_CALLBACK_BYTES) return deny(413, "body too large", "too_large");
    const check = await verifySignature(process.env.EXECUTOR_SECRET, request.headers, {
      method: request.method,
      path: requestTarget(request.url),
      body: raw,
    });
    if (!check.ok) return deny(401, describeSignatureFailure(check), check.reason);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return deny(400, "body is not JSON", "bad_json");
    }
    const parsed = callbackSchemas[kind].safeParse(body);
    if (!parsed.success) {
      const issues = z.prettifyError(parsed.error).slice(0, 1000);
      await ctx.runMutation(internal.audit.record, {
        actor: "executor",
        action,
        outcome: "error",
        httpStatus: 400,
        detail: issues,
      });
      return json(400, { error: `invalid ${kind} callback: ${issues}` });
    }
    const result = await ctx.runMutation(internal.httpApi.executorCallback, { kind, body: parsed.data });
    // 4xx so the executor stops retrying (its outbox keeps the callback under dead/).
    if (result === "unknown_job") return json(404, { error: "unknown job", code: "unknown_job" });
    return json(200, { result });
  });
}

const http = httpRouter();
auth.addHttpRoutes(http);

const cors = corsRouter(http, {
  allowedOrigins: async () => dashboardOrigins(),
  allowedHeaders: ["Content-Type", "Authorization"],
  allowCredentials: false,
  enforceAllowOrigins: false,
});
cors.route({ pathPrefix: "/api/sync/", method: "POST", handler: syncTrigger });
cors.route({ pathPrefix: "/api/jobs/", method: "GET", handler: jobStatus });
cors.route({ path: "/health", method: "GET", handler: health });

// Server-to-server: no CORS.
http.route({ path: callbackRoutes.progress, method: "POST", handler: executorCallback("progress") });
http.route({ path: callbackRoutes.complete, method: "POST", handler: executorCallback("complete") });
http.route({ path: callbackRoutes.heartbeat, method: "POST", handler: executorCallback("heartbeat") });

export default http;
