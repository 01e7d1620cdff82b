/**
 * Real local HTTP servers standing in for the executor, and generic ones for failure cases. The source Convex
 * deployment is test/standins/convexSource.ts, shared with the demo and the other suites.
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

/** ns timestamps as the JSON format sends them (decimal strings). */
export function ns(ms: number): string {
  return (BigInt(ms) * 1_000_000n).toString();
}
