/** Command-line arguments of `npm run import`. */
import { parseArgs } from "node:util";
import { DEFAULT_TARGET } from "../import/load/target.js";

export const USAGE = `Usage: npm run import -- <snapshot.zip> [options]
       npm run import -- --check [--target …] [--schema …]

Imports a Convex snapshot export into a SQL warehouse, all tables swapped in together.

Options:
  --target <url>       duckdb:<file>, mssql://user:pass@host:1433/db, an ADO string (Server=…;Database=…),
                       postgres://user@host:5432/db, or pglite:<dir>   (default: ${DEFAULT_TARGET})
  --schema <name>      SQL schema for the tables (default: convex)
  --tables <a,b,...>   only these tables (component tables as component/table)
  --include-storage    also import _storage file metadata (file bodies are never imported)
  --snapshot-ts <ns>   snapshot time to record (default: from the file name)
  --check              import nothing: check that a sync into the target can work (connection, login,
                       permissions, …), one line per check; exit 0 when none failed, 1 otherwise
  -h, --help           show this help`;

export interface ImportArgs {
  snapshotPath: string;
  target: string;
  schema: string;
  tables: string[] | null;
  includeStorage: boolean;
  snapshotTs: string | null;
}

/** `--check`: the target preflight instead of an import. */
export interface CheckArgs {
  check: true;
  target: string;
  schema: string;
}

export class UsageError extends Error {}

export function parseImportArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): ImportArgs | CheckArgs | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        target: { type: "string" },
        schema: { type: "string" },
        tables: { type: "string" },
        "include-storage": { type: "boolean" },
        "snapshot-ts": { type: "string" },
        check: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const target = values.target ?? (env.WAREHOUSE_TARGET || DEFAULT_TARGET);
  if (values.check) {
    if (positionals.length > 0) throw new UsageError("--check takes no snapshot ZIP");
    return { check: true, target, schema: values.schema ?? "convex" };
  }
  if (positionals.length !== 1) throw new UsageError("expected exactly one snapshot ZIP path");
  const snapshotTs = values["snapshot-ts"] ?? null;
  if (snapshotTs !== null && !/^\d+$/.test(snapshotTs))
    throw new UsageError("--snapshot-ts must be an integer (ns)");
  const tables = values.tables
    ? values.tables
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean)
    : null;
  return {
    snapshotPath: positionals[0]!,
    target,
    schema: values.schema ?? "convex",
    tables: tables && tables.length > 0 ? tables : null,
    includeStorage: values["include-storage"] ?? false,
    snapshotTs,
  };
}
