/**
 * Convex's shape language, as written on line 1 of a legacy `generated_schema.jsonl`, e.g.
 *
 *   {"_creationTime": normalfloat64, "_id": id<10007>, "mode": "audio" | "lecture", "tags"?: array<string>}
 *
 * Mirrors the printer and parser in get-convex/convex-backend `crates/shape_inference/src/pretty.rs`:
 * atoms, quoted string literals, `id<N>`, `array<T>`, `record<K, V>`, objects with quoted keys and an
 * optional `?` after the key, unions `A | B`. Older backends also printed `set<T>` and `map<K, V>` (Convex
 * Set/Map values, long removed); they are parsed so that such a file is still readable. The printer here
 * reproduces Convex's spacing exactly; the parser also tolerates extra whitespace.
 */
import { LegacyShapeError } from "./errors.js";

/** Atoms, spelled as Convex prints them. */
export const SHAPE_ATOMS = [
  "never",
  "null",
  "int64",
  "float64",
  "-inf",
  "inf",
  "-0",
  "NaN",
  "normalfloat64",
  "boolean",
  "field_name",
  "string",
  "bytes",
  "unknown",
] as const;
export type ShapeAtom = (typeof SHAPE_ATOMS)[number];
const ATOMS: ReadonlySet<string> = new Set(SHAPE_ATOMS);

export interface ObjectFieldShape {
  name: string;
  optional: boolean;
  shape: Shape;
}

export type Shape =
  | { kind: "atom"; atom: ShapeAtom }
  | { kind: "literal"; value: string }
  | { kind: "id"; tableNumber: number }
  | { kind: "array"; element: Shape }
  | { kind: "set"; element: Shape }
  | { kind: "map"; key: Shape; value: Shape }
  | { kind: "record"; key: Shape; value: Shape }
  /** Fields in the order written (Convex writes them sorted). */
  | { kind: "object"; fields: ObjectFieldShape[] }
  /** Never nested: members of a parsed inner union are spliced into the outer one. */
  | { kind: "union"; members: Shape[] };

/** The members of a union, or the shape itself. */
export function unionMembers(shape: Shape): readonly Shape[] {
  return shape.kind === "union" ? shape.members : [shape];
}

/** Parses a shape; `line` is only used in errors. Throws LegacyShapeError with a 1-based column. */
export function parseShape(text: string, line = 1): Shape {
  const parser = new ShapeParser(text, line);
  const shape = parser.union();
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail("unexpected text after the shape");
  return shape;
}

const MAX_TABLE_NUMBER = 0xffff_ffff;
const WORD = /[A-Za-z0-9_-]/;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "'": "'",
  n: "\n",
  r: "\r",
  t: "\t",
  "0": "\0",
};

class ShapeParser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly line: number,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  fail(reason: string, at = this.pos): never {
    const near = this.text.slice(at, at + 30);
    const where = at >= this.text.length ? "at end of shape" : `near '${near}'`;
    throw new LegacyShapeError(`${reason} (${where})`, this.line, at + 1);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private expect(char: string, what: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== char) this.fail(`expected '${char}' ${what}`);
    this.pos++;
  }

  union(): Shape {
    const members: Shape[] = [];
    for (;;) {
      const member = this.member();
      if (member.kind === "union") members.push(...member.members);
      else members.push(member);
      this.skipSpace();
      if (this.text[this.pos] !== "|") break;
      this.pos++;
    }
    return members.length === 1 ? members[0]! : { kind: "union", members };
  }

  private member(): Shape {
    this.skipSpace();
    // Shapes nest at most as deep as documents (16 levels); this only guards against hostile input.
    if (++this.depth > 200) this.fail("shape is nested too deeply");
    try {
      const char = this.text[this.pos];
      if (char === undefined) this.fail("expected a shape");
      if (char === "{") return this.object();
      if (char === '"') return { kind: "literal", value: this.quoted() };
      return this.word();
    } finally {
      this.depth--;
    }
  }

  private word(): Shape {
    const start = this.pos;
    while (this.pos < this.text.length && WORD.test(this.text[this.pos]!)) this.pos++;
    const word = this.text.slice(start, this.pos);
    if (word === "") this.fail("expected a shape", start);
    if (this.text[this.pos] === "<") {
      this.pos++;
      switch (word) {
        case "id":
          return this.idShape();
        case "array":
        case "set": {
          const element = this.union();
          this.expect(">", `to close ${word}<`);
          return { kind: word, element };
        }
        case "map":
        case "record": {
          const key = this.union();
          this.expect(",", `between the key and value of ${word}<`);
          const value = this.union();
          this.expect(">", `to close ${word}<`);
          return { kind: word, key, value };
        }
        default:
          this.fail(`unknown shape '${word}<'`, start);
      }
    }
    if (!ATOMS.has(word)) this.fail(`unknown shape '${word}'`, start);
    return { kind: "atom", atom: word as ShapeAtom };
  }

  private idShape(): Shape {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.text.length && /[0-9]/.test(this.text[this.pos]!)) this.pos++;
    const digits = this.text.slice(start, this.pos);
    const tableNumber = Number(digits);
    if (digits === "" || tableNumber < 1 || tableNumber > MAX_TABLE_NUMBER) {
      this.fail("expected a table number (1 to 4294967295) in id<N>", start);
    }
    this.expect(">", "to close id<");
    return { kind: "id", tableNumber };
  }

  private object(): Shape {
    this.pos++; // "{"
    const fields: ObjectFieldShape[] = [];
    const seen = new Set<string>();
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return { kind: "object", fields };
    }
    for (;;) {
      this.skipSpace();
      const keyStart = this.pos;
      if (this.text[this.pos] !== '"') this.fail("expected a quoted field name");
      const name = this.quoted();
      if (seen.has(name)) this.fail(`field "${name}" appears twice`, keyStart);
      seen.add(name);
      this.skipSpace();
      const optional = this.text[this.pos] === "?";
      if (optional) this.pos++;
      this.expect(":", `after field name "${name}"`);
      fields.push({ name, optional, shape: this.union() });
      this.skipSpace();
      const char = this.text[this.pos];
      this.pos++;
      if (char === "}") return { kind: "object", fields };
      if (char !== ",") this.fail("expected ',' or '}' in object shape", this.pos - 1);
    }
  }

  /** A string in Rust's `{:?}` quoting (Convex only quotes identifiers, but escapes cost nothing). */
  private quoted(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = "";
    for (;;) {
      const char = this.text[this.pos];
      if (char === undefined) this.fail("unterminated string", start);
      this.pos++;
      if (char === '"') return out;
      if (char !== "\\") {
        out += char;
        continue;
      }
      const escape = this.text[this.pos++];
      if (escape !== undefined && SIMPLE_ESCAPES[escape] !== undefined) {
        out += SIMPLE_ESCAPES[escape];
      } else if (escape === "u" && this.text[this.pos] === "{") {
        const close = this.text.indexOf("}", this.pos);
        const hex = close < 0 ? "" : this.text.slice(this.pos + 1, close);
        if (!/^[0-9a-fA-F]{1,6}$/.test(hex) || parseInt(hex, 16) > 0x10ffff) {
          this.fail("bad \\u{…} escape", this.pos - 2);
        }
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos = close + 1;
      } else {
        this.fail(`unknown escape '\\${escape ?? ""}'`, this.pos - 2);
      }
    }
  }
}

/** Prints a shape exactly as Convex's `Display` does, so `printShape(parseShape(s)) === s` for Convex output. */
export function printShape(shape: Shape): string {
  switch (shape.kind) {
    case "atom":
      return shape.atom;
    case "literal":
      return quote(shape.value);
    case "id":
      return `id<${shape.tableNumber}>`;
    case "array":
    case "set":
      return `${shape.kind}<${printShape(shape.element)}>`;
    case "map":
    case "record":
      return `${shape.kind}<${printShape(shape.key)}, ${printShape(shape.value)}>`;
    case "object":
      return `{${shape.fields
        .map((f) => `${quote(f.name)}${f.optional ? "?" : ""}: ${printShape(f.shape)}`)
        .join(", ")}}`;
    case "union":
      return shape.members.map(printShape).join(" | ");
    default:
      return shape satisfies never;
  }
}

function quote(s: string): string {
  let out = '"';
  for (const char of s) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === "\\") out += "\\" + char;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (char === "\0") out += "\\0";
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += char;
  }
  return out + '"';
}
