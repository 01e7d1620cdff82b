/**
 * Runs one snapshot job: download the snapshot, import it, (given `feedStart`) store the change-feed position,
 * report progress at a steady interval and the completion (with per-table figures or the error) through the
 * outbox. Keeps the job's journal record current. Incremental jobs: incrementalRunner.ts.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import type { FeedStartResult, JobPhase, TableFigures } from "../../../convex/contract/executor.js";
import type { ImportPhase, ImportResult } from "../import/api.js";
import type { DuckdbSettings } from "../import/load/duckdb/instance.js";
import type { CallbackOutbox } from "./callbacks.js";
import { downloadSnapshot, type DownloadPolicy } from "./download.js";
import { storeFeedStart } from "./feedStart.js";
import { DeadlinePassedError, describeFailure } from "./jobErrors.js";
import { jobFileStem, type JobJournal, type SnapshotJobRecord } from "./journal.js";
import { createLogger } from "./log.js";
import { ProgressReporter, sendCompletion } from "./reporting.js";
import type { ImportFn } from "./runImport.js";

const log = createLogger("runner");

export interface RunnerDeps {
  target: string;
  /** The target's connection string and password: redacted from every error a job reports. */
  targetSecrets: readonly string[];
  downloadsDir: string;
  executorId: string;
  progressIntervalMs: number;
  keepFailedZipMs: number;
  importFn: ImportFn;
  outbox: CallbackOutbox;
  journal: JobJournal;
  downloadPolicy?: Partial<DownloadPolicy>;
  /** An embedded DuckDB warehouse's limits, for the change target (the import engine has its own copy). */
  duckdb?: DuckdbSettings;
  /** Tests: the change feed's HTTP client (e.g. one that holds a request). Default: global fetch. */
  feedFetch?: typeof fetch;
}

/** What a job holds in memory only, never in the journal: the deploy key and a snapshot job's feed cursor. */
export interface JobSecrets {
  deployKey: string;
  feedCursor?: string;
}

const IMPORT_PHASES: Record<ImportPhase, JobPhase> = {
  reading: "importing",
  loading: "importing",
  swapping: "swapping",
  done: "finished",
};

export function zipPathFor(
  downloadsDir: string,
  record: Pick<SnapshotJobRecord, "jobId" | "snapshot">,
): string {
  return path.join(downloadsDir, `job-${jobFileStem(record.jobId)}_${record.snapshot.snapshotTs}.zip`);
}

export async function runSnapshotJob(
  deps: RunnerDeps,
  record: SnapshotJobRecord,
  secrets: JobSecrets,
  signal: AbortSignal,
): Promise<void> {
  const { deployKey } = secrets;
  const started = Date.now();
  const reporter = new ProgressReporter(deps, record, () => ({
    phase: record.phase,
    ...(record.download ? { download: record.download } : {}),
    tables: record.tableFigures,
  }));
  const zipPath = zipPathFor(deps.downloadsDir, record);
  Object.assign(record, { state: "running", phase: "downloading", startedAt: started, zipPath });
  log.info("job started", { jobId: record.jobId, attempt: record.attempt, app: record.app.slug });
  reporter.start();
  try {
    await deps.journal.save(record);
    if (started > record.deadline) throw new DeadlinePassedError(record.deadline);
    await downloadSnapshot({
      deploymentUrl: record.source.deploymentUrl,
      deployKey,
      snapshotTs: record.snapshot.snapshotTs,
      destination: zipPath,
      signal,
      policy: deps.downloadPolicy,
      onProgress: (bytes, totalBytes) => {
        record.download = { bytes, ...(totalBytes !== undefined ? { totalBytes } : {}) };
        reporter.changed();
      },
    });
    record.phase = "importing";
    await deps.journal.save(record);
    await reporter.sendNow();
    const result = await deps.importFn({
      snapshotPath: zipPath,
      target: deps.target,
      schema: record.targetSchema,
      tables: record.tables,
      snapshotTs: record.snapshot.snapshotTs,
      includeStorage: record.snapshot.includeStorage,
      signal,
      progressIntervalMs: Math.min(deps.progressIntervalMs, 1_000),
      onProgress: (progress) => {
        const phase = IMPORT_PHASES[progress.phase];
        record.tableFigures = progress.tables;
        reporter.changed();
        if (phase !== record.phase) {
          // The journal must know when the swap starts: a crash after that point may have committed it.
          record.phase = phase;
          void deps.journal.save(record).catch(() => {});
        }
      },
    });
    // The swap has committed: from here on the job succeeds whatever happens to the feed position.
    let feedStart: FeedStartResult | undefined;
    if (secrets.feedCursor !== undefined) {
      feedStart = await storeFeedStart(
        deps,
        {
          jobId: record.jobId,
          targetSchema: record.targetSchema,
          snapshotTs: record.snapshot.snapshotTs,
          loadedTables: result.tables.map((t) => t.table),
        },
        secrets.feedCursor,
        [deployKey],
      );
      record.feedStart = feedStart;
    }
    await reporter.stop();
    record.tableFigures = finalFigures(result, record.tableFigures);
    Object.assign(record, { state: "succeeded", phase: "finished", finishedAt: Date.now() });
    delete record.zipPath;
    await rm(zipPath, { force: true });
    await deps.journal.save(record);
    await sendCompletion(deps, record, {
      outcome: "succeeded",
      tables: record.tableFigures,
      totalRows: result.totalRows,
      durationMs: Date.now() - started,
      ...(feedStart ? { feedStart } : {}),
    });
    log.info("job succeeded", { jobId: record.jobId, tables: result.tables.length, rows: result.totalRows });
  } catch (thrown) {
    await reporter.stop();
    const { outcome, error } = describeFailure(thrown, signal, [deployKey, ...deps.targetSecrets]);
    const finishedAt = Date.now();
    record.tableFigures = record.tableFigures.map((t) =>
      t.state === "loading" || t.state === "loaded"
        ? { ...t, state: outcome === "failed" ? "failed" : "pending" }
        : t,
    );
    Object.assign(record, { state: outcome, phase: "finished", finishedAt, error });
    const keep = outcome === "failed" && deps.keepFailedZipMs > 0;
    await rm(`${zipPath}.part`, { force: true });
    if (keep) record.keepZipUntil = finishedAt + deps.keepFailedZipMs;
    else {
      await rm(zipPath, { force: true });
      delete record.zipPath;
    }
    await deps.journal.save(record);
    await sendCompletion(deps, record, {
      outcome,
      tables: record.tableFigures,
      totalRows: 0,
      durationMs: finishedAt - started,
      error,
    });
    const level = outcome === "failed" ? "error" : "warn";
    log[level](`job ${outcome}`, { jobId: record.jobId, code: error.code, message: error.message });
  }
}

function finalFigures(result: ImportResult, lastKnown: TableFigures[]): TableFigures[] {
  const totals = new Map(lastKnown.map((t) => [t.table, t.totalBytes]));
  return result.tables.map((t) => {
    const totalBytes = totals.get(t.table);
    return {
      table: t.table,
      sqlTable: t.sqlTable,
      state: "swapped",
      rows: t.rows,
      bytes: t.bytes,
      ...(totalBytes !== undefined ? { totalBytes } : {}),
      columns: t.columns,
      seconds: t.seconds,
    };
  });
}
