import sql from "mssql";
import { describe, expect, it } from "vitest";
import { mssqlRequest } from "./wire.js";

// A pool that is never connected: building a request does not touch the network.
const pool = new sql.ConnectionPool({ server: "localhost", user: "u", password: "p", database: "d" });

interface Inspectable {
  overrides: { requestTimeout?: number };
  parameters: Record<string, { type: unknown; value: unknown; scale?: number; length?: number }>;
}

describe("SQL Server requests", () => {
  it("declares typed parameters (loaded_at as DATETIME2(3), counts as BIGINT) instead of letting mssql guess", () => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    const req = mssqlRequest(
      pool,
      { loadedAt: { type: "datetime2", value: at }, rows: { type: "bigint", value: 5 }, name: "x" },
      {},
    ) as unknown as Inspectable;
    expect(req.parameters.loadedAt).toMatchObject({ type: sql.DateTime2, value: at, scale: 3 });
    expect(req.parameters.rows).toMatchObject({ type: sql.BigInt, value: 5 });
    // An untyped Date would have been sent as DATETIME (mssql's default for Date), 3.33 ms steps.
    const guessed = mssqlRequest(pool, { at: at as unknown as string }, {}) as unknown as Inspectable;
    expect(guessed.parameters.at!.type).toBe(sql.DateTime);
  });

  it("sends long requests with no timeout, others with the pool's", () => {
    expect((mssqlRequest(pool, {}, { noTimeout: true }) as unknown as Inspectable).overrides).toEqual({
      requestTimeout: 0,
    });
    expect((mssqlRequest(pool, {}, {}) as unknown as Inspectable).overrides).toEqual({});
  });
});
