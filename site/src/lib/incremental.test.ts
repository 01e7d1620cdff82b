import { describe, expect, it } from "vitest";
import { incrementalOutcome } from "$convex/contract/executor";
import { describeOutcome, formatChanges, totalChanges } from "./incremental";

describe("an incremental run's changes", () => {
  it("sums the tables' counts and counts the truncated tables", () => {
    const totals = totalChanges([
      { table: "messages", inserted: 1200, updated: 30, deleted: 4, truncated: false },
      { table: "chat/threads", inserted: 5, updated: 0, deleted: 0, truncated: true },
    ]);
    expect(totals).toEqual({ inserted: 1205, updated: 30, deleted: 4, truncated: 1 });
    expect(formatChanges(totals)).toBe("+1,205 ~30 −4");
  });

  it("writes nothing changed as zeros", () => {
    expect(formatChanges(totalChanges([]))).toBe("+0 ~0 −0");
  });

  it("explains every outcome in its own words", () => {
    const meanings = incrementalOutcome.options.map((o) => describeOutcome(o).meaning);
    expect(new Set(meanings).size).toBe(incrementalOutcome.options.length);
    expect(describeOutcome("needsSnapshot").meaning).toMatch(/full snapshot/);
  });
});
