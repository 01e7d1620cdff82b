import { USER_ERROR_CODES, userErrorOf, type UserErrorCode } from "$convex/lib/userError";

/**
 * What the dashboard can say about a failed Convex call. Only a ConvexError's data is meant for people: a
 * production deployment replaces every other message with "Server Error" (convex/lib/userError.ts), so the
 * message text is never read here.
 */
export const UNEXPECTED_ERROR =
  "The server could not do this. Try again; if it keeps failing, the deployment's logs say why.";

/** A sentence for people: the user error's message (with the field it is about), or UNEXPECTED_ERROR. */
export function errorMessage(error: unknown): string {
  const data = userErrorOf(error);
  if (!data) return UNEXPECTED_ERROR;
  return data.field ? `${data.field}: ${data.message}` : data.message;
}

/**
 * The code of a user error (`invalid_input`, `conflict`, `bad_credentials`…), or null for anything else, a code
 * this dashboard does not know included (convex/lib/userError.ts: treat it like a failure). Typed by the server's
 * list, so a `case` with a code the server never throws does not compile.
 */
export function errorCode(error: unknown): UserErrorCode | null {
  const code = userErrorOf(error)?.code;
  return (USER_ERROR_CODES as readonly string[]).includes(code ?? "") ? (code as UserErrorCode) : null;
}

/** The form field a user error is about, when the form has that field; its message reads next to the field. */
export function fieldError(
  error: unknown,
  fields: readonly string[],
): { field: string; message: string } | null {
  const data = userErrorOf(error);
  if (!data?.field || !fields.includes(data.field)) return null;
  return { field: data.field, message: data.message };
}
