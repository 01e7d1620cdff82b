/**
 * The import engine's public surface: what the CLI (`npm run import`) and the executor service call.
 *
 *   const result = await importSnapshot({ snapshotPath, target: "duckdb:./.data/warehouse.duckdb", onProgress, signal });
 *
 * Guarantee: when the promise rejects (bad input, lost connection, cancellation) every target table is exactly
 * as it was; when it resolves, every imported table shows the new snapshot, all swapped in one transaction.
 */
import type { TableFigures, TargetKind } from "../../../convex/contract/executor.js";
import type { DuckdbSettings } from "./load/duckdb/instance.js";

export type { DuckdbSettings };

export interface ImportOptions {
  /** Path of the snapshot ZIP on local disk. */
  snapshotPath: string;
  /** `duckdb:<file>`, `mssql://…`, an ADO-style `Server=…;Database=…` string, `postgres://…`, or `pglite:<directory>`. */
  target: string;
  /** Memory limit and threads of an embedded DuckDB warehouse (default: load/duckdb/instance.ts). */
  duckdb?: DuckdbSettings;
  /** SQL schema that receives the tables. Default "convex". */
  schema?: string;
  /** Qualified Convex table names (`table`, `component/table`) to import; undefined or null = all. */
  tables?: readonly string[] | null;
  /** Snapshot timestamp (ns since epoch, decimal) recorded in `_convex_tables`; default: from the file name. */
  snapshotTs?: string | null;
  /** Import `_storage` file metadata as a table (file bodies are never imported). */
  includeStorage?: boolean;
  /** Called at most every `progressIntervalMs` while loading, and once per table state change. */
  onProgress?: (progress: ImportProgress) => void;
  progressIntervalMs?: number;
  /** Aborting rejects with an ImportCancelledError after rolling back; the target is left as it was. */
  signal?: AbortSignal;
}

export type ImportPhase = "reading" | "loading" | "swapping" | "done";

export interface ImportProgress {
  phase: ImportPhase;
  tables: TableFigures[];
}

export interface ImportedTable {
  /** Qualified Convex name, e.g. `messages` or `workpool/pendingStart`. */
  table: string;
  component: string;
  sqlTable: string;
  rows: number;
  columns: number;
  bytes: number;
  seconds: number;
}

export interface ImportResult {
  targetKind: TargetKind;
  schema: string;
  /** Snapshot timestamp (ns since epoch) if the file name or caller told it; otherwise null. */
  snapshotTs: string | null;
  tables: ImportedTable[];
  totalRows: number;
  durationMs: number;
}

/** Where bad input was found: always names the ZIP entry, and the line and field when known. */
export class SnapshotFormatError extends Error {
  constructor(
    message: string,
    readonly entry: string,
    readonly line?: number,
    readonly field?: string,
  ) {
    super(
      `${entry}${line !== undefined ? ` line ${line}` : ""}${field ? ` field ${field}` : ""}: ${message}`,
    );
    this.name = "SnapshotFormatError";
  }
  get where(): string {
    return `${this.entry}${this.line !== undefined ? ` line ${this.line}` : ""}${this.field ? ` field ${this.field}` : ""}`;
  }
}

export class ImportCancelledError extends Error {
  constructor() {
    super("import cancelled; the target was left unchanged");
    this.name = "ImportCancelledError";
  }
}
