import { beforeAll, describe, expect, it } from "vitest";
import { LegacyShapeError } from "./errors.js";
import {
  jsonlLines,
  LEGACY_SAMPLE_ZIPS,
  legacyTables,
  readZipTexts,
} from "../../../../../test/fixtures/legacy-sample-zips.js";
import { parseShape, printShape, SHAPE_ATOMS, type Shape } from "./shape.js";

function shapeError(text: string): LegacyShapeError {
  try {
    parseShape(text);
  } catch (err) {
    if (err instanceof LegacyShapeError) return err;
    throw err;
  }
  throw new Error(`expected ${text} to be rejected`);
}

function objectField(shape: Shape, name: string): Shape {
  if (shape.kind !== "object") throw new Error(`not an object: ${printShape(shape)}`);
  const field = shape.fields.find((f) => f.name === name);
  if (!field) throw new Error(`no field ${name}`);
  return field.shape;
}

describe("shapes of the real legacy sample ZIPs", () => {
  const shapeTexts = new Map<string, string>(); // "zip/table" -> shape text

  beforeAll(async () => {
    for (const [zipName, zipPath] of Object.entries(LEGACY_SAMPLE_ZIPS)) {
      const texts = await readZipTexts(zipPath);
      for (const table of legacyTables(texts)) {
        const lines = jsonlLines(texts.get(`${table}/generated_schema.jsonl`)!);
        shapeTexts.set(`${zipName}/${table}`, JSON.parse(lines[0]!) as string);
      }
    }
  });

  it("parses every generated_schema line and prints it back byte for byte", () => {
    expect(shapeTexts.size).toBe(23); // 11 + 11 tables in the anouk ZIPs, 1 in cron-jobs-demo
    for (const [where, text] of shapeTexts) {
      expect(printShape(parseShape(text)), where).toBe(text);
    }
  });

  it("reads empty tables as never", () => {
    expect(parseShape(shapeTexts.get("cronJobsDemo/messages")!)).toEqual({ kind: "atom", atom: "never" });
    expect(parseShape(shapeTexts.get("anoukDev/users")!)).toEqual({ kind: "atom", atom: "never" });
  });

  it("reads ids, literal unions and float atoms of the exercises table", () => {
    const shape = parseShape(shapeTexts.get("anoukDev/exercises")!);
    expect(shape.kind === "object" && shape.fields.map((f) => f.name)).toEqual([
      "_creationTime",
      "_id",
      "mode",
      "order",
      "sentenceId",
    ]);
    expect(objectField(shape, "_id")).toEqual({ kind: "id", tableNumber: 10007 });
    expect(objectField(shape, "sentenceId")).toEqual({ kind: "id", tableNumber: 10011 });
    expect(objectField(shape, "order")).toEqual({ kind: "atom", atom: "normalfloat64" });
    expect(objectField(shape, "mode")).toEqual({
      kind: "union",
      members: [
        { kind: "literal", value: "audio_and_lecture" },
        { kind: "literal", value: "fill_in_blank" },
        { kind: "literal", value: "select_one_word" },
      ],
    });
  });

  it("reads the sentences table as a union of object shapes", () => {
    const shape = parseShape(shapeTexts.get("anoukDev/sentences")!);
    expect(shape.kind).toBe("union");
    const members = shape.kind === "union" ? shape.members : [];
    expect(members).toHaveLength(7);
    expect(members.every((m) => m.kind === "object")).toBe(true);
    expect(objectField(members[0]!, "blankWordIndices")).toEqual({
      kind: "array",
      element: { kind: "atom", atom: "normalfloat64" },
    });
    expect(objectField(members[1]!, "text")).toEqual({ kind: "atom", atom: "field_name" });
  });

  it("reads ids written as literal unions when a table had few documents", () => {
    const shape = parseShape(shapeTexts.get("anoukBackup/profiles")!);
    const id = objectField(shape, "_id");
    expect(id.kind === "union" && id.members.map((m) => m.kind === "literal" && m.value)).toEqual([
      "k9725mndz2ce7erp6ydnt2razs7ecgvh",
      "k979fn8bsmjfemsb2ykddpspys7ed4y7",
      "k97dhe2ed1sa8a2nakj7kvbd717ece7r",
      "k97f7zdqzqzw0cszr3dgv7mbk17ecph0",
    ]);
  });
});

describe("parseShape", () => {
  it("reads every atom Convex prints", () => {
    for (const atom of SHAPE_ATOMS) {
      expect(parseShape(atom)).toEqual({ kind: "atom", atom });
      expect(printShape(parseShape(`array<${atom}>`))).toBe(`array<${atom}>`);
    }
    expect(parseShape("-inf | inf | -0 | NaN")).toEqual({
      kind: "union",
      members: ["-inf", "inf", "-0", "NaN"].map((atom) => ({ kind: "atom", atom })),
    });
  });

  it("reads optional fields, records, sets, maps, empty objects and nested arrays of objects", () => {
    const text =
      '{"a"?: string, "b": record<field_name, int64 | null>, "c": set<bytes>, "d": map<string, float64>, ' +
      '"e": {}, "items": array<{"price": int64, "sku"?: string} | null>}';
    const shape = parseShape(text);
    expect(printShape(shape)).toBe(text);
    expect(shape.kind === "object" && shape.fields[0]).toEqual({
      name: "a",
      optional: true,
      shape: { kind: "atom", atom: "string" },
    });
    expect(objectField(shape, "b")).toEqual({
      kind: "record",
      key: { kind: "atom", atom: "field_name" },
      value: {
        kind: "union",
        members: [
          { kind: "atom", atom: "int64" },
          { kind: "atom", atom: "null" },
        ],
      },
    });
    expect(objectField(shape, "e")).toEqual({ kind: "object", fields: [] });
    const items = objectField(shape, "items");
    expect(items.kind === "array" && items.element.kind === "union" && items.element.members[0]).toEqual({
      kind: "object",
      fields: [
        { name: "price", optional: false, shape: { kind: "atom", atom: "int64" } },
        { name: "sku", optional: true, shape: { kind: "atom", atom: "string" } },
      ],
    });
  });

  it("reads the nested-union regression input from Convex's own pretty.rs tests", () => {
    const text =
      '{"location": {"city": string, "country": string} | {"country": string}} | ' +
      '{"name": string, "location": {"city": string, "country": string} | {"country": string}}';
    const shape = parseShape(text);
    expect(shape.kind === "union" && shape.members.length).toBe(2);
    expect(printShape(shape)).toBe(text);
  });

  it("tolerates extra whitespace and prints Convex's canonical spacing", () => {
    expect(printShape(parseShape(' { "a" ? :array< int64|string > ,"b":id< 10001 > } '))).toBe(
      '{"a"?: array<int64 | string>, "b": id<10001>}',
    );
  });

  it("reads Rust-escaped literals and prints them back", () => {
    const text = String.raw`"say \"hi\"\n" | "tab\there" | "\u{1}"`;
    const shape = parseShape(text);
    expect(shape.kind === "union" && shape.members.map((m) => m.kind === "literal" && m.value)).toEqual([
      'say "hi"\n',
      "tab\there",
      "\u0001",
    ]);
    expect(printShape(shape)).toBe(text);
  });

  it("rejects malformed shapes with the column of the problem", () => {
    const cases: [string, number, RegExp][] = [
      ['{"a": int65}', 7, /unknown shape 'int65'/],
      ['{"a": int64', 12, /expected ',' or '}'/],
      ["array<int64", 12, /expected '>' to close array</],
      ["record<string int64>", 15, /expected ','/],
      ["id<0>", 4, /table number/],
      ["id<abc>", 4, /table number/],
      ['{"a" int64}', 6, /expected ':' after field name "a"/],
      ["{a: int64}", 2, /expected a quoted field name/],
      ['{"a": int64, "a": string}', 14, /field "a" appears twice/],
      ['"unterminated', 1, /unterminated string/],
      ["int64 string", 7, /unexpected text after the shape/],
      ["int64 |", 8, /expected a shape/],
      ["", 1, /expected a shape/],
      ["list<int64>", 1, /unknown shape 'list<'/],
    ];
    for (const [text, column, reason] of cases) {
      const err = shapeError(text);
      expect(err.column, text).toBe(column);
      expect(err.line, text).toBe(1);
      expect(err.reason, text).toMatch(reason);
      expect(err.message).toContain(`line 1, column ${column}`);
    }
  });
});
