/**
 * The source stand-in's snapshot-export routes (get-convex/convex-backend at 94a42c3d:
 * crates/local_backend/src/snapshot_export.rs, application/src/lib.rs `request_export` / `get_zip_export`):
 * `POST /api/export/request/zip` and `GET /api/export/zip/{id}`. Download faults imitate the network and the
 * proxies between us and Convex, not Convex.
 */
import { Buffer } from "node:buffer";
import type http from "node:http";
import type { ExportDoc, Exports } from "./exportWorker.js";
import { HttpError, INTERNAL_ERROR } from "./httpError.js";
import type { KeyRing } from "./keys.js";

/** A download fault: what a flaky network or proxy does to `GET /api/export/zip/{id}`. */
export type DownloadFault =
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

export function handleExportRequest(
  keys: KeyRing,
  exports: Exports,
  req: http.IncomingMessage,
  url: URL,
): [number, unknown] {
  const identity = keys.identityOf(req.headers.authorization);
  const includeStorage = url.searchParams.get("includeStorage");
  if (includeStorage !== null && includeStorage !== "true" && includeStorage !== "false")
    throw new HttpError(400, "BadQueryParams", "Failed to deserialize query string");
  keys.requireOperation(identity, "CreateBackups");
  // Any export requested or in progress blocks a new one, whoever asked for it (latest_requested /
  // latest_in_progress look at every requestor, scheduled and dashboard backups included).
  if (exports.unfinished())
    throw new HttpError(400, "ExportInProgress", "There is already an export requested or in progress.");
  exports.request(includeStorage === "true");
  return [200, undefined];
}

export function downloadTarget(
  keys: KeyRing,
  exports: Exports,
  req: http.IncomingMessage,
  id: string,
): ExportDoc {
  const identity = keys.identityOf(req.headers.authorization);
  keys.requireOperation(identity, "DownloadBackups");
  // By timestamp only a completed export matches (completed_export_at_ts uses the by_state_and_ts index).
  const found = exports.find(id);
  if (!found && !/^\d+$/.test(id))
    throw new HttpError(400, "BadSnapshotId", "Snapshot Id did not parse to an ID.");
  if (!found) throw new HttpError(404, "ExportNotFound", `The requested export ${id} was not found`);
  if (found.state !== "completed")
    throw new HttpError(400, "ExportNotComplete", `The requested export ${id} has not completed`);
  return found;
}

/** Sends a completed export's ZIP, or what the next queued fault makes of it. Resolves true once sent in full. */
export function sendZip(
  res: http.ServerResponse,
  e: ExportDoc,
  deploymentName: string,
  fault: DownloadFault,
): { status: number; complete: Promise<boolean> } {
  const body = e.zip ?? Buffer.alloc(0);
  if (typeof fault === "object" && "status" in fault) {
    res.writeHead(fault.status, { "content-type": "application/json" });
    res.end(JSON.stringify(INTERNAL_ERROR));
    return { status: fault.status, complete: Promise.resolve(false) };
  }
  // snapshot_export.rs `get_zip_export`: no Range support, the whole object with its Content-Length, always
  // 200; Content-Length, Content-Disposition and Cache-Control are all its headers (no Content-Type).
  res.writeHead(200, {
    "content-length": String(body.length),
    // local_backend/src/custom_headers.rs `ContentDispositionAttachment`: the file name is not quoted.
    "content-disposition": `attachment; filename=snapshot_${deploymentName}_${e.start_ts}.zip`,
    "cache-control": "private, max-age=2592000",
  });
  const half = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
  switch (fault) {
    case "ok":
      return { status: 200, complete: new Promise((resolve) => res.end(body, () => resolve(true))) };
    case "drop":
      res.write(half, () => setTimeout(() => res.socket?.destroy(), 20));
      return { status: 200, complete: Promise.resolve(false) };
    case "truncate":
      res.write(half, () => setTimeout(() => res.socket?.end(), 20));
      return { status: 200, complete: Promise.resolve(false) };
    case "stall":
      res.flushHeaders();
      return { status: 200, complete: Promise.resolve(false) };
    default:
      return { status: 200, complete: sendSlowly(res, body, fault.slowChunkMs) };
  }
}

async function sendSlowly(res: http.ServerResponse, body: Buffer, pauseMs: number): Promise<boolean> {
  const chunk = Math.max(1, Math.ceil(body.length / 20));
  for (let i = 0; i < body.length; i += chunk) {
    if (res.destroyed) return false;
    res.write(body.subarray(i, i + chunk));
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  res.end();
  return true;
}
