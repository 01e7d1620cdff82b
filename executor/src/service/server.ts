/**
 * The executor's HTTP API (node:http), reached only through the tunnel:
 *
 *   POST /jobs               signed JobPayload → 202 (accepted) or 200 (known job id: its current state)
 *   GET  /jobs/{id}          signed (empty body) → the job's state
 *   POST /jobs/{id}/cancel   signed CancelRequest → the job's state after cancelling
 *   GET  /health             public; version and whether jobs are accepted, nothing secret
 *
 * Every signed route checks the body size, then the HMAC signature and timestamp, and only then parses anything.
 */
import http from "node:http";
import { z } from "zod";
import {
  cancelRequest,
  CONTRACT_VERSION,
  executorRoutes,
  jobPayload,
  type ErrorBody,
  type ExecutorJobStatus,
  type JobPayload,
} from "../../../convex/contract/executor.js";
import { describeSignatureFailure, verifySignature } from "../../../convex/contract/signing.js";
import { createLogger, errorMessage } from "./log.js";
import { EXECUTOR_VERSION } from "./version.js";

const log = createLogger("server");

/** What the server needs from the job manager (the real JobManager, or a stand-in in tests). */
export interface JobsApi {
  readonly isAccepting: boolean;
  readonly runningJobIds: string[];
  readonly queuedCount: number;
  submit(payload: JobPayload): { status: ExecutorJobStatus; created: boolean };
  status(jobId: string): ExecutorJobStatus | undefined;
  cancel(jobId: string, reason?: string): Promise<ExecutorJobStatus | undefined>;
}

export interface ServerOptions {
  secret: string;
  maxBodyBytes: number;
  jobs: JobsApi;
  now?: () => number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export function createExecutorServer(options: ServerOptions): http.Server {
  const server = http.createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      const known = error instanceof HttpError ? error : undefined;
      if (!known) log.error("request failed", { method: req.method, error: errorMessage(error) });
      send(res, known?.status ?? 500, {
        error: known?.message ?? "internal error",
        code: known?.code ?? "internal",
      } satisfies ErrorBody);
    });
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  return server;
}

async function handle(options: ServerOptions, req: http.IncomingMessage, res: http.ServerResponse) {
  const url = new URL(req.url ?? "/", "http://executor");
  const route = matchRoute(req.method ?? "GET", url.pathname);
  switch (route.kind) {
    case "health":
      return send(res, 200, {
        ok: true,
        version: EXECUTOR_VERSION,
        contractVersion: CONTRACT_VERSION,
        accepting: options.jobs.isAccepting,
        runningJobs: options.jobs.runningJobIds.length,
        queuedJobs: options.jobs.queuedCount,
      });
    case "submit": {
      const raw = await readSignedBody(options, req);
      const payload = parseBody(jobPayload, raw, "job payload");
      if (!options.jobs.isAccepting) {
        throw new HttpError(503, "the executor is shutting down and accepts no new jobs", "shutting_down");
      }
      const { status, created } = options.jobs.submit(payload);
      return send(res, created ? 202 : 200, status);
    }
    case "status": {
      await readSignedBody(options, req);
      const status = options.jobs.status(route.jobId);
      if (!status) throw new HttpError(404, `no job ${route.jobId}`, "unknown_job");
      return send(res, 200, status);
    }
    case "cancel": {
      const raw = await readSignedBody(options, req);
      const request = parseBody(cancelRequest, raw, "cancel request");
      if (request.jobId !== route.jobId) {
        throw new HttpError(400, "jobId in the body does not match the URL", "bad_request");
      }
      const status = await options.jobs.cancel(route.jobId, request.reason);
      if (!status) throw new HttpError(404, `no job ${route.jobId}`, "unknown_job");
      return send(res, 200, status);
    }
    case "method_not_allowed":
      throw new HttpError(405, `${req.method} is not allowed here`, "method_not_allowed");
    case "not_found":
      throw new HttpError(404, "not found", "not_found");
    default:
      return route satisfies never;
  }
}

type Route =
  | { kind: "health" | "submit" | "method_not_allowed" | "not_found" }
  | { kind: "status" | "cancel"; jobId: string };

function matchRoute(method: string, pathname: string): Route {
  const allow = (expected: string, route: Route): Route =>
    method === expected ? route : { kind: "method_not_allowed" };
  if (pathname === executorRoutes.health) return allow("GET", { kind: "health" });
  if (pathname === executorRoutes.jobs) return allow("POST", { kind: "submit" });
  const match = /^\/jobs\/([^/]+)(\/cancel)?$/.exec(pathname);
  if (!match) return { kind: "not_found" };
  let jobId: string;
  try {
    jobId = decodeURIComponent(match[1]!);
  } catch {
    return { kind: "not_found" };
  }
  return match[2] ? allow("POST", { kind: "cancel", jobId }) : allow("GET", { kind: "status", jobId });
}

/**
 * Reads the body (refusing more than the limit), then verifies the signature over the method, the request target
 * (path and query exactly as received) and exactly those bytes.
 */
async function readSignedBody(options: ServerOptions, req: http.IncomingMessage): Promise<string> {
  const raw = await readBody(req, options.maxBodyBytes);
  const check = await verifySignature(
    options.secret,
    { get: (name) => headerValue(req, name) },
    { method: req.method ?? "", path: req.url ?? "", body: raw },
    options.now?.() ?? Date.now(),
  );
  if (!check.ok) {
    log.warn("refused an unsigned or badly signed request", { path: req.url, reason: check.reason });
    throw new HttpError(401, describeSignatureFailure(check), "unauthorized");
  }
  return raw;
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) {
    req.resume();
    throw new HttpError(413, `the request body is larger than ${limit} bytes`, "too_large");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new HttpError(413, `the request body is larger than ${limit} bytes`, "too_large");
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody<T>(schema: z.ZodType<T>, raw: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new HttpError(400, `the ${what} is not valid JSON: ${errorMessage(error)}`, "bad_request");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const reasons = closestIssues(parsed.error.issues)
      .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
      .join("; ");
    throw new HttpError(400, `the ${what} does not match the contract: ${reasons}`, "bad_request");
  }
  return parsed.data;
}

/**
 * A union (the job kinds) fails as one "Invalid input": name the problems of the member the body came closest to
 * (fewest issues), so a snapshot payload with a bad schema name hears about `targetSchema`, not about `kind`.
 */
function closestIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
    const closest = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
    return closestIssues(closest).map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
  });
}

function headerValue(req: http.IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    // After refusing an oversized body, don't keep reading the rest of it on this connection.
    ...(status === 413 ? { connection: "close" } : {}),
  });
  res.end(text);
}
