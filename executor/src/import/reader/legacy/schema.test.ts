import { describe, expect, it } from "vitest";
import { parseExportContext } from "./context.js";
import { LegacyShapeError } from "./errors.js";
import { parseGeneratedSchema, topLevelFields } from "./schema.js";
import { parseShape } from "./shape.js";

const ID = "jd7a1kbdvfh4ak8mcrmb8k9tm57c8y1w";

function schemaError(lines: string[]): LegacyShapeError {
  try {
    parseGeneratedSchema(lines);
  } catch (err) {
    if (err instanceof LegacyShapeError) return err;
    throw err;
  }
  throw new Error("expected the schema to be rejected");
}

describe("parseGeneratedSchema", () => {
  it("reads the shape and the overrides of Convex's own export test (table_1 of test_export_zip)", () => {
    const lines = [
      JSON.stringify(`{"_creationTime": normalfloat64, "_id": "${ID}", "foo": array<int64 | field_name>}`),
      JSON.stringify({ [ID]: { foo: ["int64", "infer"] } }),
      "",
    ];
    const schema = parseGeneratedSchema(lines);
    expect(schema.shape.kind).toBe("object");
    expect(schema.overrides.size).toBe(1);
    expect(schema.overrides.get(ID)).toEqual({
      kind: "object",
      fields: new Map([["foo", { kind: "array", elements: [{ kind: "int64" }, { kind: "infer" }] }]]),
    });
  });

  it("reports the shape's column on line 1", () => {
    const err = schemaError([JSON.stringify('{"a": strin}')]);
    expect([err.line, err.column]).toEqual([1, 7]);
  });

  it("explains files that are empty, not a JSON string, or in the uniform encoding", () => {
    expect(schemaError([]).reason).toMatch(/empty/);
    expect(schemaError(["{not json"]).reason).toMatch(/line 1 is not JSON/);
    expect(schemaError(['{"a": 1}']).reason).toMatch(/must be a JSON string/);
    expect(schemaError(['"uniform"']).reason).toMatch(/uniform/);
  });

  it("names the line of a bad override", () => {
    const shape = JSON.stringify("{}");
    const good = JSON.stringify({ k57bz4a7m1kzcfz8sq1m6c0ha57c9bx3: "int64" });
    const cases: [string, RegExp][] = [
      ["[1]", /must be an object/],
      ["{oops", /not JSON/],
      [JSON.stringify({ [ID]: "float32" }), /unknown export context "float32"/],
      [JSON.stringify({ [ID]: { a: [1] } }), /at a\[0\]: an export context must be/],
      [JSON.stringify({ [ID]: { $float64NaN: "AAAAAAAA8D8=" } }), /holds 1, which is not a NaN/],
      [JSON.stringify({ [ID]: { $float64NaN: "AAAA" } }), /base64 of 8 bytes/],
    ];
    for (const [line, reason] of cases) {
      const err = schemaError([shape, good, "", line]);
      expect(err.line, line).toBe(4);
      expect(err.reason, line).toMatch(reason);
    }
    expect(schemaError([shape, good, good]).reason).toMatch(/second override for document/);
  });
});

describe("parseExportContext", () => {
  it("keeps the exact NaN payload of $float64NaN", () => {
    const payload = Buffer.from([1, 2, 3, 0, 0, 0, 0xf8, 0x7f]);
    const context = parseExportContext({ $float64NaN: payload.toString("base64") });
    expect(context.kind).toBe("float64NaN");
    const value = context.kind === "float64NaN" ? context.value : 0;
    const bits = Buffer.alloc(8);
    bits.writeDoubleLE(value);
    expect(bits).toEqual(payload);
  });

  it("reads the named contexts, including Convex's deprecated set and map", () => {
    expect(
      ["infer", "int64", "float64inf", "bytes", "set", "map"].map((s) => parseExportContext(s).kind),
    ).toEqual(["infer", "int64", "float64Inf", "bytes", "set", "map"]);
  });
});

describe("topLevelFields", () => {
  it("collects every field of every object member with the kinds it can take", () => {
    const shape = parseShape(
      '{"_id": id<10001>, "a": int64 | null, "b"?: array<string>, "c": "x" | "y"} | ' +
        '{"_id": id<10001>, "a": float64 | bytes, "d": record<field_name, int64>, "e": unknown, "f": NaN | -0}',
    );
    const fields = topLevelFields(shape);
    const sorted = (name: string): string[] => [...(fields.get(name) ?? [])].sort();
    expect([...fields.keys()]).toEqual(["_id", "a", "b", "c", "d", "e", "f"]);
    expect(sorted("_id")).toEqual(["string"]);
    expect(sorted("a")).toEqual(["bytes", "float64", "int64", "null"]);
    expect(sorted("b")).toEqual(["array"]); // optional adds no "null"
    expect(sorted("c")).toEqual(["string"]);
    expect(sorted("d")).toEqual(["object"]);
    expect(sorted("e")).toEqual([
      "array",
      "boolean",
      "bytes",
      "float64",
      "int64",
      "null",
      "object",
      "string",
    ]);
    expect(sorted("f")).toEqual(["float64"]);
  });

  it("is empty for never and for shapes without object members", () => {
    expect(topLevelFields(parseShape("never")).size).toBe(0);
    expect(topLevelFields(parseShape("record<string, int64> | unknown")).size).toBe(0);
  });
});
