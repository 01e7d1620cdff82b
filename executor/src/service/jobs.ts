/**
 * The executor's jobs: accepts payloads (idempotent by job id), queues them per target, runs them, cancels them,
 * recovers after a restart and shuts down gracefully. Deploy keys live only in memory, only until the job ends.
 *
 *   const jobs = await JobManager.start({ ...deps, dataDir, concurrency: 1 });
 *   const { status, created } = jobs.submit(payload);
 */
import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { ExecutorJobStatus, FeedStartResult, JobPayload } from "../../../convex/contract/executor.js";
import { parseTarget } from "../import/load/target.js";
import type { CallbackOutbox } from "./callbacks.js";
import type { DownloadPolicy } from "./download.js";
import { JobStopped } from "./jobErrors.js";
import type { DuckdbSettings } from "../import/load/duckdb/instance.js";
import { COMMITTED_STEPS_STAY } from "./incrementalErrors.js";
import { runIncrementalJob } from "./incrementalRunner.js";
import { ACTIVE_STATES, JobJournal, recordOfPayload, toStatus, type JobRecord } from "./journal.js";
import { createLogger } from "./log.js";
import { JobQueue } from "./queue.js";
import { sendCompletion } from "./reporting.js";
import type { ImportFn } from "./runImport.js";
import { runSnapshotJob, type JobSecrets, type RunnerDeps } from "./runner.js";
import { targetSecrets } from "./targetProbe.js";

const log = createLogger("jobs");

export const CANCEL_WAIT_MS = 10_000;
const SWEEP_INTERVAL_MS = 3_600_000;

export interface JobManagerOptions {
  dataDir: string;
  target: string;
  executorId: string;
  concurrency: number;
  progressIntervalMs: number;
  keepFailedZipMs: number;
  importFn: ImportFn;
  outbox: CallbackOutbox;
  downloadPolicy?: Partial<DownloadPolicy>;
  duckdb?: DuckdbSettings;
  feedFetch?: typeof fetch;
}

/** What a job the executor lost on a crash did to the target: nothing, unless the crash hit the final swap. */
export function interruptedMessage(record: Pick<JobRecord, "state" | "phase" | "kind">): string {
  if (record.state === "queued") return "the executor stopped before the job started";
  if (record.kind === "incremental")
    return `the executor stopped during an incremental run; ${COMMITTED_STEPS_STAY}`;
  if (record.phase === "swapping" || record.phase === "finished") {
    // The swap is one transaction: it either committed just before the crash or it did not.
    return "the executor stopped during the final swap; each table shows either the previous or the new snapshot as a whole (one transaction), so run the job again to be sure";
  }
  return `the executor stopped during the job (phase ${record.phase}); nothing was swapped in and the target tables are unchanged`;
}

/**
 * A snapshot job with a feed cursor that a crash ended during or after its swap: the swap may have committed, but
 * the cursor (kept in memory only) is gone, so the feed position is not stored unless the journal says it was.
 */
function lostFeedStart(record: JobRecord): FeedStartResult | undefined {
  if (record.kind !== "snapshot" || !record.feedStartRequested) return undefined;
  if (record.feedStart) return record.feedStart;
  if (record.phase !== "swapping" && record.phase !== "finished") return undefined;
  return {
    stored: false,
    position: record.snapshot.snapshotTs,
    error:
      "the executor stopped before the snapshot's change-feed position was stored; the next incremental run needs a new snapshot",
  };
}

function secretsOfTarget(target: string): string[] {
  try {
    return [target, ...targetSecrets(parseTarget(target))];
  } catch {
    return [target];
  }
}

export class NotAcceptingJobsError extends Error {
  constructor() {
    super("the executor is shutting down and accepts no new jobs");
    this.name = "NotAcceptingJobsError";
  }
}

interface RunningJob {
  controller: AbortController;
  done: Promise<void>;
}

export class JobManager {
  /** In memory only, until the job ends: never in the journal. */
  private readonly secrets = new Map<string, JobSecrets>();
  private readonly runningJobs = new Map<string, RunningJob>();
  private readonly queue: JobQueue;
  private readonly runner: RunnerDeps;
  private accepting = true;
  private sweepTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: JobManagerOptions,
    private readonly journal: JobJournal,
  ) {
    this.runner = {
      target: options.target,
      targetSecrets: secretsOfTarget(options.target),
      downloadsDir: path.join(options.dataDir, "downloads"),
      executorId: options.executorId,
      progressIntervalMs: options.progressIntervalMs,
      keepFailedZipMs: options.keepFailedZipMs,
      importFn: options.importFn,
      outbox: options.outbox,
      journal,
      ...(options.downloadPolicy ? { downloadPolicy: options.downloadPolicy } : {}),
      ...(options.duckdb ? { duckdb: options.duckdb } : {}),
      ...(options.feedFetch ? { feedFetch: options.feedFetch } : {}),
    };
    this.queue = new JobQueue(options.concurrency, (jobId) => this.run(jobId));
  }

  /** Opens the journal, reports jobs a previous run left unfinished as interrupted, and clears old downloads. */
  static async start(options: JobManagerOptions): Promise<JobManager> {
    const journal = await JobJournal.open(path.join(options.dataDir, "jobs"));
    const manager = new JobManager(options, journal);
    await manager.reportInterrupted();
    await manager.sweepDownloads();
    manager.sweepTimer = setInterval(() => void manager.sweepDownloads(), SWEEP_INTERVAL_MS).unref();
    return manager;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  get runningJobIds(): string[] {
    return this.queue.active;
  }

  get queuedJobIds(): readonly string[] {
    return this.queue.queued;
  }

  get queuedCount(): number {
    return this.queue.queued.length;
  }

  status(jobId: string): ExecutorJobStatus | undefined {
    const record = this.journal.get(jobId);
    return record && toStatus(record);
  }

  /**
   * Queues a job unless this job id is known: then it returns the job's current state and starts nothing. A higher
   * attempt of a job that has ended starts a new run; one of a job still waiting in the queue takes its place (the
   * control plane has given up on the older attempt and would ignore its callbacks).
   */
  submit(payload: JobPayload): { status: ExecutorJobStatus; created: boolean } {
    const existing = this.journal.get(payload.jobId);
    const supersedesQueued =
      existing?.state === "queued" && payload.attempt > existing.attempt && this.accepting;
    if (
      existing &&
      !supersedesQueued &&
      (ACTIVE_STATES.has(existing.state) || existing.attempt >= payload.attempt)
    ) {
      return { status: toStatus(existing), created: false };
    }
    if (!this.accepting) throw new NotAcceptingJobsError();
    if (supersedesQueued) {
      this.queue.remove(payload.jobId);
      log.info("a newer attempt replaces the queued one", {
        jobId: payload.jobId,
        attempt: payload.attempt,
        replaced: existing.attempt,
      });
    }
    const record = recordOfPayload(payload);
    // The in-memory record is set before the first await (inside save), so a concurrent repeat sees it.
    void this.journal
      .save(record)
      .catch((error: unknown) => log.error("journal write failed", { error: String(error) }));
    this.secrets.set(payload.jobId, {
      deployKey: payload.source.deployKey,
      ...(payload.kind === "snapshot" && payload.feedStart ? { feedCursor: payload.feedStart.cursor } : {}),
    });
    this.queue.push(payload.jobId);
    log.info("job accepted", {
      jobId: payload.jobId,
      attempt: payload.attempt,
      kind: payload.kind,
      queued: this.queue.queued.length,
    });
    return { status: toStatus(record), created: true };
  }

  /** Cancels a queued or running job (waiting briefly for a running one to roll back); undefined if unknown. */
  async cancel(
    jobId: string,
    reason = "cancelled by the control plane",
  ): Promise<ExecutorJobStatus | undefined> {
    const record = this.journal.get(jobId);
    if (!record) return undefined;
    if (record.state === "queued" && this.queue.remove(jobId)) {
      await this.finishWithoutRunning(record, "cancelled", reason);
    } else {
      const running = this.runningJobs.get(jobId);
      if (running) {
        running.controller.abort(new JobStopped("cancelled", reason));
        await Promise.race([running.done, new Promise((r) => setTimeout(r, CANCEL_WAIT_MS).unref())]);
      }
    }
    return this.status(jobId);
  }

  /**
   * Stops accepting jobs, reports queued ones as interrupted, lets running ones finish for `graceMs`, then stops
   * them (the import engine rolls back, so their targets stay as they were).
   */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    clearInterval(this.sweepTimer);
    for (const jobId of this.queue.drain()) {
      const record = this.journal.get(jobId);
      if (record)
        await this.finishWithoutRunning(
          record,
          "interrupted",
          "the executor shut down before the job started",
        );
    }
    const idle = this.queue.idle();
    const graceOver = await Promise.race([
      idle.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
    ]);
    if (graceOver) {
      log.warn("grace period over; stopping running jobs", { jobs: [...this.runningJobs.keys()] });
      for (const running of this.runningJobs.values()) {
        running.controller.abort(new JobStopped("interrupted", "the executor was shut down during the job"));
      }
      await idle;
    }
  }

  private async run(jobId: string): Promise<void> {
    const record = this.journal.get(jobId);
    const secrets = this.secrets.get(jobId);
    if (!record || secrets === undefined) return;
    const controller = new AbortController();
    const running =
      record.kind === "incremental"
        ? runIncrementalJob(this.runner, record, secrets, controller.signal)
        : runSnapshotJob(this.runner, record, secrets, controller.signal);
    const done = running.finally(() => {
      this.secrets.delete(jobId);
      this.runningJobs.delete(jobId);
    });
    this.runningJobs.set(jobId, { controller, done });
    await done;
  }

  private async finishWithoutRunning(
    record: JobRecord,
    outcome: "cancelled" | "interrupted",
    reason: string,
  ): Promise<void> {
    this.secrets.delete(record.jobId);
    const error = {
      message: `${reason}; the target tables were left unchanged`,
      code: outcome === "cancelled" ? "cancelled" : "executor_stopped",
      retryable: true,
    };
    Object.assign(record, { state: outcome, phase: "finished", finishedAt: Date.now(), error });
    await this.journal.save(record);
    await sendCompletion(this.runner, record, {
      outcome,
      tables: record.tableFigures,
      totalRows: 0,
      durationMs: 0,
      error,
    });
  }

  /** Jobs the journal shows as queued or running belong to a previous process that died: report them. */
  private async reportInterrupted(): Promise<void> {
    for (const record of this.journal.all()) {
      if (!ACTIVE_STATES.has(record.state)) continue;
      const error = {
        message: interruptedMessage(record),
        code: "executor_restarted",
        retryable: true,
      };
      const finishedAt = Date.now();
      record.tableFigures = record.tableFigures.map((t) =>
        t.state === "loading" || t.state === "loaded" ? { ...t, state: "pending" } : t,
      );
      const feedStart = lostFeedStart(record);
      Object.assign(record, { state: "interrupted", phase: "finished", finishedAt, error });
      if (record.kind === "snapshot") {
        delete record.zipPath;
        if (feedStart) record.feedStart = feedStart;
      }
      await this.journal.save(record);
      await sendCompletion(this.runner, record, {
        outcome: "interrupted",
        tables: record.tableFigures,
        totalRows: 0,
        durationMs: finishedAt - (record.startedAt ?? record.receivedAt),
        error,
        ...(feedStart ? { feedStart } : {}),
      });
      log.warn("job from a previous run reported as interrupted", {
        jobId: record.jobId,
        phase: record.phase,
      });
    }
  }

  /** Deletes downloads that no job needs any more (partial files, successful ones, failed ones past their time). */
  private async sweepDownloads(): Promise<void> {
    const dir = this.runner.downloadsDir;
    const names = await readdir(dir).catch(() => [] as string[]);
    const now = Date.now();
    const keep = new Set<string>();
    for (const record of this.journal.all()) {
      if (record.kind !== "snapshot" || !record.zipPath) continue;
      if (ACTIVE_STATES.has(record.state) || (record.keepZipUntil ?? 0) > now) {
        keep.add(path.basename(record.zipPath));
        keep.add(`${path.basename(record.zipPath)}.part`);
      }
    }
    for (const name of names) {
      if (keep.has(name)) continue;
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) await rm(file, { force: true });
    }
  }
}
