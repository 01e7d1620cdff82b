/**
 * The DuckDB preflight (`npm run import -- --check --target duckdb:<file>`): can an import write the file now?
 * The likely failure is another process holding it (the DuckDB CLI, DBeaver, a running import), which DuckDB
 * only reveals by refusing to open it; so the check opens it for writing, as the import would, and closes it.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import { nearestExistingDirectory } from "../localFiles.js";
import { checkLine, type PreflightCheck } from "../preflight.js";
import { DEFAULT_DUCKDB_SETTINGS, openDuckdb, type DuckdbSettings } from "./instance.js";

export async function duckdbPreflight(
  file: string,
  settings: DuckdbSettings = DEFAULT_DUCKDB_SETTINGS,
): Promise<PreflightCheck[]> {
  const size = await stat(file).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined) {
    const parent = await nearestExistingDirectory(path.dirname(file));
    try {
      await access(parent, constants.W_OK);
      return [checkLine("file", "ok", `${file} does not exist yet; the first import creates it`)];
    } catch {
      return [checkLine("file", "fail", `${file} cannot be created: ${parent} is not writable by this user`)];
    }
  }
  const checks = [checkLine("file", "ok", `${file} (${(size / 1024 / 1024).toFixed(1)} MB)`)];
  try {
    const opened = await openDuckdb(file, settings);
    try {
      const reader = await opened.connection.runAndReadAll(`SELECT version() AS v`);
      const version = String(reader.getRowObjectsJS()[0]?.v ?? "");
      checks.push(checkLine("writer", "ok", `no other process has it open; DuckDB ${version}`));
    } finally {
      opened.close();
    }
  } catch (err) {
    checks.push(checkLine("writer", "fail", (err as Error).message));
  }
  return checks;
}
