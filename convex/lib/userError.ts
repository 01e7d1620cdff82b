/**
 * Errors a caller of a public function should see, and the one shape they have on the wire.
 *
 * On a production deployment Convex hides the message of every error that is not a ConvexError: the client gets
 * only "[Request ID: …] Server Error". Only a ConvexError's `data` survives (get-convex/convex-backend,
 * crates/application/src/redaction.rs: `RedactedJsError` prints "Server Error" when `block_logging` is set and
 * `into_error_payload` always forwards `custom_data`). So public functions throw `userError(…)` (or one of the
 * helpers below) for anything a person can act on, and clients read `userErrorOf(error)`, never the message.
 *
 *   if (!app) throw notFound(`no app ${args.appId}`);
 *   // site: const problem = userErrorOf(e); if (problem?.field) errors[problem.field] = problem.message;
 */
import { ConvexError } from "convex/values";
// zod/mini: the dashboard bundles this module to read errors, and mini keeps that small.
import { z } from "zod/mini";

/** The codes our functions throw. Clients must treat an unknown code like "failed". */
export const USER_ERROR_CODES = [
  /** Not signed in. */
  "unauthenticated",
  /** Signed in, but not allowed (not an admin, sign-up refused). */
  "forbidden",
  /** A value the caller gave is refused; `field` names it. */
  "invalid_input",
  /** The thing asked for does not exist (any more). */
  "not_found",
  /** The current state forbids it: slug taken, an active job, already finished, app disabled. */
  "conflict",
  /** The deployment lacks a setting (an environment variable): only an admin of the deployment can fix it. */
  "misconfigured",
  /** Sign-in: wrong email or password. */
  "bad_credentials",
  /** Sign-in: too many failed attempts; wait. */
  "rate_limited",
  /** Sign-up: the email already has an account. */
  "account_exists",
] as const;
export type UserErrorCode = (typeof USER_ERROR_CODES)[number];

/** What `ConvexError.data` holds. `code` stays an open string on reading, so older clients survive new codes. */
export const userErrorData = z.object({
  code: z.string().check(z.minLength(1)),
  message: z.string(),
  /** The input field the error is about, as the function's argument names it (`slug`, `recipients`). */
  field: z.optional(z.string()),
});
export type UserErrorData = { code: UserErrorCode; message: string; field?: string };
export type UserError = ConvexError<UserErrorData>;

export function userError(code: UserErrorCode, message: string, field?: string): UserError {
  // A Convex value cannot hold `undefined`: leave the key out instead.
  return new ConvexError(field === undefined ? { code, message } : { code, message, field });
}

export const invalidInput = (field: string, message: string): UserError =>
  userError("invalid_input", message, field);
export const notFound = (message: string): UserError => userError("not_found", message);
export const conflict = (message: string, field?: string): UserError => userError("conflict", message, field);
export const misconfigured = (message: string): UserError => userError("misconfigured", message);

/**
 * The data of a user error from whatever a Convex call threw, or null when it is not one (then the caller
 * should say the call failed). Duck-typed: the client, convex-test and the server may each hold their own
 * copy of the ConvexError class.
 */
export function userErrorOf(error: unknown): z.infer<typeof userErrorData> | null {
  if (typeof error !== "object" || error === null || !("data" in error)) return null;
  const parsed = userErrorData.safeParse(error.data);
  return parsed.success ? parsed.data : null;
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof ConvexError && userErrorOf(error) !== null;
}
