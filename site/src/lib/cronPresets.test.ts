import { describe, expect, it } from "vitest";
import { cronFor, describeCron, presetOf } from "./cronPresets";

describe("schedule presets", () => {
  it("writes plain cron for each preset and time", () => {
    expect(cronFor("minutely", "")).toBe("* * * * *");
    expect(cronFor("hourly", "")).toBe("0 * * * *");
    expect(cronFor("daily", "02:30")).toBe("30 2 * * *");
    expect(cronFor("weekdays", "7:05")).toBe("5 7 * * 1-5");
    expect(cronFor("daily", "25:00")).toBeNull();
    expect(cronFor("custom", "02:30")).toBeNull();
  });

  it("recognises a preset in a saved expression, and anything else as custom", () => {
    expect(presetOf("* * * * *")).toEqual({ preset: "minutely", time: null });
    expect(presetOf(" *  * * * * ")).toEqual({ preset: "minutely", time: null });
    expect(presetOf("0 * * * *")).toEqual({ preset: "hourly", time: null });
    expect(presetOf("30 3 * * *")).toEqual({ preset: "daily", time: "03:30" });
    expect(presetOf("5 7 * * 1-5")).toEqual({ preset: "weekdays", time: "07:05" });
    expect(presetOf("*/5 * * * *").preset).toBe("custom");
    expect(presetOf("61 3 * * *").preset).toBe("custom");
  });
});

describe("reading a cron expression", () => {
  it("says it in words, in 24-hour time", () => {
    expect(describeCron("30 3 * * 1-5")).toBe("At 03:30, Monday through Friday");
    expect(describeCron("*/5 * * * *")).toBe("Every 5 minutes");
    expect(describeCron("* * * * *")).toBe("Every minute");
  });

  it("gives nothing for an expression it cannot read", () => {
    expect(describeCron("not cron")).toBeNull();
    expect(describeCron("")).toBeNull();
  });
});
