import { describe, expect, test } from "vitest";
import { previousRuns } from "./cron";
import { freshnessOf, lastLoadOf, snapshotTsToMs } from "./freshness";

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 29, 7, 20);
const hourly = previousRuns("0 * * * *", "UTC", NOW, 2);
const ns = (ms: number) => `${ms}000000`;

describe("warehouse freshness", () => {
  test("reads the snapshot's nanosecond timestamp exactly", () => {
    expect(snapshotTsToMs("1764400000123456789")).toBe(1764400000123);
    expect(snapshotTsToMs("not a number")).toBeNull();
    expect(snapshotTsToMs(undefined)).toBeNull();
  });

  test("the previous runs of a schedule are the latest ones at or before now", () => {
    expect(hourly).toEqual([Date.UTC(2026, 10, 29, 7), Date.UTC(2026, 10, 29, 6)]);
  });

  test("is on time while the run before the latest has landed, behind once it has not", () => {
    const at0605 = {
      snapshotTs: ns(Date.UTC(2026, 10, 29, 6, 0, 30)),
      finishedAt: Date.UTC(2026, 10, 29, 6, 2),
    };
    expect(freshnessOf(at0605, hourly)).toEqual({
      snapshotAt: Date.UTC(2026, 10, 29, 6, 0, 30),
      loadedAt: Date.UTC(2026, 10, 29, 6, 2),
      expectedSince: Date.UTC(2026, 10, 29, 6),
      behind: false,
    });
    const at0505 = { snapshotTs: ns(Date.UTC(2026, 10, 29, 5, 0, 30)), finishedAt: NOW - 2 * H };
    expect(freshnessOf(at0505, hourly).behind).toBe(true);
  });

  test("a scheduled app that never loaded is behind; an app without a schedule never is", () => {
    expect(freshnessOf(null, hourly)).toMatchObject({ snapshotAt: null, behind: true });
    expect(freshnessOf({ snapshotTs: ns(NOW - 30 * 24 * H) }, null)).toMatchObject({ behind: false });
  });

  test("an app on the change feed is as fresh as its feed position, not its last snapshot", () => {
    const position = { ts: ns(NOW - 40_000), appliedAt: NOW - 30_000 };
    const snapshot = {
      kind: "snapshot" as const,
      export: { snapshotTs: ns(NOW - 5 * H) },
      finishedAt: NOW - 4 * H,
    };
    expect(lastLoadOf(position, snapshot)).toEqual({
      snapshotTs: position.ts,
      finishedAt: position.appliedAt,
    });
    const everyMinute = previousRuns("* * * * *", "UTC", NOW, 2);
    expect(freshnessOf(lastLoadOf(position, snapshot), everyMinute)).toMatchObject({
      snapshotAt: NOW - 40_000,
      behind: false,
    });
    // Without a position (a full snapshot pending): the last run's own position, else the snapshot's timestamp.
    const run = {
      kind: "incremental" as const,
      incremental: { position: ns(NOW - 90_000) },
      finishedAt: NOW,
    };
    expect(lastLoadOf(undefined, run)).toEqual({ snapshotTs: ns(NOW - 90_000), finishedAt: NOW });
    expect(lastLoadOf(undefined, snapshot)?.snapshotTs).toBe(ns(NOW - 5 * H));
    expect(freshnessOf(lastLoadOf(undefined, run), everyMinute).behind).toBe(true);
  });
});
