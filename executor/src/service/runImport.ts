/**
 * The executor's one dependency on the import engine (executor/src/import): a function with the engine's
 * signature. Tests of the service inject a stand-in here; the service itself loads the real engine lazily, so
 * a configuration error is reported before any database driver is loaded.
 */
import type { ImportOptions, ImportResult } from "../import/api.js";

export type ImportFn = (options: ImportOptions) => Promise<ImportResult>;

export async function loadImportEngine(): Promise<ImportFn> {
  const engine = await import("../import/index.js");
  return engine.importSnapshot;
}
