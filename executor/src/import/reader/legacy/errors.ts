/** Errors of the legacy ("clean JSON" + generated_schema.jsonl) snapshot decoder. */

/**
 * A generated_schema.jsonl that cannot be read: a malformed shape on line 1 or a bad override line.
 * `line` is the 1-based line of generated_schema.jsonl; `column` is the 1-based character position inside
 * the shape text (the string held by line 1), or 1 when the problem concerns a whole override line.
 */
export class LegacyShapeError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`generated_schema.jsonl line ${line}, column ${column}: ${reason}`);
    this.name = "LegacyShapeError";
  }
}

/**
 * A document that does not fit its table's shape or override, e.g. `"abc"` where the shape allows only int64.
 * `fieldPath` names the value, e.g. `items[3].price` (empty for the document itself).
 */
export class LegacyDecodeError extends Error {
  constructor(
    readonly reason: string,
    readonly fieldPath: string,
    readonly documentId?: string,
  ) {
    const where = [
      documentId !== undefined ? `document ${documentId}` : "",
      fieldPath ? `field ${fieldPath}` : "",
    ];
    super(`${where.filter(Boolean).join(" ") || "document"}: ${reason}`);
    this.name = "LegacyDecodeError";
  }
}
