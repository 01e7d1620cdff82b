/**
 * A legacy table's `generated_schema.jsonl`: line 1 is a JSON string holding the table's shape; each later
 * line is `{"<document id>": <export context>}` for a document the shape alone cannot decode
 * (written by `write_generated_schema` in get-convex/convex-backend `crates/exports/src/zip_uploader.rs`).
 */
import type { ValueKind } from "../../values.js";
import { parseExportContext, type ExportContext } from "./context.js";
import { LegacyShapeError } from "./errors.js";
import { parseShape, unionMembers, type Shape } from "./shape.js";

export interface LegacyTableSchema {
  shape: Shape;
  /** By document `_id`. */
  overrides: Map<string, ExportContext>;
}

/** Throws LegacyShapeError(reason, line, column) for anything malformed. */
export function parseGeneratedSchema(lines: string[]): LegacyTableSchema {
  const first = lines[0];
  if (first === undefined || first.trim() === "") {
    throw new LegacyShapeError("the file is empty; line 1 must hold the table's shape", 1, 1);
  }
  let shapeText: unknown;
  try {
    shapeText = JSON.parse(first);
  } catch (err) {
    throw new LegacyShapeError(`line 1 is not JSON (${(err as Error).message})`, 1, 1);
  }
  if (typeof shapeText !== "string") {
    throw new LegacyShapeError("line 1 must be a JSON string holding the table's shape", 1, 1);
  }
  if (shapeText === "uniform") {
    throw new LegacyShapeError(
      'this table uses the current "uniform" export encoding, not the legacy one; read it with the uniform reader',
      1,
      1,
    );
  }
  const shape = parseShape(shapeText, 1);

  const overrides = new Map<string, ExportContext>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const lineNo = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new LegacyShapeError(`override line is not JSON (${(err as Error).message})`, lineNo, 1);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new LegacyShapeError(
        'an override line must be an object {"<document id>": <context>}',
        lineNo,
        1,
      );
    }
    for (const [id, json] of Object.entries(parsed)) {
      if (overrides.has(id)) throw new LegacyShapeError(`second override for document ${id}`, lineNo, 1);
      try {
        overrides.set(id, parseExportContext(json));
      } catch (err) {
        throw new LegacyShapeError(`override for document ${id}: ${(err as Error).message}`, lineNo, 1);
      }
    }
  }
  return { shape, overrides };
}

/**
 * Every top-level field that some object member of the shape names, with the kinds of value it can hold
 * (for column planning). An optional field does not add "null": absent is not null. Records and `unknown`
 * at the top name no fields, so they contribute nothing; `never` (an empty table) gives an empty map.
 */
export function topLevelFields(shape: Shape): Map<string, Set<ValueKind>> {
  const fields = new Map<string, Set<ValueKind>>();
  for (const member of unionMembers(shape)) {
    if (member.kind !== "object") continue;
    for (const field of member.fields) {
      let kinds = fields.get(field.name);
      if (!kinds) fields.set(field.name, (kinds = new Set()));
      addKinds(field.shape, kinds);
    }
  }
  return fields;
}

const ALL_KINDS: readonly ValueKind[] = [
  "null",
  "boolean",
  "int64",
  "float64",
  "string",
  "bytes",
  "array",
  "object",
];

/** Adds the kinds of the values a shape describes. */
export function addKinds(shape: Shape, kinds: Set<ValueKind>): void {
  switch (shape.kind) {
    case "union":
      for (const member of shape.members) addKinds(member, kinds);
      return;
    case "literal":
    case "id":
      kinds.add("string");
      return;
    case "array":
    case "set":
      kinds.add("array");
      return;
    case "object":
    case "record":
    case "map":
      kinds.add("object");
      return;
    case "atom":
      switch (shape.atom) {
        case "never":
          return;
        case "unknown":
          for (const kind of ALL_KINDS) kinds.add(kind);
          return;
        case "null":
        case "boolean":
        case "int64":
        case "string":
        case "bytes":
          kinds.add(shape.atom);
          return;
        case "field_name":
          kinds.add("string");
          return;
        case "float64":
        case "normalfloat64":
        case "-0":
        case "inf":
        case "-inf":
        case "NaN":
          kinds.add("float64");
          return;
        default:
          return shape.atom satisfies never;
      }
    default:
      return shape satisfies never;
  }
}
