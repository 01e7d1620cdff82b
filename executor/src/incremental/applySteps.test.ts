import { describe, expect, it } from "vitest";
import {
  applyPlanSteps,
  CursorMovedError,
  transactionalWrites,
  type ApplyPlan,
  type ApplySteps,
  type TableApplyPlan,
} from "./apply.js";

const table = (name: string): TableApplyPlan => ({
  qualified: name,
  component: "",
  convexTable: name,
  sqlTable: name,
  isNew: false,
  truncated: false,
  columns: [],
  addedColumns: [],
  widenedColumns: [],
  upserts: [],
  deletes: [],
});

const plan = (fromCursor: string | null): ApplyPlan => ({
  fromCursor,
  state: {
    cursor: "c2",
    syncId: "s",
    status: "upToDate",
    snapshotTs: 1n,
    appliedAt: new Date(0),
    detachedTables: [],
  },
  tables: [table("users"), table("messages")],
});

function recordingSteps(stored: string | null, failOn?: string): { steps: ApplySteps; calls: string[] } {
  const calls: string[] = [];
  const steps: ApplySteps = {
    createBookkeeping: async () => void calls.push("bookkeeping"),
    storedCursor: async () => (calls.push("cursor"), stored),
    applyTable: async (t) => {
      calls.push(`table ${t.qualified}`);
      if (t.qualified === failOn) throw new Error("boom");
      return {
        table: t.qualified,
        sqlTable: t.sqlTable,
        truncated: false,
        inserted: 1,
        updated: 0,
        deleted: 0,
      };
    },
    writeState: async (state) => void calls.push(`state ${state.cursor}`),
    sqlName: (t) => `"w"."${t.sqlTable}"`,
  };
  return { steps, calls };
}

describe("applyPlanSteps", () => {
  it("checks the stored cursor, applies every table in order, then stores the new state", async () => {
    const { steps, calls } = recordingSteps("c1");
    const results = await applyPlanSteps(steps, plan("c1"));
    expect(calls).toEqual(["bookkeeping", "cursor", "table users", "table messages", "state c2"]);
    expect(results.map((r) => r.table)).toEqual(["users", "messages"]);
  });

  it("applies nothing when another run moved the stored cursor", async () => {
    const { steps, calls } = recordingSteps("c9");
    await expect(applyPlanSteps(steps, plan("c1"))).rejects.toBeInstanceOf(CursorMovedError);
    expect(calls).toEqual(["bookkeeping", "cursor"]);
  });

  it("treats a missing stored cursor as the start of a sync", async () => {
    const { steps } = recordingSteps(null);
    await expect(applyPlanSteps(steps, plan(null))).resolves.toHaveLength(2);
    await expect(applyPlanSteps(recordingSteps(null).steps, plan("c1"))).rejects.toBeInstanceOf(
      CursorMovedError,
    );
  });

  it("names the Convex table and its SQL table when one fails, and stores no state", async () => {
    const { steps, calls } = recordingSteps("c1", "messages");
    const err = (await applyPlanSteps(steps, plan("c1")).catch((e: Error) => e)) as Error;
    expect(err.message).toBe('table messages ("w"."messages"): boom');
    expect((err.cause as Error).message).toBe("boom");
    expect(calls).not.toContain("state c2");
  });
});

describe("transactionalWrites", () => {
  function recordingTransaction(calls: string[]) {
    return async <T>(body: () => Promise<T>): Promise<T> => {
      calls.push("begin");
      try {
        const result = await body();
        calls.push("commit");
        return result;
      } catch (err) {
        calls.push("rollback");
        throw err;
      }
    };
  }

  it("initializes by creating the bookkeeping tables and storing the state, in one transaction", async () => {
    const { steps, calls } = recordingSteps(null);
    await transactionalWrites(recordingTransaction(calls), steps).initialize(plan(null).state);
    expect(calls).toEqual(["begin", "bookkeeping", "state c2", "commit"]);
  });

  it("applies a batch's steps in one transaction, rolled back when a table fails", async () => {
    const { steps, calls } = recordingSteps("c1", "messages");
    const writes = transactionalWrites(recordingTransaction(calls), steps);
    await expect(writes.apply(plan("c1"))).rejects.toThrow("table messages");
    expect(calls).toEqual(["begin", "bookkeeping", "cursor", "table users", "table messages", "rollback"]);
  });

  it("creates the bookkeeping tables until a transaction has committed, then no more", async () => {
    const { steps, calls } = recordingSteps("c1", "messages");
    const writes = transactionalWrites(recordingTransaction(calls), steps);
    await expect(writes.apply(plan("c1"))).rejects.toThrow("table messages");
    await writes.initialize(plan(null).state);
    calls.length = 0;
    await writes.initialize(plan(null).state);
    expect(calls).toEqual(["begin", "state c2", "commit"]);
  });
});
