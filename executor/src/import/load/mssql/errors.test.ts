import sql from "mssql";
import { ConnectionError as TediousConnectionError, RequestError as TediousRequestError } from "tedious";
import { describe, expect, it } from "vitest";
import { describeFailure } from "../../../service/jobErrors.js";
import { classifyTargetError } from "../targetErrors.js";
import { classifyMssqlError } from "./errors.js";
import { MssqlConnection } from "./session.js";
import { primaryKeySql } from "./sql.js";
import { RecordingWire, ServerError } from "./testing/recording-wire.js";
import { scriptedServer } from "./testing/scripted-server.js";

// Built the way the drivers build them (read from node_modules; no SQL Server runs here, so the server side of
// these numbers is UNVERIFIED): tedious sets `number` on its RequestError (lib/token/handler.js); mssql wraps an
// Error carrying the error token as `info` (lib/tedious/request.js `handleError`); a refused login is a tedious
// ConnectionError "ELOGIN" with the server's message, wrapped by mssql's ConnectionError (connection-pool.js).
function tediousRequestError(number: number): Error {
  const error = new TediousRequestError(`server error ${number}`, "EREQUEST");
  error.number = number;
  return error;
}
function mssqlRequestError(number: number): Error {
  const inner = Object.assign(new Error(`server error ${number}`), { info: { number, state: 1, class: 16 } });
  return new sql.RequestError(inner as never, "EREQUEST");
}
function loginError(message: string, isTransient = false): Error {
  const tedious = new TediousConnectionError(message, "ELOGIN");
  if (isTransient) tedious.isTransient = true;
  return new sql.ConnectionError(tedious as never);
}

describe("SQL Server errors by number (UNVERIFIED against a server)", () => {
  it.each([
    [2627, "target_duplicate_id", false],
    [2601, "target_duplicate_id", false],
    [1505, "target_duplicate_id", false],
    [229, "target_permission_denied", false],
    [262, "target_permission_denied", false],
    [15247, "target_permission_denied", false],
    [1088, "target_permission_denied", false],
    [18456, "target_login_failed", false],
    [4060, "target_database_missing", false],
    [1205, "target_conflict", true],
    [1222, "target_conflict", true],
    [40197, "target_busy", true],
    [40501, "target_busy", true],
    [40613, "target_busy", true],
    [49918, "target_busy", true],
    [49919, "target_busy", true],
    [49920, "target_busy", true],
    [10928, "target_busy", true],
    [10929, "target_busy", true],
    [233, "target_unreachable", true],
    [10053, "target_unreachable", true],
    [10054, "target_unreachable", true],
  ])("error %i is %s (retryable: %s), from tedious and from mssql", (number, code, retryable) => {
    expect(classifyTargetError(tediousRequestError(number))).toMatchObject({ code, retryable });
    expect(classifyTargetError(mssqlRequestError(number))).toMatchObject({
      code,
      retryable,
      reference: `SQL Server error ${number}`,
    });
  });

  it("tells refused logins apart by the server's message, the only thing an ELOGIN carries", () => {
    expect(classifyTargetError(loginError("Login failed for user 'etl'."))).toMatchObject({
      code: "target_login_failed",
      retryable: false,
    });
    expect(
      classifyTargetError(
        loginError('Cannot open database "warehouse" requested by the login. The login failed.'),
      ),
    ).toMatchObject({ code: "target_database_missing", retryable: false });
    expect(
      classifyTargetError(loginError("Database 'x' on server 'y' is not currently available.", true)),
    ).toMatchObject({ code: "target_busy", retryable: true });
  });

  it("treats the driver's timeouts and broken sockets as transient, an encryption mismatch as terminal", () => {
    for (const code of ["ETIMEOUT", "ESOCKET", "ECONNCLOSED"]) {
      expect(classifyTargetError(new sql.ConnectionError("x", code as never))).toMatchObject({
        retryable: true,
      });
    }
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(classifyTargetError(reset)).toMatchObject({ code: "target_unreachable", retryable: true });
    expect(
      classifyTargetError(new TediousConnectionError("Server requires encryption", "EENCRYPT")),
    ).toMatchObject({
      code: "target_config",
      retryable: false,
    });
    expect(classifyMssqlError(mssqlRequestError(50000))).toBeNull();
  });

  it("a job whose bulk load hit a duplicate key fails at once with the explanation and the server's words", () => {
    const wrapped = new Error("table users: cannot add the primary key on _id (Violation of PRIMARY KEY)", {
      cause: mssqlRequestError(2627),
    });
    const failure = describeFailure(wrapped, new AbortController().signal, []);
    expect(failure.error).toMatchObject({ code: "target_duplicate_id", retryable: false });
    expect(failure.error.message).toMatch(/same _id.*SQL Server error 2627: table users/s);
  });

  it("the session keeps the server's error as the cause, so a duplicate key found by the key build is terminal", async () => {
    const duplicate = new ServerError("Cannot insert duplicate key row", 1505);
    const wire = new RecordingWire(
      scriptedServer({
        fail: {
          match: (text) => text === primaryKeySql("convex__staging", "users"),
          nth: 1,
          error: duplicate,
        },
      }),
    );
    const target = new MssqlConnection(wire, { swapRetryDelayMs: 0 });
    await target.begin("convex");
    const error = await target.finalizeStaging("users").then(
      () => expect.unreachable("the key was built"),
      (e: unknown) => e,
    );
    expect(describeFailure(error, new AbortController().signal, []).error).toMatchObject({
      code: "target_duplicate_id",
      retryable: false,
    });
  });
});
