/**
 * How a system query's result is written over HTTP (crates/value/src/export.rs): `format` picks how int64 (and
 * bytes) are written; without one, clients the backend does not know get the clean format
 * (crates/common/src/version.rs `default_format`).
 */
import { Buffer } from "node:buffer";
import { HttpError } from "./httpError.js";

/** `ConvexCleanJSON` (value/src/export.rs `export_clean`): int64 as a decimal string. */
export function cleanJson(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(cleanJson);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, cleanJson(v)]),
    );
  return value;
}

/**
 * `ConvexEncodedJSON` (format `convex_encoded_json`; the default only for old npm/CLI/Python clients,
 * common/src/version.rs `default_format`): int64 as `{"$integer": <base64 of 8 LE bytes>}`.
 */
export function encodedJson(value: unknown): unknown {
  if (typeof value === "bigint") {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(value);
    return { $integer: bytes.toString("base64") };
  }
  if (Array.isArray(value)) return value.map(encodedJson);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, encodedJson(v)]),
    );
  return value;
}

export function encodeValue(value: unknown, format: unknown): unknown {
  if (format === undefined || format === "json" || format === "convex_clean_json") return cleanJson(value);
  if (format === "convex_encoded_json" || format === "convex_json") return encodedJson(value);
  throw new HttpError(400, "BadFormat", `format param must be one of [\`json\`]. Got ${String(format)}`);
}
