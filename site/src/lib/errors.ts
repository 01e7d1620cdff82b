import { ConvexError } from "convex/values";

/**
 * Turns whatever a Convex call threw into a sentence for people. Server errors arrive as
 * "[CONVEX M(apps:create)] [Request ID: …] Server Error\nUncaught Error: <message>\n    at handler …";
 * a ConvexError carries its data, which our functions set to a message or `{ message, field }`.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ConvexError) {
    const data: unknown = error.data;
    if (typeof data === "string") return data;
    if (data && typeof data === "object" && "message" in data && typeof data.message === "string") {
      return data.message;
    }
  }
  const raw = error instanceof Error ? error.message : String(error);
  const uncaught = /Uncaught (?:\w*Error: )?(.*)/.exec(raw);
  const line = (uncaught?.[1] ?? raw).split("\n")[0] ?? raw;
  return line
    .replace(/^\[CONVEX [^\]]*\]\s*/, "")
    .replace(/^\[Request ID: [^\]]*\]\s*/, "")
    .trim();
}

/**
 * The form field a server error is about: `ConvexError({ field, message })`, or a message that starts with
 * the field as the control plane's input checks write it ("slug: …", "email.port: …", "tables[2]: …",
 * "settings.retentionDays must …"), when the form has that field.
 */
export function fieldError(
  error: unknown,
  fields: readonly string[],
): { field: string; message: string } | null {
  if (error instanceof ConvexError) {
    const data: unknown = error.data;
    if (data && typeof data === "object" && "field" in data && typeof data.field === "string") {
      return { field: data.field, message: errorMessage(error) };
    }
  }
  const message = errorMessage(error);
  const match = /^(?:\w+\.)?(\w+)(?:\[\d+\])?(:?) (.*)$/s.exec(message);
  if (!match || !fields.includes(match[1]!)) return null;
  return { field: match[1]!, message: match[2] ? match[3]! : message };
}
