/**
 * HTTP routes of the control plane.
 *
 *   POST /api/sync/{app}       external trigger (Bearer API token) → 202 {jobId, status}
 *   GET  /api/jobs/{jobId}     job status and per-table figures (same token)
 *   POST /executor/progress | /executor/complete | /executor/heartbeat   signed executor callbacks
 *   GET  /health
 *   + Convex Auth's routes
 *
 * CORS is answered only for DASHBOARD_ORIGIN (comma-separated list allowed). Every request to these routes is
 * audited (inside the mutation that does the work, or on refusal). Tokens and signatures are compared in
 * constant time (tokens.ts, contract/signing.ts).
 */
import { corsRouter } from "convex-helpers/server/cors";
import { httpRouter } from "convex/server";
import { z } from "zod";
import { internal } from "./_generated/api";
import { httpAction, type ActionCtx } from "./_generated/server";
import { auth } from "./auth";
import { callbackRoutes, completionCallback, heartbeat, progressCallback } from "./contract/executor";
import { verifySignature } from "./contract/signing";
import type { HttpResult } from "./httpApi";
import { bearerToken } from "./tokens";

const MAX_CALLBACK_BYTES = 2 * 1024 * 1024;

export function dashboardOrigins(value: string | undefined = process.env.DASHBOARD_ORIGIN): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter((s) => /^https?:\/\/[^/]+$/.test(s));
}

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

async function notFound(ctx: ActionCtx, action: string, error: string): Promise<Response> {
  await ctx.runMutation(internal.audit.record, {
    actor: "anonymous",
    action,
    outcome: "error",
    httpStatus: 404,
  });
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

const health = httpAction(async (ctx) => {
  await ctx.runMutation(internal.audit.record, {
    actor: "anonymous",
    action: "http.health",
    outcome: "ok",
    httpStatus: 200,
  });
  return json(200, { status: "ok", time: Date.now() });
});

const callbackSchemas = {
  progress: progressCallback,
  complete: completionCallback,
  heartbeat: heartbeat,
} as const;

function executorCallback(kind: keyof typeof callbackSchemas) {
  return httpAction(async (ctx, request) => {
    const action = `http.executor.${kind}`;
    const deny = async (status: number, error: string, detail: string) => {
      await ctx.runMutation(internal.audit.record, {
        actor: "anonymous",
        action,
        outcome: "denied",
        httpStatus: status,
        detail,
      });
      return json(status, { error });
    };
    const length = Number(request.headers.get("Content-Length") ?? "0");
    if (length > MAX_CALLBACK_BYTES) return deny(413, "body too large", `content-length ${length}`);
    const raw = await request.text();
    if (raw.length > MAX_CALLBACK_BYTES) return deny(413, "body too large", `length ${raw.length}`);
    const check = await verifySignature(process.env.EXECUTOR_SECRET, request.headers, raw);
    if (!check.ok) return deny(401, "invalid signature", check.reason);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return deny(400, "body is not JSON", "bad json");
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
