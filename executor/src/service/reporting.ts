/**
 * What every job kind reports to the control plane through the outbox: progress at a steady interval while the
 * figures change, and one completion. The runners (runner.ts for snapshots, incrementalRunner.ts) only say what
 * changed; the callbacks' envelope (event id, executor id, time) is built here.
 */
import { randomUUID } from "node:crypto";
import type { CompletionCallback, ProgressCallback } from "../../../convex/contract/executor.js";
import type { CallbackOutbox } from "./callbacks.js";
import type { JobRecord } from "./journal.js";
import { createLogger } from "./log.js";

const log = createLogger("reporting");

export interface ReportingDeps {
  executorId: string;
  progressIntervalMs: number;
  outbox: CallbackOutbox;
}

export function eventBase(deps: Pick<ReportingDeps, "executorId">) {
  return { eventId: randomUUID(), executorId: deps.executorId, at: Date.now() };
}

type Envelope = "eventId" | "executorId" | "at" | "jobId" | "attempt";

/** Queues the job's completion (on disk before this resolves). */
export function sendCompletion(
  deps: Pick<ReportingDeps, "executorId" | "outbox">,
  record: Pick<JobRecord, "jobId" | "attempt">,
  body: Omit<CompletionCallback, Envelope>,
): Promise<void> {
  return deps.outbox.enqueue("complete", {
    ...eventBase(deps),
    jobId: record.jobId,
    attempt: record.attempt,
    ...body,
  });
}

/** The progress of a job as it stands: what `ProgressReporter` sends. */
export type ProgressFigures = Omit<ProgressCallback, Envelope>;

/** Sends the job's latest figures every `progressIntervalMs` while they change. */
export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private dirty = true;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: ReportingDeps,
    private readonly record: Pick<JobRecord, "jobId" | "attempt">,
    private readonly figures: () => ProgressFigures,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.dirty) void this.sendNow();
    }, this.deps.progressIntervalMs);
  }

  changed(): void {
    this.dirty = true;
  }

  sendNow(): Promise<void> {
    this.dirty = false;
    this.inFlight = this.inFlight.then(() => this.send());
    return this.inFlight;
  }

  private async send(): Promise<void> {
    const { record } = this;
    await this.deps.outbox
      .enqueue("progress", {
        ...eventBase(this.deps),
        jobId: record.jobId,
        attempt: record.attempt,
        ...this.figures(),
      })
      .catch((error: unknown) => log.warn("could not queue a progress callback", { error: String(error) }));
  }

  /** Stops the timer and waits for a progress callback being queued, so none lands after the completion. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }
}
