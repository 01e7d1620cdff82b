import { ConvexError, type Value } from "convex/values";
import { describe, expect, it } from "vitest";
import { errorCode, errorMessage, fieldError, UNEXPECTED_ERROR } from "./errors";

// What the browser client throws for a failed call on a production deployment (convex/browser logging.ts).
const SERVER_ERROR =
  "[CONVEX M(apps:update)] [Request ID: 0123456789abcdef] Server Error\n  Called by client";

function clientError(data?: Record<string, string>): Error {
  if (!data) return new Error(SERVER_ERROR);
  // As convex/browser does: the ConvexError carries the (hidden) message, then gets the data.
  const error = new ConvexError<Value>(SERVER_ERROR);
  error.data = data;
  return error;
}

describe("server errors in plain words, from the error's data only", () => {
  it("says the call failed, without the hidden message, for anything but a user error", () => {
    expect(errorMessage(clientError())).toBe(UNEXPECTED_ERROR);
    expect(errorMessage(new Error("Uncaught Error: slug: bad"))).toBe(UNEXPECTED_ERROR);
    expect(errorCode(clientError())).toBeNull();
  });

  it("reads the message and code of a user error, naming its field", () => {
    const forbidden = clientError({ code: "forbidden", message: "this account is not an admin" });
    expect(errorMessage(forbidden)).toBe("this account is not an admin");
    expect(errorCode(forbidden)).toBe("forbidden");
    const field = clientError({
      code: "invalid_input",
      field: "retry.maxAttempts",
      message: "must be 1 to 10",
    });
    expect(errorMessage(field)).toBe("retry.maxAttempts: must be 1 to 10");
  });

  it("gives no code for a code the server's list lacks, while still showing its message", () => {
    const newer = clientError({ code: "quota_exceeded", message: "too many apps" });
    expect(errorCode(newer)).toBeNull();
    expect(errorMessage(newer)).toBe("too many apps");
  });

  it("finds the form field of a user error, only when the form has it", () => {
    const error = clientError({
      code: "invalid_input",
      field: "tables",
      message: '"bad name" is not a table name',
    });
    expect(fieldError(error, ["name", "tables"])).toEqual({
      field: "tables",
      message: '"bad name" is not a table name',
    });
    expect(fieldError(error, ["name"])).toBeNull();
    expect(fieldError(clientError(), ["tables"])).toBeNull();
  });
});
