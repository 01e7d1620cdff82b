/**
 * The outside world of a sync, scripted for browser tests: an executor that accepts signed jobs and reports
 * progress and completion through the control plane's signed callbacks (the contract in convex/contract). The
 * test decides when each callback goes out. The source deployment is test/standins/convexSource.ts.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  callbackRoutes,
  CONTRACT_VERSION,
  type CompletionCallback,
  jobPayload,
  type Heartbeat,
  type IncrementalFigures,
  type JobError,
  type JobPayload,
  type TableChanges,
  type TableFigures,
} from "../../convex/contract/executor.js";
import { signedHeaders, verifySignature } from "../../convex/contract/signing.js";

async function listen(
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>,
) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => void Promise.resolve(handler(req, Buffer.concat(chunks).toString("utf8"), res)));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** What the callbacks name a job by: a payload the stand-in received, or a job the test put in the database. */
export type JobRef = Pick<JobPayload, "jobId" | "attempt">;

export interface ExecutorStandIn {
  url: string;
  jobs: JobPayload[];
  waitForJob(timeoutMs?: number): Promise<JobPayload>;
  progress(job: JobRef, tables: TableFigures[]): Promise<void>;
  /** `more`: further completion fields, e.g. the `feedStart` a snapshot job sent with a cursor reports. */
  complete(
    job: JobRef,
    outcome: "succeeded" | "failed",
    tables: TableFigures[],
    error?: JobError,
    more?: Pick<CompletionCallback, "feedStart">,
  ): Promise<void>;
  /** An incremental run's progress (phase `applying`): the changes its committed steps made so far. */
  applying(job: JobRef, changes: TableChanges[]): Promise<void>;
  /** An incremental run's completion with its figures; `totalRows` is the changes' sum. */
  completeIncremental(
    job: JobRef,
    outcome: "succeeded" | "failed",
    incremental: IncrementalFigures,
    error?: JobError,
  ): Promise<void>;
  /** `target`: more of the target's report, e.g. start-up preflight lines. */
  heartbeat(target?: Partial<Heartbeat["target"]>): Promise<void>;
  close(): Promise<void>;
}

export const EXECUTOR_ID = "test-executor";

export async function startExecutorStandIn(
  secret: string,
  controlPlaneSiteUrl: () => string,
): Promise<ExecutorStandIn> {
  const jobs: JobPayload[] = [];
  let eventCounter = 0;
  const server = await listen(async (req, body, res) => {
    const check = await verifySignature(secret, new Headers(req.headers as Record<string, string>), {
      method: req.method ?? "",
      path: req.url ?? "",
      body,
    });
    if (!check.ok) return json(res, 401, { error: "bad signature" });
    if (req.method === "POST" && req.url === "/jobs") {
      const job = jobPayload.parse(JSON.parse(body));
      jobs.push(job);
      return json(res, 202, {
        jobId: job.jobId,
        attempt: job.attempt,
        state: "queued",
        phase: "queued",
        tables: [],
      });
    }
    json(res, 404, { error: "not found" });
  });

  async function post(path: string, payload: object): Promise<void> {
    const body = JSON.stringify({
      eventId: `evt-${Date.now()}-${eventCounter++}`,
      executorId: EXECUTOR_ID,
      at: Date.now(),
      ...payload,
    });
    const response = await fetch(controlPlaneSiteUrl() + path, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(await signedHeaders(secret, { method: "POST", path, body })),
      },
      body,
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  }

  return {
    url: server.url,
    jobs,
    async waitForJob(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (jobs.length === 0) {
        if (Date.now() > deadline) throw new Error("no job reached the executor stand-in");
        await new Promise((r) => setTimeout(r, 100));
      }
      return jobs.shift()!;
    },
    progress: (job, tables) =>
      post(callbackRoutes.progress, { jobId: job.jobId, attempt: job.attempt, phase: "importing", tables }),
    complete: (job, outcome, tables, error, more = {}) =>
      post(callbackRoutes.complete, {
        jobId: job.jobId,
        attempt: job.attempt,
        outcome,
        tables,
        totalRows: tables.reduce((n, t) => n + t.rows, 0),
        durationMs: 4200,
        ...(error ? { error } : {}),
        ...more,
      }),
    applying: (job, changes) =>
      post(callbackRoutes.progress, {
        jobId: job.jobId,
        attempt: job.attempt,
        phase: "applying",
        tables: [],
        changes,
      }),
    completeIncremental: (job, outcome, incremental, error) =>
      post(callbackRoutes.complete, {
        jobId: job.jobId,
        attempt: job.attempt,
        outcome,
        tables: [],
        totalRows: incremental.tables.reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0),
        durationMs: 1800,
        incremental,
        ...(error ? { error } : {}),
      }),
    heartbeat: (target = {}) =>
      post(callbackRoutes.heartbeat, {
        version: "0.1.0-test",
        contractVersion: CONTRACT_VERSION,
        target: { kind: "pglite", database: "warehouse", reachable: true, ...target },
        freeDiskBytes: 50 * 1024 ** 3,
        runningJobs: [],
        queuedJobs: 0,
      }),
    close: server.close,
  };
}
