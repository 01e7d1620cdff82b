/**
 * Real local HTTP servers standing in for the executor and for a source Convex deployment.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
}

export interface StandIn {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startServer(
  handle: (req: RecordedRequest) => Reply | Promise<Reply>,
): Promise<StandIn> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      void Promise.resolve(handle(recorded)).then((reply) => {
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An executor that answers POST /jobs with the next scripted status (then 202 forever). */
export async function startExecutor(script: number[] = []): Promise<StandIn> {
  const statuses = [...script];
  return startServer((req) => {
    if (req.method === "POST" && req.path === "/jobs") {
      const status = statuses.shift() ?? 202;
      if (status >= 400) return { status, body: { error: `scripted ${status}` } };
      const job = JSON.parse(req.body) as { jobId: string; attempt: number };
      return {
        status,
        body: { jobId: job.jobId, attempt: job.attempt, state: "queued", phase: "queued", tables: [] },
      };
    }
    const cancel = /^\/jobs\/([^/]+)\/cancel$/.exec(req.path);
    if (req.method === "POST" && cancel) {
      const status = statuses.shift() ?? 200;
      if (status >= 400) return { status, body: { error: `scripted ${status}` } };
      return {
        status,
        body: {
          jobId: decodeURIComponent(cancel[1]!),
          attempt: 1,
          state: "cancelled",
          phase: "finished",
          tables: [],
        },
      };
    }
    return { status: 404, body: { error: "not found" } };
  });
}

/** A server that accepts connections and never answers (for timeouts). */
export async function startSilentServer(): Promise<StandIn> {
  return startServer(() => new Promise<Reply>(() => {}));
}

/** An address where nothing listens (connection refused at once). */
export const UNREACHABLE_URL = "http://127.0.0.1:9";

export interface SourceOptions {
  deployKey: string;
  /** Root tables and component tables by component path. */
  tables: Record<string, string[]>;
  /** Export documents returned by successive getLatest calls (the last one repeats). */
  exportStates?: unknown[];
  /** Answer to the export request. */
  requestReply?: Reply;
  /** Keys that authenticate but lack permissions. */
  readOnlyKey?: string;
}

/** A source Convex deployment: /api/query system queries and /api/export/request/zip, with key checks. */
export async function startSourceDeployment(options: SourceOptions): Promise<StandIn> {
  const states = [...(options.exportStates ?? [null])];
  const components = Object.keys(options.tables)
    .filter((p) => p !== "")
    .map((path, i) => ({ id: `component-${i}`, path }));
  return startServer((req) => {
    const key = req.headers["authorization"]?.replace(/^Convex /, "");
    if (key !== options.deployKey && key !== options.readOnlyKey)
      return { status: 401, body: { code: "BadAdminKey", message: "The provided admin key was invalid" } };
    if (req.method === "POST" && req.path.startsWith("/api/export/request/zip")) {
      if (key === options.readOnlyKey)
        return {
          status: 403,
          body: { code: "Forbidden", message: "You do not have permission to perform this operation" },
        };
      return options.requestReply ?? { status: 200 };
    }
    if (req.method === "POST" && (req.path === "/api/query" || req.path === "/api/function")) {
      const body = JSON.parse(req.body) as { path: string; componentPath?: string };
      // Holds the code to the endpoint known to take componentPath (ConvexHttpClient.function uses /api/function).
      if (req.path === "/api/query" && body.componentPath !== undefined)
        return { status: 400, body: { code: "BadRequest", message: "unexpected componentPath" } };
      if (body.path === "_system/frontend/components:list")
        return { status: 200, body: { status: "success", value: [{ id: "root", path: "" }, ...components] } };
      if (body.path === "_system/cli/tables") {
        const path = components.find((c) => c.id === body.componentPath)?.path ?? "";
        const page = (options.tables[path] ?? []).map((name) => ({ name }));
        return {
          status: 200,
          body: { status: "success", value: { page, isDone: true, continueCursor: "end" } },
        };
      }
      if (body.path === "_system/cli/exports:getLatest") {
        const value = states.length > 1 ? states.shift() : states[0];
        return { status: 200, body: { status: "success", value } };
      }
    }
    return { status: 404, body: { code: "NotFound", message: req.path } };
  });
}

/** ns timestamps as the JSON format sends them (decimal strings). */
export function ns(ms: number): string {
  return (BigInt(ms) * 1_000_000n).toString();
}
