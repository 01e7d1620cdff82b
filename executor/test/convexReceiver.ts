/**
 * A local stand-in for the control plane's executor callbacks (`/executor/progress`, `/executor/complete`,
 * `/executor/heartbeat`). It checks signatures like Convex does, drops repeated event ids, records what it
 * accepted, and can be down for a while (connection refused) or answer with an error status.
 *
 *   const convex = await startConvexReceiver(SECRET);
 *   await convex.down();  ...  await convex.up();
 *   const done = await convex.waitFor((r) => r.completions.some((c) => c.jobId === "j1"));
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  callbackRoutes,
  completionCallback,
  heartbeat,
  progressCallback,
  type CompletionCallback,
  type Heartbeat,
  type ProgressCallback,
} from "../../convex/contract/executor.js";
import { verifySignature } from "../../convex/contract/signing.js";

export interface ConvexReceiver {
  url: string;
  progress: ProgressCallback[];
  completions: CompletionCallback[];
  heartbeats: Heartbeat[];
  /** Requests refused (bad signature, bad body), with the reason. */
  refused: Array<{ path: string; status: number; reason: string }>;
  /** Every request that reached the server, accepted or not (duplicates included). */
  hits: number;
  /** When set, every request gets this status (e.g. 503) without being recorded. */
  failWith: number | undefined;
  down(): Promise<void>;
  up(): Promise<void>;
  waitFor(predicate: (receiver: ConvexReceiver) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startConvexReceiver(secret: string): Promise<ConvexReceiver> {
  const seenEvents = new Set<string>();
  const sockets = new Set<Socket>();
  let port = 0;

  const receiver: ConvexReceiver = {
    url: "",
    progress: [],
    completions: [],
    heartbeats: [],
    refused: [],
    hits: 0,
    failWith: undefined,
    down: () => closeServer(),
    up: () => listen(),
    waitFor: async (predicate, timeoutMs = 20_000) => {
      const until = Date.now() + timeoutMs;
      while (!predicate(receiver)) {
        if (Date.now() > until) throw new Error("timed out waiting for the Convex receiver's condition");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => closeServer(),
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    receiver.hits++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const refuse = (status: number, reason: string) => {
      receiver.refused.push({ path: req.url ?? "", status, reason });
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: reason }));
    };
    if (receiver.failWith) return refuse(receiver.failWith, "failing on purpose");
    const check = await verifySignature(
      secret,
      { get: (n) => headerValue(req, n) },
      { method: req.method ?? "", path: req.url ?? "", body: raw },
    );
    if (!check.ok) return refuse(401, check.reason);
    const schema =
      req.url === callbackRoutes.progress
        ? progressCallback
        : req.url === callbackRoutes.complete
          ? completionCallback
          : req.url === callbackRoutes.heartbeat
            ? heartbeat
            : undefined;
    if (!schema) return refuse(404, "no such route");
    const parsed = schema.safeParse(JSON.parse(raw));
    if (!parsed.success) return refuse(400, parsed.error.message);
    const body = parsed.data;
    if (!seenEvents.has(body.eventId)) {
      seenEvents.add(body.eventId);
      if (req.url === callbackRoutes.progress) receiver.progress.push(body as ProgressCallback);
      else if (req.url === callbackRoutes.complete) receiver.completions.push(body as CompletionCallback);
      else receiver.heartbeats.push(body as Heartbeat);
    }
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  };

  let server: http.Server | undefined;
  function listen(): Promise<void> {
    server = http.createServer((req, res) => void handle(req, res));
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    return new Promise((resolve) =>
      server!.listen(port, "127.0.0.1", () => {
        port = (server!.address() as AddressInfo).port;
        receiver.url = `http://127.0.0.1:${port}`;
        resolve();
      }),
    );
  }
  function closeServer(): Promise<void> {
    const current = server;
    server = undefined;
    if (!current) return Promise.resolve();
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => current.close(() => resolve()));
  }

  await listen();
  return receiver;
}

function headerValue(req: http.IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}
