/**
 * PostgreSQL's (and PGlite's) errors by SQLSTATE: which a later attempt can get past and which it cannot.
 * Codes and classes from PostgreSQL's errcodes table (https://www.postgresql.org/docs/current/errcodes-appendix.html,
 * src/backend/utils/errcodes.txt). Errors reach us as pg-protocol's DatabaseError (node_modules/pg-protocol,
 * also bundled by PGlite): `code` is the SQLSTATE, `severity` is always set.
 */
import { duplicateIdFailure, targetFailure, type TargetFailure } from "../targetFailure.js";

const { transient, terminal } = targetFailure;

interface PgDatabaseError {
  code: string;
  severity: string;
  detail?: string;
}

function asPgError(error: object): PgDatabaseError | null {
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  // Node's errno codes (EPIPE) are five letters too; a server error always has a severity.
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code) || typeof severity !== "string") return null;
  return error as PgDatabaseError;
}

export function classifyPostgresError(error: object): TargetFailure | null {
  const pg = asPgError(error);
  if (!pg) return null;
  const ref = `SQLSTATE ${pg.code}`;
  const cls = pg.code.slice(0, 2);
  switch (pg.code) {
    case "23505":
      return duplicateIdFailure(ref);
    case "42501":
      return terminal(
        "target_permission_denied",
        ref,
        "The warehouse user lacks a right the import needs (CREATE on the database or schema, ownership of the " +
          "tables it replaces); grant it and sync again.",
      );
    case "28000":
    case "28P01":
      return terminal(
        "target_login_failed",
        ref,
        "The warehouse refused the login (user name or password, or pg_hba.conf): fix the executor's target setting.",
      );
    case "3D000":
      return terminal(
        "target_database_missing",
        ref,
        "The database in the executor's target setting does not exist: create it or fix the setting.",
      );
    case "40001":
    case "40P01":
    case "55P03":
      return transient(
        "target_conflict",
        ref,
        "Another session held the tables the import needed (deadlock or lock timeout); the next attempt tries again.",
      );
    case "57P01":
    case "57P02":
    case "57P03":
      return transient(
        "target_busy",
        ref,
        "The warehouse server was shutting down or starting up; the next attempt tries again.",
      );
    case "57014":
      return transient("target_busy", ref, "The server cancelled the statement (a timeout or an operator).");
  }
  switch (cls) {
    case "08":
      return pg.code === "08P01"
        ? null
        : transient(
            "target_unreachable",
            ref,
            "The connection to the warehouse failed; the next attempt tries again.",
          );
    case "53":
      return transient(
        "target_busy",
        ref,
        "The warehouse server ran short of connections, memory or disk space; the next attempt tries again. " +
          "If it keeps happening, free space or raise max_connections.",
      );
    case "28":
      return terminal(
        "target_login_failed",
        ref,
        "The warehouse refused the login: fix the executor's target setting.",
      );
    case "22":
    case "23":
    case "42":
    case "54":
      return terminal(
        "target_rejected",
        ref,
        "The warehouse refused a value or statement of this import; the same snapshot would fail the same way.",
      );
    default:
      return null;
  }
}
