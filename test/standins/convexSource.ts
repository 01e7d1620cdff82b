/**
 * A stand-in for a source Convex deployment, built from the backend's own source (get-convex/convex-backend,
 * read at commit 94a42c3d) so that it answers every call our code makes the way a real deployment does — and
 * refuses the calls a real deployment refuses. It is the one stand-in for the offline demo
 * (scripts/demo/demo.ts), the control-plane tests (convex/*.test.ts), the executor tests and the browser tests.
 *
 * Routes (crates/local_backend/src/router.rs), each in its module:
 *
 *   POST /api/query, /api/function        systemFunctions.ts (public_api.rs, system-udfs)
 *   POST /api/export/request/zip          exportRoutes.ts (snapshot_export.rs); exports run in exportWorker.ts
 *   GET  /api/export/zip/{id}             exportRoutes.ts
 *   POST /api/v1/data/sync                feedRoutes.ts (streaming_export.rs), answered by `feed`
 *   POST /api/data_sync_cursor_from_deltas
 *   GET  /api/test_streaming_export_connection
 *
 * Every route checks the key first (keys.ts). Given `feed` (a FeedDeployment), the source's data IS that
 * deployment: the tables listed are its tables, each export is a ZIP of it at its timestamp, and the feed routes
 * serve its change feed. Without `feed`, tables and ZIPs are the fixed ones given, and the plan has no streaming
 * export (the feed routes refuse with 403 StreamingExportNotEnabled, as a free plan does).
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import type { FeedDeployment } from "./dataSyncFeed.js";
import { createExports, nsOf, type ExportWorker, type SnapshotSource } from "./exportWorker.js";
import { downloadTarget, handleExportRequest, sendZip, type DownloadFault } from "./exportRoutes.js";
import { handleFeedRequest, isFeedRoute } from "./feedRoutes.js";
import { HttpError, INTERNAL_ERROR } from "./httpError.js";
import { deploymentNameOf, KeyRing, type DeploymentOp } from "./keys.js";
import { ComponentIds, feedCatalog, fixedCatalog } from "./sourceCatalog.js";
import { handleFunctionCall } from "./systemFunctions.js";

export { nsOf, type ExportWorker } from "./exportWorker.js";
export type { DownloadFault } from "./exportRoutes.js";
export { OPERATION_ACTION, type DeploymentOp } from "./keys.js";

export interface RecordedRequest {
  method: string;
  /** Path and query string. */
  path: string;
  authorization: string | undefined;
  range: string | undefined;
  body: string;
  status: number;
}

export interface ConvexSourceOptions {
  /** The deployment's admin (deploy) key: `prod:<name>|<secret>`; every operation allowed. */
  deployKey: string;
  /** Restricted deploy keys with only these operations (a read-only key has no CreateBackups). */
  restrictedKeys?: Record<string, DeploymentOp[]>;
  /**
   * The source's data, its snapshots and its change feed: a change-feed stand-in (test/standins/dataSyncFeed.ts).
   * Then `tables`, `zipFile` and `completedExports` are not used, and the feed routes are answered by it (with
   * this source's keys; `feed.streamingExportEnabled = false` makes the plan refuse them).
   */
  feed?: FeedDeployment;
  /** Root tables, and tables of each component by component path (`chat`, `chat/workpool`). */
  tables?: { root: string[]; components?: Record<string, string[]> };
  /** The ZIP each requested export produces. */
  zipFile?: string;
  /** Exports that completed before the test, snapshot timestamp (ns) → ZIP file. */
  completedExports?: Record<string, string>;
  /** "auto" (default): the worker starts at once and completes after `exportDelayMs`. "manual": `step()`. */
  worker?: "auto" | "manual";
  exportDelayMs?: number;
  /** Deployment name used in download file names; default from the deploy key. */
  deploymentName?: string;
  /** Serve under this path, as a self-hosted backend behind a reverse proxy at `/convex` is reached. */
  pathPrefix?: string;
  port?: number;
}

export interface ConvexSource {
  url: string;
  deploymentName: string;
  requests: RecordedRequest[];
  /** How many snapshot downloads were sent in full. */
  readonly downloads: number;
  /** Component ids as `_system/frontend/components:list` reports them, by component path. */
  componentIds: Record<string, string>;
  exportWorker: ExportWorker;
  /** The deployment given as `feed`, if any. */
  feed: FeedDeployment | null;
  failNextDownload(...faults: DownloadFault[]): void;
  close(): Promise<void>;
}

/** Timestamps and ZIPs of a source with fixed data: the machine's clock, strictly increasing; the given ZIP. */
function fixedSnapshots(zip: Buffer | undefined): SnapshotSource {
  let clockNs = nsOf(Date.now());
  return {
    now: () => (clockNs = nsOf(Date.now()) > clockNs ? nsOf(Date.now()) : clockNs + 1n),
    zipAt: () => zip ?? Buffer.alloc(0),
  };
}

/** Timestamps and ZIPs of a feed deployment: its own clock, a ZIP of its state at the snapshot's timestamp. */
function feedSnapshots(feed: FeedDeployment, workDir: () => Promise<string>): SnapshotSource {
  let n = 0;
  return {
    now: () => feed.latestTs,
    zipAt: async (ts) => {
      const file = path.join(await workDir(), `snapshot_${ts}_${n++}.zip`);
      await feed.writeSnapshotZip(file, ts);
      const body = await readFile(file);
      await rm(file, { force: true });
      return body;
    },
  };
}

export async function startConvexSource(options: ConvexSourceOptions): Promise<ConvexSource> {
  const deploymentName = options.deploymentName ?? deploymentNameOf(options.deployKey) ?? "local-deployment";
  const keys = new KeyRing(deploymentName, options.deployKey, options.restrictedKeys);
  const feed = options.feed ?? null;
  const catalog = feed
    ? feedCatalog(feed)
    : fixedCatalog({ root: options.tables?.root ?? [], components: options.tables?.components ?? {} });
  const componentIds = new ComponentIds();
  for (const p of catalog.componentPaths()) componentIds.idOf(p);

  let tempDir: Promise<string> | undefined;
  const workDir = () => (tempDir ??= mkdtemp(path.join(os.tmpdir(), "convex-source-")));
  const exports = createExports({
    source: feed
      ? feedSnapshots(feed, workDir)
      : fixedSnapshots(options.zipFile ? readFileSync(options.zipFile) : undefined),
    completed: new Map(
      Object.entries(options.completedExports ?? {}).map(([ts, file]) => [BigInt(ts), readFileSync(file)]),
    ),
    mode: options.worker ?? "auto",
    delayMs: options.exportDelayMs ?? 1_500,
  });
  const functionContext = { keys, catalog, componentIds, latestExport: () => exports.latest() };

  const requests: RecordedRequest[] = [];
  const faults: DownloadFault[] = [];
  const sockets = new Set<Socket>();
  let downloads = 0;

  async function route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: RecordedRequest,
  ): Promise<void> {
    const reply = (status: number, payload: unknown) => {
      record.status = status;
      if (payload === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
    };
    const url = new URL(req.url ?? "/", "http://source");
    const prefix = options.pathPrefix ?? "";
    if (prefix) {
      if (!url.pathname.startsWith(`${prefix}/`)) return reply(404, undefined);
      url.pathname = url.pathname.slice(prefix.length);
    }
    const clientHeader = req.headers["convex-client"];
    // common/src/version.rs: the Convex-Client header must read `<client name>-<version>`.
    if (typeof clientHeader === "string" && !clientHeader.includes("-"))
      throw new HttpError(
        400,
        "InvalidClientVersion",
        `Failed to parse client version string: '${clientHeader}'.`,
      );
    const method = req.method ?? "";
    if (method === "POST" && (url.pathname === "/api/query" || url.pathname === "/api/function"))
      return reply(
        ...handleFunctionCall(functionContext, req, record.body, url.pathname === "/api/function"),
      );
    if (method === "POST" && url.pathname === "/api/export/request/zip")
      return reply(...handleExportRequest(keys, exports, req, url));
    const zipMatch = /^\/api\/export\/zip\/([^/]+)$/.exec(url.pathname);
    if (method === "GET" && zipMatch) {
      const target = downloadTarget(keys, exports, req, zipMatch[1]!);
      const sent = sendZip(res, target, deploymentName, faults.shift() ?? "ok");
      record.status = sent.status;
      if (await sent.complete) downloads++;
      return;
    }
    if (isFeedRoute(method, url.pathname)) {
      const answer = handleFeedRequest(
        {
          method,
          path: url.pathname,
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"],
          body: record.body,
        },
        keys,
        feed,
      )!;
      record.status = answer.status;
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
      return;
    }
    // No route: axum's default 404 with an empty body.
    reply(404, undefined);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const record: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        authorization: req.headers.authorization,
        range: req.headers.range,
        body: Buffer.concat(chunks).toString("utf8"),
        status: 0,
      };
      requests.push(record);
      route(req, res, record).catch((error: unknown) => {
        if (res.headersSent) return;
        const [status, payload] =
          error instanceof HttpError
            ? [error.status, { code: error.code, message: error.message }]
            : [500, INTERNAL_ERROR];
        record.status = status;
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
      });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deploymentName,
    requests,
    get downloads() {
      return downloads;
    },
    componentIds: componentIds.byPath,
    exportWorker: exports.worker,
    feed,
    failNextDownload: (...next) => faults.push(...next),
    close: async () => {
      exports.stop();
      await exports.worker.settled().catch(() => {});
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (tempDir) await rm(await tempDir, { recursive: true, force: true });
    },
  };
}
