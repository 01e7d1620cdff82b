/**
 * Follows the demo's jobs in the hosted control plane and says what happens: each status change, and after a
 * successful job the tables in the warehouse with their row counts (`listLoadedTables`, as
 * `npm run warehouse` prints them).
 */
import type { Writable } from "node:stream";
import type { Harness } from "../../test/harness/server.js";
import { listLoadedTables, type LoadedTable } from "../../executor/src/import/inventory.js";

const POLL_MS = 500;
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export interface JobSnapshot {
  id: string;
  status: string;
  attempt: number;
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
            schema: typeof app?.targetSchema === "string" ? app.targetSchema : options.schema,
            ...(job.error ? { error: { message: String((job.error as { message: unknown }).message) } } : {}),
          };
        }),
      );
    });
    for (const job of jobs.reverse()) {
      if (seen.get(job.id) === job.status) continue;
      seen.set(job.id, job.status);
      output.write(`[demo] job ${job.id}: ${job.status}${job.error ? ` — ${job.error.message}` : ""}\n`);
      if (!FINAL.has(job.status)) continue;
      const warehouse = job.status === "succeeded" ? await reportWarehouse(job.schema) : null;
      finished.set(job.id, { job, warehouse });
    }
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
