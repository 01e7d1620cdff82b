/**
 * A local stand-in for a Convex deployment, for browser tests and the offline demo. Two HTTP servers, as a
 * deployment has two hosts:
 * - the "cloud" URL: the WebSocket sync protocol at /api/<version>/sync and the HTTP function API
 *   (/api/query, /api/mutation, /api/action) used by ConvexHttpClient;
 * - the "site" URL: the app's HTTP routes (convex/http.ts).
 * Both run the app's own functions in this process through convex-test. Never bundled into the site or the
 * Convex deployment.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { version as convexVersion } from "convex";
import type { JSONValue } from "convex/values";
import { WebSocketServer } from "ws";
import { Backend, FunctionFailure, httpActionFailure, toFailure, type FunctionKind } from "./backend.js";
import { generateAuthKeys, verifyToken } from "./identity.js";
import { SyncSession } from "./sync.js";

/** The sync protocol is internal to Convex: the harness speaks exactly this client version's dialect. */
export const PINNED_CONVEX_VERSION = "1.49.0";
const PING_INTERVAL_MS = 15_000;

export interface HarnessOptions {
  convexDir: string;
  /** Extra environment for the functions (e.g. ADMIN_EMAILS). Set before the functions load. */
  env?: Record<string, string>;
  /** 0 (default) picks free ports. */
  cloudPort?: number;
  sitePort?: number;
  host?: string;
}

export interface Harness {
  cloudUrl: string;
  siteUrl: string;
  backend: Backend;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  if (convexVersion !== PINNED_CONVEX_VERSION) {
    throw new Error(
      `The harness speaks the sync protocol of convex ${PINNED_CONVEX_VERSION}, but convex ${convexVersion} is installed. ` +
        "Check node_modules/convex/src/browser/sync/protocol.ts for changes, then update PINNED_CONVEX_VERSION.",
    );
  }
  const host = options.host ?? "127.0.0.1";
  const cloud = createServer();
  const site = createServer();
  await Promise.all([listen(cloud, host, options.cloudPort ?? 0), listen(site, host, options.sitePort ?? 0)]);
  const cloudUrl = `http://${host}:${(cloud.address() as AddressInfo).port}`;
  const siteUrl = `http://${host}:${(site.address() as AddressInfo).port}`;

  const keys = generateAuthKeys();
  Object.assign(process.env, {
    CONVEX_CLOUD_URL: cloudUrl,
    CONVEX_SITE_URL: siteUrl,
    JWT_PRIVATE_KEY: keys.privateKeyPem,
    JWKS: keys.jwks,
    ...options.env,
  });
  const backend = await Backend.load(options.convexDir);
  const identityOf = (token: string) => verifyToken(token, keys.publicKey, siteUrl);

  const sockets = new WebSocketServer({ noServer: true });
  cloud.on("upgrade", (request, socket, head) => {
    const match = /^\/api\/([^/]+)\/sync$/.exec(new URL(request.url ?? "/", cloudUrl).pathname);
    if (!match || match[1] !== PINNED_CONVEX_VERSION) {
      socket.end(
        `HTTP/1.1 404 Not Found\r\n\r\nThe harness speaks sync protocol ${PINNED_CONVEX_VERSION} only\r\n`,
      );
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      const session = new SyncSession(
        backend,
        {
          send: (message) => ws.send(JSON.stringify(message)),
          close: (code, reason) => ws.close(code, reason),
        },
        identityOf,
      );
      // The client reconnects after 60 s without a message; an idle deployment keeps it alive with Pings.
      const ping = setInterval(() => ws.send(JSON.stringify({ type: "Ping" })), PING_INTERVAL_MS);
      ws.on("message", (data) => session.receive(data.toString()));
      ws.on("close", () => {
        clearInterval(ping);
        session.close();
      });
    });
  });

  cloud.on("request", (request, response) => {
    void handleFunctionApi(request, response, backend, identityOf).catch((error: unknown) => {
      sendJson(response, 500, { code: "InternalServerError", message: String(error) });
    });
  });
  site.on("request", (request, response) => {
    void forwardToHttpRoutes(request, response, backend, siteUrl).catch((error: unknown) => {
      if (response.headersSent) return void response.end();
      const { status, body } = httpActionFailure(error, new URL(request.url ?? "/", siteUrl).pathname);
      sendJson(response, status, body);
    });
  });

  return {
    cloudUrl,
    siteUrl,
    backend,
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      backend.close();
      cloud.closeAllConnections();
      site.closeAllConnections();
      await Promise.all([new Promise((r) => cloud.close(r)), new Promise((r) => site.close(r))]);
    },
  };
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  server.listen(port, host);
  await once(server, "listening");
}

const FUNCTION_ROUTES: Record<string, FunctionKind> = {
  "/api/query": "query",
  "/api/mutation": "mutation",
  "/api/action": "action",
};

/** ConvexHttpClient's API: POST {path, args: [encoded args], format} → {status, value | errorMessage}. */
async function handleFunctionApi(
  request: IncomingMessage,
  response: ServerResponse,
  backend: Backend,
  identityOf: (token: string) => object,
): Promise<void> {
  const pathname = new URL(request.url ?? "/", "http://x").pathname;
  if (request.method === "OPTIONS") return sendJson(response, 204, null);
  const kind = FUNCTION_ROUTES[pathname];
  if (request.method !== "POST" || !kind)
    return sendJson(response, 404, { code: "NotFound", message: pathname });
  const body = JSON.parse((await readBody(request)).toString("utf8") || "{}") as {
    path?: string;
    args?: JSONValue[];
  };
  if (typeof body.path !== "string")
    return sendJson(response, 400, { code: "BadRequest", message: "missing path" });
  const authorization = request.headers.authorization ?? "";
  let identity = null;
  if (authorization.startsWith("Bearer ")) {
    try {
      identity = identityOf(authorization.slice("Bearer ".length));
    } catch (error) {
      return sendJson(response, 401, { code: "Unauthenticated", message: String(error) });
    }
  }
  try {
    const value = await backend.call(kind, body.path, body.args?.[0] ?? {}, identity);
    sendJson(response, 200, { status: "success", value, logLines: [] });
  } catch (error) {
    const failure = error instanceof FunctionFailure ? error : toFailure(error);
    // crates/local_backend/src/public_api.rs: a function's failure is `UdfResponse::Error` with HTTP 200 (the
    // client also accepts 560, which the backend's source never sends).
    sendJson(response, 200, {
      status: "error",
      errorMessage: failure.message,
      logLines: [],
      ...(failure.errorData !== undefined ? { errorData: failure.errorData } : {}),
    });
  }
}

async function forwardToHttpRoutes(
  request: IncomingMessage,
  response: ServerResponse,
  backend: Backend,
  siteUrl: string,
): Promise<void> {
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await readBody(request);
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  const routed = await backend.fetch(
    new URL(request.url ?? "/", siteUrl).pathname + new URL(request.url ?? "/", siteUrl).search,
    {
      method: request.method ?? "GET",
      headers,
      ...(body ? { body: new Uint8Array(body) } : {}),
    },
  );
  response.writeHead(routed.status, Object.fromEntries(routed.headers.entries()));
  response.end(Buffer.from(await routed.arrayBuffer()));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    "content-type": "application/json",
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "content-type, authorization, convex-client",
  });
  response.end(body === null ? undefined : JSON.stringify(body));
}
