/**
 * Signed callbacks to the control plane, through an on-disk outbox so that none is lost while Convex is
 * unreachable (or the executor restarts).
 *
 *   const outbox = await CallbackOutbox.open({ dir, convexSiteUrl, secret });
 *   outbox.start();
 *   await outbox.enqueue("complete", completion);   // on disk before this resolves; delivered in order
 *
 * Entries are delivered one at a time, oldest first, each signed at send time (so retries carry a fresh
 * timestamp), retried with backoff. A newer progress callback for a job replaces an older one still waiting, and a
 * completion replaces waiting progress of its job: the receiver only needs the latest figures.
 * A 400/413/422 answer means the control plane will never accept the entry: it is moved to `dead/` and logged.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import {
  callbackRoutes,
  completionCallback,
  progressCallback,
  type CompletionCallback,
  type ProgressCallback,
} from "../../../convex/contract/executor.js";
import { requestTarget, signedHeaders } from "../../../convex/contract/signing.js";
import { backoffDelay, sleep, type BackoffOptions } from "./backoff.js";
import { createLogger, errorMessage } from "./log.js";

const log = createLogger("callbacks");

export const CALLBACK_TIMEOUT_MS = 15_000;
export const DEFAULT_CALLBACK_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };
/** 404: the control plane has no such job (never had, or pruned it): retrying cannot help. */
const PERMANENT_STATUSES = new Set([400, 404, 413, 422]);

/** POSTs `body` as JSON to `url`, signed with `secret`. */
export async function postSigned(
  url: string,
  secret: string,
  body: unknown,
  timeoutMs = CALLBACK_TIMEOUT_MS,
): Promise<Response> {
  const raw = JSON.stringify(body);
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(await signedHeaders(secret, { method: "POST", path: requestTarget(url), body: raw })),
    },
    body: raw,
    signal: AbortSignal.timeout(timeoutMs),
  });
}

const outboxEntry = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("progress"), body: progressCallback }),
  z.object({ kind: z.literal("complete"), body: completionCallback }),
]);
type OutboxEntry = z.infer<typeof outboxEntry> & { seq: number; file: string };

export type OutboxKind = OutboxEntry["kind"];

export interface OutboxOptions {
  dir: string;
  convexSiteUrl: string;
  secret: string;
  backoff?: BackoffOptions;
}

export class CallbackOutbox {
  private readonly entries: OutboxEntry[] = [];
  private nextSeq = 1;
  private sendingSeq: number | undefined;
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopController = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];

  private constructor(private readonly options: OutboxOptions) {}

  /** Opens (creating if needed) the outbox directory and loads entries left from an earlier run. */
  static async open(options: OutboxOptions): Promise<CallbackOutbox> {
    const outbox = new CallbackOutbox(options);
    await mkdir(path.join(options.dir, "dead"), { recursive: true });
    for (const name of (await readdir(options.dir)).sort()) {
      const match = /^(\d{12})-(progress|complete)\.json$/.exec(name);
      if (!match) {
        if (name.endsWith(".tmp")) await rm(path.join(options.dir, name), { force: true });
        continue;
      }
      const file = path.join(options.dir, name);
      const parsed = outboxEntry.safeParse(JSON.parse(await readFile(file, "utf8").catch(() => "null")));
      if (!parsed.success) {
        log.error("unreadable outbox entry moved to dead/", { file: name });
        await rename(file, path.join(options.dir, "dead", name));
        continue;
      }
      const seq = Number(match[1]);
      outbox.entries.push({ ...parsed.data, seq, file } as OutboxEntry);
      outbox.nextSeq = Math.max(outbox.nextSeq, seq + 1);
    }
    if (outbox.entries.length > 0) log.info("undelivered callbacks found", { count: outbox.entries.length });
    return outbox;
  }

  get pending(): number {
    return this.entries.length;
  }

  async enqueue(kind: "progress", body: ProgressCallback): Promise<void>;
  async enqueue(kind: "complete", body: CompletionCallback): Promise<void>;
  async enqueue(kind: OutboxKind, body: ProgressCallback | CompletionCallback): Promise<void> {
    const seq = this.nextSeq++;
    const file = path.join(this.options.dir, `${String(seq).padStart(12, "0")}-${kind}.json`);
    await writeFile(`${file}.tmp`, JSON.stringify({ kind, body }));
    await rename(`${file}.tmp`, file);
    // Superseded: waiting progress of the same job (never the one on the wire right now).
    const superseded = this.entries.filter(
      (e) => e.kind === "progress" && e.body.jobId === body.jobId && e.seq !== this.sendingSeq,
    );
    for (const entry of superseded) await this.remove(entry);
    this.entries.push({ kind, body, seq, file } as OutboxEntry);
    this.wake?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopController = new AbortController();
    this.loop = this.deliverLoop();
  }

  /** Stops delivering after the current attempt; entries stay on disk for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopController.abort(new Error("outbox stopped"));
    this.wake?.();
    await this.loop;
  }

  /** Waits until every entry is delivered, or `timeoutMs` passes; returns how many are still waiting. */
  async flush(timeoutMs: number): Promise<number> {
    if (this.entries.length === 0) return 0;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
    return this.entries.length;
  }

  private async deliverLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const entry = this.entries[0];
      if (!entry) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const outcome = await this.send(entry);
      if (outcome === "delivered" || outcome === "rejected") {
        failures = 0;
        if (outcome === "rejected") {
          await rename(entry.file, path.join(this.options.dir, "dead", path.basename(entry.file))).catch(
            () => {},
          );
          const index = this.entries.indexOf(entry);
          if (index >= 0) this.entries.splice(index, 1);
        } else {
          await this.remove(entry);
        }
        continue;
      }
      failures++;
      const delay = backoffDelay(failures, this.options.backoff ?? DEFAULT_CALLBACK_BACKOFF);
      await sleep(delay, this.stopController.signal).catch(() => {});
    }
  }

  private async send(entry: OutboxEntry): Promise<"delivered" | "rejected" | "retry"> {
    const route = entry.kind === "progress" ? callbackRoutes.progress : callbackRoutes.complete;
    this.sendingSeq = entry.seq;
    try {
      const response = await postSigned(
        `${this.options.convexSiteUrl}${route}`,
        this.options.secret,
        entry.body,
      );
      const detail = response.ok ? "" : (await response.text().catch(() => "")).slice(0, 500);
      if (response.ok) {
        await response.body?.cancel().catch(() => {});
        log.debug("callback delivered", {
          kind: entry.kind,
          jobId: entry.body.jobId,
          eventId: entry.body.eventId,
        });
        return "delivered";
      }
      if (PERMANENT_STATUSES.has(response.status)) {
        log.error("the control plane rejected a callback; kept in outbox/dead", {
          kind: entry.kind,
          jobId: entry.body.jobId,
          status: response.status,
          detail,
        });
        return "rejected";
      }
      log.warn("callback not accepted; will retry", { kind: entry.kind, status: response.status, detail });
      return "retry";
    } catch (error) {
      log.warn("control plane unreachable; callback kept for later", {
        kind: entry.kind,
        jobId: entry.body.jobId,
        reason: errorMessage(error),
      });
      return "retry";
    } finally {
      this.sendingSeq = undefined;
    }
  }

  private async remove(entry: OutboxEntry): Promise<void> {
    const index = this.entries.indexOf(entry);
    if (index >= 0) this.entries.splice(index, 1);
    await rm(entry.file, { force: true });
  }
}
