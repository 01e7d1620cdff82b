/**
 * Decoder for Convex's current ("uniform") export encoding: int64 is a bare integer token, float64 always has a
 * `.` or an exponent, bytes are `{"$bytes": b64}`, NaN/±Infinity are `{"$float": b64 of 8 LE bytes}`.
 *
 * `JSON.parse` alone loses the int64/float64 distinction (and int64 precision above 2^53), so lines that may hold
 * an integer token or a `$` object go through a reviver that sees each number's source text (Node ≥ 21).
 * Most lines hold neither (every number is a float), and take the plain, ~2.5× faster path.
 */
import type { ConvexObject, ConvexValue } from "../values.js";
import { base64ToFloat64 } from "../values.js";

/** An integer token sits between one of `:[,` and one of `,]}` (allowing whitespace). May hit inside strings:
 *  that only costs the slow path, never correctness. */
const MAY_HOLD_INTEGER = /[:[,]\s*-?\d+\s*[,\]}]/;
const INTEGER_SOURCE = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class UniformDecodeError extends Error {}

function reviver(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number") {
    const source = context?.source;
    if (source !== undefined && INTEGER_SOURCE.test(source)) {
      const big = BigInt(source);
      if (big > 9223372036854775807n || big < -9223372036854775808n) {
        throw new UniformDecodeError(`integer ${source} is outside the int64 range`);
      }
      return big;
    }
    return value;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return decodeSpecialObject(value);
  return value;
}

function decodeSpecialObject(obj: object): unknown {
  const keys = Object.keys(obj);
  if (keys.length !== 1 || !keys[0]!.startsWith("$")) return obj;
  const key = keys[0]!;
  const payload = (obj as Record<string, unknown>)[key];
  if (typeof payload !== "string" || !BASE64.test(payload)) {
    throw new UniformDecodeError(`${key} must hold a base64 string`);
  }
  if (key === "$bytes") return Buffer.from(payload, "base64");
  if (key === "$float") {
    const n = base64ToFloat64(payload);
    if (Number.isFinite(n) && !Object.is(n, -0)) {
      throw new UniformDecodeError(`$float holds ${n}, which should have been written as a plain number`);
    }
    return n;
  }
  throw new UniformDecodeError(`unknown special object ${key} (field names cannot start with $)`);
}

/** Decodes one documents.jsonl line. Throws SyntaxError for bad JSON, UniformDecodeError for bad values. */
export function decodeUniformLine(line: string): ConvexObject {
  const slow = line.includes('"$') || MAY_HOLD_INTEGER.test(line);
  const value: unknown = slow ? JSON.parse(line, reviver as never) : JSON.parse(line);
  if (value === null || typeof value !== "object" || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new UniformDecodeError("a document must be a JSON object");
  }
  return value as ConvexObject;
}

export type { ConvexValue };
