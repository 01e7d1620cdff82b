/**
 * `npm run warehouse -- [--target <url>] [--schema convex]`: the tables in the warehouse with their row counts,
 * the time of the snapshot they came from and when they were loaded, both as UTC date-times.
 */
import { parseArgs } from "node:util";
import { listLoadedTables } from "../import/inventory.js";
import { DEFAULT_TARGET, describeTarget, parseTarget } from "../import/load/target.js";
import { formatCount, formatSnapshotTs, formatUtc, renderTable } from "./format.js";

export const USAGE = `Usage: npm run warehouse -- [--target <url>] [--schema <name>]

Lists the tables an import loaded into the warehouse: row count, when each was loaded and the time of the
snapshot it came from (both UTC).

Options:
  --target <url>   duckdb:<file>, mssql://…, an ADO string (Server=…;Database=…), postgres://…, or pglite:<dir>
                   (default: WAREHOUSE_TARGET, else ${DEFAULT_TARGET})
  --schema <name>  the schema the tables were imported into (default: convex)
  -h, --help       show this help`;

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      options: {
        target: { type: "string" },
        schema: { type: "string", default: "convex" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const target = values.target ?? (process.env.WAREHOUSE_TARGET || DEFAULT_TARGET);
  let spec;
  try {
    spec = parseTarget(target);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const where = describeTarget(spec);
  const tables = await listLoadedTables(target, values.schema);
  process.stdout.write(
    `${where.kind} ${where.host ?? ""} ${where.database ?? ""}, schema "${values.schema}"\n\n`,
  );
  if (tables.length === 0) {
    process.stdout.write("No tables loaded yet (no _convex_tables in this schema).\n");
    return 0;
  }
  const rows = tables.map((t) => [
    t.table,
    t.sqlTable,
    formatCount(t.rows),
    formatUtc(t.loadedAt),
    formatSnapshotTs(t.snapshotTs),
  ]);
  process.stdout.write(
    renderTable(["table", "sql table", "rows", "loaded at", "snapshot of"], rows, [
      false,
      false,
      true,
      false,
      false,
    ]) + "\n",
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
