import { describe, expect, it } from "vitest";
import { niceTicks, shortCount } from "./chartScale";

describe("chart axes", () => {
  it("steps in round numbers from 0 to at least the largest value", () => {
    expect(niceTicks(1700)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(1)).toEqual([0, 1]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(7.3)).toEqual([0, 2, 4, 6, 8]);
  });

  it("labels large values briefly", () => {
    expect([shortCount(950), shortCount(1500), shortCount(12_000), shortCount(3_400_000)]).toEqual([
      "950",
      "1.5k",
      "12k",
      "3.4M",
    ]);
  });
});
