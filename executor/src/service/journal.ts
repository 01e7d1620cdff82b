/**
 * The on-disk journal of jobs: one small JSON file per job under `<dataDir>/jobs/`, replaced atomically on every
 * state change. After a crash it tells which jobs were running, so they can be reported as interrupted.
 * It holds no secrets: the deploy key and a snapshot job's feed cursor are never part of a record.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import {
  executorJobStatus,
  feedStartResult,
  incrementalFigures,
  incrementalJobPayload,
  jobError,
  snapshotJobPayload,
  tableChanges,
  tableFigures,
  type ExecutorJobStatus,
  type JobPayload,
} from "../../../convex/contract/executor.js";
import { createLogger } from "./log.js";

const log = createLogger("journal");

/** Finished jobs are forgotten after this long (a repeated POST of such an old job is refused as stale anyway). */
export const JOURNAL_RETENTION_MS = 30 * 24 * 3_600_000;

/** What every job's record holds besides its payload (whose deploy key and feed cursor are never written). */
const recordState = {
  source: z.object({ deploymentUrl: z.string() }),
  state: executorJobStatus.shape.state,
  phase: executorJobStatus.shape.phase,
  tableFigures: z.array(tableFigures),
  error: jobError.optional(),
  receivedAt: z.number(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
};

export const snapshotJobRecord = snapshotJobPayload
  .omit({ source: true, contractVersion: true, feedStart: true })
  .extend({
    ...recordState,
    download: z.object({ bytes: z.number(), totalBytes: z.number().optional() }).optional(),
    /** The downloaded ZIP while it exists; kept until `keepZipUntil` after a failure. */
    zipPath: z.string().optional(),
    keepZipUntil: z.number().optional(),
    /**
     * The job came with a feed cursor to store after the swap. The cursor itself stays in memory only: after a
     * crash it is gone, and the control plane starts the feed from a new snapshot.
     */
    feedStartRequested: z.boolean().optional(),
    feedStart: feedStartResult.optional(),
  });

export const incrementalJobRecord = incrementalJobPayload
  .omit({ source: true, contractVersion: true })
  .extend({
    ...recordState,
    /** The changes committed so far (running totals per table). */
    changes: z.array(tableChanges).optional(),
    /** What the run did, once it ended. */
    result: incrementalFigures.optional(),
  });

export const jobRecord = z.union([snapshotJobRecord, incrementalJobRecord]);
export type JobRecord = z.infer<typeof jobRecord>;
export type SnapshotJobRecord = z.infer<typeof snapshotJobRecord>;
export type IncrementalJobRecord = z.infer<typeof incrementalJobRecord>;

export const ACTIVE_STATES: ReadonlySet<JobRecord["state"]> = new Set(["queued", "running"]);

export function toStatus(record: JobRecord): ExecutorJobStatus {
  return {
    jobId: record.jobId,
    attempt: record.attempt,
    kind: record.kind,
    state: record.state,
    phase: record.phase,
    tables: record.tableFigures,
    ...(record.error ? { error: record.error } : {}),
  };
}

/** The journal's record of a payload just received: without the deploy key and without a feed cursor. */
export function recordOfPayload(payload: JobPayload, receivedAt = Date.now()): JobRecord {
  const queued = { state: "queued" as const, phase: "queued" as const, tableFigures: [], receivedAt };
  if (payload.kind === "incremental") {
    const { source, contractVersion: _version, ...rest } = payload;
    return { ...rest, ...queued, source: { deploymentUrl: source.deploymentUrl } };
  }
  const { source, contractVersion: _version, feedStart, ...rest } = payload;
  return {
    ...rest,
    ...queued,
    source: { deploymentUrl: source.deploymentUrl },
    ...(feedStart ? { feedStartRequested: true } : {}),
  };
}

/** A file name that is safe on every file system, whatever characters the job id has. */
export function jobFileStem(jobId: string): string {
  return createHash("sha256").update(jobId).digest("hex").slice(0, 32);
}

export class JobJournal {
  private readonly records = new Map<string, JobRecord>();
  /** One write at a time per job, each writing the record as it is then: the file ends with the latest state. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string, now = Date.now()): Promise<JobJournal> {
    const journal = new JobJournal(dir);
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      const file = path.join(dir, name);
      if (!name.endsWith(".json")) {
        if (name.endsWith(".tmp")) await rm(file, { force: true });
        continue;
      }
      const parsed = jobRecord.safeParse(JSON.parse(await readFile(file, "utf8").catch(() => "null")));
      if (!parsed.success) {
        log.error("unreadable journal entry ignored", { file: name });
        continue;
      }
      const record = parsed.data;
      if (
        !ACTIVE_STATES.has(record.state) &&
        (record.finishedAt ?? record.receivedAt) < now - JOURNAL_RETENTION_MS
      ) {
        await rm(file, { force: true });
        continue;
      }
      journal.records.set(record.jobId, record);
    }
    return journal;
  }

  get(jobId: string): JobRecord | undefined {
    return this.records.get(jobId);
  }

  all(): JobRecord[] {
    return [...this.records.values()];
  }

  /** Sets the record in memory at once (synchronously), then on disk. */
  save(record: JobRecord): Promise<void> {
    this.records.set(record.jobId, record);
    const file = path.join(this.dir, `${jobFileStem(record.jobId)}.json`);
    const write = async () => {
      await writeFile(`${file}.tmp`, JSON.stringify(record));
      await rename(`${file}.tmp`, file);
    };
    const next = (this.writes.get(record.jobId) ?? Promise.resolve()).then(write, write);
    this.writes.set(record.jobId, next);
    void next
      .finally(() => {
        if (this.writes.get(record.jobId) === next) this.writes.delete(record.jobId);
      })
      .catch(() => {});
    return next;
  }
}
