/**
 * What the executor reports is stored as the contract parsed it. The tables' validators for these shapes are derived
 * from the zod contract (schema.ts); these tests fail when the two disagree, e.g. when a copy creeps back and a field
 * added to the contract is then rejected by `ctx.db.patch` at run time.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import type { z } from "zod";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { applyCompletion, applyHeartbeat, applyProgress } from "./callbacks";
import {
  completionCallback,
  CONTRACT_VERSION,
  heartbeat,
  progressCallback,
  type CompletionCallback,
  type Heartbeat,
  type ProgressCallback,
} from "./contract/executor";
import { asAdmin, createApp, insertJob, newTest, type T } from "./test/harness.testkit";

afterEach(() => {
  vi.useRealTimers();
});

type Schema = z.core.$ZodType;

/**
 * Paths of the optional fields of `schema` that `value` leaves out, and of arrays of objects it leaves empty:
 * a sample with none covers every field the contract can send.
 */
function uncoveredFields(schema: Schema, value: unknown, path = "$"): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case "optional":
    case "default":
    case "nullable":
      return value === undefined || value === null
        ? [path]
        : uncoveredFields(def.innerType as Schema, value, path);
    case "object":
      return Object.entries(def.shape as Record<string, Schema>).flatMap(([key, field]) =>
        uncoveredFields(field, (value as Record<string, unknown>)[key], `${path}.${key}`),
      );
    case "array": {
      const items = value as unknown[];
      const element = def.element as Schema;
      if (items.length === 0) return element._zod.def.type === "object" ? [`${path}[]`] : [];
      return items.flatMap((item, i) => uncoveredFields(element, item, `${path}[${i}]`));
    }
    default:
      return [];
  }
}

const T0 = Date.UTC(2026, 10, 1);
const figures = [
  {
    table: "shop/orders",
    sqlTable: "shop__orders",
    state: "swapped",
    rows: 40,
    bytes: 4000,
    totalBytes: 8000,
    columns: 7,
    seconds: 1.5,
  },
] as const;

/** Every optional field set: `uncoveredFields` keeps these complete when the contract grows. */
const fullProgress = (jobId: string): ProgressCallback => ({
  eventId: "event-progress-0001",
  executorId: "pc-1",
  at: T0,
  jobId,
  attempt: 1,
  phase: "importing",
  download: { bytes: 10, totalBytes: 100 },
  tables: [...figures],
  changes: [{ table: "shop/orders", inserted: 3, updated: 2, deleted: 1, truncated: false }],
  message: "importing shop/orders",
});

const fullCompletion = (jobId: string): CompletionCallback => ({
  eventId: "event-complete-0001",
  executorId: "pc-1",
  at: T0,
  jobId,
  attempt: 1,
  outcome: "failed",
  tables: [...figures],
  totalRows: 40,
  durationMs: 1234,
  error: {
    message: "column age: expected a number",
    code: "bad_snapshot",
    where: "shop/orders/documents.jsonl line 12 field age",
    retryable: false,
  },
  incremental: {
    outcome: "stopped",
    reason: "the attempt's deadline",
    pages: 4,
    transactions: 3,
    tables: [{ table: "shop/orders", inserted: 3, updated: 2, deleted: 1, truncated: true }],
    droppedTables: ["shop/carts"],
    position: "1764000000123456789",
    lagMs: 1500,
    cursorAgeMs: 60_000,
  },
  feedStart: {
    stored: false,
    position: "1764000000000000000",
    error: "cursor refused",
    detachedTables: ["old_orders"],
  },
});

const fullHeartbeat: Heartbeat = {
  eventId: "event-heartbeat-0001",
  executorId: "pc-1",
  at: T0,
  version: "0.1.0",
  contractVersion: CONTRACT_VERSION,
  target: {
    kind: "mssql",
    host: "sql01",
    database: "warehouse",
    reachable: false,
    error: "login failed",
    checks: [{ check: "login", status: "fail", detail: "login failed for user sync" }],
    checkedAt: T0,
  },
  freeDiskBytes: 10_000_000,
  runningJobs: ["job-a"],
  queuedJobs: 1,
  queuedJobIds: ["job-b"],
};

async function dispatchedJob(t: T): Promise<Id<"jobs">> {
  return insertJob(t, await createApp(t), { status: "dispatched", dispatchAttempts: 1 });
}

describe("contract shapes stored in tables", () => {
  test("the samples are valid contract values that set every optional field", () => {
    for (const [schema, sample] of [
      [progressCallback, fullProgress("job-1")],
      [completionCallback, fullCompletion("job-1")],
      [heartbeat, fullHeartbeat],
    ] as const) {
      expect(schema.parse(sample)).toEqual(sample);
      expect(uncoveredFields(schema, sample)).toEqual([]);
    }
  });

  test("the coverage check names an optional field a sample leaves out", () => {
    const { checkedAt: _checkedAt, ...target } = fullHeartbeat.target;
    expect(uncoveredFields(heartbeat, { ...fullHeartbeat, target, tables: [] })).toEqual([
      "$.target.checkedAt",
    ]);
    const { changes: _changes, ...withoutChanges } = fullProgress("j");
    expect(uncoveredFields(progressCallback, { ...withoutChanges, tables: [] })).toEqual([
      "$.tables[]",
      "$.changes",
    ]);
  });

  test("figures, download and error with every field round-trip through ctx.db.insert and patch", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const { tables, download } = progressCallback.parse(fullProgress(jobId));
    const { error } = completionCallback.parse(fullCompletion(jobId));
    const stored = await t.run(async (ctx) => {
      await ctx.db.patch(jobId, { tables, download, error });
      return ctx.db.get(jobId);
    });
    expect(stored).toMatchObject({ tables, download, error });
  });

  test("a heartbeat with every field is stored by applyHeartbeat as sent", async () => {
    const t = newTest();
    const sent = heartbeat.parse(fullHeartbeat);
    const row = await t.run(async (ctx) => {
      expect(await applyHeartbeat(ctx, sent)).toBe("applied");
      return ctx.db.query("executors").unique();
    });
    expect(row).toMatchObject({
      executorId: sent.executorId,
      version: sent.version,
      contractVersion: sent.contractVersion,
      target: sent.target,
      freeDiskBytes: sent.freeDiskBytes,
      runningJobs: sent.runningJobs,
      queuedJobs: sent.queuedJobs,
    });
    const [shown] = await (await asAdmin(t)).query(api.executors.list, {});
    expect(shown).toMatchObject({ target: sent.target, freeDiskBytes: sent.freeDiskBytes, online: true });
  });

  test("progress and completion with every field are stored by their handlers as sent", async () => {
    const t = newTest();
    const jobId = await dispatchedJob(t);
    const progress = progressCallback.parse(fullProgress(jobId));
    const completion = completionCallback.parse(fullCompletion(jobId));
    const [afterProgress, afterCompletion] = await t.run(async (ctx) => {
      expect(await applyProgress(ctx, progress)).toBe("applied");
      const running = await ctx.db.get(jobId);
      expect(await applyCompletion(ctx, completion)).toBe("applied");
      return [running, await ctx.db.get(jobId)];
    });
    expect(afterProgress).toMatchObject({
      status: "running",
      phase: progress.phase,
      download: progress.download,
      tables: progress.tables,
    });
    expect(afterProgress?.changes).toEqual(progress.changes);
    expect(afterCompletion).toMatchObject({
      status: "failed",
      tables: completion.tables,
      totalRows: completion.totalRows,
      error: completion.error,
      incremental: completion.incremental,
      changes: completion.incremental!.tables,
    });
  });
});
