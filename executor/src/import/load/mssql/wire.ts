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

/** What PoolWire uses of mssql's pool beyond Request/Transaction (node_modules/mssql/lib/base/connection-pool.js). */
interface RawPool {
  acquire(requester: unknown): Promise<tedious.Connection>;
  release(connection: tedious.Connection): void;
}

/**
 * The real wire: an mssql pool of one connection (the session-level lock must hold for the whole import).
 * mssql's pool silently replaces a connection it finds closed or broken (connection-pool.js: _poolValidate
 * returns false, tarn destroys it and creates another); the new one would hold no lock and no SET. So the wire
 * remembers the session's connection and refuses to go on once it is gone.
 */
export class PoolWire implements MssqlWire {
  private session: tedious.Connection | undefined;

  constructor(private readonly pool: sql.ConnectionPool) {}

  private get raw(): RawPool {
    return this.pool as unknown as RawPool;
  }

  private async checkSession(): Promise<void> {
    if (!this.session) {
      const first = await this.raw.acquire(this.pool);
      this.raw.release(first);
      this.session = first;
    }
    const session = this.session as tedious.Connection & { hasError?: boolean };
    if (session.closed || session.hasError) throw sessionLost();
  }

  async query<T>(text: string, params: Params = {}, options: RequestOptions = {}): Promise<T[]> {
    await this.checkSession();
    return (await mssqlRequest(this.pool, params, options).query<T>(text)).recordset ?? [];
  }

  async batch(text: string): Promise<void> {
    await this.checkSession();
    await mssqlRequest(this.pool, {}, {}).batch(text);
  }

  async begin(): Promise<WireTransaction> {
    await this.checkSession();
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
    await this.checkSession();
    // A raw tedious connection from the pool: mssql's own bulk() needs every row in memory.
    const raw = await this.raw.acquire(this.pool);
    if (raw !== this.session) {
      this.raw.release(raw);
      throw sessionLost();
    }
    let released = false;
    const release = () => {
      if (!released) this.raw.release(raw);
      released = true;
    };
    return new Promise<number>((resolve, reject) => {
      try {
        const bulk = raw.newBulkLoad(table, { keepNulls: true, lockTable: true }, (err, rowCount) => {
          release();
          if (err) reject(err);
          else resolve(rowCount ?? 0);
        });
        bulk.setTimeout(0); // the request timer would otherwise cover the whole upload
        defineBulkColumns(bulk, columns);
        raw.execBulkLoad(bulk, rows);
      } catch (err) {
        // Thrown while the load was being set up (e.g. a column tedious refuses): give the connection back.
        release();
        reject(err as Error);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}

/** Coded as mssql codes a closed connection (ECONNCLOSED), so errors.ts treats it as a lost connection. */
function sessionLost(): Error {
  const message =
    "the connection to SQL Server was lost during the import, and with it the import's lock on the schema; " +
    "nothing was changed, run the import again";
  return Object.assign(new Error(message), { code: "ECONNCLOSED" });
}
