/**
 * importSnapshot: a Convex snapshot ZIP into a SQL warehouse, atomically. See ./api.ts for the contract.
 */
import path from "node:path";
import type { TableFigures } from "../../../convex/contract/executor.js";
import {
  ImportCancelledError,
  SnapshotFormatError,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
} from "./api.js";
import { openTarget } from "./load/open.js";
import { loadTable, sqlTableNames, type PipelineContext } from "./load/pipeline.js";
import {
  checkTablesIndex,
  discoverTables,
  parseTablesIndex,
  selectTables,
  tablesIndexEntries,
} from "./reader/layout.js";
import { ZipReader } from "./reader/zip.js";
import { targetSchemaName } from "../../../convex/contract/executor.js";

export * from "./api.js";
export { parseTarget, describeTarget, DEFAULT_TARGET } from "./load/target.js";
export { DEFAULT_DUCKDB_SETTINGS } from "./load/duckdb/instance.js";

export const DEFAULT_SCHEMA = "convex";

/** `snapshot_<deployment>_<ts>.zip` is how Convex names downloads; <ts> is the snapshot time in ns. */
export function snapshotTsFromFileName(file: string): string | null {
  return /_(\d{16,20})\.zip$/i.exec(path.basename(file))?.[1] ?? null;
}

export async function importSnapshot(options: ImportOptions): Promise<ImportResult> {
  const started = performance.now();
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const schemaCheck = targetSchemaName.safeParse(schema);
  if (!schemaCheck.success)
    throw new Error(`invalid schema name "${schema}": ${schemaCheck.error.issues[0]?.message}`);
  if (options.signal?.aborted) throw new ImportCancelledError();

  const zip = await ZipReader.open(options.snapshotPath);
  try {
    const all = discoverTables(zip.entries, { includeStorage: options.includeStorage ?? false });
    const indexes = new Map<string, { entry: string; names: string[] }>();
    for (const [component, entry] of tablesIndexEntries(zip.entries)) {
      indexes.set(component, { entry, names: parseTablesIndex(await zip.readSmallEntry(entry), entry) });
    }
    checkTablesIndex(all, indexes);
    if (all.length === 0 && indexes.size === 0) {
      throw new SnapshotFormatError(
        "no <table>/documents.jsonl entries: not a Convex snapshot export",
        zip.fileName,
      );
    }
    const tables = selectTables(all, options.tables);

    const figures = new Map<string, TableFigures>(
      tables.map((t) => [
        t.qualified,
        { table: t.qualified, state: "pending", rows: 0, bytes: 0, totalBytes: t.uncompressedSize },
      ]),
    );
    let phase: ImportProgress["phase"] = "loading";
    let lastReport = 0;
    const interval = options.progressIntervalMs ?? 250;
    const report = (force = false) => {
      if (!options.onProgress) return;
      const now = performance.now();
      if (!force && now - lastReport < interval) return;
      lastReport = now;
      options.onProgress({ phase, tables: [...figures.values()].map((f) => ({ ...f })) });
    };

    const conn = await openTarget(options.target, { duckdb: options.duckdb });
    try {
      await conn.begin(schema);
      const prior = await conn.readPrior();
      const names = sqlTableNames(tables, prior, conn);
      for (const t of tables) figures.get(t.qualified)!.sqlTable = names.get(t.qualified)!;
      report(true);

      const ctx: PipelineContext = { zip, conn, signal: options.signal, figures, report };
      const loaded = [];
      for (const t of tables) {
        if (options.signal?.aborted) throw new ImportCancelledError();
        loaded.push(await loadTable(ctx, t, names.get(t.qualified)!, prior.get(t.qualified)));
      }
      if (options.signal?.aborted) throw new ImportCancelledError();

      phase = "swapping";
      report(true);
      const snapshotTs = options.snapshotTs ?? snapshotTsFromFileName(options.snapshotPath);
      await conn.swap(loaded, { snapshotTs, loadedAt: new Date() });
      for (const f of figures.values()) f.state = "swapped";
      phase = "done";
      report(true);

      const result: ImportResult = {
        targetKind: conn.kind,
        schema,
        snapshotTs,
        tables: loaded.map((l) => l.imported),
        totalRows: loaded.reduce((n, l) => n + l.rows, 0),
        durationMs: Math.round(performance.now() - started),
      };
      return result;
    } finally {
      await conn.cleanup();
      await conn.close();
    }
  } finally {
    zip.close();
  }
}
