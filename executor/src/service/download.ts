/**
 * Downloads a snapshot ZIP from the source deployment (`GET {deploymentUrl}/api/export/zip/{snapshotTs}` with
 * `Authorization: Convex <deploy key>`) by streaming it to disk.
 *
 * - Transient failures (network errors, dropped connections, 408/425/429/5xx, stalls, short bodies) are retried
 *   with backoff; 401/403/404 and other 4xx fail at once.
 * - Every attempt downloads the whole ZIP from the start: Convex ignores `Range` and always answers 200 with
 *   the whole body (crates/local_backend/src/snapshot_export.rs `get_zip_export` streams the object with its
 *   Content-Length; no range handling), so resuming is impossible and a broken download restarts.
 * - The file is complete only when its size matches Content-Length and it ends with a ZIP
 *   end-of-central-directory record; only then is `<dest>.part` renamed to `<dest>`. A failed attempt's
 *   partial file is deleted at once, so a restart never holds two copies on disk.
 * - The deploy key goes into one request header and nowhere else: not in URLs, errors, logs or files.
 */
import { createWriteStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { backoffDelay, sleep, type BackoffOptions } from "./backoff.js";
import { createLogger, errorMessage } from "./log.js";
import { EXECUTOR_VERSION } from "./version.js";

const log = createLogger("download");

export interface DownloadPolicy {
  maxAttempts: number;
  backoff: BackoffOptions;
  /** An attempt that receives no bytes for this long is abandoned (and retried). */
  idleTimeoutMs: number;
}

export const DEFAULT_DOWNLOAD_POLICY: DownloadPolicy = {
  maxAttempts: 8,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
  idleTimeoutMs: 120_000,
};

export interface DownloadRequest {
  deploymentUrl: string;
  deployKey: string;
  snapshotTs: string;
  destination: string;
  signal?: AbortSignal;
  onProgress?: (bytes: number, totalBytes: number | undefined) => void;
  policy?: Partial<DownloadPolicy>;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  attempts: number;
}

export type DownloadErrorCode =
  "download_unauthorized" | "snapshot_not_found" | "download_rejected" | "download_failed" | "bad_snapshot";

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly code: DownloadErrorCode,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "DownloadError";
  }
}

/** The deployment URL may carry a path prefix (a self-hosted backend behind a proxy at `/convex`). */
export function snapshotUrl(deploymentUrl: string, snapshotTs: string): URL {
  return new URL(`${deploymentUrl.replace(/\/+$/, "")}/api/export/zip/${encodeURIComponent(snapshotTs)}`);
}

export async function downloadSnapshot(request: DownloadRequest): Promise<DownloadResult> {
  const policy = { ...DEFAULT_DOWNLOAD_POLICY, ...request.policy };
  const url = snapshotUrl(request.deploymentUrl, request.snapshotTs);
  const partPath = `${request.destination}.part`;
  for (let attempt = 1; ; attempt++) {
    request.signal?.throwIfAborted();
    try {
      const bytes = await downloadAttempt(url, partPath, request, policy.idleTimeoutMs);
      await rename(partPath, request.destination);
      log.info("snapshot downloaded", { url: url.origin + url.pathname, bytes, attempts: attempt });
      return { path: request.destination, bytes, attempts: attempt };
    } catch (error) {
      if (request.signal?.aborted) {
        await rm(partPath, { force: true });
        throw request.signal.reason;
      }
      const failure = asDownloadError(error);
      await rm(partPath, { force: true });
      if (!failure.retryable || attempt >= policy.maxAttempts) {
        throw failure.retryable
          ? new DownloadError(`${failure.message} (gave up after ${attempt} attempts)`, failure.code, true)
          : failure;
      }
      const delay = backoffDelay(attempt, policy.backoff);
      log.warn("download attempt failed; retrying", { attempt, delayMs: delay, reason: failure.message });
      await sleep(delay, request.signal);
    }
  }
}

async function downloadAttempt(
  url: URL,
  partPath: string,
  request: DownloadRequest,
  idleTimeoutMs: number,
): Promise<number> {
  const idle = new AbortController();
  let idleTimer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(
      () => idle.abort(transient(`no data from the source deployment for ${idleTimeoutMs / 1000}s`)),
      idleTimeoutMs,
    );
  };
  const signal = request.signal ? AbortSignal.any([request.signal, idle.signal]) : idle.signal;
  touch();
  try {
    const headers: Record<string, string> = {
      Authorization: `Convex ${request.deployKey}`,
      "Convex-Client": `convex-warehouse-sync-executor-${EXECUTOR_VERSION}`,
    };
    const response = await fetch(url, { headers, signal, redirect: "follow" });
    const total = await acceptResponse(response);
    if (!response.body) throw transient("the response has no body");
    let written = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        written += chunk.length;
        touch();
        request.onProgress?.(written, total);
        done(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>),
      counter,
      createWriteStream(partPath, { flags: "w" }),
      { signal },
    );
    return await checkComplete(partPath, total);
  } catch (error) {
    if (idle.signal.aborted && !request.signal?.aborted) throw idle.signal.reason;
    throw error;
  } finally {
    clearTimeout(idleTimer);
  }
}

/** Accepts a 200 (returning its Content-Length, when given) or turns the status into a DownloadError. */
async function acceptResponse(response: Response): Promise<number | undefined> {
  const { status } = response;
  if (status === 200) {
    const length = response.headers.get("content-length");
    return length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  }
  const detail = (await response.text().catch(() => "")).slice(0, 300).trim();
  const suffix = detail ? `: ${detail}` : "";
  if (status === 403 && detail.includes("OperationNotPermitted")) {
    // A restricted deploy key without DownloadBackups (crates/roles/src/eval.rs `require_operation`).
    throw new DownloadError(
      `the deploy key lacks the DownloadBackups permission on the source deployment (HTTP 403)${suffix}`,
      "download_unauthorized",
      false,
      status,
    );
  }
  if (status === 401 || status === 403) {
    throw new DownloadError(
      `the source deployment refused the deploy key (HTTP ${status})${suffix}`,
      "download_unauthorized",
      false,
      status,
    );
  }
  if (status === 404) {
    throw new DownloadError(
      `the snapshot does not exist on the source deployment (HTTP 404; expired?)${suffix}`,
      "snapshot_not_found",
      false,
      status,
    );
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    throw new DownloadError(
      `the source deployment answered HTTP ${status}${suffix}`,
      "download_failed",
      true,
      status,
    );
  }
  throw new DownloadError(
    `the source deployment refused the download (HTTP ${status})${suffix}`,
    "download_rejected",
    false,
    status,
  );
}

async function checkComplete(partPath: string, total: number | undefined): Promise<number> {
  const size = await fileSize(partPath);
  if (total !== undefined && size !== total)
    throw transient(`the download has ${size} of the ${total} bytes announced; starting over`);
  if (!(await endsWithZipDirectory(partPath, size))) {
    if (total === undefined)
      throw transient("the download ended before the ZIP's central directory; starting over");
    throw new DownloadError("the downloaded file is not a ZIP archive", "bad_snapshot", false);
  }
  return size;
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_MIN_SIZE = 22;
const EOCD_MAX_COMMENT = 0xffff;

/** True when the file's tail holds a ZIP end-of-central-directory record. */
export async function endsWithZipDirectory(filePath: string, size: number): Promise<boolean> {
  if (size < EOCD_MIN_SIZE) return false;
  const length = Math.min(size, EOCD_MIN_SIZE + EOCD_MAX_COMMENT);
  const handle = await open(filePath, "r");
  try {
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    for (let i = length - EOCD_MIN_SIZE; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

async function fileSize(filePath: string): Promise<number> {
  try {
    return (await stat(filePath)).size;
  } catch {
    return 0;
  }
}

function transient(message: string): DownloadError {
  return new DownloadError(message, "download_failed", true);
}

function asDownloadError(error: unknown): DownloadError {
  if (error instanceof DownloadError) return error;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return transient(`network error while downloading (${errorMessage(error)}${cause})`);
}
