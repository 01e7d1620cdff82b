/**
 * One table's part of a SQL Server batch (./mssql.ts), inside its transaction: the table created, or its new
 * columns added and its widened ones converted (./mssqlWiden.ts); a truncate as DELETE; the feed's deletes and
 * upserts through session temp tables filled by INSERT BULK, each guarded by `_ts`; the mapping rows.
 * UNVERIFIED against a live SQL Server (see mssql.ts).
 */
import type { PlannedColumn } from "../import/mapping/types.js";
import { checkColumnNames } from "../import/load/mssql/columnNames.js";
import { encodeRow } from "../import/load/mssql/encode.js";
import {
  addColumnsSql,
  alterColumnSql,
  clearColumnsSql,
  existingColumnsSql,
  hasSqlType,
  primaryKeySql,
  qualifiedName,
  recordColumnsQueries,
  type ExistingColumn,
} from "../import/load/mssql/sql.js";
import type { MssqlWire, Params } from "../import/load/mssql/wire.js";
import type { ConvexObject } from "../import/values.js";
import { TS_FIELD, type SyncState, type TableApplyPlan, type TableApplyResult } from "./apply.js";
import {
  CHANGES_TABLE,
  createTableSql,
  createTempSql,
  DELETE_COLUMNS,
  deleteAllSql,
  deleteChangesSql,
  deleteColumnRowsSql,
  DELETES_TABLE,
  dropTempSql,
  insertChangesSql,
  insertTableRowSql,
  updateChangesSql,
  updateTableRowSql,
} from "./mssqlSql.js";
import { widenColumns } from "./mssqlWiden.js";

const LONG = { noTimeout: true };

async function* encodedRows(columns: readonly PlannedColumn[], docs: readonly ConvexObject[]) {
  for (let i = 0; i < docs.length; i++) yield encodeRow(columns, docs[i]!, i);
}

export class MssqlTableApplier {
  constructor(
    private readonly wire: MssqlWire,
    private readonly schema: string,
  ) {}

  /** Fills a session temp table through INSERT BULK (the import's bulk path), inside the transaction. */
  private async fillTemp(
    name: string,
    columns: readonly PlannedColumn[],
    rows: readonly ConvexObject[],
  ): Promise<void> {
    await this.wire.batch(createTempSql(name, columns));
    await this.wire.bulkLoad(name, columns, encodedRows(columns, rows));
  }

  private async count(text: string): Promise<number> {
    const [row] = await this.wire.query<{ n: number }>(text, {}, LONG);
    return Number(row?.n ?? 0);
  }

  async applyTable(t: TableApplyPlan, state: SyncState): Promise<TableApplyResult> {
    const s = this.schema;
    const ts = t.columns.find((c) => c.field === TS_FIELD)!.sqlName;
    if (t.isNew) {
      await checkColumnNames(this.wire, t.sqlTable, t.columns);
      await this.wire.query(createTableSql(s, t.sqlTable, t.columns), {}, LONG);
      await this.wire.query(primaryKeySql(s, t.sqlTable), {}, LONG);
    } else {
      if (t.addedColumns.length > 0) await this.addColumns(t);
      if (t.truncated) {
        await this.wire.query(deleteAllSql(s, t.sqlTable), {}, LONG);
        // Nothing left to convert: the columns only change type.
        const widened = t.widenedColumns.map((w) => w.column);
        if (widened.length > 0) await this.alterEmptyColumns(t, widened);
      } else {
        await widenColumns(this.wire, s, t);
      }
    }

    let deleted = 0;
    if (t.deletes.length > 0) {
      await this.fillTemp(
        DELETES_TABLE,
        DELETE_COLUMNS,
        t.deletes.map((d) => ({ _id: d.id, ts: d.ts })),
      );
      deleted = await this.count(deleteChangesSql(s, t.sqlTable, ts));
      await this.wire.batch(dropTempSql(DELETES_TABLE));
    }

    let inserted = 0;
    let updated = 0;
    if (t.upserts.length > 0) {
      await this.fillTemp(CHANGES_TABLE, t.columns, t.upserts);
      updated = await this.count(updateChangesSql(s, t.sqlTable, t.columns, ts));
      inserted = await this.count(insertChangesSql(s, t.sqlTable, t.columns));
      await this.wire.batch(dropTempSql(CHANGES_TABLE));
    }

    await this.recordTable(t, state, inserted - deleted);
    return { table: t.qualified, sqlTable: t.sqlTable, truncated: t.truncated, inserted, updated, deleted };
  }

  /**
   * New columns of a known table. A snapshot sync that refilled the table in place (it has dependents:
   * replace.ts) keeps columns its data no longer has, `_ts` among them, unrecorded in `_convex_columns`: such a
   * column is emptied (what it holds is no load's) and given the planned type instead of added again (2705).
   */
  private async addColumns(t: TableApplyPlan): Promise<void> {
    const s = this.schema;
    await checkColumnNames(this.wire, t.sqlTable, t.columns);
    const existing = new Map(
      (
        await this.wire.query<ExistingColumn>(
          existingColumnsSql,
          { target: qualifiedName(s, t.sqlTable) },
          LONG,
        )
      ).map((c) => [c.name, c]),
    );
    const missing = t.addedColumns.filter((c) => !existing.has(c.sqlName));
    const leftover = t.addedColumns.filter((c) => existing.has(c.sqlName));
    if (leftover.length > 0) await this.wire.query(clearColumnsSql(s, t.sqlTable, leftover), {}, LONG);
    if (missing.length > 0) await this.wire.query(addColumnsSql(s, t.sqlTable, missing), {}, LONG);
    const retyped = leftover.filter((c) => !hasSqlType(existing.get(c.sqlName)!, c.type));
    await this.alterEmptyColumns(t, retyped);
  }

  private async alterEmptyColumns(t: TableApplyPlan, columns: readonly PlannedColumn[]): Promise<void> {
    for (const col of columns) await this.wire.query(alterColumnSql(this.schema, t.sqlTable, col), {}, LONG);
  }

  private async recordTable(t: TableApplyPlan, state: SyncState, rowDelta: number): Promise<void> {
    const snapshotTs = state.status === "snapshotting" ? null : state.snapshotTs;
    const common: Params = {
      convexTable: t.convexTable,
      component: t.component,
      snapshotTs: { type: "bigint", value: snapshotTs },
      loadedAt: { type: "datetime2", value: state.appliedAt },
    };
    if (t.isNew) {
      await this.wire.query(insertTableRowSql(this.schema), {
        ...common,
        sqlTable: t.sqlTable,
        rowCount: { type: "bigint", value: BigInt(rowDelta) },
      });
    } else {
      await this.wire.query(updateTableRowSql(this.schema), {
        ...common,
        truncated: { type: "int", value: t.truncated ? 1 : 0 },
        rowDelta: { type: "bigint", value: BigInt(rowDelta) },
      });
    }
    if (t.isNew || t.addedColumns.length > 0 || t.widenedColumns.length > 0) {
      await this.wire.query(deleteColumnRowsSql(this.schema), { sqlTable: t.sqlTable });
      for (const [text, params] of recordColumnsQueries(this.schema, t.sqlTable, t.columns))
        await this.wire.query(text, params);
    }
  }
}
