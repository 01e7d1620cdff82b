import { describe, expect, test } from "vitest";
import { nextRuns, validateSchedule, validateTimeZone } from "./cron";

describe("cron specs and time zones", () => {
  test("accepts 5 and 6 field specs with IANA zones", () => {
    expect(validateSchedule("0 3 * * *", "Europe/Rome")).toEqual({ ok: true });
    expect(validateSchedule("30 0 3 * * 1-5", "America/New_York")).toEqual({ ok: true });
  });

  test("names what is wrong", () => {
    expect(validateTimeZone("Mars/Olympus")).toMatchObject({
      ok: false,
      error: expect.stringContaining("Mars/Olympus"),
    });
    expect(validateSchedule("0 3 * *", "UTC")).toMatchObject({
      ok: false,
      error: expect.stringContaining("5 fields"),
    });
    expect(validateSchedule("61 3 * * *", "UTC")).toMatchObject({
      ok: false,
      error: expect.stringContaining("61 3"),
    });
  });

  test("next runs follow daylight saving time in the zone", () => {
    // 09:00 in London is 09:00Z in winter and 08:00Z in summer; BST starts 2026-03-29.
    const runs = nextRuns("0 9 * * *", "Europe/London", Date.UTC(2026, 2, 27, 12), 3);
    expect(runs.map((r) => new Date(r).toISOString())).toEqual([
      "2026-03-28T09:00:00.000Z",
      "2026-03-29T08:00:00.000Z",
      "2026-03-30T08:00:00.000Z",
    ]);
  });
});
