import { describe, expect, it } from "vitest";
import type { PlannedColumn } from "../../mapping/types.js";
import tedious from "tedious";
import { bulkColumn, encodeRow, rowBytes } from "./encode.js";

const col = (field: string, type: PlannedColumn["type"]): PlannedColumn => ({
  field,
  sqlName: field,
  type,
  required: false,
});

describe("SQL Server bulk values", () => {
  it("passes int64 as bigint, bytes as Buffer, booleans as booleans and JSON as text", () => {
    const cols = [
      col("n", "int64"),
      col("b", "bytes"),
      col("ok", "boolean"),
      col("j", "json"),
      col("_creationTimeUtc", "timestamp"),
      col("missing", "string"),
    ];
    const row = encodeRow(
      cols,
      {
        _id: "x",
        _creationTime: 1745162191687.97,
        n: 9223372036854775807n,
        b: Buffer.from([1, 2]),
        ok: false,
        j: { a: [1n, NaN] },
      },
      0,
    );
    expect(row[0]).toBe(9223372036854775807n);
    expect(row[1]).toEqual(Buffer.from([1, 2]));
    expect(row[2]).toBe(false);
    expect(row[3]).toBe('{"a":[1,{"$float":"AAAAAAAA+H8="}]}');
    expect((row[4] as Date).toISOString()).toBe("2025-04-20T15:16:31.687Z");
    expect(row[5]).toBeNull();
  });

  it("declares (MAX) columns with length Infinity, as bulk loads into (MAX) columns require", () => {
    expect(bulkColumn(col("s", "string")).options.length).toBe(Infinity);
    expect(bulkColumn(col("b", "bytes")).options.length).toBe(Infinity);
    expect(bulkColumn(col("_id", "id")).options.length).toBe(128);
  });

  it("names the field when a float cannot be stored", () => {
    expect(() => encodeRow([col("f", "float64")], { _id: "x", f: Infinity }, 3)).toThrow(
      expect.objectContaining({ field: "f", docIndex: 3 }),
    );
  });

  it("keeps -0 through the bulk column's validation, where tedious' Float makes it 0", () => {
    expect(Object.is(tedious.TYPES.Float.validate(-0, undefined), 0)).toBe(true);
    const float = bulkColumn(col("f", "float64")).type;
    expect(Object.is(float.validate(-0, undefined), -0)).toBe(true);
    expect(float.validate(1.5, undefined)).toBe(1.5);
    expect(float.validate(null, undefined)).toBeNull();
    expect(() => float.validate(Number.NaN, undefined)).toThrow("Invalid number.");
    expect(Object.is(encodeRow([col("f", "float64")], { _id: "x", f: -0 }, 0)[0], -0)).toBe(true);
  });

  it("counts a row's bytes by its strings and buffers, so large documents weigh what they hold", () => {
    const small = rowBytes(["a", 1n, null]);
    const large = rowBytes(["a".repeat(1_000_000), 1n, null]);
    expect(large - small).toBe(2 * 999_999);
    expect(rowBytes([Buffer.alloc(5000)])).toBeGreaterThanOrEqual(5000);
  });
});
