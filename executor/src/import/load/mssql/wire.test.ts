import sql from "mssql";
import { describe, expect, it } from "vitest";
import type tedious from "tedious";
import { classifyMssqlError } from "./errors.js";
import { mssqlRequest, PoolWire } from "./wire.js";

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

/** The two calls PoolWire makes on mssql's pool itself (base/connection-pool.js acquire/release). */
function fakePool(connections: object[]) {
  const released: object[] = [];
  const pool = {
    acquire: async () => connections.shift() ?? connections.at(-1),
    release: (c: object) => released.push(c),
  };
  return { pool: pool as unknown as sql.ConnectionPool, released };
}

async function* noRows(): AsyncGenerator<unknown[]> {}

describe("SQL Server wire: the session's one connection", () => {
  it("refuses every request once the session's connection has closed, instead of using a new one without the lock", async () => {
    const session = { closed: false };
    const { pool } = fakePool([session]);
    const wire = new PoolWire(pool);
    session.closed = true; // tedious' Connection.closed (connection.js cleanupConnection)
    const lost = /the connection to SQL Server was lost during the import, and with it the import's lock/;
    const error = await wire.query("SELECT 1;").catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(lost);
    expect(classifyMssqlError(error as Error)?.retryable).toBe(true); // a lost connection: the next run may work
    await expect(wire.batch("SET LOCK_TIMEOUT -1;")).rejects.toThrow(lost);
    await expect(wire.begin()).rejects.toThrow(lost);
    const hasError = { closed: false, hasError: true }; // mssql's mark of a socket error (connection-pool.js)
    await expect(new PoolWire(fakePool([hasError]).pool).query("SELECT 1;")).rejects.toThrow(lost);
  });

  it("refuses a bulk load on a connection the pool made after the session's, and gives that one back", async () => {
    const session = { closed: false };
    const replacement = { closed: false };
    const { pool, released } = fakePool([session, replacement]);
    const wire = new PoolWire(pool);
    await expect(wire.bulkLoad("[s].[t]", [], noRows())).rejects.toThrow(/connection to SQL Server was lost/);
    expect(released).toEqual([session, replacement]);
  });

  it("gives the connection back when tedious refuses the bulk load before sending it", async () => {
    const session = {
      closed: false,
      newBulkLoad: () => {
        throw new TypeError('"options" argument must be an object');
      },
    } as unknown as tedious.Connection;
    const { pool, released } = fakePool([session, session]);
    await expect(new PoolWire(pool).bulkLoad("[s].[t]", [], noRows())).rejects.toThrow(TypeError);
    expect(released).toEqual([session, session]); // once when the session was first seen, once here
  });
});
