/**
 * The executor's one dependency on the import engine (executor/src/import): a function with the engine's
 * signature. Tests of the service inject a stand-in here; the service itself loads the real engine lazily, so
 * a configuration error is reported before any database driver is loaded.
 */
import type { DuckdbSettings, ImportOptions, ImportResult } from "../import/api.js";

export type ImportFn = (options: ImportOptions) => Promise<ImportResult>;

/** `duckdb`: the configured limits of an embedded DuckDB target, applied to every import. */
export async function loadImportEngine(duckdb?: DuckdbSettings): Promise<ImportFn> {
  const engine = await import("../import/index.js");
  return (options) => engine.importSnapshot({ ...(duckdb ? { duckdb } : {}), ...options });
}
