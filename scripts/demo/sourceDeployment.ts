/**
 * A local stand-in for a source Convex deployment, for the offline demo. It answers the calls the control
 * plane (convex/lib/sourceDeployment.ts) and the executor (executor/src/service/download.ts) make with a
 * deploy key (`Authorization: Convex <key>`):
 *
 *   POST /api/query     `_system/cli/tables`, `_system/frontend/components:list`, `_system/cli/exports:getLatest`
 *   POST /api/function  `_system/cli/tables` of a component (`componentPath`)
 *   POST /api/export/request/zip   starts an export that completes after `exportDelayMs`
 *   GET  /api/export/zip/{ts}      the snapshot ZIP (Range supported, as the real one)
 *
 * Every export serves the same ZIP, written once at start. Never part of the site or the Convex deployment.
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface DemoSourceOptions {
  deployKey: string;
  /** The snapshot ZIP every export serves. */
  zipFile: string;
  /** Root tables, and component tables by component path. */
  tables: { root: string[]; components: Record<string, string[]> };
  exportDelayMs?: number;
  port?: number;
}

export interface DemoSource {
  url: string;
  /** How many snapshot downloads were served in full. */
  readonly downloads: number;
  close(): Promise<void>;
}

interface ExportRecord {
  id: string;
  startTs: string;
  completeTs: string | null;
}

const nowNs = () => `${BigInt(Date.now()) * 1_000_000n}`;
const componentId = (path: string) => `component-${path.replaceAll("/", "-")}`;

export async function startDemoSource(options: DemoSourceOptions): Promise<DemoSource> {
  const zip = await readFile(options.zipFile);
  const exports = new Map<string, ExportRecord>();
  let latest: ExportRecord | null = null;
  let downloads = 0;
  const timers = new Set<NodeJS.Timeout>();

  function answerQuery(path: string, componentPath: string | undefined): unknown {
    if (path === "_system/cli/tables") {
      const names = componentPath
        ? Object.entries(options.tables.components).find(([p]) => componentId(p) === componentPath)?.[1]
        : options.tables.root;
      if (!names) throw new Error(`no component ${componentPath}`);
      return { page: names.map((name) => ({ name })), isDone: true, continueCursor: "end" };
    }
    if (path === "_system/frontend/components:list" && !componentPath)
      return Object.keys(options.tables.components).map((p) => ({ id: componentId(p), path: p }));
    if (path === "_system/cli/exports:getLatest" && !componentPath) {
      if (!latest) return null;
      return latest.completeTs
        ? { _id: latest.id, state: "completed", start_ts: latest.startTs, complete_ts: latest.completeTs }
        : { _id: latest.id, state: "in_progress", start_ts: latest.startTs };
    }
    throw new Error(`the demo source does not know ${path}`);
  }

  function requestExport(res: ServerResponse): void {
    if (latest && !latest.completeTs)
      return json(res, 400, { code: "ExportInProgress", message: "An export is already in progress" });
    const record: ExportRecord = { id: `export${exports.size + 1}`, startTs: nowNs(), completeTs: null };
    exports.set(record.startTs, record);
    latest = record;
    const timer = setTimeout(() => {
      timers.delete(timer);
      record.completeTs = nowNs();
    }, options.exportDelayMs ?? 1_500);
    timers.add(timer);
    json(res, 200, {});
  }

  function download(req: IncomingMessage, res: ServerResponse, ts: string): void {
    if (!exports.get(ts)?.completeTs)
      return json(res, 404, { code: "ExportNotFound", message: `no completed export ${ts}` });
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    if (start >= zip.length)
      return void res.writeHead(416, { "content-range": `bytes */${zip.length}` }).end();
    const body = zip.subarray(start);
    res.writeHead(range ? 206 : 200, {
      "content-type": "application/zip",
      "content-length": String(body.length),
      "content-disposition": `attachment; filename=snapshot_demo_${ts}.zip`,
      "accept-ranges": "bytes",
      ...(range ? { "content-range": `bytes ${start}-${zip.length - 1}/${zip.length}` } : {}),
    });
    res.end(body, () => downloads++);
  }

  const server = createServer((req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Convex ${options.deployKey}`)
        return json(res, 401, { code: "BadDeployKey", message: "The provided deploy key was invalid." });
      const url = new URL(req.url ?? "/", "http://x");
      const zipMatch = /^\/api\/export\/zip\/(\d+)$/.exec(url.pathname);
      if (req.method === "GET" && zipMatch) return download(req, res, zipMatch[1]!);
      if (req.method === "POST" && url.pathname === "/api/export/request/zip") return requestExport(res);
      if (req.method === "POST" && (url.pathname === "/api/query" || url.pathname === "/api/function")) {
        const body = JSON.parse((await readBody(req)) || "{}") as { path?: string; componentPath?: string };
        try {
          const value = answerQuery(String(body.path), body.componentPath);
          return json(res, 200, { status: "success", value, logLines: [] });
        } catch (error) {
          return json(res, 560, { status: "error", errorMessage: (error as Error).message, logLines: [] });
        }
      }
      json(res, 404, { code: "NotFound", message: `${req.method} ${url.pathname}` });
    })().catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { code: "InternalServerError", message: String(error) });
    });
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get downloads() {
      return downloads;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
