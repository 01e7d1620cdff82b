/**
 * TargetConnection for a DuckDB warehouse file (`duckdb:<file>`).
 *
 * Each staging table is filled through DuckDB's appender inside one transaction of its own: DuckDB writes full
 * row groups of a large transaction straight into the database file, so memory stays at about one row group
 * per table, and a killed process leaves nothing to replay (the transaction never committed). The swap renames
 * every staging table into place in one transaction (see ./sql.ts for why renames and not SET SCHEMA).
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { defaultValueRules } from "../../mapping/plan.js";
import type { PlannedColumn } from "../../mapping/types.js";
import type { ConvexObject } from "../../values.js";
import {
  groupPriorRows,
  priorRowsSql,
  type LoadedTable,
  type PriorRow,
  type PriorTable,
  type StagingWriter,
  type SwapMetadata,
  type SwapTable,
  type TargetConnection,
} from "../connection.js";
import { inTransaction, loadedTables, StagingTables, type LoadedTableRow } from "../steps.js";
import { ClassifiedTargetError, duplicateIdFailure } from "../targetFailure.js";
import { appendRows } from "./append.js";
import { openDuckdb, type DuckdbSettings, type OpenedDuckdb } from "./instance.js";
import {
  addColumnSql,
  columnTypeFromDuckdb,
  createTableSql,
  duckdbIdentifierRules,
  duckdbType,
  duplicateIdSql,
  metadataTablesSql,
  qualifiedName,
  quoteIdent,
  renameTableSql,
  STAGING_PREFIX,
  stagingTableName,
  tablesInSchemaSql,
} from "./sql.js";

/**
 * The appender buffers rows outside DuckDB's memory_limit until it flushes (by default every 204,800 rows: tens
 * of MB for wide rows). Flushing more often moves them into the transaction, whose full row groups go to disk.
 */
const APPENDER_FLUSH_ROWS = 16_384;

async function rows<T>(db: DuckDBConnection, sql: string, params?: DuckDBValue[]): Promise<T[]> {
  const reader = await db.runAndReadAll(sql, params);
  return reader.getRowObjectsJS() as T[];
}

export class DuckdbConnection implements TargetConnection {
  readonly kind = "duckdb" as const;
  readonly identifierRules = duckdbIdentifierRules;
  readonly valueRules = defaultValueRules;
  private schema = "";
  private readonly stagingTables = new StagingTables();

  private constructor(private readonly opened: OpenedDuckdb) {}

  static async open(
    file: string,
    settings: DuckdbSettings,
    options: { readOnly?: boolean } = {},
  ): Promise<DuckdbConnection> {
    return new DuckdbConnection(await openDuckdb(file, settings, options));
  }

  private get db(): DuckDBConnection {
    return this.opened.connection;
  }

  private async tableNames(schema: string): Promise<string[]> {
    return (await rows<{ table_name: string }>(this.db, tablesInSchemaSql, [schema])).map(
      (r) => r.table_name,
    );
  }

  async begin(schema: string): Promise<void> {
    this.schema = schema;
    // One writer per file is DuckDB's own lock (./instance.ts), so no per-schema lock is needed here.
    await this.db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    for (const table of await this.tableNames(schema)) {
      if (table.startsWith(STAGING_PREFIX)) await this.db.run(`DROP TABLE ${qualifiedName(schema, table)}`);
    }
  }

  async readPrior(): Promise<Map<string, PriorTable>> {
    const tables = new Set(await this.tableNames(this.schema));
    if (!tables.has("_convex_tables") || !tables.has("_convex_columns")) return new Map();
    const prior = await rows<PriorRow>(this.db, priorRowsSql(this.schema, qualifiedName));
    return groupPriorRows(prior, columnTypeFromDuckdb);
  }

  async loadedTables(schema: string): Promise<LoadedTable[]> {
    return loadedTables(schema, {
      tables: async (schema) => {
        if (!(await this.tableNames(schema)).includes("_convex_tables")) return [];
        return rows<LoadedTableRow>(
          this.db,
          `SELECT component, convex_table, sql_table, snapshot_ts::VARCHAR AS snapshot_ts, loaded_at
             FROM ${qualifiedName(schema, "_convex_tables")} ORDER BY sql_table`,
        );
      },
      countRows: async (schema, sqlTable) => {
        const [count] = await rows<{ n: bigint }>(
          this.db,
          `SELECT count(*) AS n FROM ${qualifiedName(schema, sqlTable)}`,
        );
        return Number(count?.n ?? 0);
      },
    });
  }

  async createStaging(sqlTable: string, columns: readonly PlannedColumn[]): Promise<void> {
    const staging = stagingTableName(sqlTable);
    await this.db.run(`DROP TABLE IF EXISTS ${qualifiedName(this.schema, staging)}`);
    await this.db.run(createTableSql(this.schema, staging, columns));
    this.stagingTables.created(sqlTable);
  }

  async openWriter(sqlTable: string, initialColumns: readonly PlannedColumn[]): Promise<StagingWriter> {
    const db = this.db;
    const schema = this.schema;
    const staging = stagingTableName(sqlTable);
    let columns = [...initialColumns];
    let appender: DuckDBAppender | undefined;
    let rowCount = 0;
    let unflushed = 0;
    const open = async () => {
      await db.run("BEGIN TRANSACTION");
      appender = await db.createAppender(staging, schema);
    };
    const commit = async () => {
      appender!.closeSync(); // flushes the rows still buffered
      appender = undefined;
      await db.run("COMMIT");
    };
    await open();
    return {
      async write(docs: readonly ConvexObject[]) {
        appendRows(appender!, columns, docs);
        rowCount += docs.length;
        unflushed += docs.length;
        if (unflushed >= APPENDER_FLUSH_ROWS) {
          appender!.flushSync();
          unflushed = 0;
        }
      },
      async addColumns(added: readonly PlannedColumn[]) {
        if (added.length === 0) return;
        // An appender keeps the column list the table had when it was made: after ALTER TABLE a new one is needed.
        await commit();
        for (const col of added) await db.run(addColumnSql(schema, staging, col));
        columns = [...columns, ...added];
        await open();
      },
      async finish() {
        await commit();
        return rowCount;
      },
      async abort() {
        try {
          appender?.clear();
          appender?.closeSync();
        } catch {
          // the rollback below discards whatever the appender held
        }
        appender = undefined;
        await db.run("ROLLBACK").catch(() => {});
      },
    };
  }

  async finalizeStaging(sqlTable: string): Promise<void> {
    const [dup] = await rows<{ id: string; n: bigint }>(
      this.db,
      duplicateIdSql(this.schema, stagingTableName(sqlTable)),
    );
    if (dup) {
      throw new ClassifiedTargetError(
        `table ${sqlTable}: _id must be unique, but ${JSON.stringify(dup.id)} occurs ${dup.n} times`,
        duplicateIdFailure("duplicate _id"),
      );
    }
  }

  async swap(tables: readonly SwapTable[], meta: SwapMetadata): Promise<void> {
    const s = this.schema;
    const tablesMeta = qualifiedName(s, "_convex_tables");
    const columnsMeta = qualifiedName(s, "_convex_columns");
    await inTransaction(
      (sql) => this.db.run(sql),
      "BEGIN TRANSACTION",
      async () => {
        for (const sql of metadataTablesSql(s)) await this.db.run(sql);
        for (const t of tables) {
          await this.db.run(`DROP TABLE IF EXISTS ${qualifiedName(s, t.sqlTable)}`);
          await this.db.run(renameTableSql(s, stagingTableName(t.sqlTable), t.sqlTable));
          await this.db.run(`DELETE FROM ${tablesMeta} WHERE component = $1 AND convex_table = $2`, [
            t.component,
            t.convexTable,
          ]);
          await this.db.run(
            `INSERT INTO ${tablesMeta} (convex_table, component, sql_table, row_count, snapshot_ts, loaded_at) ` +
              `VALUES ($1, $2, $3, $4, $5::BIGINT, $6::TIMESTAMPTZ)`,
            [
              t.convexTable,
              t.component,
              t.sqlTable,
              BigInt(t.rows),
              meta.snapshotTs,
              meta.loadedAt.toISOString(),
            ],
          );
          await this.db.run(`DELETE FROM ${columnsMeta} WHERE sql_table = $1`, [t.sqlTable]);
          for (const [i, c] of t.columns.entries()) {
            await this.db.run(
              `INSERT INTO ${columnsMeta} (sql_table, convex_field, sql_column, sql_type, ordinal_position) ` +
                `VALUES ($1, $2, $3, $4, $5)`,
              [t.sqlTable, c.field, c.sqlName, duckdbType(c.type), i + 1],
            );
          }
          this.stagingTables.swapped(t.sqlTable);
        }
      },
    );
  }

  async cleanup(): Promise<void> {
    await this.stagingTables.dropAll((table) =>
      this.db.run(`DROP TABLE IF EXISTS ${qualifiedName(this.schema, stagingTableName(table))}`),
    );
  }

  async close(): Promise<void> {
    this.opened.close();
  }
}
