/**
 * `npm run warehouse -- [--target <url>] [--schema convex]`: the tables in the warehouse with their row counts,
 * the snapshot they came from and when they were loaded.
 */
import { parseArgs } from "node:util";
import { listLoadedTables } from "../import/inventory.js";
import { DEFAULT_TARGET, describeTarget, parseTarget } from "../import/load/target.js";
import { formatCount, renderTable } from "./format.js";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { target: { type: "string" }, schema: { type: "string", default: "convex" } },
  });
  const target = values.target ?? (process.env.WAREHOUSE_TARGET || DEFAULT_TARGET);
  const where = describeTarget(parseTarget(target));
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
    t.loadedAt.toISOString().replace("T", " ").slice(0, 19) + " UTC",
    t.snapshotTs ?? "",
  ]);
  process.stdout.write(
    renderTable(["table", "sql table", "rows", "loaded at", "snapshot ts"], rows, [
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
