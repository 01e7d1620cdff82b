import { describe, expect, it } from "vitest";
import { targetSchemaName } from "./executor";
import { isTargetSchemaName } from "./targetSchema";

describe("isTargetSchemaName", () => {
  it("accepts exactly the names the contract's targetSchemaName accepts", () => {
    const names = [
      "acme",
      "_x",
      "Acme_2",
      "a".repeat(128),
      "a".repeat(129),
      "",
      "2acme",
      "acme-prod",
      "a b",
      "ä",
    ];
    for (const name of names) expect(isTargetSchemaName(name)).toBe(targetSchemaName.safeParse(name).success);
  });

  it("refuses a name over 128 characters or starting with a digit", () => {
    expect(isTargetSchemaName("a".repeat(129))).toBe(false);
    expect(isTargetSchemaName("2acme")).toBe(false);
  });
});
