/**
 * TargetConnection for SQL Server: one session (an mssql pool of one connection, so the session-level
 * application lock holds for the whole import), rows streamed through tedious' bulk load, swap by
 * ALTER SCHEMA … TRANSFER in one transaction. UNVERIFIED against a live SQL Server unless the test suite ran
 * with MSSQL_URL set; the T-SQL it sends is golden-tested in sql.test.ts.
 */
import sql from "mssql";
import type tedious from "tedious";
import type { PlannedColumn } from "../../mapping/types.js";
import type { ConvexObject } from "../../values.js";
import {
  groupPriorRows,
  retiredSchemaName,
  type LoadedTable,
  stagingSchemaName,
  type PriorRow,
  type PriorTable,
  type StagingWriter,
  type SwapMetadata,
  type SwapTable,
  type TargetConnection,
} from "../connection.js";
import type { MssqlConnection } from "../target.js";
import { bulkColumn, encodeRow, mssqlValueRules } from "./encode.js";
import { mssqlPoolConfig } from "./config.js";
import { RowsChannel } from "./rows-channel.js";
import {
  addColumnsSql,
  columnTypeFromRecorded,
  createTableSql,
  lockSql,
  metadataTablesSql,
  mssqlIdentifierRules,
  prepareSchemasSql,
  primaryKeySql,
  qualifiedName,
  loadedTablesSql,
  readPriorSql,
  recordedType,
  swapTableSql,
} from "./sql.js";

/** DDL on large tables (primary keys) can take minutes; bulk loads have no timeout at all (see the notes). */
const REQUEST_TIMEOUT_MS = 60 * 60 * 1000;

export async function openMssql(connection: MssqlConnection): Promise<TargetConnection> {
  const pool = new sql.ConnectionPool(
    mssqlPoolConfig(connection, {
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: 30_000,
      pool: { max: 1, min: 1, idleTimeoutMillis: 24 * 60 * 60 * 1000 },
    }),
  );
  await pool.connect();
  return new MssqlTarget(pool);
}

type Params = Record<string, unknown>;

class MssqlTarget implements TargetConnection {
  readonly kind = "mssql" as const;
  readonly identifierRules = mssqlIdentifierRules;
  readonly valueRules = mssqlValueRules;
  private schema = "";
  private staging = "";
  private retired = "";
  private readonly stagingTables = new Set<string>();

  constructor(private readonly pool: sql.ConnectionPool) {}

  private async run<T = Record<string, unknown>>(text: string, params: Params = {}, tx?: sql.Transaction) {
    const request = tx ? new sql.Request(tx) : this.pool.request();
    for (const [name, value] of Object.entries(params)) request.input(name, value);
    const result = await request.query<T>(text);
    return result.recordset ?? [];
  }

  async begin(schema: string): Promise<void> {
    this.schema = schema;
    this.staging = stagingSchemaName(schema);
    this.retired = retiredSchemaName(schema);
    const [lock] = await this.run<{ result: number }>(lockSql, {
      lockResource: `convex-warehouse-sync:${schema}`,
    });
    if ((lock?.result ?? -1) < 0) {
      throw new Error(`another import into schema "${schema}" is running on this target; try again later`);
    }
    await this.run(prepareSchemasSql, { schema, staging: this.staging, retired: this.retired });
  }

  private metaParams(): Params {
    return {
      metaTables: qualifiedName(this.schema, "_convex_tables"),
      metaColumns: qualifiedName(this.schema, "_convex_columns"),
    };
  }

  async readPrior(): Promise<Map<string, PriorTable>> {
    const rows = await this.run<PriorRow>(readPriorSql(this.schema), this.metaParams());
    return groupPriorRows(rows, columnTypeFromRecorded);
  }

  async loadedTables(schema: string): Promise<LoadedTable[]> {
    const rows = await this.run<{
      component: string;
      convex_table: string;
      sql_table: string;
      snapshot_ts: string | null;
      loaded_at: Date;
    }>(loadedTablesSql(schema), { metaTables: qualifiedName(schema, "_convex_tables") });
    const out: LoadedTable[] = [];
    for (const r of rows) {
      const [count] = await this.run<{ n: number }>(
        `SELECT COUNT_BIG(*) AS n FROM ${qualifiedName(schema, r.sql_table)};`,
      );
      out.push({
        table: r.component ? `${r.component}/${r.convex_table}` : r.convex_table,
        sqlTable: r.sql_table,
        rows: Number(count?.n ?? 0),
        snapshotTs: r.snapshot_ts === null ? null : String(r.snapshot_ts),
        loadedAt: new Date(r.loaded_at),
      });
    }
    return out;
  }

  async createStaging(sqlTable: string, columns: readonly PlannedColumn[]): Promise<void> {
    await this.run(createTableSql(this.staging, sqlTable, columns), {
      table: qualifiedName(this.staging, sqlTable),
    });
    this.stagingTables.add(sqlTable);
  }

  async openWriter(sqlTable: string, initialColumns: readonly PlannedColumn[]): Promise<StagingWriter> {
    let columns = [...initialColumns];
    let rows = 0;
    let load: { channel: RowsChannel<unknown[]>; done: Promise<number> } | undefined;
    const target = qualifiedName(this.staging, sqlTable);

    const start = async () => {
      // A raw tedious connection from the pool: mssql's own bulk() needs every row in memory.
      const raw = (await (
        this.pool as unknown as { acquire(requester: unknown): Promise<tedious.Connection> }
      ).acquire(this.pool)) as tedious.Connection;
      const channel = new RowsChannel<unknown[]>();
      const done = new Promise<number>((resolve, reject) => {
        const bulk = raw.newBulkLoad(target, { keepNulls: true, lockTable: true }, (err, rowCount) => {
          (this.pool as unknown as { release(c: unknown): void }).release(raw);
          if (err) {
            channel.fail(err);
            reject(new Error(`bulk load into ${target} failed: ${err.message}`));
          } else resolve(rowCount ?? 0);
        });
        bulk.setTimeout(0); // the request timer would otherwise cover the whole upload
        for (const col of columns) {
          const c = bulkColumn(col);
          // tedious writes `[name]` without doubling `]`: pass the name with `]` already doubled.
          bulk.addColumn(c.name.replace(/]/g, "]]"), c.type, c.options);
        }
        raw.execBulkLoad(bulk, channel);
      });
      done.catch(() => {});
      load = { channel, done };
    };

    const stop = async () => {
      if (!load) return;
      load.channel.end();
      await load.done;
      load = undefined;
    };

    await start();
    return {
      async write(docs: readonly ConvexObject[]) {
        if (docs.length === 0) return;
        await load!.channel.push(docs.map((doc, i) => encodeRow(columns, doc, i)));
        rows += docs.length;
      },
      addColumns: async (added: readonly PlannedColumn[]) => {
        if (added.length === 0) return;
        await stop();
        await this.run(addColumnsSql(this.staging, sqlTable, added));
        columns = [...columns, ...added];
        await start();
      },
      async finish() {
        await stop();
        return rows;
      },
      async abort() {
        if (!load) return;
        load.channel.fail(new Error("aborted"));
        await load.done.catch(() => {});
        load = undefined;
      },
    };
  }

  async finalizeStaging(sqlTable: string): Promise<void> {
    try {
      await this.run(primaryKeySql(this.staging, sqlTable));
    } catch (err) {
      throw new Error(`table ${sqlTable}: cannot add the primary key on _id (${(err as Error).message})`);
    }
  }

  async swap(tables: readonly SwapTable[], meta: SwapMetadata): Promise<void> {
    const tx = new sql.Transaction(this.pool);
    await this.run("SET XACT_ABORT ON;");
    await tx.begin();
    try {
      await this.run(metadataTablesSql(this.schema), this.metaParams(), tx);
      for (const t of tables) {
        await this.run(
          swapTableSql(this.schema, this.staging, this.retired, t.sqlTable),
          {
            target: qualifiedName(this.schema, t.sqlTable),
            convexTable: t.convexTable,
            component: t.component,
            sqlTable: t.sqlTable,
            rowCount: t.rows,
            snapshotTs: meta.snapshotTs,
            loadedAt: meta.loadedAt,
            columns: JSON.stringify(
              t.columns.map((c, i) => ({ f: c.field, c: c.sqlName, t: recordedType(c.type), o: i + 1 })),
            ),
          },
          tx,
        );
      }
      await tx.commit();
    } catch (err) {
      await tx.rollback().catch(() => {});
      throw err;
    }
    for (const t of tables) {
      this.stagingTables.delete(t.sqlTable);
      // Outside the transaction: a failure here leaves a retired copy that the next run drops.
      await this.run(
        `IF OBJECT_ID(@t, N'U') IS NOT NULL DROP TABLE ${qualifiedName(this.retired, t.sqlTable)};`,
        {
          t: qualifiedName(this.retired, t.sqlTable),
        },
      ).catch(() => {});
    }
  }

  async cleanup(): Promise<void> {
    for (const table of this.stagingTables) {
      await this.run(`IF OBJECT_ID(@t, N'U') IS NOT NULL DROP TABLE ${qualifiedName(this.staging, table)};`, {
        t: qualifiedName(this.staging, table),
      }).catch(() => {});
    }
    this.stagingTables.clear();
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}
