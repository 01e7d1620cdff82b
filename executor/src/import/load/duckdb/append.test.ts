import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import type { PlannedColumn } from "../../mapping/types.js";
import { CellError } from "../connection.js";
import { appendRows, creationTimeMicros } from "./append.js";
import { createTableSql } from "./sql.js";

const col = (field: string, type: PlannedColumn["type"]): PlannedColumn => ({
  field,
  sqlName: field,
  type,
  required: false,
});

describe("DuckDB appender rows", () => {
  it("turns _creationTime's sub-millisecond fraction into whole microseconds", () => {
    expect(creationTimeMicros(1745162191687.9707)).toBe(1745162191687971n);
    expect(creationTimeMicros(1745162191687)).toBe(1745162191687000n);
    // 0.99951… ms rounds to 1000 µs, which must not carry into the next millisecond.
    expect(creationTimeMicros(1745162191687 + 2047 / 2048)).toBe(1745162191687999n);
  });

  it("appends every value type exactly, and names the field and document of a value that does not fit", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const db = await instance.connect();
    try {
      const columns = [
        col("_id", "id"),
        col("_creationTime", "float64"),
        col("_creationTimeUtc", "timestamp"),
        col("n", "int64"),
        col("b", "bytes"),
        col("j", "json"),
      ];
      await db.run(`CREATE SCHEMA s; ${createTableSql("s", "t", columns)}`);
      const appender = await db.createAppender("t", "s");
      appendRows(appender, columns, [
        {
          _id: "a",
          _creationTime: 1745162191687.9707,
          n: -9223372036854775808n,
          b: Buffer.from([0, 255]),
          j: { x: [-0, 2n] },
        },
      ]);
      appender.flushSync();
      expect(() =>
        appendRows(appender, columns, [
          { _id: "b", _creationTime: 1, n: 1n },
          { _id: "c", _creationTime: 2, n: "x" },
        ]),
      ).toThrow(expect.objectContaining({ constructor: CellError, field: "n", docIndex: 1 }));
      appender.clear();
      appender.closeSync();
      const reader = await db.runAndReadAll(
        `SELECT "_creationTimeUtc"::VARCHAR AS utc, n::VARCHAR AS n, hex(b) AS b, j::VARCHAR AS j FROM s.t`,
      );
      expect(reader.getRowObjectsJS()).toEqual([
        { utc: "2025-04-20 15:16:31.687971+00", n: "-9223372036854775808", b: "00FF", j: '{"x":[-0.0,2]}' },
      ]);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});
