/**
 * The SQL Server change target's column changes over the recording wire (./mssqlTesting.ts): widening to the
 * import's JSON text, a truncated table that widens, and columns a refill in place kept. UNVERIFIED on a server.
 */
import { describe, expect, it } from "vitest";
import { toExportJson } from "../import/values.js";
import { applyBatch } from "./apply.js";
import {
  BIG,
  doc,
  expectAllParse,
  page,
  prior,
  server,
  target,
  texts,
  transactions,
  TS,
  type ServerState,
} from "./mssqlTesting.js";

describe("SQL Server change target: column changes (recording wire, T-SQL grammar)", () => {
  it("widens columns to the import's JSON text: values read back, re-encoded in JavaScript, written through #convex_widened", async () => {
    const floats = [0.1 + 0.2, -0, 1e21, 5];
    const state: ServerState = {
      cursor: "c1",
      prior: prior("m", [
        ["n", "BIGINT"],
        ["b", "VARBINARY(MAX)"],
        ["s", "NVARCHAR(MAX)"],
        ["f", "FLOAT"],
        ["ok", "BIT"],
      ]),
      // As tedious returns them (value-parser.js): BIGINT as a decimal string, FLOAT a double, VARBINARY a Buffer.
      widened: floats.map((f, i) => ({
        id: `r${i}`,
        v0: (BIG + BigInt(i)).toString(),
        v1: Buffer.from([i, 255]),
        v2: `s"${i}`,
        v3: f,
        v4: i % 2 === 0,
      })),
      lockResults: [],
      rowCount: 0,
    };
    const wire = server(state);
    const t = await target(wire);
    await applyBatch(t, {
      fromCursor: "c1",
      pages: [page([doc("m", "new", TS, { n: "text", b: 1n, s: 2n, f: "x", ok: "y" })])],
    });
    expectAllParse(wire);
    const body = texts(transactions(wire.sent)[0]!.body);
    const at = (re: RegExp) => body.findIndex((s) => re.test(s));
    const read = at(
      /^SELECT \[_id\] AS id, \[n\] AS v0, \[b\] AS v1, \[s\] AS v2, \[f\] AS v3, \[ok\] AS v4 FROM/,
    );
    const clear = at(
      /^UPDATE \[My\]\]Sch'ema\]\.\[m\] SET \[n\] = NULL, \[b\] = NULL, \[f\] = NULL, \[ok\] = NULL;$/,
    );
    const alter = at(
      /^ALTER TABLE \[My\]\]Sch'ema\]\.\[m\] ALTER COLUMN \[n\] NVARCHAR\(MAX\) COLLATE Latin1_General_100_BIN2 NULL;$/,
    );
    const write = at(
      /^UPDATE cur SET \[n\] = w\.v0, \[b\] = w\.v1, \[s\] = w\.v2, \[f\] = w\.v3, \[ok\] = w\.v4\n/,
    );
    const upsert = at(/^UPDATE cur SET \[_creationTime\]/);
    expect(
      [read, clear, alter, write, upsert].every((i, k, all) => i >= 0 && (k === 0 || i > all[k - 1]!)),
    ).toBe(true);
    // The string column is NVARCHAR(MAX) already: only its values change, no ALTER.
    expect(body.filter((s) => s.includes("ALTER COLUMN"))).toHaveLength(4);
    expect(body.some((s) => s.includes("ALTER COLUMN [s]"))).toBe(false);
    expect(wire.bulkRows.get("#convex_widened")).toEqual(
      state.widened.map((r, i) => [
        `r${i}`,
        (BIG + BigInt(i)).toString(),
        toExportJson(Buffer.from([i, 255])),
        JSON.stringify(`s"${i}`),
        toExportJson(floats[i]!),
        i % 2 === 0 ? "true" : "false",
      ]),
    );
    expect(wire.bulkRows.get("#convex_widened")!.map((r) => r[4])).toEqual([
      "0.30000000000000004",
      "-0.0",
      "1e+21",
      "5.0",
    ]);
    const types = wire.sent.find((s) =>
      s.text.startsWith("INSERT INTO [My]]Sch'ema].[_convex_columns]"),
    )!.params;
    expect(types.t3).toBe("NVARCHAR(MAX) JSON"); // n
  });

  it("a truncated table that widens is emptied first and only changes type (nothing read back)", async () => {
    const state: ServerState = {
      cursor: "c1",
      prior: prior("m", [["n", "BIGINT"]]),
      widened: [{ id: "x", v0: "1" }],
      lockResults: [],
      rowCount: 0,
    };
    const wire = server(state);
    const t = await target(wire);
    await applyBatch(t, {
      fromCursor: "c1",
      pages: [page([doc("m", "new", TS, { n: "text" })], [{ component: "", table: "m" }])],
    });
    const body = texts(transactions(wire.sent)[0]!.body);
    const del = body.indexOf("DELETE FROM [My]]Sch'ema].[m];");
    const alter = body.findIndex((s) => s.includes("ALTER COLUMN [n]"));
    expect(del).toBeGreaterThan(0);
    expect(alter).toBeGreaterThan(del);
    expect(body.some((s) => s.startsWith("SELECT [_id] AS id"))).toBe(false);
    expect(body.find((s) => s.startsWith("UPDATE [My]]Sch'ema].[_convex_tables]"))).toMatch(
      /CASE WHEN @truncated = 1 THEN 0/,
    );
    expectAllParse(wire);
  });

  it("after a snapshot sync refilled a table in place, reuses the columns it kept (_ts among them) instead of adding them again", async () => {
    const state: ServerState = {
      cursor: "c1",
      prior: prior("users", [["n", "BIGINT"]]),
      widened: [],
      lockResults: [],
      rowCount: 1,
      existing: {
        "[My]]Sch'ema].[users]": [
          { name: "_ts", type: "bigint", max_length: 8, scale: 0 }, // kept by the refill, stale values
          { name: "old", type: "bit", max_length: 1, scale: 0 }, // a field the source dropped, back as text
        ],
      },
    };
    const wire = server(state);
    const t = await target(wire);
    await applyBatch(t, {
      fromCursor: "c1",
      pages: [page([doc("users", "u1", TS, { n: 1n, old: "text", fresh: true })])],
    });
    const body = texts(transactions(wire.sent)[0]!.body);
    const u = "[My]]Sch'ema].[users]";
    const clear = body.indexOf(`UPDATE ${u} SET [_ts] = NULL, [old] = NULL;`);
    const add = body.indexOf(`ALTER TABLE ${u} ADD [fresh] BIT NULL;`);
    const alter = body.indexOf(
      `ALTER TABLE ${u} ALTER COLUMN [old] NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL;`,
    );
    expect([clear, add, alter].every((i) => i > 0)).toBe(true);
    expect(clear).toBeLessThan(alter);
    expect(body.filter((s) => s.includes("ALTER COLUMN"))).toHaveLength(1); // _ts has the type already
    expectAllParse(wire);
  });
});
