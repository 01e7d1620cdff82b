/**
 * Decoder for Convex's current ("uniform") export encoding: int64 is a bare integer token, float64 always has a
 * `.` or an exponent, bytes are `{"$bytes": b64}`, NaN/±Infinity are `{"$float": b64 of 8 LE bytes}`.
 *
 * `JSON.parse` alone loses the int64/float64 distinction (and int64 precision above 2^53). Rather than a
 * reviver (which makes V8 track the source of every value, ~2.5× slower), a line is parsed plainly and a
 * small scanner lists its number tokens in text order; a depth-first walk of the parsed value (which visits
 * numbers in the same order) turns the integer tokens into bigints and decodes `$bytes`/`$float` objects.
 * JavaScript reorders integer-like object keys ("0", "12"), which would break that order: lines with such
 * keys fall back to the reviver.
 */
import type { ConvexObject, ConvexValue } from "../values.js";
import { base64ToFloat64 } from "../values.js";

const INTEGER_SOURCE = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export class UniformDecodeError extends Error {}

function toInt64(source: string): bigint {
  const big = BigInt(source);
  if (big > INT64_MAX || big < INT64_MIN)
    throw new UniformDecodeError(`integer ${source} is outside the int64 range`);
  return big;
}

function decodeSpecialObject(obj: Record<string, unknown>, key: string): ConvexValue {
  const payload = obj[key];
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

/**
 * Number tokens of a JSON text in order: the source text of integer tokens, `null` for float tokens.
 * Returns undefined when there is nothing to fix (no integer token and no `"$`).
 */
function scanNumbers(line: string): (string | null)[] | undefined {
  let tokens: (string | null)[] | undefined;
  let anyInteger = false;
  const n = line.length;
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 34 /* " */) {
      // Skip the string: find the closing quote that is not escaped.
      let j = line.indexOf('"', i + 1);
      while (j !== -1) {
        let backslashes = 0;
        for (let k = j - 1; line.charCodeAt(k) === 92; k--) backslashes++;
        if (backslashes % 2 === 0) break;
        j = line.indexOf('"', j + 1);
      }
      if (j === -1) return undefined; // unterminated: let JSON.parse report it
      i = j + 1;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let j = i + 1;
      let integer = true;
      for (; j < n; j++) {
        const d = line.charCodeAt(j);
        if (d >= 48 && d <= 57) continue;
        if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) integer = false;
        else break;
      }
      (tokens ??= []).push(integer ? line.slice(i, j) : null);
      if (integer) anyInteger = true;
      i = j;
      continue;
    }
    i++;
  }
  if (!anyInteger && !line.includes('"$')) return undefined;
  return tokens ?? [];
}

class OrderBroken extends Error {}

/** Walks `value` in the order JSON.parse built it, fixing numbers and special objects in place. */
function fix(value: unknown, tokens: (string | null)[], cursor: { i: number }): ConvexValue {
  if (typeof value === "number") {
    const token = tokens[cursor.i++];
    if (token === undefined) throw new OrderBroken();
    return token === null ? value : toInt64(token);
  }
  if (value === null || typeof value !== "object") return value as ConvexValue;
  if (Array.isArray(value)) {
    for (let k = 0; k < value.length; k++) value[k] = fix(value[k], tokens, cursor);
    return value as ConvexValue[];
  }
  const obj = value as Record<string, unknown>;
  let count = 0;
  let firstKey = "";
  for (const key in obj) {
    const c = key.charCodeAt(0);
    if (c >= 48 && c <= 57) throw new OrderBroken(); // integer-like keys are reordered by JS
    if (count++ === 0) firstKey = key;
    obj[key] = fix(obj[key], tokens, cursor);
  }
  if (count === 1 && firstKey.charCodeAt(0) === 36 /* $ */) return decodeSpecialObject(obj, firstKey);
  return obj as ConvexObject;
}

function reviver(this: unknown, key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number") {
    const source = context?.source;
    return source !== undefined && INTEGER_SOURCE.test(source) ? toInt64(source) : value;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0]!.startsWith("$"))
      return decodeSpecialObject(value as Record<string, unknown>, keys[0]!);
  }
  return value;
}

/** Decodes one documents.jsonl line. Throws SyntaxError for bad JSON, UniformDecodeError for bad values. */
export function decodeUniformLine(line: string): ConvexObject {
  const parsed: unknown = JSON.parse(line);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UniformDecodeError("a document must be a JSON object");
  }
  const tokens = scanNumbers(line);
  if (tokens === undefined) return parsed as ConvexObject;
  try {
    const cursor = { i: 0 };
    const fixed = fix(parsed, tokens, cursor);
    if (cursor.i !== tokens.length) throw new OrderBroken();
    return fixed as ConvexObject;
  } catch (err) {
    if (!(err instanceof OrderBroken)) throw err;
    return JSON.parse(line, reviver as never) as ConvexObject;
  }
}
