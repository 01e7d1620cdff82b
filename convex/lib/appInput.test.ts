import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import { checkTargetSchema } from "./appInput";

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof ConvexError ? (error.data as { field?: string; message?: string }) : error;
  }
  return null;
};

describe("the target schema", () => {
  test("is required, and says so when empty", () => {
    expect(refusal(() => checkTargetSchema(""))).toMatchObject({
      field: "targetSchema",
      message: expect.stringMatching(/required/),
    });
    expect(refusal(() => checkTargetSchema("  "))).toMatchObject({
      message: expect.stringMatching(/required/),
    });
  });

  test("names what a bad one may contain", () => {
    expect(refusal(() => checkTargetSchema("shop-copy"))).toMatchObject({
      field: "targetSchema",
      message: expect.stringMatching(/letters, digits and _ only/),
    });
    expect(checkTargetSchema("shop_copy")).toBe("shop_copy");
  });
});
