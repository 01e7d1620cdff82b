import { describe, expect, it } from "vitest";
import { parseImportArgs, UsageError } from "./args.js";
import { bar, describeTable } from "./progress.js";

describe("import command arguments", () => {
  it("defaults to the embedded DuckDB warehouse file and schema convex", () => {
    expect(parseImportArgs(["snap.zip"])).toEqual({
      snapshotPath: "snap.zip",
      target: "duckdb:./.data/warehouse.duckdb",
      schema: "convex",
      tables: null,
      includeStorage: false,
      snapshotTs: null,
    });
  });

  it("reads target, schema, tables and storage options", () => {
    expect(
      parseImportArgs([
        "s.zip",
        "--target",
        "postgres://h/db",
        "--schema",
        "dw",
        "--tables",
        "a, chat/b",
        "--include-storage",
      ]),
    ).toMatchObject({
      target: "postgres://h/db",
      schema: "dw",
      tables: ["a", "chat/b"],
      includeStorage: true,
    });
  });

  it("refuses missing or extra positionals and unknown options", () => {
    expect(() => parseImportArgs([])).toThrow(UsageError);
    expect(() => parseImportArgs(["a.zip", "b.zip"])).toThrow(UsageError);
    expect(() => parseImportArgs(["a.zip", "--nope"])).toThrow(UsageError);
    expect(() => parseImportArgs(["a.zip", "--snapshot-ts", "yesterday"])).toThrow(/--snapshot-ts/);
  });
});

describe("progress line", () => {
  it("shows a bar, percentage, rows, size and rate", () => {
    expect(bar(0.5, 10)).toBe("█████░░░░░");
    expect(
      describeTable(
        { table: "users", state: "loading", rows: 1234, bytes: 512 * 1024, totalBytes: 1024 * 1024 },
        2,
      ),
    ).toBe("users  ████████████░░░░░░░░░░░░  50%  1,234 rows  512 KB  256 KB/s");
  });
});
