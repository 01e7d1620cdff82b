/**
 * The executor's client of Convex's change feed (convex/contract/dataSync.ts has the wire contract).
 *
 *   const feed = new FeedClient({ deploymentUrl, deployKey });
 *   const page = await feed.page(cursor);          // one page, parsed losslessly
 *   const cursor = await feed.cursorFromSnapshot(snapshotTs, selection);
 *
 * Responses are parsed with the uniform-export decoder (reader/uniform.ts), so `ts`/`snapshotTs` and int64 fields
 * come out as exact bigints and `$bytes`/`$float` as Buffers and numbers. Refusals the caller must act on are
 * typed errors; transient failures (network, timeouts, 408/429/5xx) are retried with the contract's backoff.
 */
import {
  convexErrorBody,
  cursorFromDeltasBody,
  cursorFromDeltasResponse,
  dataSyncErrorCodes,
  dataSyncResponse,
  dataSyncRoutes,
  type DataSyncResponse,
  type DataSyncSelection,
} from "../../../convex/contract/dataSync.js";
import { decodeUniformLine } from "../import/reader/uniform.js";
import type { ConvexObject } from "../import/values.js";
import { backoffDelay, sleep, type BackoffOptions } from "../service/backoff.js";
import { EXECUTOR_VERSION } from "../service/version.js";

/** A page whose document values are decoded Convex values. */
export type FeedPage = Omit<DataSyncResponse, "values"> & {
  values: (Omit<DataSyncResponse["values"][number], "value"> & { value: ConvexObject })[];
  /**
   * The answer's length as received (characters of its text): what holding the page costs, roughly (the decoded
   * values take a few times that). Absent on pages built in memory (tests).
   */
  bytes?: number;
};

export class FeedError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/**
 * 401, or a 403 other than the plan's and the permission's: the source refused the deploy key (Convex cloud may
 * answer a key it rejects with 403, as the control plane's probe assumes: convex/lib/sourceFeed.ts).
 */
export class FeedAuthError extends FeedError {}
/** 403 StreamingExportNotEnabled: the deployment's plan has no streaming export; use snapshots. */
export class StreamingExportNotEnabledError extends FeedError {}
/** 403 OperationNotPermitted: the key lacks deployment:data:view. */
export class FeedPermissionError extends FeedError {}
/** 400 DataSyncCursorExpired: the cursor is older than the change log's retention; a full snapshot is needed. */
export class CursorExpiredError extends FeedError {}
/** 400 InvalidDataSyncCursor: the stored cursor is damaged or from another deployment. */
export class InvalidCursorError extends FeedError {}
/** The answer was not what the contract says (bad JSON or shape). */
export class FeedProtocolError extends FeedError {}

class TransientError extends Error {}

export const DEFAULT_FEED_RETRY = { attempts: 5, backoff: { baseMs: 500, maxMs: 30_000 } as BackoffOptions };
/** A page is at most ~64 MiB (DATA_SYNC_PAGE_BYTES_LIMIT): generous, but a stalled server still ends. */
export const DEFAULT_FEED_TIMEOUT_MS = 120_000;

export interface FeedClientOptions {
  deploymentUrl: string;
  deployKey: string;
  retry?: { attempts: number; backoff: BackoffOptions };
  timeoutMs?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export class FeedClient {
  private readonly base: string;
  constructor(private readonly options: FeedClientOptions) {
    this.base = options.deploymentUrl.replace(/\/+$/, "");
  }

  /** One page after `cursor` (none: a fresh sync that snapshots every selected table first). */
  async page(cursor: string | undefined, selection?: DataSyncSelection): Promise<FeedPage> {
    const body = JSON.stringify({ ...(cursor ? { cursor } : {}), ...(selection ? { selection } : {}) });
    const text = await this.call("POST", dataSyncRoutes.sync, body);
    let decoded: unknown;
    try {
      decoded = decodeUniformLine(text);
    } catch (err) {
      throw new FeedProtocolError(
        `the data sync answer is not valid JSON: ${(err as Error).message}`,
        200,
        undefined,
      );
    }
    const parsed = dataSyncResponse.safeParse(decoded);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new FeedProtocolError(
        `the data sync answer does not match the contract at ${issue?.path.join(".") || "the top"}: ${issue?.message}`,
        200,
        undefined,
      );
    }
    return { ...(parsed.data as FeedPage), bytes: text.length };
  }

  /**
   * A data-sync cursor for the state at `snapshotTs` (a snapshot export's timestamp): every selected table counts
   * as synced up to it. Call right after the snapshot: a table replaced in between would never get its truncate.
   */
  async cursorFromSnapshot(snapshotTs: bigint, selection?: DataSyncSelection): Promise<string> {
    const text = await this.call(
      "POST",
      dataSyncRoutes.cursorFromDeltas,
      cursorFromDeltasBody(snapshotTs, selection),
    );
    const parsed = cursorFromDeltasResponse.safeParse(safeJson(text));
    if (!parsed.success)
      throw new FeedProtocolError("cursor_from_deltas answered without a cursor", 200, undefined);
    return parsed.data.cursor;
  }

  /** Resolves when the plan and key allow the change feed; throws the typed refusal otherwise. */
  async testConnection(): Promise<void> {
    await this.call("GET", dataSyncRoutes.testConnection);
  }

  private async call(method: "GET" | "POST", route: string, body?: string): Promise<string> {
    const retry = this.options.retry ?? DEFAULT_FEED_RETRY;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(method, route, body);
      } catch (err) {
        if (!(err instanceof TransientError) || attempt >= retry.attempts) {
          if (err instanceof TransientError)
            throw new FeedError(`${route} failed ${attempt} times: ${err.message}`, undefined, undefined);
          throw err;
        }
        await sleep(backoffDelay(attempt, retry.backoff), this.options.signal);
      }
    }
  }

  private async once(method: "GET" | "POST", route: string, body?: string): Promise<string> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_FEED_TIMEOUT_MS);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await (this.options.fetch ?? fetch)(this.base + route, {
        method,
        headers: {
          Authorization: `Convex ${this.options.deployKey}`,
          "Convex-Client": `convex-warehouse-sync-executor-${EXECUTOR_VERSION}`,
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        },
        body,
        signal,
      });
      text = await response.text();
    } catch (err) {
      if (this.options.signal?.aborted) throw err;
      throw new TransientError(`no answer from the source deployment (${(err as Error).message})`);
    }
    if (response.ok) return text;
    throw refusal(response.status, text, route);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Maps a refusal to its typed error; transient statuses become TransientError (retried). */
export function refusal(status: number, text: string, route: string): Error {
  const body = convexErrorBody.safeParse(safeJson(text));
  const code = body.success ? body.data.code : undefined;
  const message = `${route}: ${status}${code ? ` ${code}` : ""}: ${body.success ? body.data.message : text.slice(0, 200)}`;
  if (status === 408 || status === 429 || status >= 500) return new TransientError(message);
  if (status === 401) return new FeedAuthError(message, status, code);
  if (code === dataSyncErrorCodes.streamingExportNotEnabled)
    return new StreamingExportNotEnabledError(message, status, code);
  if (code === dataSyncErrorCodes.operationNotPermitted)
    return new FeedPermissionError(message, status, code);
  if (status === 403) return new FeedAuthError(message, status, code);
  if (code === dataSyncErrorCodes.cursorExpired) return new CursorExpiredError(message, status, code);
  if (code === dataSyncErrorCodes.invalidCursor) return new InvalidCursorError(message, status, code);
  return new FeedError(message, status, code);
}
