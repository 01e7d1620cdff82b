import { describe, expect, it } from "vitest";
import { describeSyncState, modeOf, sourceTsToMs, syncState, SYNC_MODES } from "./syncMode";

const position = { ts: "1764403200123456789", appliedAt: 1_764_403_210_000 };
const reading = (...args: Parameters<typeof syncState>) => describeSyncState(syncState(...args));

describe("an app's sync mode in words", () => {
  it("offers every mode, auto first, each with its own explanation", () => {
    expect(SYNC_MODES.map((m) => m.value)).toEqual(["auto", "incremental", "snapshot"]);
    expect(new Set(SYNC_MODES.map((m) => m.explanation)).size).toBe(3);
  });

  it("treats an app saved before modes existed as snapshot", () => {
    expect(modeOf({})).toBe("snapshot");
    expect(modeOf({ syncMode: "auto" })).toBe("auto");
  });

  it("says auto runs incrementally once the feed is available and the warehouse holds a position", () => {
    const state = syncState("auto", { availability: "available", position });
    expect(describeSyncState(state)).toBe("auto → incremental");
    expect(state.next).toBe("incremental");
  });

  it("says why auto falls back to snapshots", () => {
    const state = syncState("auto", {
      availability: "unavailable",
      reason: "the deployment's plan has no streaming export",
    });
    expect(describeSyncState(state)).toBe("auto → snapshot: the deployment's plan has no streaming export");
    expect(state.next).toBe("snapshot");
    expect(reading("auto", { availability: "unavailable" })).toBe(
      "auto → snapshot: the change feed is not available",
    );
  });

  it("says an incremental app needs a snapshot, and why", () => {
    const feed = {
      availability: "available" as const,
      needsSnapshot: "the feed position is older than the source keeps its change log",
    };
    const state = syncState("incremental", feed);
    expect(describeSyncState(state)).toBe(
      "incremental: needs a snapshot: the feed position is older than the source keeps its change log",
    );
    expect(state.next).toBe("snapshot");
    expect(reading("auto", feed)).toMatch(/^auto → incremental: needs a snapshot: /);
  });

  it("flags an incremental app whose feed is unavailable as a problem", () => {
    const state = syncState("incremental", {
      availability: "unavailable",
      reason: "403 StreamingExportNotEnabled",
    });
    expect(describeSyncState(state)).toBe(
      "incremental: runs fail while the change feed is unavailable: 403 StreamingExportNotEnabled",
    );
    expect(state.tone).toBe("bad");
  });

  it("says the first run loads a snapshot while no position is stored, and auto is undecided before a probe", () => {
    expect(reading("incremental", undefined)).toMatch(/^incremental: the first run loads a snapshot/);
    expect(reading("auto", { availability: "available" })).toMatch(
      /^auto → incremental: the first run loads/,
    );
    const undecided = syncState("auto", undefined);
    expect(undecided.next).toBeNull();
    expect(describeSyncState(undecided)).toMatch(/^auto: not decided yet/);
  });

  it("says snapshot for snapshot apps whatever the feed says", () => {
    expect(reading("snapshot", { availability: "available", position })).toBe("snapshot");
  });
});

describe("source timestamps", () => {
  it("reads nanoseconds above 2^53 exactly down to the millisecond", () => {
    expect(sourceTsToMs("1764403200123456789")).toBe(1_764_403_200_123);
    expect(new Date(sourceTsToMs(position.ts)!).toISOString()).toBe("2025-11-29T08:00:00.123Z");
  });

  it("gives null for anything that is not a decimal timestamp", () => {
    expect(sourceTsToMs(undefined)).toBeNull();
    expect(sourceTsToMs("")).toBeNull();
    expect(sourceTsToMs("-5")).toBeNull();
    expect(sourceTsToMs("1e21")).toBeNull();
  });
});
