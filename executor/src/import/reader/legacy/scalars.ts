/**
 * Strict readers for the strings that stand for non-string values in the legacy export: int64 in base 10,
 * bytes in standard base64, and the float64 specials. Each returns undefined when the text does not fit, so
 * the caller can name the field in its error.
 */

const INT64_TEXT = /^[+-]?[0-9]+$/; // what Rust's i64::from_str accepts
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function readInt64(text: string): bigint | undefined {
  if (!INT64_TEXT.test(text)) return undefined;
  // Up to 15 characters the number is below 2^53, so the faster route through a double is exact.
  if (text.length <= 15) return BigInt(Number(text));
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

// Standard alphabet; padding is optional but must be right when present (Convex always pads).
const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

export function readBytes(text: string): Buffer | undefined {
  return BASE64_TEXT.test(text) ? Buffer.from(text, "base64") : undefined;
}

export function readInfinity(text: string, positiveOk: boolean, negativeOk: boolean): number | undefined {
  if (positiveOk && text === "Infinity") return Infinity;
  if (negativeOk && text === "-Infinity") return -Infinity;
  return undefined;
}

/** A value quoted for an error message, cut short so a 1 MiB string does not flood the log. */
export function quoteForError(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 57) + "..." : text);
}
