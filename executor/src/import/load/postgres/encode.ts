/**
 * Rows in PostgreSQL's COPY text format: tab-separated, `\N` for NULL, backslash escapes.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */
import type { PlannedColumn } from "../../mapping/types.js";
import { toExportJson, type ConvexObject, type ConvexValue } from "../../values.js";
import { CellError, cellValue, creationTimeIso } from "../connection.js";

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeText(s: string): string {
  if (s.includes("\u0000")) {
    throw new CellError("contains the character U+0000, which PostgreSQL text and jsonb cannot store");
  }
  return NEEDS_ESCAPE.test(s) ? s.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : s;
}

/** JSON text with a \u0000 escape (not preceded by an escaping backslash) is refused by jsonb. */
const JSON_NUL = /(^|[^\\])(\\\\)*\\u0000/;

function floatText(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return Object.is(n, -0) ? "-0" : String(n);
}

function mismatch(col: PlannedColumn, value: ConvexValue): never {
  throw new CellError(
    `value of type ${typeof value} does not fit column type ${col.type} (internal planning error)`,
  );
}

export function encodeCell(col: PlannedColumn, value: ConvexValue | undefined): string {
  if (value === undefined || value === null) return "\\N";
  switch (col.type) {
    case "id":
    case "string":
    case "unset":
      return typeof value === "string" ? escapeText(value) : mismatch(col, value);
    case "int64":
      return typeof value === "bigint" ? value.toString() : mismatch(col, value);
    case "float64":
      return typeof value === "number" ? floatText(value) : mismatch(col, value);
    case "boolean":
      return typeof value === "boolean" ? (value ? "t" : "f") : mismatch(col, value);
    case "bytes":
      return Buffer.isBuffer(value) ? "\\\\x" + value.toString("hex") : mismatch(col, value);
    case "timestamp":
      return typeof value === "number" ? creationTimeIso(value) : mismatch(col, value);
    case "json": {
      const json = toExportJson(value, { negativeZeroAsFloat: true, positionalLargeFloats: true });
      if (JSON_NUL.test(json)) {
        throw new CellError("contains the character U+0000, which PostgreSQL jsonb cannot store");
      }
      return escapeText(json);
    }
  }
}

/** Encodes documents as COPY text lines. On a bad cell, throws CellError with `field` and the doc index set. */
export function encodeRows(columns: readonly PlannedColumn[], docs: readonly ConvexObject[]): string {
  let out = "";
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d]!;
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      let text: string;
      try {
        text = encodeCell(col, cellValue(doc, col.field));
      } catch (err) {
        if (err instanceof CellError) Object.assign(err, { field: col.field, docIndex: d });
        throw err;
      }
      out += c === 0 ? text : "\t" + text;
    }
    out += "\n";
  }
  return out;
}
