import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatCount,
  formatDate,
  formatDateTime,
  formatDuration,
  formatLag,
  formatPercent,
  formatRelative,
  formatScheduledRun,
  parseDate,
  statusTone,
} from "./format";

describe("formatting for people", () => {
  it("groups counts and shows a dash for missing values", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(undefined)).toBe("—");
  });

  it("scales bytes to the largest whole unit", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(250 * 1024 * 1024)).toBe("250 MB");
  });

  it("writes durations from milliseconds to hours", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_300)).toBe("12 s");
    expect(formatDuration(4_300)).toBe("4.3 s");
    expect(formatDuration(245_000)).toBe("4 min 05 s");
    expect(formatDuration(7_380_000)).toBe("2 h 03 min");
  });

  it("writes a lag in whole units that read well while ticking", () => {
    expect(formatLag(850)).toBe("0 s");
    expect(formatLag(42_900)).toBe("42 s");
    expect(formatLag(245_000)).toBe("4 min 05 s");
    expect(formatLag(7_380_000)).toBe("2 h 03 min");
    expect(formatLag(86_400_000)).toBe("1 day 00 h");
    expect(formatLag(3 * 86_400_000 + 4 * 3_600_000)).toBe("3 days 04 h");
    expect(formatLag(-5_000)).toBe("0 s");
    expect(formatLag(null)).toBe("—");
  });

  it("says how long ago or until, and falls back to a date after a week", () => {
    const now = Date.UTC(2026, 10, 28, 12);
    expect(formatRelative(now - 10_000, now)).toBe("just now");
    expect(formatRelative(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(formatRelative(now + 3 * 3_600_000, now)).toBe("in 3 h");
    expect(formatRelative(now - 86_400_000, now)).toBe("1 day ago");
    expect(formatRelative(now - 30 * 86_400_000, now)).toBe("2026-10-29");
  });

  it("writes every time in one labelled zone, in one date format", () => {
    const at = Date.UTC(2026, 10, 29, 7, 5, 9, 600);
    expect(formatDateTime(at)).toBe("2026-11-29 07:05 UTC");
    expect(formatDateTime(at, { seconds: true })).toBe("2026-11-29 07:05:09 UTC");
    expect(formatDateTime(at, { timeZone: "Europe/Berlin" })).toBe("2026-11-29 08:05 Europe/Berlin");
    expect(formatDateTime(at, { weekday: true })).toBe("Sun 2026-11-29 07:05 UTC");
    expect(formatDate(Date.UTC(2026, 0, 31, 23, 59))).toBe("2026-01-31");
    expect(formatDateTime(undefined)).toBe("—");
    expect(formatScheduledRun(at, "Europe/Berlin")).toBe("Sun 2026-11-29 07:05 UTC (08:05 Europe/Berlin)");
    expect(formatScheduledRun(at, "UTC")).toBe("Sun 2026-11-29 07:05 UTC");
  });

  it("reads a YYYY-MM-DD day as whole UTC days and refuses days that do not exist", () => {
    expect(parseDate("2026-11-29")).toBe(Date.UTC(2026, 10, 29));
    expect(parseDate("2026-11-29", true)).toBe(Date.UTC(2026, 10, 30));
    expect(parseDate("2026-02-30")).toBeUndefined();
    expect(parseDate("29.11.2026")).toBeUndefined();
  });

  it("colours statuses by what they mean", () => {
    expect(statusTone("succeeded")).toBe("ok");
    expect(statusTone("failed")).toBe("bad");
    expect(statusTone("running")).toBe("active");
    expect(statusTone("cancelled")).toBe("warn");
    expect(statusTone("loaded")).toBe("ok");
    expect(statusTone("skipped")).toBe("neutral");
    expect(statusTone("toString")).toBe("neutral");
    expect(formatPercent(0.875)).toBe("88%");
  });
});
