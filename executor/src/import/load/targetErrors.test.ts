import { describe, expect, it } from "vitest";
import { classifyTargetError } from "./targetErrors.js";
import { ClassifiedTargetError, duplicateIdFailure } from "./targetFailure.js";

describe("classifying a target's error wherever the engine wrapped it", () => {
  it("takes a dialect's own classified error as it is, also as the cause of a wrapper", () => {
    const own = new ClassifiedTargetError(
      "table users: _id occurs 2 times",
      duplicateIdFailure("duplicate _id"),
    );
    expect(classifyTargetError(own)).toMatchObject({ code: "target_duplicate_id", retryable: false });
    expect(classifyTargetError(new Error("load failed", { cause: own }))?.reference).toBe("duplicate _id");
  });

  it("treats a refused or reset connection as transient and an unknown host as a setting to fix", () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyTargetError(errno("ECONNREFUSED"))).toMatchObject({
      code: "target_unreachable",
      retryable: true,
    });
    expect(classifyTargetError(errno("ECONNRESET"))).toMatchObject({ retryable: true });
    expect(classifyTargetError(errno("ENOTFOUND"))).toMatchObject({
      code: "target_config",
      retryable: false,
    });
    expect(classifyTargetError(new AggregateError([errno("ECONNREFUSED")]))).toMatchObject({
      retryable: true,
    });
    expect(classifyTargetError(new Error("no code"))).toBeNull();
  });
});
