/**
 * TargetConnection for SQL Server: one session (an mssql pool of one connection, so the session-level
 * application lock holds for the whole import), rows streamed through tedious' bulk load in batches (each
 * INSERT BULK commits on its own: staging is invisible, so batching costs no atomicity and keeps the log from
 * filling under FULL recovery), then one swap transaction (./replace.ts) with bounded lock waits, retried on lock
 * timeout (1222) and deadlock (1205). The lock lives and dies with the session's connection: the wire refuses to go
 * on once that connection is gone (./wire.ts PoolWire), and the swap checks the lock is still held first.
 *
 * What has run here: every statement this session sends is recorded through a stand-in wire and parsed by the
 * grammars-v4 T-SQL grammar (tsql-grammar.test.ts); its control flow (batching, retries, refill vs transfer) is
 * tested against that stand-in (session.test.ts). UNVERIFIED against a live SQL Server unless the suite ran with
 * MSSQL_URL set (mssql.integration.test.ts): server-side behaviour (locks, XACT_ABORT, catalog views, collations)
 * is from Microsoft's documentation.
 */
import sql from "mssql";
import type { PlannedColumn } from "../../mapping/types.js";
import type { ConvexObject } from "../../values.js";
import {
  groupPriorRows,
  stagingSchemaName,
  type LoadedTable,
  type PriorRow,
  type PriorTable,
  type StagingWriter,
  type SwapMetadata,
  type SwapTable,
  type TargetConnection,
} from "../connection.js";
import { addPrimaryKey, loadedTables, StagingTables, type LoadedTableRow } from "../steps.js";
import type { MssqlConnectionSpec } from "../target.js";
import { checkColumnNames } from "./columnNames.js";
import { mssqlPoolConfig, type PoolSettings } from "./config.js";
import { encodeRow, mssqlValueRules, rowBytes, type Cell } from "./encode.js";
import { DropRefusedError, replaceTable } from "./replace.js";
import { RowsChannel } from "./rows-channel.js";
import {
  addColumnsSql,
  columnTypeFromRecorded,
  countRowsSql,
  createTableSql,
  dropTableSql,
  loadedTablesSql,
  lockHeldSql,
  lockSql,
  lockTimeoutSql,
  MAX_SCHEMA_LENGTH,
  metadataTablesSql,
  mssqlIdentifierRules,
  prepareStagingSql,
  primaryKeySql,
  qualifiedName,
  readPriorSql,
  recordColumnsQueries,
  recordTableSql,
} from "./sql.js";
import { PoolWire, type MssqlWire, type Params, type WireQuery } from "./wire.js";

/**
 * The import's session: one connection for the whole run; XACT_ABORT ON for the session through tedious'
 * connection option (sent in its initial SQL batch at login), since a SET sent with mssql's query() runs inside
 * sp_executesql and ends with it. Requests time out after an hour, except bulk loads and the requests marked
 * long (primary key, swap), which have none.
 */
export const SESSION_POOL_SETTINGS: PoolSettings = {
  requestTimeoutMs: 60 * 60 * 1000,
  connectionTimeoutMs: 30_000,
  pool: { max: 1, min: 1, idleTimeoutMillis: 24 * 60 * 60 * 1000 },
  options: { abortTransactionOnError: true },
};

export async function openMssql(connection: MssqlConnectionSpec): Promise<TargetConnection> {
  const pool = new sql.ConnectionPool(mssqlPoolConfig(connection, SESSION_POOL_SETTINGS));
  await pool.connect();
  return new MssqlConnection(new PoolWire(pool));
}

export interface MssqlTuning {
  /** A staging load commits and a new INSERT BULK starts after this many rows… */
  batchRows: number;
  /** …or this many bytes (as encode.ts' rowBytes counts them). */
  batchBytes: number;
  /** Rows waiting for the server, at most (plus one pushed batch). */
  channelBytes: number;
  /** The swap waits at most this long for each lock (SET LOCK_TIMEOUT) … */
  swapLockTimeoutMs: number;
  /** … and is tried this many times when it times out on a lock (1222) or is chosen as deadlock victim (1205). */
  swapAttempts: number;
  /** Pause before the n-th retry: n × this. */
  swapRetryDelayMs: number;
}

export const DEFAULT_TUNING: MssqlTuning = {
  batchRows: 100_000,
  batchBytes: 64 * 1024 * 1024,
  // 16 MB of rows waiting for a slow server peaked at 325 MB RSS: V8 lets garbage pile up in old space in
  // proportion to what is live (README "Benchmark"); 4 MB peaked near 210 MB.
  channelBytes: 4 * 1024 * 1024,
  swapLockTimeoutMs: 30_000,
  swapAttempts: 5,
  swapRetryDelayMs: 2_000,
};

const RETRYABLE = new Set([1222, 1205]);
const LONG = { noTimeout: true };

function errorNumber(err: unknown): number | undefined {
  const e = err as { number?: unknown; originalError?: { number?: unknown; info?: { number?: unknown } } };
  const n = e?.number ?? e?.originalError?.info?.number ?? e?.originalError?.number;
  return typeof n === "number" ? n : undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class MssqlConnection implements TargetConnection {
  readonly kind = "mssql" as const;
  readonly identifierRules = mssqlIdentifierRules;
  readonly valueRules = mssqlValueRules;
  private schema = "";
  private staging = "";
  private readonly stagingTables = new StagingTables();
  /** Staging leftovers of an earlier run that could not be dropped: name → the server's message. */
  private readonly undroppable = new Map<string, string>();
  private readonly tuning: MssqlTuning;
  /** Tables the server refused to drop in an earlier attempt of this swap: refilled in place by key. */
  private readonly keepInPlace = new Set<string>();

  constructor(
    private readonly wire: MssqlWire,
    tuning: Partial<MssqlTuning> = {},
  ) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
  }

  async begin(schema: string): Promise<void> {
    if (schema.length === 0 || schema.length > MAX_SCHEMA_LENGTH) {
      throw new Error(
        `schema name "${schema}" has ${schema.length} characters; on SQL Server it needs 1 to ${MAX_SCHEMA_LENGTH} ` +
          `(the import also uses "<schema>__staging", and names have at most 128 characters)`,
      );
    }
    this.schema = schema;
    this.staging = stagingSchemaName(schema);
    const [lock] = await this.wire.query<{ result: number }>(lockSql, { schema });
    if ((lock?.result ?? -1) < 0) {
      throw new Error(`another import into schema "${schema}" is running on this target; try again later`);
    }
    const failed = await this.wire.query<{ name: string; message: string | null }>(prepareStagingSql, {
      staging: this.staging,
    });
    for (const f of failed) this.undroppable.set(f.name, f.message ?? "");
  }

  private metaParams(schema = this.schema): Params {
    return {
      metaTables: qualifiedName(schema, "_convex_tables"),
      metaColumns: qualifiedName(schema, "_convex_columns"),
    };
  }

  async readPrior(): Promise<Map<string, PriorTable>> {
    const rows = await this.wire.query<PriorRow>(readPriorSql(this.schema), this.metaParams());
    return groupPriorRows(rows, columnTypeFromRecorded);
  }

  async loadedTables(schema: string): Promise<LoadedTable[]> {
    return loadedTables(schema, {
      tables: (schema) => this.wire.query<LoadedTableRow>(loadedTablesSql(schema), this.metaParams(schema)),
      countRows: async (schema, sqlTable) => {
        const [count] = await this.wire.query<{ n: number | string }>(countRowsSql(schema, sqlTable));
        return Number(count?.n ?? 0);
      },
    });
  }

  async createStaging(sqlTable: string, columns: readonly PlannedColumn[]): Promise<void> {
    const leftover = this.undroppable.get(sqlTable);
    if (leftover !== undefined) {
      throw new Error(
        `table ${sqlTable}: a staging table ${qualifiedName(this.staging, sqlTable)} left by an earlier run cannot ` +
          `be dropped (${leftover}); drop it by hand`,
      );
    }
    await checkColumnNames(this.wire, sqlTable, columns);
    await this.wire.query(createTableSql(this.staging, sqlTable, columns), {
      table: qualifiedName(this.staging, sqlTable),
    });
    this.stagingTables.created(sqlTable);
  }

  async openWriter(sqlTable: string, initialColumns: readonly PlannedColumn[]): Promise<StagingWriter> {
    const { wire, tuning } = this;
    const target = qualifiedName(this.staging, sqlTable);
    let columns = [...initialColumns];
    let rows = 0;
    let load: { channel: RowsChannel<Cell[]>; done: Promise<number>; rows: number } | undefined;

    const start = () => {
      const channel = new RowsChannel<Cell[]>(tuning.channelBytes, rowBytes);
      const done = wire.bulkLoad(target, columns, channel).catch((err: Error) => {
        channel.fail(err);
        throw new Error(`bulk load into ${target} failed: ${err.message}`, { cause: err });
      });
      done.catch(() => {});
      return (load = { channel, done, rows: 0 });
    };

    // Ends the current INSERT BULK; the server commits its rows.
    const stop = async () => {
      if (!load) return;
      const current = load;
      load = undefined;
      current.channel.end();
      await current.done;
    };

    return {
      async write(docs: readonly ConvexObject[]) {
        if (docs.length === 0) return;
        const encoded = docs.map((doc, i) => encodeRow(columns, doc, i));
        const current = load ?? start();
        await current.channel.push(encoded);
        current.rows += docs.length;
        rows += docs.length;
        if (current.rows >= tuning.batchRows || current.channel.pushedBytes >= tuning.batchBytes)
          await stop();
      },
      addColumns: async (added: readonly PlannedColumn[]) => {
        if (added.length === 0) return;
        await stop();
        await checkColumnNames(this.wire, sqlTable, [...columns, ...added]);
        await wire.query(addColumnsSql(this.staging, sqlTable, added));
        columns = [...columns, ...added];
      },
      async finish() {
        await stop();
        return rows;
      },
      async abort() {
        if (!load) return;
        const current = load;
        load = undefined;
        current.channel.fail(new Error("aborted"));
        await current.done.catch(() => {});
      },
    };
  }

  async finalizeStaging(sqlTable: string): Promise<void> {
    await addPrimaryKey(sqlTable, () => this.wire.query(primaryKeySql(this.staging, sqlTable), {}, LONG));
  }

  async swap(tables: readonly SwapTable[], meta: SwapMetadata): Promise<void> {
    const { swapAttempts, swapLockTimeoutMs, swapRetryDelayMs } = this.tuning;
    await this.wire.batch(lockTimeoutSql(swapLockTimeoutMs));
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.swapOnce(tables, meta);
          break;
        } catch (err) {
          if (err instanceof DropRefusedError && !this.keepInPlace.has(err.sqlTable)) {
            this.keepInPlace.add(err.sqlTable); // rolled back: run again, keeping that table in place
            attempt--;
            continue;
          }
          const number = errorNumber(err);
          if (number === undefined || !RETRYABLE.has(number)) throw err;
          if (attempt >= swapAttempts) {
            const why = number === 1205 ? "chosen as a deadlock victim" : "waiting for a lock timed out";
            throw new Error(
              `the swap into schema "${this.schema}" failed ${attempt} times (${why}, error ${number}: ` +
                `${(err as Error).message}); other sessions hold locks on its tables; nothing was changed`,
              { cause: err },
            );
          }
          await sleep(attempt * swapRetryDelayMs);
        }
      }
    } finally {
      await this.wire.batch(lockTimeoutSql(-1)).catch(() => {});
    }
    for (const t of tables) this.stagingTables.swapped(t.sqlTable);
  }

  private async swapOnce(tables: readonly SwapTable[], meta: SwapMetadata): Promise<void> {
    const tx = await this.wire.begin();
    try {
      const [held] = await tx.query<{ mode: string | null }>(lockHeldSql, { schema: this.schema }, LONG);
      if (held?.mode !== "Exclusive") {
        throw new Error(
          `the connection to SQL Server was replaced during the import, and with it the lock on schema ` +
            `"${this.schema}" (another import may have run meanwhile); nothing was changed, run the import again`,
        );
      }
      await tx.query(metadataTablesSql(this.schema), this.metaParams(), LONG);
      for (const t of tables) {
        try {
          await replaceTable(tx, this.schema, this.staging, t, this.keepInPlace.has(t.sqlTable));
        } catch (err) {
          if (err instanceof DropRefusedError) throw err;
          if (errorNumber(err) !== undefined && RETRYABLE.has(errorNumber(err)!)) throw err;
          throw new Error(
            `cannot replace ${qualifiedName(this.schema, t.sqlTable)}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        await this.record(tx, t, meta);
      }
      await tx.commit();
    } catch (err) {
      await tx.rollback().catch(() => {});
      throw err;
    }
  }

  private async record(tx: WireQuery, t: SwapTable, meta: SwapMetadata): Promise<void> {
    await tx.query(
      recordTableSql(this.schema),
      {
        convexTable: t.convexTable,
        component: t.component,
        sqlTable: t.sqlTable,
        rowCount: { type: "bigint", value: t.rows },
        snapshotTs: { type: "bigint", value: meta.snapshotTs },
        loadedAt: { type: "datetime2", value: meta.loadedAt },
      },
      LONG,
    );
    for (const [text, params] of recordColumnsQueries(this.schema, t.sqlTable, t.columns))
      await tx.query(text, params, LONG);
  }

  async cleanup(): Promise<void> {
    await this.stagingTables.dropAll((table) =>
      this.wire.query(dropTableSql(this.staging, table), { table: qualifiedName(this.staging, table) }),
    );
  }

  async close(): Promise<void> {
    await this.wire.close();
  }
}
