/**
 * TargetConnection for the PostgreSQL family. PostgreSQL and PGlite run the same SQL and differ only in how a
 * query is sent and how COPY data travels (see ./transports.ts).
 */
import type { TargetKind } from "../../../../../convex/contract/executor.js";
import { defaultValueRules } from "../../mapping/plan.js";
import type { PlannedColumn } from "../../mapping/types.js";
import type { ConvexObject } from "../../values.js";
import {
  groupPriorRows,
  priorRowsSql,
  stagingSchemaName,
  type LoadedTable,
  type PriorRow,
  type PriorTable,
  type StagingWriter,
  type SwapMetadata,
  type SwapTable,
  type TargetConnection,
} from "../connection.js";
import { addPrimaryKey, inTransaction, loadedTables, StagingTables, type LoadedTableRow } from "../steps.js";
import { encodeRows } from "./encode.js";
import { replaceTable } from "./replace.js";
import type { CopySink, PgTransport } from "./transport.js";
import {
  addColumnsSql,
  copiedColumns,
  columnTypeFromPg,
  copySql,
  createTableSql,
  lockSql,
  metadataTablesSql,
  pgIdentifierRules,
  primaryKeySql,
  qualifiedName,
  quoteIdent,
  recordColumnsQueries,
} from "./sql.js";

export class PostgresConnection implements TargetConnection {
  readonly identifierRules = pgIdentifierRules;
  readonly valueRules = defaultValueRules;
  private schema = "";
  private staging = "";
  private readonly stagingTables = new StagingTables();

  constructor(
    readonly kind: TargetKind,
    private readonly db: PgTransport,
  ) {}

  async begin(schema: string): Promise<void> {
    this.schema = schema;
    this.staging = stagingSchemaName(schema);
    const [row] = await this.db.query<{ locked: boolean }>(lockSql(), [`convex-warehouse-sync:${schema}`]);
    if (!row?.locked)
      throw new Error(`another import into schema "${schema}" is running on this target; try again later`);
    await this.db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await this.db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.staging)}`);
    const leftovers = await this.db.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = $1`,
      [this.staging],
    );
    for (const { tablename } of leftovers)
      await this.db.query(`DROP TABLE ${qualifiedName(this.staging, tablename)}`);
  }

  async readPrior(): Promise<Map<string, PriorTable>> {
    const [exists] = await this.db.query<{ ok: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ok`,
      [qualifiedName(this.schema, "_convex_tables"), qualifiedName(this.schema, "_convex_columns")],
    );
    if (!exists?.ok) return new Map();
    const rows = await this.db.query<PriorRow>(priorRowsSql(this.schema, qualifiedName));
    return groupPriorRows(rows, columnTypeFromPg);
  }

  async loadedTables(schema: string): Promise<LoadedTable[]> {
    return loadedTables(schema, {
      tables: async (schema) => {
        const meta = qualifiedName(schema, "_convex_tables");
        const [exists] = await this.db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
          meta,
        ]);
        if (!exists?.ok) return [];
        return this.db.query<LoadedTableRow>(
          `SELECT component, convex_table, sql_table, snapshot_ts::text AS snapshot_ts, loaded_at FROM ${meta} ORDER BY sql_table`,
        );
      },
      countRows: async (schema, sqlTable) => {
        const [count] = await this.db.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM ${qualifiedName(schema, sqlTable)}`,
        );
        return Number(count?.n ?? 0);
      },
    });
  }

  async createStaging(sqlTable: string, columns: readonly PlannedColumn[]): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${qualifiedName(this.staging, sqlTable)}`);
    await this.db.query(createTableSql(this.staging, sqlTable, columns));
    this.stagingTables.created(sqlTable);
  }

  async openWriter(sqlTable: string, initialColumns: readonly PlannedColumn[]): Promise<StagingWriter> {
    const db = this.db;
    const staging = this.staging;
    let columns = [...initialColumns];
    let sink: CopySink | undefined;
    let rows = 0;
    const open = async () => (sink = await db.copyIn(copySql(staging, sqlTable, columns, db.copySource)));
    await open();
    return {
      async write(docs: readonly ConvexObject[]) {
        if (docs.length === 0) return;
        await sink!.write(encodeRows(copiedColumns(columns), docs));
        rows += docs.length;
      },
      async addColumns(added: readonly PlannedColumn[]) {
        if (added.length === 0) return;
        await sink!.end();
        await db.query(addColumnsSql(staging, sqlTable, added));
        columns = [...columns, ...added];
        await open();
      },
      async finish() {
        await sink!.end();
        return rows;
      },
      async abort() {
        await sink?.abort().catch(() => {});
      },
    };
  }

  async finalizeStaging(sqlTable: string): Promise<void> {
    await addPrimaryKey(sqlTable, () => this.db.query(primaryKeySql(this.staging, sqlTable)));
  }

  async swap(tables: readonly SwapTable[], meta: SwapMetadata): Promise<void> {
    const s = this.schema;
    await inTransaction(
      (sql) => this.db.query(sql),
      "BEGIN",
      async () => {
        for (const sql of metadataTablesSql(s)) await this.db.query(sql);
        for (const t of tables) {
          try {
            await replaceTable(this.db, s, this.staging, t);
          } catch (err) {
            throw new Error(`cannot replace ${qualifiedName(s, t.sqlTable)}: ${(err as Error).message}`, {
              cause: err,
            });
          }
          await this.db.query(
            `DELETE FROM ${qualifiedName(s, "_convex_tables")} WHERE component = $1 AND convex_table = $2`,
            [t.component, t.convexTable],
          );
          await this.db.query(
            `INSERT INTO ${qualifiedName(s, "_convex_tables")} ` +
              `(convex_table, component, sql_table, row_count, snapshot_ts, loaded_at) VALUES ($1, $2, $3, $4, $5, $6)`,
            [t.convexTable, t.component, t.sqlTable, t.rows, meta.snapshotTs, meta.loadedAt.toISOString()],
          );
          for (const [sql, params] of recordColumnsQueries(s, t.sqlTable, t.columns))
            await this.db.query(sql, params);
          this.stagingTables.swapped(t.sqlTable);
        }
      },
    );
  }

  async cleanup(): Promise<void> {
    await this.stagingTables.dropAll((table) =>
      this.db.query(`DROP TABLE IF EXISTS ${qualifiedName(this.staging, table)}`),
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
