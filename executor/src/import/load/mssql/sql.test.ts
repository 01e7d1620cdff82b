import { describe, expect, it } from "vitest";
import type { PlannedColumn } from "../../mapping/types.js";
import { NameScope } from "../../mapping/names.js";
import { mssqlValueRules } from "./encode.js";
import {
  addColumnsSql,
  columnTypeFromRecorded,
  COLUMN_ROWS_PER_STATEMENT,
  createTableSql,
  dependentsSql,
  equalNamesSql,
  hasSqlType,
  lockSql,
  metadataTablesSql,
  mssqlIdentifierRules,
  mssqlNameKey,
  prepareStagingSql,
  primaryKeySql,
  quoteIdent,
  recordColumnsQueries,
  recordColumnsSql,
  recordedType,
  recordTableSql,
  transferSql,
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

  it("gives _id and every character column one binary collation, so ids join with reference fields", () => {
    expect(createTableSql("convex__staging", "users", columns)).toBe(
      `IF OBJECT_ID(@table, N'U') IS NOT NULL DROP TABLE [convex__staging].[users];
CREATE TABLE [convex__staging].[users] ([_id] NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL, ` +
        `[_creationTime] FLOAT NOT NULL, [_creationTimeUtc] DATETIME2(3) NOT NULL, ` +
        `[we]]ird] NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL, [n] BIGINT NULL, [ok] BIT NULL, ` +
        `[blob] VARBINARY(MAX) NULL, [doc] NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL, ` +
        `[x] NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL);`,
    );
    const collations = createTableSql("s", "t", columns).match(/COLLATE \w+/g) ?? [];
    expect(new Set(collations)).toEqual(new Set(["COLLATE Latin1_General_100_BIN2"]));
    expect(collations).toHaveLength(4); // _id, the string, the JSON and the all-null column
  });

  it("adds columns and the clustered primary key", () => {
    expect(addColumnsSql("s", "t", columns.slice(4, 6))).toBe(
      "ALTER TABLE [s].[t] ADD [n] BIGINT NULL, [ok] BIT NULL;",
    );
    expect(primaryKeySql("s__staging", "t")).toBe(
      "ALTER TABLE [s__staging].[t] ADD PRIMARY KEY CLUSTERED ([_id]);",
    );
  });

  it("creates schemas by running DDL built in a variable (EXEC (…) accepts no function call)", () => {
    for (const text of [lockSql, prepareStagingSql]) {
      expect(text).not.toMatch(/EXEC\s*\(\s*N'/);
      expect(text).toMatch(
        /DECLARE @create nvarchar\(max\) = N'CREATE SCHEMA ' \+ QUOTENAME\(@\w+\);\s+EXEC \(@create\);/,
      );
    }
  });

  it("locks on the schema's id, so names the database collation holds equal share one lock", () => {
    expect(lockSql).toContain(
      "DECLARE @resource nvarchar(255) = N'convex-warehouse-sync:schema:' + CAST(SCHEMA_ID(@schema) AS nvarchar(12));",
    );
    expect(lockSql).toContain("sp_getapplock @Resource = @resource,");
  });

  it("swaps a table in by DROP and ALTER SCHEMA TRANSFER in the transaction (no retired copy left behind)", () => {
    expect(transferSql("convex", "convex__staging", "us]ers")).toBe(
      `IF OBJECT_ID(@target, N'U') IS NOT NULL DROP TABLE [convex].[us]]ers];
ALTER SCHEMA [convex] TRANSFER [convex__staging].[us]]ers];`,
    );
  });

  it("records mapping rows with parameters only, without OPENJSON (compatibility level 130)", () => {
    expect(recordTableSql("convex")).not.toContain("OPENJSON");
    expect(recordColumnsSql("convex", 2)).toBe(
      `INSERT INTO [convex].[_convex_columns] (sql_table, convex_field, sql_column, sql_type, ordinal_position)
  VALUES (@sqlTable, @f0, @c0, @t0, @o0), (@sqlTable, @f1, @c1, @t1, @o1);`,
    );
    // 2100 parameters per request, 1000 rows per VALUES list.
    expect(1 + 4 * COLUMN_ROWS_PER_STATEMENT).toBeLessThan(2100);
    expect(COLUMN_ROWS_PER_STATEMENT).toBeLessThanOrEqual(1000);
  });

  it("writes a table's columns in statements of COLUMN_ROWS_PER_STATEMENT rows, positions counted across them", () => {
    const many: PlannedColumn[] = Array.from({ length: COLUMN_ROWS_PER_STATEMENT + 2 }, (_, i) => ({
      field: `f${i}`,
      sqlName: `c${i}`,
      type: i % 2 ? "string" : "int64",
      required: false,
    }));
    const queries = recordColumnsQueries("convex", "users", many);
    expect(queries.map(([text]) => text)).toEqual([
      recordColumnsSql("convex", COLUMN_ROWS_PER_STATEMENT),
      recordColumnsSql("convex", 2),
    ]);
    expect(queries[1]![1]).toEqual({
      sqlTable: "users",
      f0: `f${COLUMN_ROWS_PER_STATEMENT}`,
      c0: `c${COLUMN_ROWS_PER_STATEMENT}`,
      t0: recordedType("int64"),
      o0: { type: "int", value: COLUMN_ROWS_PER_STATEMENT + 1 },
      f1: `f${COLUMN_ROWS_PER_STATEMENT + 1}`,
      c1: `c${COLUMN_ROWS_PER_STATEMENT + 1}`,
      t1: recordedType("string"),
      o1: { type: "int", value: COLUMN_ROWS_PER_STATEMENT + 2 },
    });
  });

  it("creates the mapping tables only when missing, with binary names and keys within 900 bytes", () => {
    const text = metadataTablesSql("convex");
    expect(text).toContain(
      "IF OBJECT_ID(@metaTables, N'U') IS NULL CREATE TABLE [convex].[_convex_tables] (",
    );
    expect(text).toContain(
      "IF OBJECT_ID(@metaColumns, N'U') IS NULL CREATE TABLE [convex].[_convex_columns] (",
    );
    for (const name of ["convex_table", "component", "sql_table", "convex_field", "sql_column"]) {
      expect(text).toMatch(
        new RegExp(`${name} NVARCHAR\\((MAX|128)\\) COLLATE Latin1_General_100_BIN2 NOT NULL`),
      );
    }
    // Key columns: sql_table NVARCHAR(128) = 256 bytes; (sql_table, ordinal_position) = 260 bytes.
    expect(text).toContain("sql_table NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY");
    expect(text).toContain("PRIMARY KEY (sql_table, ordinal_position)");
    expect(text).not.toContain("PRIMARY KEY (component");
  });

  it("records types so that the next load can read them back", () => {
    for (const type of ["string", "int64", "float64", "boolean", "bytes", "json", "timestamp"] as const) {
      expect(columnTypeFromRecorded(recordedType(type), "f")).toBe(type);
    }
    expect(recordedType("json")).toBe("NVARCHAR(MAX) JSON");
    expect(columnTypeFromRecorded("NVARCHAR(128)", "_id")).toBe("id");
  });

  it("compares an existing column's type as sys.columns reports it", () => {
    expect(hasSqlType({ name: "n", type: "bigint", max_length: 8, scale: 0 }, "int64")).toBe(true);
    expect(hasSqlType({ name: "n", type: "bigint", max_length: 8, scale: 0 }, "json")).toBe(false);
    expect(hasSqlType({ name: "s", type: "nvarchar", max_length: -1, scale: 0 }, "json")).toBe(true);
    expect(hasSqlType({ name: "s", type: "nvarchar", max_length: 400, scale: 0 }, "string")).toBe(false);
    expect(hasSqlType({ name: "t", type: "datetime2", max_length: 8, scale: 7 }, "timestamp")).toBe(false);
  });
});

describe("SQL Server names", () => {
  it("counts names equal under common collations as taken: case, accents, full-width forms, ß and ss", () => {
    expect(mssqlNameKey("Name")).toBe(mssqlNameKey("name"));
    expect(mssqlNameKey("café")).toBe(mssqlNameKey("cafe"));
    expect(mssqlNameKey("ｎａｍｅ")).toBe(mssqlNameKey("name"));
    expect(mssqlNameKey("straße")).toBe(mssqlNameKey("strasse"));
    expect(mssqlNameKey("a]b")).not.toBe(mssqlNameKey("ab"));
    const scope = new NameScope(mssqlIdentifierRules);
    expect(scope.assign("straße")).toBe("straße");
    expect(scope.assign("strasse")).toMatch(/^strasse__[0-9a-f]{8}$/);
  });
});

describe("what the server is asked about names and attached objects", () => {
  it("compares names in the catalog's collation, which Azure SQL Database may keep apart from the database's", () => {
    expect(equalNamesSql(2)).toBe(`SELECT v.i, (SELECT MIN(w.i) FROM (VALUES (@n0, 0), (@n1, 1)) AS w(n, i)
   WHERE w.n COLLATE CATALOG_DEFAULT = v.n COLLATE CATALOG_DEFAULT) AS first_i
  FROM (VALUES (@n0, 0), (@n1, 1)) AS v(n, i);`);
  });

  it("asks whether the table is replicated, tracked by CDC or system-versioned, and for analysts' constraints", () => {
    expect(dependentsSql).toContain(
      "FROM sys.tables WHERE object_id = @id AND (is_replicated = 1 OR is_merge_published = 1\n" +
        "    OR is_tracked_by_cdc = 1 OR temporal_type = 2)) AS pinned;",
    );
    expect(dependentsSql).toContain("FROM sys.check_constraints WHERE parent_object_id = @id");
    expect(dependentsSql).toContain("FROM sys.default_constraints WHERE parent_object_id = @id");
    expect(dependentsSql).toContain("FROM sys.computed_columns WHERE object_id = @id) AS constraints");
    expect(dependentsSql).toContain("FROM sys.fulltext_indexes WHERE object_id = @id) AS indexes");
    expect(dependentsSql).toContain("FROM sys.extended_properties WHERE class = 1 AND major_id = @id)");
    expect(dependentsSql).toContain(
      "FROM sys.masked_columns WHERE object_id = @id AND is_masked = 1) AS properties",
    );
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
