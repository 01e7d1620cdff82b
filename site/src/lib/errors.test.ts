import { ConvexError } from "convex/values";
import { describe, expect, it } from "vitest";
import { errorMessage, fieldError } from "./errors";

describe("server errors in plain words", () => {
  it("strips the Convex envelope down to the function's message", () => {
    const raw = new Error(
      '[CONVEX A(apps:create)] [Request ID: abc] Server Error\nUncaught Error: slug: "x y" must be lowercase\n    at handler (apps.ts:1)',
    );
    expect(errorMessage(raw)).toBe('slug: "x y" must be lowercase');
  });

  it("reads the message of a ConvexError's data", () => {
    expect(
      errorMessage(new ConvexError({ code: "forbidden", message: "this account is not an admin" })),
    ).toBe("this account is not an admin");
  });

  it("finds the form field a message names, only when the form has it", () => {
    const error = new Error('Uncaught Error: tables[2]: "bad name" is not a table name');
    expect(fieldError(error, ["name", "tables"])).toEqual({
      field: "tables",
      message: '"bad name" is not a table name',
    });
    expect(fieldError(error, ["name"])).toBeNull();
    expect(fieldError(new Error("Uncaught Error: email.port: 70000 is not a port"), ["port"])).toEqual({
      field: "port",
      message: "70000 is not a port",
    });
    const noColon = new Error(
      "Uncaught Error: settings.retentionDays must be a whole number from 1 to 3650, got 0",
    );
    expect(fieldError(noColon, ["retentionDays"])?.message).toMatch(/^settings.retentionDays must be/);
  });
});
