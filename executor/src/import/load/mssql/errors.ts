/**
 * SQL Server's errors by error number (sys.messages), and the driver's connection codes: which a later attempt can
 * get past and which it cannot.
 *
 * How they reach us (read from node_modules): tedious sets `number` on a RequestError for an error token
 * (tedious/lib/token/handler.js); mssql's RequestError copies it and keeps the tedious error as `originalError`
 * (mssql/lib/error/request-error.js). A refused login is a ConnectionError with code "ELOGIN" and the server's
 * message but no number (handler.js `onErrorMessage`), so logins are told apart by that message; tedious marks
 * Azure's transient login errors with `isTransient` and has already retried them (transient-error-lookup.js).
 *
 * UNVERIFIED against a real SQL Server: no server could run where this was written. The numbers are Microsoft's
 * documented ones (Database Engine errors; Azure SQL transient errors); a refused login is terminal whatever
 * its words; the English messages only tell a missing database (4060) from a wrong password (18456).
 */
import { duplicateIdFailure, targetFailure, type TargetFailure } from "../targetFailure.js";

const { transient, terminal } = targetFailure;

const LOGIN_FAILED = "target_login_failed" as const;

/** By error number. Numbers not listed fall through to the driver codes, then to "unknown" (retried). */
const BY_NUMBER: Record<number, (ref: string) => TargetFailure> = {
  // Logins (when a number is known, e.g. from a RequestError of a contained database user).
  18456: (ref) =>
    terminal(
      LOGIN_FAILED,
      ref,
      "SQL Server refused the login: fix the user name or password in the target setting.",
    ),
  18452: (ref) =>
    terminal(
      LOGIN_FAILED,
      ref,
      "SQL Server refused the login (untrusted domain): use a SQL login or a trusted account.",
    ),
  18486: (ref) =>
    terminal(LOGIN_FAILED, ref, "The SQL Server login is locked out: unlock it, then sync again."),
  18487: (ref) =>
    terminal(
      LOGIN_FAILED,
      ref,
      "The SQL Server login's password has expired: set a new one in the target setting.",
    ),
  18488: (ref) => terminal(LOGIN_FAILED, ref, "The SQL Server login must change its password first."),
  4060: (ref) =>
    terminal(
      "target_database_missing",
      ref,
      "SQL Server cannot open the target database: it does not exist or the login may not use it.",
    ),
  // Permissions.
  229: permissionDenied,
  262: permissionDenied,
  1088: permissionDenied,
  15247: permissionDenied,
  15151: permissionDenied,
  2760: permissionDenied,
  // Duplicate keys: two documents with one _id.
  2627: duplicateIdFailure,
  2601: duplicateIdFailure,
  1505: duplicateIdFailure,
  // Locks.
  1205: (ref) =>
    transient(
      "target_conflict",
      ref,
      "The import was chosen as a deadlock victim; the next attempt tries again.",
    ),
  1222: (ref) => transient("target_conflict", ref, "A lock wait timed out; the next attempt tries again."),
  // Azure SQL and failovers: the server asks the client to come back.
  40197: serverBusy,
  40501: serverBusy,
  40613: serverBusy,
  49918: serverBusy,
  49919: serverBusy,
  49920: serverBusy,
  10928: serverBusy,
  10929: serverBusy,
  // Space.
  1105: outOfSpace,
  9002: outOfSpace,
  // The connection broke.
  233: connectionLost,
  10053: connectionLost,
  10054: connectionLost,
  10060: connectionLost,
};

function permissionDenied(ref: string): TargetFailure {
  return terminal(
    "target_permission_denied",
    ref,
    "The SQL Server user lacks a right the import needs (CREATE TABLE and ALTER on the schemas, or db_owner); grant it and sync again.",
  );
}
function serverBusy(ref: string): TargetFailure {
  return transient(
    "target_busy",
    ref,
    "SQL Server is busy or failing over and asked to come back later; the next attempt tries again.",
  );
}
function outOfSpace(ref: string): TargetFailure {
  return transient(
    "target_busy",
    ref,
    "The SQL Server database or its log is full; the next attempt tries again. If it keeps happening, free or add space.",
  );
}
function connectionLost(ref: string): TargetFailure {
  return transient(
    "target_unreachable",
    ref,
    "The connection to SQL Server broke; the next attempt tries again.",
  );
}

function classifyLogin(error: {
  message?: unknown;
  isTransient?: unknown;
  originalError?: { isTransient?: unknown };
}): TargetFailure {
  const message = typeof error.message === "string" ? error.message : "";
  if (/^Login failed for user/i.test(message)) return BY_NUMBER[18456]!("ELOGIN (18456)");
  if (/^Cannot open database/i.test(message)) return BY_NUMBER[4060]!("ELOGIN (4060)");
  // tedious flags it on its own error; mssql keeps that one as `originalError`.
  if (error.isTransient === true || error.originalError?.isTransient === true) return serverBusy("ELOGIN");
  return terminal(LOGIN_FAILED, "ELOGIN", "SQL Server refused the login: check the target setting.");
}

export function classifyMssqlError(error: object): TargetFailure | null {
  const { number, code } = error as { number?: unknown; code?: unknown };
  if (typeof number === "number") {
    const byNumber = BY_NUMBER[number];
    if (byNumber) return byNumber(`SQL Server error ${number}`);
  }
  switch (code) {
    case "ELOGIN":
      return classifyLogin(error);
    case "ETIMEOUT":
    case "ESOCKET":
    case "ECONNCLOSED":
    case "ECLOSE":
    case "EINSTLOOKUP":
      return connectionLost(code);
    case "EENCRYPT":
      return terminal(
        "target_config",
        code,
        "SQL Server and the target setting disagree about encryption: set encrypt (and trustServerCertificate) to match the server.",
      );
    default:
      return null;
  }
}
