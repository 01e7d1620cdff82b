import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import {
  callbackRoutes,
  completionCallback,
  type CompletionCallback,
  type JobError,
} from "./contract/executor";
import { signedHeaders } from "./contract/signing";
import { asAdmin, createApp, newTest, scheduled, TEST_EXECUTOR_SECRET, type T } from "./test/harness.testkit";

// The executor classifies target errors (executor/src/import/load/{postgres,mssql}/errors.ts) and reports
// `retryable`; these tests hold the control plane to it through the real signed completion route.

const RETRY = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };

async function dispatchedJob(t: T): Promise<Id<"jobs">> {
  const appId = await createApp(t, { retry: RETRY });
  const { jobId } = await (await asAdmin(t)).mutation(api.jobs.trigger, { appId });
  await t.run((ctx) => ctx.db.patch(jobId, { status: "dispatched" }));
  return jobId;
}

let events = 0;
async function reportFailure(t: T, jobId: Id<"jobs">, error: Partial<JobError> & { message: string }) {
  const body: CompletionCallback = {
    eventId: `event-${++events}-${Math.random().toString(36).slice(2)}`,
    executorId: "pc-1",
    at: Date.now(),
    jobId,
    attempt: 1,
    outcome: "failed",
    tables: [],
    totalRows: 0,
    durationMs: 100,
    error: error as JobError,
  };
  const raw = JSON.stringify(body);
  const path = callbackRoutes.complete;
  const response = await t.fetch(path, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(await signedHeaders(TEST_EXECUTOR_SECRET, { method: "POST", path, body: raw })),
    },
    body: raw,
  });
  expect(response.status).toBe(200);
}

const jobOf = (t: T, jobId: Id<"jobs">) => t.run((ctx) => ctx.db.get(jobId));
const exportsScheduled = async (t: T) =>
  (await scheduled(t)).filter((s) => s.name.includes("startExport")).map((s) => s.args);

describe("the control plane retries only what a retry can fix", () => {
  test("a terminal target failure fails the job at once with its own code and explanation", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const before = await exportsScheduled(t);
    const message =
      "Two documents of one table have the same _id, so the primary key cannot be built; nothing was changed. " +
      "(SQLSTATE 23505: table users: cannot add the primary key on _id)";
    await reportFailure(t, jobId, { message, code: "target_duplicate_id", retryable: false });
    expect(await jobOf(t, jobId)).toMatchObject({
      status: "failed",
      active: false,
      attempt: 1,
      error: { code: "target_duplicate_id", retryable: false, message },
    });
    expect(await exportsScheduled(t)).toEqual(before);
  });

  test("a transient target failure is tried again with a fresh export after the backoff", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    await reportFailure(t, jobId, {
      message: "Another session held the tables the import needed (SQLSTATE 40P01: deadlock detected)",
      code: "target_conflict",
      retryable: true,
    });
    expect(await jobOf(t, jobId)).toMatchObject({
      status: "queued",
      active: true,
      attempt: 2,
      error: { code: "target_conflict", retryable: true },
    });
    expect(await exportsScheduled(t)).toContainEqual({ jobId, attempt: 2 });
  });

  test("an executor that predates the classification (no retryable) is still retried", async () => {
    expect(completionCallback.shape.error.unwrap().parse({ message: "import failed: x" }).retryable).toBe(
      true,
    );
    const t = newTest();
    const jobId = await dispatchedJob(t);
    await reportFailure(t, jobId, { message: "import failed: x", code: "import_failed" });
    expect(await jobOf(t, jobId)).toMatchObject({ status: "queued", attempt: 2 });
  });
});
