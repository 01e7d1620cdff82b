import { describe, expect, it } from "vitest";
import type { PlannedColumn } from "../../mapping/types.js";
import tedious from "tedious";
import v8 from "node:v8";
import vm from "node:vm";
import { bulkColumn, encodeRow, rowBytes, type Cell } from "./encode.js";

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
    expect(Math.abs(large - small - 999_999)).toBeLessThan(8); // one byte a Latin-1 character, 8-byte aligned
    expect(rowBytes([Buffer.alloc(5000)])).toBeGreaterThanOrEqual(5000);
  });

  it("counts what V8 holds for a row, headers included, within a quarter of the measured heap", () => {
    const make = (i: number): Cell[] => [
      `${"k".repeat(24)}${String(i).padStart(8, "0")}`,
      1745000000000.5 + i,
      new Date(1745000000000 + i),
      BigInt(i) * 3n,
      `event ${i} with some free text, as a description field holds`,
      true,
      null,
      Buffer.from(`payload-${i}`),
    ];
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void; // a context made after the flag has gc()
    const n = 20_000;
    const estimate = rowBytes(make(n));
    // Characters count once each in Latin-1 strings, twice beyond it (V8's one- and two-byte strings).
    expect(rowBytes(["é".repeat(100)]) - rowBytes([""])).toBe(104);
    expect(rowBytes(["€".repeat(100)]) - rowBytes([""])).toBe(200);
    gc();
    const before = process.memoryUsage().heapUsed;
    const rows = Array.from({ length: n }, (_, i) => make(i));
    gc();
    const held = (process.memoryUsage().heapUsed - before) / rows.length;
    expect(rows).toHaveLength(n); // keeps the rows reachable until after the measurement
    expect(estimate).toBeGreaterThan(held * 0.75);
    expect(estimate).toBeLessThan(held * 1.25);
  });
});
