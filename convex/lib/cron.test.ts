import { describe, expect, test } from "vitest";
import { nextRuns, runDensity, validateSchedule, validateTimeZone } from "./cron";

describe("cron specs and time zones", () => {
  test("accepts 5 and 6 field specs with IANA zones", () => {
    expect(validateSchedule("0 3 * * *", "Europe/Rome")).toEqual({ ok: true });
    expect(validateSchedule("30 0 3 * * 1-5", "America/New_York")).toEqual({ ok: true });
  });

  test("every minute is the most frequent schedule: a seconds field firing more often is refused", () => {
    expect(validateSchedule("* * * * *", "UTC")).toEqual({ ok: true });
    expect(validateSchedule("0 * * * * *", "Europe/Rome")).toEqual({ ok: true });
    expect(validateSchedule("*/30 * * * * *", "UTC")).toMatchObject({
      ok: false,
      error: expect.stringContaining("more than once a minute"),
    });
    expect(validateSchedule("0,30 * * * * *", "UTC")).toMatchObject({ ok: false });
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

  test("says in words which field is wrong and what it accepts, not the parser's message", () => {
    const error = (cron: string) => {
      const check = validateSchedule(cron, "UTC");
      return check.ok ? "ok" : check.error;
    };
    expect(error("61 * * * *")).toBe('cron "61 * * * *": 61 is not a valid minute: minutes go from 0 to 59.');
    expect(error("0 24 * * *")).toBe('cron "0 24 * * *": 24 is not a valid hour: hours go from 0 to 23.');
    expect(error("0 0 0 * *")).toMatch(
      /0 is not a valid day of the month: days of the month go from 1 to 31/,
    );
    expect(error("0 0 * * 8")).toMatch(/8 is not a valid weekday: weekdays go from 0 to 7 .* or SUN to SAT/);
    expect(error("5-1 * * * *")).toMatch(/minute range 5-1 runs backwards/);
    expect(error("*/0 * * * *")).toMatch(/minute step cannot be 0/);
    expect(error("0 x * * *")).toMatch(/"x" is not a valid hour: use a number/);
    expect(error("61 0 3 * * *")).toMatch(/61 is not a valid second/);
    expect(error("0 0 31 2 *")).toMatch(/never matches a date/);
    for (const cron of ["61 * * * *", "0 24 * * *", "0 x * * *"])
      expect(error(cron)).not.toMatch(/Constraint|Invalid/);
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

  test("run density marks every quarter hour with a run, for rare and very frequent schedules alike", () => {
    const from = Date.UTC(2026, 10, 29, 0);
    const daily = runDensity("30 3 * * *", "Europe/Berlin", from, 192);
    // 03:30 Berlin is 02:30 UTC: window 10 of each day.
    expect(daily).toEqual({ occupied: [10, 106], runs: 2 });
    const hourly = runDensity("0 * * * *", "UTC", from, 192);
    expect(hourly).toEqual({ occupied: Array.from({ length: 48 }, (_, h) => h * 4), runs: 48 });
    expect(runDensity("*/5 * * * *", "UTC", from, 192)).toMatchObject({ runs: 576 });
    expect(runDensity("*/5 * * * *", "UTC", from, 192).occupied).toHaveLength(192);
    expect(runDensity("*/30 * * * * *", "UTC", from, 192).runs).toBe(48 * 60 * 2);
    // 2026-11-29 is a Sunday: Monday 09:00-17:00 UTC only, windows 96+36 .. 96+67.
    const officeHours = runDensity("*/10 9-16 * * 1-5", "UTC", from, 192);
    expect(officeHours).toEqual({ occupied: Array.from({ length: 32 }, (_, i) => 132 + i), runs: 48 });
    // Day of month OR weekday when both are restricted (cron-parser's rule): the 30th (a Monday) and Sundays.
    expect(runDensity("0 12 30 * 0", "UTC", from, 192).occupied).toEqual([48, 144]);
    // Nepal is UTC+05:45: 06:00 there is 00:15 UTC.
    expect(runDensity("0 6 * * *", "Asia/Kathmandu", from, 192).occupied).toEqual([1, 97]);
  });

  test("run density agrees with cron-parser's own next runs", () => {
    const from = Date.UTC(2026, 2, 28, 0);
    for (const [cron, zone] of [
      ["17 */3 * * *", "America/New_York"],
      ["0 9 * * 1-5", "Europe/London"],
      ["0 0 L * *", "UTC"],
      ["0 0 * * 5#2", "UTC"],
    ] as const) {
      const expected = new Set(
        nextRuns(cron, zone, from - 1, 40)
          .filter((t) => t < from + 192 * 900_000)
          .map((t) => Math.floor((t - from) / 900_000)),
      );
      expect(runDensity(cron, zone, from, 192).occupied, cron).toEqual([...expected]);
    }
  });
});
