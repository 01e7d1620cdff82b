/**
 * A local stand-in for a source Convex deployment's snapshot download endpoint,
 * `GET /api/export/zip/{snapshotTs}` with `Authorization: Convex <deploy key>`, serving real export ZIPs from
 * test/fixtures/samples. It can fail the way real servers fail; queue failures with `failNext(...)`:
 *
 *   const source = await startSourceDeployment({ deployKey: "prod:demo|k", snapshots: { "1": SAMPLE_ZIP } });
 *   source.failNext({ status: 500 }, "drop");   // the next request gets 500, the one after is cut mid-body
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { LEGACY_SAMPLE_ZIPS } from "../../test/fixtures/legacy-sample-zips.js";

export const ANOUK_ZIP = LEGACY_SAMPLE_ZIPS.anoukBackup;
export const ANOUK_DEV_ZIP = LEGACY_SAMPLE_ZIPS.anoukDev;
export const EMPTY_ZIP = LEGACY_SAMPLE_ZIPS.cronJobsDemo;

export type SourceFault =
  | "ok"
  /** Answers with this status and a Convex-style JSON error. */
  | { status: number }
  /** Sends the headers and about half the body, then destroys the connection. */
  | "drop"
  /** Announces the full Content-Length, sends about half, then ends the response cleanly. */
  | "truncate"
  /** Sends the body in small chunks with a pause between them. */
  | { slowChunkMs: number }
  /** Sends the headers, then nothing (a stalled server). */
  | "stall";

export interface SourceRequest {
  path: string;
  authorization: string | undefined;
  range: string | undefined;
  status: number;
}

export interface SourceDeployment {
  url: string;
  requests: SourceRequest[];
  failNext(...faults: SourceFault[]): void;
  /** When false, Range headers are ignored and every answer is a full 200. */
  acceptRanges: boolean;
  close(): Promise<void>;
}

export async function startSourceDeployment(options: {
  deployKey: string;
  snapshots: Record<string, string>;
}): Promise<SourceDeployment> {
  const bodies = new Map(Object.entries(options.snapshots).map(([ts, file]) => [ts, readFileSync(file)]));
  const faults: SourceFault[] = [];
  const requests: SourceRequest[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const state = { acceptRanges: true };

  const server = http.createServer((req, res) => {
    const record: SourceRequest = {
      path: req.url ?? "",
      authorization: req.headers.authorization,
      range: req.headers.range,
      status: 0,
    };
    requests.push(record);
    const reply = (status: number, body: unknown) => {
      record.status = status;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Convex ${options.deployKey}`) {
      return reply(401, {
        code: "BadAdminKey",
        message: "The provided admin key was invalid for this instance",
      });
    }
    const match = /^\/api\/export\/zip\/(\d+)$/.exec(req.url ?? "");
    const body = match ? bodies.get(match[1]!) : undefined;
    if (!match || !body) return reply(404, { code: "ExportNotFound", message: "Export not found" });

    const fault = faults.shift() ?? "ok";
    if (typeof fault === "object" && "status" in fault) {
      return reply(fault.status, {
        code: "InternalServerError",
        message: "Your request couldn't be completed.",
      });
    }
    let start = 0;
    const range = state.acceptRanges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? "") : null;
    if (range) {
      start = Number(range[1]);
      if (start >= body.length) {
        record.status = 416;
        return res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      }
    }
    const slice = body.subarray(start);
    record.status = range ? 206 : 200;
    res.writeHead(record.status, {
      "content-type": "application/zip",
      "content-length": String(slice.length),
      "content-disposition": `attachment; filename=snapshot_demo_${match[1]}.zip`,
      ...(state.acceptRanges ? { "accept-ranges": "bytes" } : {}),
      ...(range ? { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const half = Math.max(1, Math.floor(slice.length / 2));
    switch (fault) {
      case "ok":
        return res.end(slice);
      case "drop":
        res.write(slice.subarray(0, half), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case "truncate":
        // Ends the socket after half the announced bytes: what a proxy that gives up mid-body looks like.
        res.write(slice.subarray(0, half), () => setTimeout(() => res.socket?.end(), 20));
        return;
      case "stall":
        res.flushHeaders();
        return;
      default:
        return void sendSlowly(res, slice, fault.slowChunkMs);
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...next) => faults.push(...next),
    get acceptRanges() {
      return state.acceptRanges;
    },
    set acceptRanges(value: boolean) {
      state.acceptRanges = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function sendSlowly(res: http.ServerResponse, body: Buffer, pauseMs: number): Promise<void> {
  const chunk = Math.max(1, Math.ceil(body.length / 20));
  for (let i = 0; i < body.length; i += chunk) {
    if (res.destroyed) return;
    res.write(body.subarray(i, i + chunk));
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  res.end();
}
