/**
 * Convex values as the import engine holds them in memory, after decoding either export encoding.
 *
 *   Convex type   JS representation
 *   null          null
 *   boolean       boolean
 *   string / Id   string
 *   int64         bigint            (exact over the whole int64 range)
 *   float64       number            (NaN, ±Infinity and -0 kept as such)
 *   bytes         Buffer
 *   array         ConvexValue[]
 *   object        { [field]: ConvexValue }  (a field that is absent is simply not a key)
 */
export type ConvexValue = null | boolean | string | bigint | number | Buffer | ConvexValue[] | ConvexObject;
export interface ConvexObject {
  [field: string]: ConvexValue;
}

/** The Convex kind of a value: what decides the SQL column type. */
export type ValueKind = "null" | "boolean" | "int64" | "float64" | "string" | "bytes" | "array" | "object";

export function kindOf(value: ConvexValue): ValueKind {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "bigint":
      return "int64";
    case "number":
      return "float64";
  }
  if (Buffer.isBuffer(value)) return "bytes";
  if (Array.isArray(value)) return "array";
  return "object";
}

/** True for the float64 values that SQL Server's FLOAT cannot hold. */
export function isSpecialFloat(n: number): boolean {
  return !Number.isFinite(n);
}

/** Base64 of the 8 little-endian bytes of a float64, as Convex writes `{"$float": ...}`. */
export function float64ToBase64(n: number): string {
  const buf = Buffer.alloc(8);
  buf.writeDoubleLE(n, 0);
  return buf.toString("base64");
}

export function base64ToFloat64(b64: string): number {
  const buf = Buffer.from(b64, "base64");
  if (buf.length !== 8) throw new Error(`$float must hold 8 bytes, got ${buf.length}`);
  return buf.readDoubleLE(0);
}

export interface ExportJsonOptions {
  /** PostgreSQL jsonb numbers cannot hold -0: write it as `{"$float": ...}` like NaN and ±Infinity. */
  negativeZeroAsFloat?: boolean;
  /**
   * PostgreSQL jsonb keeps numbers as `numeric` and prints them without an exponent, so `1e+21` comes back as
   * `1000000000000000000000`, an integer-looking token. With this, floats that JavaScript writes with a positive
   * exponent (|n| >= 1e21) are written out in full with `.0` (`1000000000000000000000.0`): the same value,
   * whose `.` jsonb keeps. Negative exponents need nothing: jsonb prints `1e-7` as `0.0000001`.
   */
  positionalLargeFloats?: boolean;
}

/**
 * Serialises a value in Convex's lossless "uniform" export JSON: int64 as a bare integer, float64 always with
 * a `.` or an exponent (`5.0`, `1e+30`), NaN/±Infinity as `{"$float": ...}`, bytes as `{"$bytes": ...}`.
 * This is the text stored in JSON columns, so analysts see one encoding whatever the snapshot's era.
 */
export function toExportJson(value: ConvexValue, opts: ExportJsonOptions = {}): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return value.toString();
    case "number":
      if (opts.negativeZeroAsFloat && Object.is(value, -0)) return `{"$float":"${float64ToBase64(-0)}"}`;
      return opts.positionalLargeFloats ? positional(floatToJson(value)) : floatToJson(value);
  }
  if (Buffer.isBuffer(value)) return `{"$bytes":${JSON.stringify(value.toString("base64"))}}`;
  if (Array.isArray(value)) return `[${value.map((v) => toExportJson(v, opts)).join(",")}]`;
  let out = "{";
  let first = true;
  for (const key of Object.keys(value)) {
    if (!first) out += ",";
    first = false;
    out += JSON.stringify(key) + ":" + toExportJson(value[key]!, opts);
  }
  return out + "}";
}

/** `1.25e+22` → `12500000000000000000000.0`; any other text is returned as it is. */
export function positional(json: string): string {
  const m = /^(-?)(\d)(?:\.(\d+))?e\+(\d+)$/.exec(json);
  if (!m) return json;
  const [, sign, lead, fraction = "", exponent] = m;
  const digits = lead! + fraction;
  const zeros = Number(exponent) - fraction.length;
  // JavaScript uses an exponent only from 1e21, so the shortest digits (at most 17) never reach the point.
  return zeros >= 0 ? `${sign}${digits}${"0".repeat(zeros)}.0` : json;
}

function floatToJson(n: number): string {
  if (!Number.isFinite(n)) return `{"$float":"${float64ToBase64(n)}"}`;
  if (Object.is(n, -0)) return "-0.0";
  const s = String(n);
  return /[.e]/.test(s) ? s : s + ".0";
}
