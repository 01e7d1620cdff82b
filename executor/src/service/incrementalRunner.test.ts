import { afterEach, describe, expect, it, vi } from "vitest";
import { addChanges, deadlineSignal } from "./incrementalRunner.js";

const step = (table: string, inserted: number, updated = 0, deleted = 0, truncated = false) => ({
  table,
  sqlTable: table,
  inserted,
  updated,
  deleted,
  truncated,
});

describe("addChanges", () => {
  it("sums each table's changes over the steps, sorted by table, a truncate sticking", () => {
    const first = addChanges([], [step("users", 2, 1), step("chat/messages", 0, 0, 0, true)]);
    const second = addChanges(first, [step("users", 1, 0, 3), step("admins", 1)]);
    expect(second).toEqual([
      { table: "admins", inserted: 1, updated: 0, deleted: 0, truncated: false },
      { table: "chat/messages", inserted: 0, updated: 0, deleted: 0, truncated: true },
      { table: "users", inserted: 3, updated: 1, deleted: 3, truncated: false },
    ]);
    expect(first.find((t) => t.table === "users")!.inserted).toBe(2); // the earlier totals are not changed
  });
});

describe("deadlineSignal", () => {
  afterEach(() => vi.useRealTimers());

  it("fires at the deadline, also one beyond setTimeout's longest delay", () => {
    vi.useFakeTimers({ now: 0 });
    const soon = deadlineSignal(1_000);
    const far = deadlineSignal(2 ** 31 + 5_000);
    vi.advanceTimersByTime(999);
    expect(soon.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(soon.signal.aborted).toBe(true);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(far.signal.aborted).toBe(false);
    vi.advanceTimersByTime(6_000);
    expect(far.signal.aborted).toBe(true);
    far.clear();
  });

  it("has fired already for a deadline in the past, and stops nothing once cleared", () => {
    vi.useFakeTimers({ now: 10_000 });
    expect(deadlineSignal(5_000).signal.aborted).toBe(true);
    const cleared = deadlineSignal(20_000);
    cleared.clear();
    vi.advanceTimersByTime(20_000);
    expect(cleared.signal.aborted).toBe(false);
  });
});
