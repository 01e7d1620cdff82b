import { describe, expect, test } from "vitest";
import { backoffDelay } from "./backoff";

const opts = { baseMs: 1_000, maxMs: 60_000 };

describe("backoffDelay (equal jitter)", () => {
  test("the ceiling doubles per retry from baseMs and is capped at maxMs", () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, opts, () => 1));
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  });

  test("the delay never falls below half the ceiling", () => {
    const floors = [1, 2, 3, 7, 100].map((n) => backoffDelay(n, opts, () => 0));
    expect(floors).toEqual([500, 1_000, 2_000, 30_000, 30_000]);
  });

  test("the jitter is uniform between the floor and the ceiling", () => {
    expect(backoffDelay(3, opts, () => 0.5)).toBe(3_000);
    expect(backoffDelay(3, opts, () => 0.25)).toBe(2_500);
    for (let i = 0; i < 1_000; i++) {
      const d = backoffDelay(4, opts);
      expect(d).toBeGreaterThanOrEqual(4_000);
      expect(d).toBeLessThanOrEqual(8_000);
    }
  });

  test("a retry number below 1 or huge is clamped, never NaN or Infinity", () => {
    expect(backoffDelay(0, opts, () => 1)).toBe(1_000);
    expect(backoffDelay(-5, opts, () => 1)).toBe(1_000);
    expect(backoffDelay(10_000, opts, () => 1)).toBe(60_000);
  });

  test("bad options are refused with the values named", () => {
    expect(() => backoffDelay(1, { baseMs: 0, maxMs: 10 })).toThrow(/baseMs 0, maxMs 10/);
    expect(() => backoffDelay(1, { baseMs: 100, maxMs: 10 })).toThrow(RangeError);
  });
});
