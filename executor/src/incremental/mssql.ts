/**
 * ChangeTarget for SQL Server: the statements of one page batch, all inside one transaction on the session's
 * one connection. Reuses the import's SQL Server dialect (../import/load/mssql/): the wire (mssql pool of one
 * connection, INSERT BULK through tedious), the row encoding, the types and collation, the mapping tables, and
 * the schema's application lock (sql.ts lockSql) — the lock the snapshot import takes, held for this target's
 * whole life, so an import and an incremental run never interleave.
 *
 *   SET XACT_ABORT ON; SET LOCK_TIMEOUT 60000; BEGIN TRANSACTION   -- a plain batch: holds for the session
 *   APPLOCK_MODE … = 'Exclusive'                               -- the connection still holds the schema's lock
 *   SELECT [cursor] … WITH (UPDLOCK, HOLDLOCK)                 -- must still be the batch's starting cursor
 *   per table: CREATE TABLE + PRIMARY KEY | ALTER TABLE ADD; widening (values read back, re-encoded, written);
 *              DELETE (truncate); INSERT BULK into #convex_deletes, DELETE … JOIN with the _ts guard;
 *              INSERT BULK into #convex_changes, UPDATE … FROM with the _ts guard, INSERT … WHERE NOT EXISTS;
 *              _convex_tables / _convex_columns rows
 *   UPDATE (or INSERT) the state row of _convex_sync_state (cursor, detached tables)
 *   COMMIT TRANSACTION
 *
 * No MERGE (its documented defects; the guarded UPDATE + INSERT says the same). Counts come from @@ROWCOUNT.
 * The statements: ./mssqlSql.ts; one table's part: ./mssqlTable.ts; widening: ./mssqlWiden.ts.
 * UNVERIFIED against a live SQL Server unless the incremental suite ran with MSSQL_URL set (the CI workflow
 * has one): everything here has only run against the import's recording wire and the T-SQL grammar.
 */
import sql from "mssql";
import { groupPriorRows, qualifiedOf, type PriorRow, type PriorTable } from "../import/load/connection.js";
import { mssqlPoolConfig } from "../import/load/mssql/config.js";
import { mssqlValueRules } from "../import/load/mssql/encode.js";
import { SESSION_POOL_SETTINGS } from "../import/load/mssql/session.js";
import {
  columnTypeFromRecorded,
  lockHeldSql,
  lockSql,
  metadataTablesSql,
  mssqlIdentifierRules,
  qualifiedName,
  readPriorSql,
  unlockSql,
} from "../import/load/mssql/sql.js";
import type { MssqlConnectionSpec } from "../import/load/target.js";
import { PoolWire, type MssqlWire, type Params } from "../import/load/mssql/wire.js";
import {
  detachedTablesText,
  syncStateOfRow,
  transactionalWrites,
  type ApplyPlan,
  type ChangeTarget,
  type SyncState,
  type SyncStateRow,
  type TableApplyResult,
} from "./apply.js";
import {
  beginSql,
  commitSql,
  readStateSql,
  rollbackSql,
  stateTable,
  storedCursorSql,
  syncStateColumnsSql,
  syncStateTableSql,
  tablesLoadedAfterSql,
  writeStateSql,
} from "./mssqlSql.js";
import { MssqlTableApplier } from "./mssqlTable.js";

const LONG = { noTimeout: true };

export interface MssqlChangeTargetOptions {
  /** Called before each statement is sent (a bulk load counts as one); the crash tests kill the process here. */
  onStatement?: (sql: string) => void;
  /**
   * How long to keep asking for the schema's lock while another session holds it (default 15 s). An executor
   * restarted after a crash may find its predecessor's session not yet cleaned up by the server; an import
   * holding the lock makes the open fail after this, saying so.
   */
  lockWaitMs?: number;
  /** Pause between two lock attempts. */
  lockRetryMs?: number;
}

/** Counts every statement through `onStatement` (the crash tests' kill points). */
function hookedWire(wire: MssqlWire, onStatement: (sql: string) => void): MssqlWire {
  return {
    query: (text, params, options) => {
      onStatement(text);
      return wire.query(text, params, options);
    },
    batch: (text) => {
      onStatement(text);
      return wire.batch(text);
    },
    begin: () => wire.begin(),
    bulkLoad: (table, columns, rows) => {
      onStatement(`insert bulk ${table}`);
      return wire.bulkLoad(table, columns, rows);
    },
    close: () => wire.close(),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class MssqlChangeTarget implements ChangeTarget {
  readonly identifierRules = mssqlIdentifierRules;
  readonly valueRules = mssqlValueRules;
  private readonly writes = transactionalWrites((body) => this.transaction(body), {
    createBookkeeping: () => this.createBookkeeping(),
    storedCursor: async () => {
      const [row] = await this.wire.query<{ cursor: string }>(storedCursorSql(this.schema), {}, LONG);
      return row?.cursor ?? null;
    },
    applyTable: (t, state) => new MssqlTableApplier(this.wire, this.schema).applyTable(t, state),
    writeState: (state) => this.writeState(state),
    sqlName: (t) => qualifiedName(this.schema, t.sqlTable),
  });

  private constructor(
    /** Every statement of the target's work goes here (counted when onStatement is given)… */
    private readonly wire: MssqlWire,
    /** …the lock's own statements here, which are no kill points (none is sent in the middle of a run). */
    private readonly lockWire: MssqlWire,
    private readonly schema: string,
  ) {}

  /** Connects with the import's session settings (XACT_ABORT through abortTransactionOnError). */
  static async connect(
    connection: MssqlConnectionSpec,
    schema: string,
    options: MssqlChangeTargetOptions = {},
  ): Promise<MssqlChangeTarget> {
    const pool = new sql.ConnectionPool(mssqlPoolConfig(connection, SESSION_POOL_SETTINGS));
    await pool.connect();
    return MssqlChangeTarget.open(new PoolWire(pool), schema, options);
  }

  /**
   * Takes the schema's lock on `wire` (creating the schema when missing), as the import does; closes the wire
   * when it cannot. The lock statements are not kill points: dying before the lock is dying before anything,
   * dying before the unlock is dying after everything.
   */
  static async open(
    wire: MssqlWire,
    schema: string,
    options: MssqlChangeTargetOptions = {},
  ): Promise<MssqlChangeTarget> {
    const { lockWaitMs = 15_000, lockRetryMs = 500 } = options;
    try {
      for (let waited = 0; ; waited += lockRetryMs) {
        const [lock] = await wire.query<{ result: number }>(lockSql, { schema });
        if ((lock?.result ?? -1) >= 0) break;
        if (waited >= lockWaitMs) {
          throw new Error(
            `another import or incremental sync into schema "${schema}" is running on this target; try again later`,
          );
        }
        await sleep(lockRetryMs);
      }
    } catch (err) {
      await wire.close();
      throw err;
    }
    const counted = options.onStatement ? hookedWire(wire, options.onStatement) : wire;
    return new MssqlChangeTarget(counted, wire, schema);
  }

  private params(): Params {
    return {
      metaTables: qualifiedName(this.schema, "_convex_tables"),
      metaColumns: qualifiedName(this.schema, "_convex_columns"),
      stateTable: stateTable(this.schema),
    };
  }

  async readPrior(): Promise<Map<string, PriorTable>> {
    const rows = await this.wire.query<PriorRow>(readPriorSql(this.schema), this.params());
    return groupPriorRows(rows, columnTypeFromRecorded);
  }

  async readState(): Promise<SyncState | null> {
    const [row] = await this.wire.query<SyncStateRow>(readStateSql(this.schema), this.params());
    return row ? syncStateOfRow(row, stateTable(this.schema)) : null;
  }

  async tablesLoadedAfter(appliedAt: Date): Promise<string[]> {
    const rows = await this.wire.query<{ component: string; convex_table: string }>(
      tablesLoadedAfterSql(this.schema),
      { ...this.params(), appliedAt: { type: "datetime2", value: appliedAt } },
    );
    return rows.map(qualifiedOf);
  }

  apply(plan: ApplyPlan): Promise<TableApplyResult[]> {
    return this.writes.apply(plan);
  }

  initialize(state: SyncState): Promise<void> {
    return this.writes.initialize(state);
  }

  /**
   * BEGIN and COMMIT as plain batches on the session's connection, not mssql's Transaction: that one holds the
   * pool's only connection, and the INSERT BULK (a raw tedious request on that connection, wire.ts) would wait
   * for it forever. tedious follows a transaction begun in a batch through the server's ENVCHANGE tokens
   * (token/handler.js) and sends its descriptor with every later request, the INSERT BULK's batch included.
   */
  private async transaction<T>(body: () => Promise<T>): Promise<T> {
    await this.wire.batch(beginSql);
    try {
      // mssql's pool replaces a connection it finds broken (wire.ts); a replacement holds no lock.
      const [held] = await this.wire.query<{ mode: string | null }>(lockHeldSql, { schema: this.schema });
      if (held?.mode !== "Exclusive") {
        throw new Error(
          `the connection to SQL Server no longer holds the lock on schema "${this.schema}"; nothing was changed`,
        );
      }
      const result = await body();
      await this.wire.batch(commitSql);
      return result;
    } catch (err) {
      await this.wire.batch(rollbackSql).catch(() => {});
      throw err;
    }
  }

  private async createBookkeeping(): Promise<void> {
    await this.wire.query(metadataTablesSql(this.schema), this.params(), LONG);
    await this.wire.query(syncStateTableSql(this.schema), this.params(), LONG);
    await this.wire.query(syncStateColumnsSql(this.schema), this.params(), LONG);
  }

  private async writeState(state: SyncState): Promise<void> {
    await this.wire.query(writeStateSql(this.schema), {
      cursor: state.cursor,
      syncId: state.syncId,
      status: state.status,
      snapshotTs: { type: "bigint", value: state.snapshotTs },
      appliedAt: { type: "datetime2", value: state.appliedAt },
      detachedTables: detachedTablesText(state.detachedTables),
    });
  }

  /** Gives the schema's lock back first (a failure there only means the server frees it at the close). */
  async close(): Promise<void> {
    await this.lockWire.query(unlockSql, { schema: this.schema }).catch(() => {});
    await this.wire.close();
  }
}
