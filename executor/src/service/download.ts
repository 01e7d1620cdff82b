/**
 * Downloads a snapshot ZIP from the source deployment (`GET {deploymentUrl}/api/export/zip/{snapshotTs}` with
 * `Authorization: Convex <deploy key>`) by streaming it to disk.
 *
 * - Transient failures (network errors, dropped connections, 408/425/429/5xx, stalls, short bodies) are retried
 *   with backoff; 401/403/404 and other 4xx fail at once.
 * - A retry resumes with `Range` where the server answers 206; otherwise it starts over.
 * - The file is complete only when its size matches Content-Length (or Content-Range's total) and it ends with a
 *   ZIP end-of-central-directory record; only then is `<dest>.part` renamed to `<dest>`.
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

export function snapshotUrl(deploymentUrl: string, snapshotTs: string): URL {
  return new URL(`/api/export/zip/${encodeURIComponent(snapshotTs)}`, deploymentUrl);
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
      if (!failure.retryable || attempt >= policy.maxAttempts) {
        await rm(partPath, { force: true });
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
  const offset = await fileSize(partPath);
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
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const response = await fetch(url, { headers, signal, redirect: "follow" });
    const { start, total } = await acceptResponse(response, offset, partPath);
    if (!response.body) throw transient("the response has no body");
    let written = start;
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
      createWriteStream(partPath, { flags: start > 0 ? "a" : "w" }),
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

/** Decides from the status whether to append (206), start over (200) or fail; returns where writing starts. */
async function acceptResponse(
  response: Response,
  offset: number,
  partPath: string,
): Promise<{ start: number; total: number | undefined }> {
  const { status } = response;
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
    if (range && Number(range[1]) === offset) {
      return { start: offset, total: range[3] === "*" ? undefined : Number(range[3]) };
    }
    await response.body?.cancel();
    await rm(partPath, { force: true });
    throw transient("the server answered a different range than requested; starting over");
  }
  if (status === 200) {
    const length = response.headers.get("content-length");
    return { start: 0, total: length !== null && /^\d+$/.test(length) ? Number(length) : undefined };
  }
  const detail = (await response.text().catch(() => "")).slice(0, 300).trim();
  const suffix = detail ? `: ${detail}` : "";
  if (status === 416) {
    await rm(partPath, { force: true });
    throw transient("the server refused to resume (416); starting over");
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
  if (total !== undefined && size < total)
    throw transient(`the download stopped at ${size} of ${total} bytes`);
  if (total !== undefined && size > total) {
    await rm(partPath, { force: true });
    throw transient(`the download has ${size} bytes but the server announced ${total}; starting over`);
  }
  if (!(await endsWithZipDirectory(partPath, size))) {
    if (total === undefined) {
      await rm(partPath, { force: true });
      throw transient(
        "the download ended before the ZIP's central directory (no Content-Length to resume by)",
      );
    }
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
