/**
 * Per-document overrides ("export contexts") from lines 2.. of a legacy generated_schema.jsonl.
 *
 * Convex writes one only for a document whose value cannot be recovered from the table's shape alone, e.g.
 * `{"<id>": {"foo": ["int64", "infer"]}}` when the shape says `foo: array<int64 | field_name>`.
 * JSON form (get-convex/convex-backend `crates/shape_inference/src/export_context.rs`, `TryFrom<JsonValue>`):
 * `"infer"`, `"int64"`, `"float64inf"`, `"bytes"`, `{"$float64NaN": "<base64 of 8 LE bytes>"}`, an array of
 * contexts (one per element) or an object of contexts (per field; fields not listed are `"infer"`).
 * `"set"` and `"map"` (long-removed Convex Set/Map values) are accepted here and rejected when applied.
 */

export type ExportContext =
  | { kind: "infer" }
  | { kind: "int64" }
  | { kind: "float64Inf" }
  | { kind: "bytes" }
  | { kind: "set" }
  | { kind: "map" }
  /** `value` is the NaN with the exact payload Convex stored. */
  | { kind: "float64NaN"; value: number }
  | { kind: "array"; elements: ExportContext[] }
  | { kind: "object"; fields: Map<string, ExportContext> };

export const INFER: ExportContext = Object.freeze({ kind: "infer" });

const NAMED: ReadonlyMap<string, ExportContext> = new Map<string, ExportContext>([
  ["infer", INFER],
  ["int64", Object.freeze({ kind: "int64" })],
  ["float64inf", Object.freeze({ kind: "float64Inf" })],
  ["bytes", Object.freeze({ kind: "bytes" })],
  ["set", Object.freeze({ kind: "set" })],
  ["map", Object.freeze({ kind: "map" })],
]);

/** Parses the JSON value of one override. Throws an Error whose message names the path inside it. */
export function parseExportContext(json: unknown, path = ""): ExportContext {
  if (typeof json === "string") {
    const named = NAMED.get(json);
    if (!named) throw new Error(`${where(path)}unknown export context ${JSON.stringify(json)}`);
    return named;
  }
  if (Array.isArray(json)) {
    return { kind: "array", elements: json.map((item, i) => parseExportContext(item, `${path}[${i}]`)) };
  }
  if (typeof json === "object" && json !== null) {
    const object = json as Record<string, unknown>;
    const nan = object["$float64NaN"];
    if (typeof nan === "string") return { kind: "float64NaN", value: parseNaN(nan, path) };
    const fields = new Map<string, ExportContext>();
    for (const [key, value] of Object.entries(object)) {
      fields.set(key, parseExportContext(value, path ? `${path}.${key}` : key));
    }
    return { kind: "object", fields };
  }
  throw new Error(
    `${where(path)}an export context must be a string, array or object, got ${JSON.stringify(json)}`,
  );
}

function parseNaN(b64: string, path: string): number {
  const bytes = Buffer.from(b64, "base64");
  if (!/^[A-Za-z0-9+/]{11}=?$/.test(b64) || bytes.length !== 8) {
    throw new Error(`${where(path)}$float64NaN must be the base64 of 8 bytes, got ${JSON.stringify(b64)}`);
  }
  const value = bytes.readDoubleLE(0);
  if (!Number.isNaN(value)) throw new Error(`${where(path)}$float64NaN holds ${value}, which is not a NaN`);
  return value;
}

function where(path: string): string {
  return path ? `at ${path}: ` : "";
}
