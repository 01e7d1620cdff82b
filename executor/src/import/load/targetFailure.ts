/**
 * What a target's error means for the job: its own code, whether another attempt can succeed, and a plain
 * explanation of what to do. Each dialect fills this in beside its own code (postgres/errors.ts by SQLSTATE,
 * mssql/errors.ts by SQL Server error number); targetErrors.ts finds the driver's error and asks them.
 */

export interface TargetFailure {
  /** The contract's `jobError.code`: `target_…`. */
  code: TargetFailureCode;
  /** True only when the same job, run again unchanged, can succeed (the target was busy, restarting, unreachable). */
  retryable: boolean;
  /** What it means and what to do, in plain words. */
  explanation: string;
  /** The target's own name for the error: "SQLSTATE 23505", "SQL Server error 2627", "ECONNREFUSED". */
  reference: string;
}

export type TargetFailureCode =
  /** Transient: the target could not be reached or dropped the connection. */
  | "target_unreachable"
  /** Transient: a deadlock, lock timeout or serialization failure; another attempt usually goes through. */
  | "target_conflict"
  /** Transient: the server is short of connections, memory or space, or is restarting or failing over. */
  | "target_busy"
  /** Terminal: two documents of one table have the same _id. */
  | "target_duplicate_id"
  /** Terminal: the target's login refused the user name or password. */
  | "target_login_failed"
  /** Terminal: the user lacks a right the import needs. */
  | "target_permission_denied"
  /** Terminal: the database does not exist or the login may not open it. */
  | "target_database_missing"
  /** Terminal: the connection settings cannot work (host name, encryption). */
  | "target_config"
  /** Terminal: the target refused a value or a statement; the same snapshot fails the same way. */
  | "target_rejected";

const transient = (code: TargetFailureCode, reference: string, explanation: string): TargetFailure => ({
  code,
  retryable: true,
  explanation,
  reference,
});
const terminal = (code: TargetFailureCode, reference: string, explanation: string): TargetFailure => ({
  code,
  retryable: false,
  explanation,
  reference,
});
export const targetFailure = { transient, terminal };

/** Node's socket and DNS errors (errno codes), the same for every driver. */
export function classifyNetworkError(error: object): TargetFailure | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return null;
  switch (code) {
    case "ECONNREFUSED":
    case "ECONNRESET":
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EPIPE":
    case "EAI_AGAIN":
      return transient(
        "target_unreachable",
        code,
        "The warehouse could not be reached or dropped the connection; the next attempt tries again.",
      );
    case "ENOTFOUND":
      return terminal(
        "target_config",
        code,
        "The warehouse's host name does not resolve: check the host in the executor's target setting.",
      );
    default:
      return null;
  }
}

/**
 * An error a dialect detects itself (no driver error to classify), already classified: e.g. a dialect that checks
 * _id uniqueness on its own throws `new ClassifiedTargetError(message, duplicateIdFailure(reference))`.
 */
export class ClassifiedTargetError extends Error {
  constructor(
    message: string,
    readonly failure: TargetFailure,
  ) {
    super(message);
    this.name = "ClassifiedTargetError";
  }
}

/** Two documents with one _id: the same explanation on every target. */
export function duplicateIdFailure(reference: string): TargetFailure {
  return terminal(
    "target_duplicate_id",
    reference,
    "Two documents of one table have the same _id, so the primary key cannot be built; nothing was changed. " +
      "Convex ids are unique, so this export is damaged: sync again for a new one, and report the table named at the end if it repeats.",
  );
}
