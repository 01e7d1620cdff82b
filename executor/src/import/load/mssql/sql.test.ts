import { describe, expect, it } from "vitest";
import type { PlannedColumn } from "../../mapping/types.js";
import { mssqlValueRules } from "./encode.js";
import {
  addColumnsSql,
  columnTypeFromRecorded,
  createTableSql,
  metadataTablesSql,
  primaryKeySql,
  quoteIdent,
  recordedType,
  swapTableSql,
} from "./sql.js";

const columns: PlannedColumn[] = [
  { field: "_id", sqlName: "_id", type: "id", required: true },
  { field: "_creationTime", sqlName: "_creationTime", type: "float64", required: true },
  { field: "_creationTimeUtc", sqlName: "_creationTimeUtc", type: "timestamp", required: true },
  { field: "we]ird", sqlName: "we]ird", type: "string", required: false },
  { field: "n", sqlName: "n", type: "int64", required: false },
  { field: "ok", sqlName: "ok", type: "boolean", required: false },
  { field: "blob", sqlName: "blob", type: "bytes", required: false },
  { field: "doc", sqlName: "doc", type: "json", required: false },
  { field: "x", sqlName: "x", type: "unset", required: false },
];

describe("generated T-SQL (golden)", () => {
  it("escapes ] by doubling it and never lets quotes or semicolons out of an identifier", () => {
    expect(quoteIdent("a]b")).toBe("[a]]b]");
    expect(quoteIdent("x'; DROP TABLE y; --")).toBe("[x'; DROP TABLE y; --]");
    expect(quoteIdent("]]")).toBe("[]]]]]");
    expect(() => quoteIdent("a\u0000b")).toThrow(/NUL/);
  });

  it("creates a staging table with one column per field, system columns NOT NULL", () => {
    expect(createTableSql("convex__staging", "users", columns)).toBe(
      `IF OBJECT_ID(@table, N'U') IS NOT NULL DROP TABLE [convex__staging].[users];
CREATE TABLE [convex__staging].[users] ([_id] NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL, ` +
        `[_creationTime] FLOAT NOT NULL, [_creationTimeUtc] DATETIME2(3) NOT NULL, [we]]ird] NVARCHAR(MAX) NULL, ` +
        `[n] BIGINT NULL, [ok] BIT NULL, [blob] VARBINARY(MAX) NULL, [doc] NVARCHAR(MAX) NULL, [x] NVARCHAR(MAX) NULL);`,
    );
  });

  it("adds columns and the clustered primary key", () => {
    expect(addColumnsSql("s", "t", columns.slice(4, 6))).toBe(
      "ALTER TABLE [s].[t] ADD [n] BIGINT NULL, [ok] BIT NULL;",
    );
    expect(primaryKeySql("s__staging", "t")).toBe(
      "ALTER TABLE [s__staging].[t] ADD PRIMARY KEY CLUSTERED ([_id]);",
    );
  });

  it("swaps a table in by ALTER SCHEMA TRANSFER and records it, with values only as parameters", () => {
    expect(swapTableSql("convex", "convex__staging", "convex__retired", "us]ers")).toBe(
      `IF OBJECT_ID(@target, N'U') IS NOT NULL ALTER SCHEMA [convex__retired] TRANSFER [convex].[us]]ers];
ALTER SCHEMA [convex] TRANSFER [convex__staging].[us]]ers];
DELETE FROM [convex].[_convex_tables] WHERE component = @component AND convex_table = @convexTable;
INSERT INTO [convex].[_convex_tables] (convex_table, component, sql_table, row_count, snapshot_ts, loaded_at)
  VALUES (@convexTable, @component, @sqlTable, @rowCount, @snapshotTs, @loadedAt);
DELETE FROM [convex].[_convex_columns] WHERE sql_table = @sqlTable;
INSERT INTO [convex].[_convex_columns] (sql_table, convex_field, sql_column, sql_type, ordinal_position)
  SELECT @sqlTable, f, c, t, o FROM OPENJSON(@columns)
  WITH (f NVARCHAR(1024) '$.f', c NVARCHAR(128) '$.c', t NVARCHAR(100) '$.t', o INT '$.o');`,
    );
  });

  it("creates the mapping tables only when missing", () => {
    const text = metadataTablesSql("convex");
    expect(text).toContain(
      "IF OBJECT_ID(@metaTables, N'U') IS NULL CREATE TABLE [convex].[_convex_tables] (",
    );
    expect(text).toContain(
      "IF OBJECT_ID(@metaColumns, N'U') IS NULL CREATE TABLE [convex].[_convex_columns] (",
    );
    expect(text).toContain("PRIMARY KEY (component, convex_table)");
  });

  it("records types so that the next load can read them back", () => {
    for (const type of ["string", "int64", "float64", "boolean", "bytes", "json", "timestamp"] as const) {
      expect(columnTypeFromRecorded(recordedType(type), "f")).toBe(type);
    }
    expect(recordedType("json")).toBe("NVARCHAR(MAX) JSON");
    expect(columnTypeFromRecorded("NVARCHAR(128)", "_id")).toBe("id");
  });
});

describe("SQL Server value rules", () => {
  it("stores NaN and ±Infinity losslessly as JSON text, since FLOAT cannot hold them", () => {
    expect(mssqlValueRules.typeForValue("float64", 1.5)).toBe("float64");
    expect(mssqlValueRules.typeForValue("float64", -0)).toBe("float64");
    expect(mssqlValueRules.typeForValue("float64", Number.NaN)).toBe("json");
    expect(mssqlValueRules.typeForValue("float64", -Infinity)).toBe("json");
    expect(mssqlValueRules.typeForValue("int64", 5n)).toBe("int64");
    expect(mssqlValueRules.typeForValue("object", {})).toBe("json");
  });
});
