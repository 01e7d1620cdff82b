import { describe, expect, it } from "vitest";
import type { ConvexValue } from "../../values.js";
import { decodeLegacyDocument } from "./decode.js";
import { LegacyDecodeError } from "./errors.js";
import { parseGeneratedSchema, type LegacyTableSchema } from "./schema.js";

const ID = "jd7a1kbdvfh4ak8mcrmb8k9tm57c8y1w";

/** A schema for documents `{_id, ...fields}` whose user fields have the given shapes. */
function schema(fields: string, override?: unknown): LegacyTableSchema {
  const shape = `{"_id": id<10001>${fields ? `, ${fields}` : ""}}`;
  const lines = [JSON.stringify(shape)];
  if (override !== undefined) lines.push(JSON.stringify({ [ID]: override }));
  return parseGeneratedSchema(lines);
}

/** Decodes one document line exactly as the reader will: JSON.parse, then decode. */
function decode(fields: string, line: string, override?: unknown): Record<string, ConvexValue> {
  const doc = JSON.parse(`{"_id":"${ID}"${line ? `,${line}` : ""}}`) as Record<string, unknown>;
  const { _id, ...rest } = decodeLegacyDocument(doc, schema(fields, override));
  expect(_id).toBe(ID);
  return rest;
}

function decodeError(fields: string, line: string, override?: unknown): LegacyDecodeError {
  try {
    decode(fields, line, override);
  } catch (err) {
    if (err instanceof LegacyDecodeError) return err;
    throw err;
  }
  throw new Error(`expected ${line} to be rejected under ${fields}`);
}

describe("decodeLegacyDocument: strings the shape reads as other types", () => {
  it("reads int64 strings exactly over the whole range", () => {
    const out = decode('"n": array<int64>', '"n":["-9223372036854775808","9223372036854775807","0","-42"]');
    expect(out.n).toEqual([-9223372036854775808n, 9223372036854775807n, 0n, -42n]);
    // Around 2^53, where a double would round; and what Rust's i64 parser also accepts.
    const edges = [
      "999999999999999",
      "-99999999999999",
      "9007199254740993",
      "-9007199254740993",
      "+5",
      "007",
    ];
    const out2 = decode('"n": array<int64>', `"n":${JSON.stringify(edges)}`);
    expect(out2.n).toEqual([
      999999999999999n,
      -99999999999999n,
      9007199254740993n,
      -9007199254740993n,
      5n,
      7n,
    ]);
  });

  it("rejects int64 strings that are not integers or out of range, naming the field", () => {
    for (const text of ["abc", "9223372036854775808", "1.5", "", " 1"]) {
      const err = decodeError('"n": int64', `"n":${JSON.stringify(text)}`);
      expect(err.fieldPath).toBe("n");
      expect(err.reason).toMatch(/is not an int64; the shape is int64/);
      expect(err.documentId).toBe(ID);
      expect(err.message).toContain(`document ${ID} field n:`);
    }
  });

  it("reads bytes from standard base64 and rejects anything else", () => {
    const out = decode('"b": bytes, "e": bytes', '"b":"AQID/w==","e":""');
    expect(out.b).toEqual(Buffer.from([1, 2, 3, 255]));
    expect(Buffer.isBuffer(out.b)).toBe(true);
    expect(out.e).toEqual(Buffer.alloc(0));
    for (const bad of ["AQID*w==", "A", "AQ=D", "AQID/w==" + "="]) {
      expect(decodeError('"b": bytes', `"b":${JSON.stringify(bad)}`).reason).toMatch(/is not base64/);
    }
  });

  it("reads Infinity, -Infinity and NaN under inf, -inf and NaN shapes", () => {
    const out = decode(
      '"p": inf, "m": -inf, "both": array<-inf | inf>, "nan": NaN',
      ['"p":"Infinity"', '"m":"-Infinity"', '"both":["-Infinity","Infinity"]', '"nan":"NaN"'].join(","),
    );
    expect(out.p).toBe(Infinity);
    expect(out.m).toBe(-Infinity);
    expect(out.both).toEqual([-Infinity, Infinity]);
    expect(Number.isNaN(out.nan)).toBe(true);
    expect(decodeError('"p": inf', '"p":"-Infinity"').reason).toMatch(/"-Infinity" is not allowed here/);
    expect(decodeError('"x": NaN', '"x":"Infinity"').reason).toMatch(/not allowed here; the shape is NaN/);
  });

  it("reads the float64 specials under a plain float64 shape and keeps numbers as numbers", () => {
    const out = decode('"f": array<float64>', '"f":[1.5,"Infinity","-Infinity","NaN",-0.0,20.0]');
    const f = out.f as number[];
    expect(f.slice(0, 3)).toEqual([1.5, Infinity, -Infinity]);
    expect(Number.isNaN(f[3])).toBe(true);
    expect(Object.is(f[4], -0)).toBe(true);
    expect(f[5]).toBe(20);
  });

  it("keeps -0 under the -0 shape", () => {
    expect(Object.is(decode('"z": -0', '"z":-0.0').z, -0)).toBe(true);
  });

  it("leaves strings alone when a string is one of the readings and there is no override (Convex's rule)", () => {
    const out = decode(
      '"a": int64 | string, "b": bytes | field_name, "c": float64 | string',
      '"a":"5","b":"AQID","c":"Infinity"',
    );
    expect(out).toEqual({ a: "5", b: "AQID", c: "Infinity" });
  });

  it("refuses to guess between two non-string readings without an override", () => {
    const err = decodeError('"x": int64 | bytes', '"x":"1234"');
    expect(err.reason).toMatch(/could be read several ways under int64 \| bytes/);
    // Only one reading accepts the text: taken.
    expect(decode('"x": int64 | bytes', '"x":"AQID/w=="').x).toEqual(Buffer.from([1, 2, 3, 255]));
  });
});

describe("decodeLegacyDocument: strings that stay strings", () => {
  it("checks unions of literals", () => {
    expect(decode('"mode": "audio" | "lecture"', '"mode":"lecture"').mode).toBe("lecture");
    const err = decodeError('"mode": "audio" | "lecture"', '"mode":"video"');
    expect(err.reason).toBe('"video" is not allowed here; the shape is "audio" | "lecture"');
  });

  it("keeps ids and field_name values as strings", () => {
    const out = decode(
      '"ref": id<10011>, "url": field_name',
      '"ref":"kd7dn8f4vgkeyqq3yvqcnf2etd7f4ham","url":"a b"',
    );
    expect(out).toEqual({ ref: "kd7dn8f4vgkeyqq3yvqcnf2etd7f4ham", url: "a b" });
  });
});

describe("decodeLegacyDocument: containers", () => {
  it("accepts a missing optional field", () => {
    expect(decode('"a"?: int64, "b": string', '"b":"x"')).toEqual({ b: "x" });
  });

  it("accepts empty arrays and objects under array<never> and {} and nothing else in them", () => {
    expect(decode('"a": array<never>, "o": {}', '"a":[],"o":{}')).toEqual({ a: [], o: {} });
    expect(decodeError('"a": array<never>', '"a":[1.0]').reason).toMatch(
      /a number is not allowed here; the shape is never/,
    );
    expect(decodeError('"o": {}', '"o":{"k":null}').fieldPath).toBe("o.k");
  });

  it("reads record values", () => {
    const out = decode('"scores": record<field_name, int64>', '"scores":{"alice":"3","bob":"-7"}');
    expect(out.scores).toEqual({ alice: 3n, bob: -7n });
  });

  it("reads nested arrays of objects and names the failing element's field", () => {
    const fields = '"items": array<{"price": int64, "sku": string, "tags"?: array<bytes>}>';
    const out = decode(fields, '"items":[{"price":"10","sku":"a"},{"price":"20","sku":"b","tags":["AQ=="]}]');
    expect(out.items).toEqual([
      { price: 10n, sku: "a" },
      { price: 20n, sku: "b", tags: [Buffer.from([1])] },
    ]);
    const err = decodeError(
      fields,
      '"items":[{"price":"1","sku":"a"},{"price":"1","sku":"b"},{"price":"x","sku":"c"}]',
    );
    expect(err.fieldPath).toBe("items[2].price");
    expect(decodeError(fields, '"items":[{"price":"1","sku":"a","tags":["*"]}]').fieldPath).toBe(
      "items[0].tags[0]",
    );
  });

  it("uses every member of a union of object shapes for a field, as Convex does", () => {
    const fields = '"v": {"kind": "a", "n": int64} | {"kind": "b", "n": int64, "extra": string}';
    expect(decode(fields, '"v":{"kind":"b","n":"7","extra":"e"}').v).toEqual({
      kind: "b",
      n: 7n,
      extra: "e",
    });
    expect(decodeError(fields, '"v":{"kind":"c","n":"7"}').fieldPath).toBe("v.kind");
  });

  it("checks that an object has the required fields of an object shape it fits", () => {
    const err = decodeError('"a": int64, "b"?: string', '"b":"x"');
    expect(err.fieldPath).toBe("");
    expect(err.reason).toMatch(
      /^the required field "a" is missing; the shape is \{"_id": id<10001>, "a": int64/,
    );
    expect(err.message).toMatch(new RegExp(`^document ${ID}: the required field "a" is missing`));
    expect(decodeError('"o": {"k": string, "n": int64}', '"o":{"k":"v"}').fieldPath).toBe("o");
  });

  it("checks that one union member has all the fields of the object, not just one member each", () => {
    // Field sets only: {"kind": "a", "y": "s"} passes (member b's fields), its "a" being checked against "a" | "b".
    const fields = '"v": {"kind": "a", "x": int64} | {"kind": "b", "y": string, "z"?: bytes}';
    expect(decode(fields, '"v":{"kind":"a","x":"1"}').v).toEqual({ kind: "a", x: 1n });
    expect(decode(fields, '"v":{"kind":"b","y":"s"}').v).toEqual({ kind: "b", y: "s" });
    expect(decode(fields, '"v":{"kind":"b","y":"s","z":"AQ=="}').v).toEqual({
      kind: "b",
      y: "s",
      z: Buffer.from([1]),
    });
    for (const line of [
      '"v":{"kind":"a","x":"1","z":"AQ=="}',
      '"v":{"kind":"b"}',
      '"v":{"x":"1","y":"s","kind":"a"}',
    ]) {
      const err = decodeError(fields, line);
      expect(err.fieldPath, line).toBe("v");
      expect(err.reason, line).toMatch(/^the fields do not match any one object shape of \{"kind": "a"/);
    }
  });

  it("quotes field names that are not identifiers in the path", () => {
    const err = decodeError('"meta": record<string, int64>', '"meta":{"zip code":"x"}');
    expect(err.fieldPath).toBe('meta["zip code"]');
  });
});

describe("decodeLegacyDocument: overrides", () => {
  it("reads int64 where the shape says string | int64 only when the override says so", () => {
    expect(decode('"x": int64 | string', '"x":"5"', { x: "int64" }).x).toBe(5n);
    expect(decode('"x": int64 | string', '"x":"5"').x).toBe("5");
  });

  it("decodes Convex's own export test fixture: array<int64 | field_name> with [int64, infer]", () => {
    expect(
      decode('"foo": array<int64 | field_name>', '"foo":["1","1"]', { foo: ["int64", "infer"] }).foo,
    ).toEqual([1n, "1"]);
  });

  it("reads $float64NaN with its payload", () => {
    const payload = Buffer.from([9, 8, 7, 6, 5, 4, 0xf8, 0x7f]);
    const out = decode('"f": float64 | string', '"f":"NaN"', {
      f: { $float64NaN: payload.toString("base64") },
    });
    const bits = Buffer.alloc(8);
    bits.writeDoubleLE(out.f as number);
    expect(bits).toEqual(payload);
  });

  it("reads float64inf and bytes overrides", () => {
    const out = decode('"i": float64 | string, "b": bytes | string', '"i":"-Infinity","b":"AQ=="', {
      i: "float64inf",
      b: "bytes",
    });
    expect(out).toEqual({ i: -Infinity, b: Buffer.from([1]) });
  });

  it("applies an override under unknown", () => {
    expect(decode('"u": unknown', '"u":{"deep":["7","x"]}', { u: { deep: ["int64", "infer"] } }).u).toEqual({
      deep: [7n, "x"],
    });
  });

  it("rejects overrides that do not fit the value or the shape", () => {
    const cases: [string, string, unknown, string, RegExp][] = [
      [
        '"x": int64 | string',
        '"x":"abc"',
        { x: "int64" },
        "x",
        /"abc" is not an int64 \(the override says int64\)/,
      ],
      ['"x": string', '"x":"5"', { x: "int64" }, "x", /override says int64 but the shape here is string/],
      ['"x": float64', '"x":5.0', { x: "int64" }, "x", /override says int64 but the value is a number/],
      [
        '"a": array<int64 | string>',
        '"a":["1"]',
        { a: ["int64", "infer"] },
        "a",
        /lists 2 elements but the array has 1/,
      ],
      ['"a"?: int64 | string', "", { a: "int64" }, "a", /names this field but the value does not have it/],
      ['"f": float64 | string', '"f":"nan"', { f: { $float64NaN: "AAAAAAAA+H8=" } }, "f", /is not "NaN"/],
      [
        '"o": {"k": string}',
        '"o":{"k":"v"}',
        { o: "bytes" },
        "o",
        /override says bytes but the value is an object/,
      ],
    ];
    for (const [fields, line, override, fieldPath, reason] of cases) {
      const err = decodeError(fields, line, override);
      expect(err.fieldPath, line).toBe(fieldPath);
      expect(err.reason, line).toMatch(reason);
    }
  });
});

describe("decodeLegacyDocument: values that contradict the shape", () => {
  it("names the field and the shape", () => {
    const cases: [string, string, string, RegExp][] = [
      ['"s": string', '"s":1.0', "s", /a number is not allowed here; the shape is string/],
      ['"n": normalfloat64', '"n":"1"', "n", /a string is not allowed here; the shape is normalfloat64/],
      ['"b": boolean', '"b":null', "b", /null is not allowed here; the shape is boolean/],
      ['"n": null', '"n":false', "n", /a boolean is not allowed here/],
      ['"a": string', '"a":["x"]', "a", /an array is not allowed here/],
      ['"o": array<string>', '"o":{"k":"v"}', "o", /an object is not allowed here/],
      ['"o": {"k": string}', '"o":{"j":"v"}', "o.j", /not in the table's shape \(\{"k": string\}\)/],
      ['"s": string', '"t":"x"', "t", /not in the table's shape/],
      ['"s": set<string>', '"s":["x"]', "s", /an array is not allowed here; the shape is set<string>/],
    ];
    for (const [fields, line, fieldPath, reason] of cases) {
      const err = decodeError(fields, line);
      expect(err.fieldPath, line).toBe(fieldPath);
      expect(err.reason, line).toMatch(reason);
    }
  });

  it("rejects any document of a table whose shape is never", () => {
    const err = (() => {
      try {
        decodeLegacyDocument({ _id: ID }, parseGeneratedSchema(['"never"']));
      } catch (e) {
        return e as LegacyDecodeError;
      }
      throw new Error("expected a rejection");
    })();
    expect(err).toBeInstanceOf(LegacyDecodeError);
    expect(err.fieldPath).toBe("");
    expect(err.reason).toBe("an object is not allowed here; the shape is never");
  });
});

describe("decodeLegacyDocument: cost", () => {
  it("returns the parsed document itself when nothing needs converting", () => {
    const doc = JSON.parse(`{"_id":"${ID}","a":"x","n":[1.0,2.0],"o":{"k":true}}`) as Record<string, unknown>;
    const s = schema('"a": string, "n": array<float64>, "o": {"k": boolean}');
    expect(decodeLegacyDocument(doc, s)).toBe(doc);
  });

  it("copies only the containers on the path to a converted value and never modifies its input", () => {
    const line = `{"_id":"${ID}","keep":{"k":"v"},"conv":{"n":"1"},"list":[{"n":"2"},{"n":"3"}]}`;
    const doc = JSON.parse(line) as Record<string, unknown>;
    const s = schema('"keep": {"k": string}, "conv": {"n": int64}, "list": array<{"n": int64}>');
    const out = decodeLegacyDocument(doc, s);
    expect(out).toEqual({ _id: ID, keep: { k: "v" }, conv: { n: 1n }, list: [{ n: 2n }, { n: 3n }] });
    expect(out).not.toBe(doc);
    expect(out.keep).toBe(doc.keep);
    expect(doc).toEqual(JSON.parse(line));
  });
});
