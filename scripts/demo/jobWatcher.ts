/**
 * Follows the demo's jobs in the hosted control plane and says what happens: each status change; after a
 * successful snapshot job the tables in the warehouse with their row counts (`listLoadedTables`, as
 * `npm run warehouse` prints them); after an incremental job the changes it applied per table and the lag.
 */
import type { Writable } from "node:stream";
import type { Harness } from "../../test/harness/server.js";
import { listLoadedTables, type LoadedTable } from "../../executor/src/import/inventory.js";

const POLL_MS = 500;
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export interface TableChangeCounts {
  table: string;
  inserted: number;
  updated: number;
  deleted: number;
  truncated: boolean;
}

export interface JobSnapshot {
  id: string;
  status: string;
  attempt: number;
  /** "snapshot" or "incremental" (absent on jobs from before sync kinds: snapshot). */
  kind: string;
  kindReason?: string;
  /** Incremental jobs: what the run committed, and the run's figures once it completed. */
  changes?: TableChangeCounts[];
  incremental?: { outcome: string; reason?: string; position: string | null; lagMs: number | null };
  /** The app's target schema: where a success is read back from. */
  schema: string;
  error?: { message: string };
}

export interface JobWatcher {
  /** Resolves when the job is final; for a success, once its warehouse row counts have been read. */
  waitForFinal(
    jobId: string,
    timeoutMs?: number,
  ): Promise<{ job: JobSnapshot; warehouse: LoadedTable[] | null }>;
  stop(): Promise<void>;
}

export function watchJobs(options: {
  harness: Harness;
  warehouseTarget: string;
  /** The schema read back when a job's app cannot be found any more. */
  schema: string;
  output: Writable;
}): JobWatcher {
  const { harness, output } = options;
  const seen = new Map<string, string>();
  const finished = new Map<string, { job: JobSnapshot; warehouse: LoadedTable[] | null }>();
  let stopped = false;
  let polling: Promise<void> = Promise.resolve();

  async function poll(): Promise<void> {
    const jobs = await harness.backend.seed<JobSnapshot[]>(async (ctx) => {
      const recent = await ctx.db.query("jobs").order("desc").take(20);
      return Promise.all(
        recent.map(async (job) => {
          const app = (await ctx.db.get(job.appId as never)) as { targetSchema?: unknown } | null;
          return {
            id: String(job._id),
            status: String(job.status),
            attempt: Number(job.attempt),
            kind: typeof job.kind === "string" ? job.kind : "snapshot",
            ...(typeof job.kindReason === "string" ? { kindReason: job.kindReason } : {}),
            ...(job.changes ? { changes: job.changes as TableChangeCounts[] } : {}),
            ...(job.incremental ? { incremental: job.incremental as JobSnapshot["incremental"] } : {}),
            schema: typeof app?.targetSchema === "string" ? app.targetSchema : options.schema,
            ...(job.error ? { error: { message: String((job.error as { message: unknown }).message) } } : {}),
          };
        }),
      );
    });
    for (const job of jobs.reverse()) {
      if (seen.get(job.id) === job.status) continue;
      seen.set(job.id, job.status);
      const kind = `${job.kind}${job.kindReason ? `, ${job.kindReason}` : ""}`;
      output.write(
        `[demo] job ${job.id} (${kind}): ${job.status}${job.error ? ` — ${job.error.message}` : ""}\n`,
      );
      if (!FINAL.has(job.status)) continue;
      if (job.kind === "incremental") {
        if (job.status === "succeeded") reportChanges(job);
        finished.set(job.id, { job, warehouse: null });
        continue;
      }
      const warehouse = job.status === "succeeded" ? await reportWarehouse(job.schema) : null;
      finished.set(job.id, { job, warehouse });
    }
  }

  function reportChanges(job: JobSnapshot): void {
    const changed = (job.changes ?? []).filter((c) => c.inserted + c.updated + c.deleted > 0 || c.truncated);
    const figures = job.incremental;
    const lag =
      figures?.lagMs === null || figures?.lagMs === undefined
        ? "unknown"
        : `${(figures.lagMs / 1000).toFixed(1)} s`;
    output.write(
      `[demo] applied the change feed (${figures?.outcome ?? "?"}; lag ${lag})${changed.length === 0 ? ": no changes" : ":"}\n`,
    );
    const width = Math.max(...changed.map((c) => c.table.length), 5);
    for (const c of changed)
      output.write(
        `[demo]   ${c.table.padEnd(width)}  +${c.inserted} inserted  ~${c.updated} updated  -${c.deleted} deleted${c.truncated ? "  (reloaded)" : ""}\n`,
      );
  }

  async function reportWarehouse(schema: string): Promise<LoadedTable[] | null> {
    try {
      const tables = await listLoadedTables(options.warehouseTarget, schema);
      const label = (t: LoadedTable) => (t.table === t.sqlTable ? t.table : `${t.table} → ${t.sqlTable}`);
      const width = Math.max(...tables.map((t) => label(t).length), 5);
      output.write(`[demo] the warehouse (${options.warehouseTarget}, schema "${schema}") now holds:\n`);
      for (const t of tables)
        output.write(`[demo]   ${label(t).padEnd(width)}  ${String(t.rows).padStart(7)} rows\n`);
      return tables;
    } catch (error) {
      output.write(`[demo] could not read the warehouse: ${(error as Error).message}\n`);
      return null;
    }
  }

  const timer = setInterval(() => {
    polling = polling.then(poll).catch((error: unknown) => {
      if (!stopped) output.write(`[demo] could not read the jobs: ${String(error)}\n`);
    });
  }, POLL_MS);

  return {
    async waitForFinal(jobId, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = finished.get(jobId);
        if (result) return result;
        if (Date.now() > deadline)
          throw new Error(`job ${jobId} not final after ${timeoutMs} ms (last status ${seen.get(jobId)})`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await polling;
    },
  };
}
