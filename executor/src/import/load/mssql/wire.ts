/**
 * How the SQL Server session talks to the server, as three kinds of request, because they behave differently
 * on the server (read from node_modules/mssql/lib/tedious/request.js and node_modules/tedious/lib/connection.js):
 * - `query`: mssql's Request.query, which always goes out as an RPC call of sp_executesql (tedious execSql),
 *   with or without parameters. A SET inside it ends with it.
 * - `batch`: mssql's Request.batch, a plain SQL batch (tedious execSqlBatch): a SET there holds for the session.
 * - `bulkLoad`: tedious' INSERT BULK on the session's connection, rows streamed from an async iterable.
 * One interface so that the session's logic and every text it sends can be recorded by a stand-in
 * (testing/recording-wire.ts) and parsed by the T-SQL grammar check.
 */
import sql from "mssql";
import type tedious from "tedious";
import type { PlannedColumn } from "../../mapping/types.js";
import { defineBulkColumns } from "./bulk.js";

export type ParamType = "nvarchar" | "bigint" | "int" | "datetime2";

/** A parameter whose SQL type is declared rather than inferred from the JS value. */
export interface TypedParam {
  type: ParamType;
  value: string | number | bigint | Date | null;
}

export type Params = Record<string, string | number | null | TypedParam>;

export interface RequestOptions {
  /** No request timeout (long DDL and data movement; lock waits are bounded by LOCK_TIMEOUT instead). */
  noTimeout?: boolean;
}

export interface WireQuery {
  query<T = Record<string, unknown>>(text: string, params?: Params, options?: RequestOptions): Promise<T[]>;
}

export interface WireTransaction extends WireQuery {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface MssqlWire extends WireQuery {
  batch(text: string): Promise<void>;
  begin(): Promise<WireTransaction>;
  /** One INSERT BULK (one transaction on the server) into `table` (already quoted); resolves to its row count. */
  bulkLoad(table: string, columns: readonly PlannedColumn[], rows: AsyncIterable<unknown[]>): Promise<number>;
  close(): Promise<void>;
}

export function isTyped(value: Params[string]): value is TypedParam {
  return typeof value === "object" && value !== null && !(value instanceof Date) && "type" in value;
}

const SQL_TYPES: Record<ParamType, () => sql.ISqlType> = {
  nvarchar: () => sql.NVarChar(sql.MAX),
  bigint: () => sql.BigInt(),
  int: () => sql.Int(),
  datetime2: () => sql.DateTime2(3),
};

/** An mssql request with the session's parameters and options (exported for wire.test.ts). */
export function mssqlRequest(
  parent: sql.ConnectionPool | sql.Transaction,
  params: Params,
  options: RequestOptions,
): sql.Request {
  const RequestWithOverrides = sql.Request as unknown as new (
    parent: sql.ConnectionPool | sql.Transaction,
    overrides?: { requestTimeout?: number },
  ) => sql.Request;
  // mssql 12: new Request(parent, { requestTimeout }) sets tedious' per-request timeout (0 = none).
  const req = new RequestWithOverrides(parent, options.noTimeout ? { requestTimeout: 0 } : undefined);
  for (const [name, value] of Object.entries(params)) {
    if (isTyped(value)) req.input(name, SQL_TYPES[value.type](), value.value);
    else req.input(name, value);
  }
  return req;
}

/** The real wire: an mssql pool of one connection (the session-level lock must hold for the whole import). */
export class PoolWire implements MssqlWire {
  constructor(private readonly pool: sql.ConnectionPool) {}

  async query<T>(text: string, params: Params = {}, options: RequestOptions = {}): Promise<T[]> {
    return (await mssqlRequest(this.pool, params, options).query<T>(text)).recordset ?? [];
  }

  async batch(text: string): Promise<void> {
    await mssqlRequest(this.pool, {}, {}).batch(text);
  }

  async begin(): Promise<WireTransaction> {
    const tx = new sql.Transaction(this.pool);
    await tx.begin();
    return {
      async query<T>(text: string, params: Params = {}, options: RequestOptions = {}) {
        return (await mssqlRequest(tx, params, options).query<T>(text)).recordset ?? [];
      },
      commit: () => tx.commit(),
      rollback: () => tx.rollback(),
    };
  }

  async bulkLoad(
    table: string,
    columns: readonly PlannedColumn[],
    rows: AsyncIterable<unknown[]>,
  ): Promise<number> {
    // A raw tedious connection from the pool: mssql's own bulk() needs every row in memory.
    const pool = this.pool as unknown as {
      acquire(requester: unknown): Promise<tedious.Connection>;
      release(connection: tedious.Connection): void;
    };
    const raw = await pool.acquire(this.pool);
    return new Promise<number>((resolve, reject) => {
      const bulk = raw.newBulkLoad(table, { keepNulls: true, lockTable: true }, (err, rowCount) => {
        pool.release(raw);
        if (err) reject(err);
        else resolve(rowCount ?? 0);
      });
      bulk.setTimeout(0); // the request timer would otherwise cover the whole upload
      defineBulkColumns(bulk, columns);
      raw.execBulkLoad(bulk, rows);
    });
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}
