import { describe, expect, it } from "vitest";
import { decodeUniformLine, UniformDecodeError } from "./uniform.js";

describe("uniform encoding decoder", () => {
  it("tells int64 from float64 by the token alone, exactly, over the whole int64 range", () => {
    const doc = decodeUniformLine(
      '{"_creationTime":1745162191687.9707,"_id":"abc","i":5,"f":5.0,"e":1e30,"max":9223372036854775807,"min":-9223372036854775808,"neg0":-0.0}',
    );
    expect(doc).toEqual({
      _creationTime: 1745162191687.9707,
      _id: "abc",
      i: 5n,
      f: 5,
      e: 1e30,
      max: 9223372036854775807n,
      min: -9223372036854775808n,
      neg0: -0,
    });
    expect(Object.is(doc.neg0, -0)).toBe(true);
    expect(typeof doc.f).toBe("number");
  });

  it("decodes $bytes and $float (NaN, ±Infinity) at any depth", () => {
    const doc = decodeUniformLine(
      '{"_id":"a","b":{"$bytes":"AQID"},"n":[{"$float":"AAAAAAAA+H8="},{"$float":"AAAAAAAA8H8="},{"$float":"AAAAAAAA8P8="}],"o":{"deep":[7]}}',
    );
    expect(doc.b).toEqual(Buffer.from([1, 2, 3]));
    expect(doc.n).toEqual([Number.NaN, Infinity, -Infinity]);
    expect(doc.o).toEqual({ deep: [7n] });
  });

  it("takes the fast path for lines without integer tokens and still reads digits inside strings as text", () => {
    expect(decodeUniformLine('{"_id":"a","s":"x:12,","f":1.5}')).toEqual({ _id: "a", s: "x:12,", f: 1.5 });
  });

  it("refuses integers outside int64, unknown $ objects, and non-objects", () => {
    expect(() => decodeUniformLine('{"_id":"a","i":9223372036854775808}')).toThrow(UniformDecodeError);
    expect(() => decodeUniformLine('{"_id":"a","x":{"$integer":"AQ=="}}')).toThrow(
      /unknown special object \$integer/,
    );
    expect(() => decodeUniformLine('{"_id":"a","x":{"$float":"AAAAAAAA8D8="}}')).toThrow(
      /should have been written as a plain number/,
    );
    expect(() => decodeUniformLine("[1,2]")).toThrow(/must be a JSON object/);
    expect(() => decodeUniformLine('{"_id":')).toThrow(SyntaxError);
  });
});

describe("uniform decoder: token order against the parsed value", () => {
  it("handles escaped quotes, numbers inside strings, and integer-like keys (reviver fallback)", () => {
    expect(decodeUniformLine('{"_id":"a","s":"he said \\"5\\", 7","n":7,"t":"\\\\","m":8}')).toEqual({
      _id: "a",
      s: 'he said "5", 7',
      n: 7n,
      t: "\\",
      m: 8n,
    });
    expect(decodeUniformLine('{"_id":"a","o":{"10":1,"2":2.5,"x":3}}')).toEqual({
      _id: "a",
      o: { "10": 1n, "2": 2.5, x: 3n },
    });
  });

  it("keeps exponents and negative floats as float64", () => {
    expect(decodeUniformLine('{"_id":"a","a":-1.5e-7,"b":2E+10,"c":-3}')).toEqual({
      _id: "a",
      a: -1.5e-7,
      b: 2e10,
      c: -3n,
    });
  });
});
