/**
 * Runs one incremental job (docs/incremental.md): applies the source's change feed from the position stored in
 * the warehouse, one target transaction per consistent step, reporting the changes committed so far as progress
 * (phase `applying`) and the run's figures in the completion. `needsSnapshot` is a successful run whose figures
 * say a snapshot is needed (the control plane schedules it). A failed, cancelled or interrupted run also reports
 * the figures of the steps it committed: those stay, and the next run continues from them.
 *
 * The run stops a margin before the attempt's deadline (`stopTime`): the control plane's watchdog fails the
 * attempt at that deadline, and a run stopped exactly then would race it. Feed cursors, like the deploy key, are
 * redacted from every error reported (a driver error echoing the state row would show one).
 */
import { selectionOfTables, type DataSyncSelection } from "../../../convex/contract/dataSync.js";
import type { IncrementalFigures } from "../../../convex/contract/executor.js";
import type { ChangeTarget, SyncState } from "../incremental/apply.js";
import { FeedClient } from "../incremental/feedClient.js";
import { openChangeTarget } from "../incremental/openTarget.js";
import { addTableTotals, runIncremental, type IncrementalRunResult } from "../incremental/run.js";
import { describeIncrementalFailure } from "./incrementalErrors.js";
import { DeadlinePassedError, redact } from "./jobErrors.js";
import type { IncrementalJobRecord } from "./journal.js";
import { createLogger, errorMessage } from "./log.js";
import { ProgressReporter, sendCompletion } from "./reporting.js";
import type { JobSecrets, RunnerDeps } from "./runner.js";

const log = createLogger("incremental");

/** setTimeout's longest delay; a later deadline is checked again when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_REASON = 2000;
/** The longest margin a run keeps before its deadline; shorter attempts keep a tenth of their length. */
export const STOP_MARGIN_MS = 2 * 60_000;

/**
 * When the run stops taking pages: min(2 min, a tenth of the attempt) before the deadline, so that it ends
 * `stopped` (and its completion is on its way) before the control plane's watchdog fails the attempt.
 */
export function stopTime(job: { receivedAt: number; deadline: number }): number {
  const attempt = Math.max(0, job.deadline - job.receivedAt);
  return job.deadline - Math.min(STOP_MARGIN_MS, Math.floor(attempt / 10));
}

const msBehind = (ts: bigint | null): number | null =>
  ts === null ? null : Math.max(0, Math.round(Date.now() - Number(ts / 1_000_000n)));

function figuresOf(result: IncrementalRunResult, reason: string | undefined): IncrementalFigures {
  const why = result.reason ?? reason;
  return {
    outcome: result.outcome,
    ...(why ? { reason: why.slice(0, MAX_REASON) } : {}),
    pages: result.pages,
    transactions: result.transactions,
    tables: result.tables,
    droppedTables: result.droppedTables,
    position: result.snapshotTs === null ? null : result.snapshotTs.toString(),
    lagMs: result.lagMs === null ? null : Math.round(result.lagMs),
    cursorAgeMs: result.cursorAgeMs === null ? null : Math.round(result.cursorAgeMs),
  };
}

/** Fires `stop` at `deadline`: the run ends before its next page, at a committed step. */
export function deadlineSignal(deadline: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = deadline - Date.now();
    if (left <= 0) return controller.abort();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

export async function runIncrementalJob(
  deps: RunnerDeps,
  record: IncrementalJobRecord,
  secrets: JobSecrets,
  signal: AbortSignal,
): Promise<void> {
  const { deployKey } = secrets;
  const started = Date.now();
  /** What the steps committed so far add up to (kept apart from the result, which a failure never returns). */
  const committed = { pages: 0, transactions: 0, position: null as bigint | null };
  let startState: SyncState | null | undefined;
  /** The cursors a failure's message could echo: the stored one, the last committed, the last fetched. */
  const cursors = { stored: "", committed: "", latest: "" };
  record.changes = [];
  const reporter = new ProgressReporter(deps, record, () => ({
    phase: record.phase,
    tables: [],
    changes: record.changes ?? [],
  }));
  Object.assign(record, { state: "running", phase: "applying", startedAt: started });
  log.info("job started", { jobId: record.jobId, attempt: record.attempt, app: record.app.slug });
  reporter.start();
  const deadline = deadlineSignal(stopTime(record));
  let target: ChangeTarget | undefined;
  let ending: () => Promise<void>;
  try {
    await deps.journal.save(record);
    if (started > record.deadline) throw new DeadlinePassedError(record.deadline);
    await reporter.sendNow();
    const client = new FeedClient({
      deploymentUrl: record.source.deploymentUrl,
      deployKey,
      signal,
      ...(deps.feedFetch ? { fetch: deps.feedFetch } : {}),
    });
    target = await openChangeTarget(deps.target, record.targetSchema, {
      ...(deps.duckdb ? { duckdb: deps.duckdb } : {}),
    });
    startState = await target.readState();
    cursors.stored = startState?.cursor ?? "";
    const feed: Pick<FeedClient, "page"> = {
      page: async (cursor, pageSelection) => {
        const page = await client.page(cursor, pageSelection);
        cursors.latest = page.pagination.nextCursor;
        return page;
      },
    };
    committed.position = startState?.snapshotTs ?? null;
    const selection: DataSyncSelection | undefined = record.tables
      ? selectionOfTables(record.tables)
      : undefined;
    const { sourceTables, maxPages } = record.incremental;
    const result = await runIncremental({
      target,
      feed,
      ...(selection ? { selection } : {}),
      ...(sourceTables ? { sourceTables: async () => sourceTables } : {}),
      ...(maxPages !== undefined ? { maxPages } : {}),
      signal,
      stop: deadline.signal,
      onBatch: (batch) => {
        cursors.committed = cursors.latest; // a step commits right after the page that ends it
        committed.pages += batch.pages;
        committed.transactions++;
        committed.position = batch.snapshotTs;
        record.changes = addTableTotals(record.changes ?? [], batch.tables);
        reporter.changed();
        void deps.journal.save(record).catch(() => {});
      },
    });
    const stoppedAtDeadline =
      result.outcome === "stopped" && deadline.signal.aborted
        ? "the job's deadline was near; the next run continues from the stored feed position"
        : undefined;
    const figures = figuresOf(result, stoppedAtDeadline);
    const totalRows = figures.tables.reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0);
    Object.assign(record, {
      state: "succeeded",
      phase: "finished",
      finishedAt: Date.now(),
      changes: figures.tables,
      result: figures,
    });
    ending = async () => {
      await deps.journal.save(record);
      await sendCompletion(deps, record, {
        outcome: "succeeded",
        tables: [],
        totalRows,
        durationMs: Date.now() - started,
        incremental: figures,
      });
      log.info("job succeeded", {
        jobId: record.jobId,
        outcome: figures.outcome,
        pages: figures.pages,
        transactions: figures.transactions,
        changed: totalRows,
        ...(figures.reason ? { reason: figures.reason } : {}),
      });
    };
  } catch (thrown) {
    const { outcome, error } = describeIncrementalFailure(thrown, signal, [
      deployKey,
      cursors.stored,
      cursors.committed,
      cursors.latest,
      ...deps.targetSecrets,
    ]);
    const finishedAt = Date.now();
    // Only a run that got as far as reading the stored position has figures to report.
    const figures: IncrementalFigures | undefined =
      startState === undefined
        ? undefined
        : {
            outcome: "stopped",
            reason: error.message.slice(0, MAX_REASON),
            pages: committed.pages,
            transactions: committed.transactions,
            tables: record.changes ?? [],
            droppedTables: [],
            position: committed.position === null ? null : committed.position.toString(),
            lagMs: msBehind(committed.position),
            cursorAgeMs: msBehind(startState?.snapshotTs ?? null),
          };
    Object.assign(record, {
      state: outcome,
      phase: "finished",
      finishedAt,
      error,
      ...(figures ? { result: figures } : {}),
    });
    ending = async () => {
      await deps.journal.save(record);
      await sendCompletion(deps, record, {
        outcome,
        tables: [],
        totalRows: (record.changes ?? []).reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0),
        durationMs: finishedAt - started,
        error,
        ...(figures ? { incremental: figures } : {}),
      });
      const level = outcome === "failed" ? "error" : "warn";
      log[level](`job ${outcome}`, { jobId: record.jobId, code: error.code, message: error.message });
    };
  }
  deadline.clear();
  await reporter.stop();
  // Closed before the completion goes out: the next job may open the same warehouse (DuckDB: one writer).
  await target?.close().catch((error: unknown) =>
    log.warn("closing the warehouse failed", {
      jobId: record.jobId,
      error: redact(errorMessage(error), deps.targetSecrets),
    }),
  );
  await ending();
}
