/**
 * The dialect-independent part of an import: read each selected table, plan its columns, stream its rows into a
 * staging table, then swap every staging table in at once.
 */
import { ImportCancelledError, SnapshotFormatError, type ImportedTable } from "../api.js";
import type { TableFigures } from "../../../../convex/contract/executor.js";
import { componentTableName, NameScope } from "../mapping/names.js";
import { TablePlan } from "../mapping/plan.js";
import { detectEncoding, readDocuments, type DocumentBatch } from "../reader/documents.js";
import type { SnapshotTable } from "../reader/layout.js";
import type { ZipReader } from "../reader/zip.js";
import {
  CellError,
  type PriorTable,
  type StagingWriter,
  type SwapTable,
  type TargetConnection,
} from "./connection.js";

/** Rows planned before the staging table is created, so most tables never need a restart. */
const SAMPLE_MAX_ROWS = 2_000;
const SAMPLE_MAX_BYTES = 4 * 1024 * 1024;
/** A table restarts at most this often (each restart widens at least one column; the lattice is short). */
const MAX_RESTARTS = 32;

class WidenedRestart extends Error {}

export interface PipelineContext {
  zip: ZipReader;
  conn: TargetConnection;
  signal: AbortSignal | undefined;
  figures: Map<string, TableFigures>;
  report: (force?: boolean) => void;
}

export function sqlTableNames(
  tables: readonly SnapshotTable[],
  prior: ReadonlyMap<string, PriorTable>,
  conn: TargetConnection,
): Map<string, string> {
  const scope = new NameScope(conn.identifierRules);
  scope.keep("_convex_tables", "_convex_tables");
  scope.keep("_convex_columns", "_convex_columns");
  for (const p of prior.values()) scope.keep(p.qualified, p.sqlTable);
  const names = new Map<string, string>();
  for (const t of tables) {
    const known = prior.get(t.qualified);
    names.set(
      t.qualified,
      known ? known.sqlTable : scope.assign(t.qualified, componentTableName(t.component, t.name)),
    );
  }
  return names;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ImportCancelledError();
}

export async function loadTable(
  ctx: PipelineContext,
  table: SnapshotTable,
  sqlTable: string,
  prior: PriorTable | undefined,
): Promise<SwapTable & { imported: ImportedTable }> {
  const started = performance.now();
  const encoding = await detectEncoding(ctx.zip, table);
  const plan = new TablePlan(ctx.conn.identifierRules, ctx.conn.valueRules, prior?.columns ?? []);
  if (table.isStorage) plan.relaxSystemColumns();
  const fig = ctx.figures.get(table.qualified)!;
  fig.state = "loading";
  ctx.report(true);

  for (let restarts = 0; ; restarts++) {
    let writer: StagingWriter | undefined;
    let docs: AsyncGenerator<DocumentBatch> | undefined;
    try {
      fig.rows = 0;
      fig.bytes = 0;
      docs = readDocuments(ctx.zip, table, encoding);
      const sample: DocumentBatch[] = [];
      let sampleRows = 0;
      let sampleBytes = 0;
      let next = await docs.next();
      while (!next.done && sampleRows < SAMPLE_MAX_ROWS && sampleBytes < SAMPLE_MAX_BYTES) {
        for (const doc of next.value.docs) plan.observe(doc);
        sample.push(next.value);
        sampleRows += next.value.docs.length;
        sampleBytes = next.value.bytesRead;
        next = await docs.next();
      }
      plan.takeAdded();
      await ctx.conn.createStaging(sqlTable, plan.columns);
      writer = await ctx.conn.openWriter(sqlTable, plan.columns);
      for (const batch of sample) await writeBatch(ctx, table, writer, batch, fig);
      while (!next.done) {
        throwIfCancelled(ctx.signal);
        const batch = next.value;
        let widened = false;
        for (const doc of batch.docs) if (plan.observe(doc) === "widened") widened = true;
        if (widened) throw new WidenedRestart();
        await writer.addColumns(plan.takeAdded());
        await writeBatch(ctx, table, writer, batch, fig);
        next = await docs.next();
      }
      await writer.addColumns(plan.materializeNullOnly());
      const rows = await writer.finish();
      writer = undefined;
      throwIfCancelled(ctx.signal);
      await ctx.conn.finalizeStaging(sqlTable, plan.columns);
      fig.state = "loaded";
      fig.rows = rows;
      fig.columns = plan.columns.length;
      fig.seconds = (performance.now() - started) / 1000;
      ctx.report(true);
      return {
        qualified: table.qualified,
        component: table.component,
        convexTable: table.name,
        sqlTable,
        rows,
        columns: plan.columns,
        imported: {
          table: table.qualified,
          component: table.component,
          sqlTable,
          rows,
          columns: plan.columns.length,
          bytes: fig.bytes,
          seconds: fig.seconds,
        },
      };
    } catch (err) {
      await writer?.abort();
      await docs?.return(undefined); // closes the entry's inflate stream before a restart or on failure
      if (err instanceof WidenedRestart && restarts < MAX_RESTARTS) continue;
      fig.state = "failed";
      ctx.report(true);
      throw err;
    }
  }
}

async function writeBatch(
  ctx: PipelineContext,
  table: SnapshotTable,
  writer: StagingWriter,
  batch: DocumentBatch,
  fig: TableFigures,
): Promise<void> {
  try {
    await writer.write(batch.docs, batch.lines);
  } catch (err) {
    if (err instanceof CellError) {
      const { field, docIndex } = err as CellError & { field?: string; docIndex?: number };
      throw new SnapshotFormatError(err.message, table.documentsEntry, batch.lines[docIndex ?? 0], field);
    }
    throw err;
  }
  fig.rows += batch.docs.length;
  fig.bytes = batch.bytesRead;
  ctx.report();
}
