/**
 * `npm run import -- <snapshot.zip> [--target …] [--schema …] [--tables a,b]`
 * Exit codes: 0 everything loaded; 1 import failed (target unchanged); 2 usage error (also a snapshot file
 * that does not exist or is not a file); 130 interrupted.
 * `npm run import -- --check [--target …]`: the target preflight; 0 no check failed, 1 one did, 2 usage error.
 */
import {
  describeTarget,
  importSnapshot,
  ImportCancelledError,
  parseTarget,
  SnapshotFormatError,
} from "../import/index.js";
import { formatPreflight, preflightExitCode, preflightTarget } from "../import/load/preflight.js";
import { classifyTargetError } from "../import/load/targetErrors.js";
import { parseImportArgs, USAGE, UsageError } from "./args.js";
import { countOf, formatBytes, formatCount, renderTable } from "./format.js";
import { snapshotFileProblem } from "./snapshotFile.js";
import { ProgressPrinter } from "./progress.js";

async function main(): Promise<number> {
  let args;
  try {
    args = parseImportArgs(process.argv.slice(2), process.env);
    if (args !== "help") parseTarget(args.target);
  } catch (err) {
    if (err instanceof UsageError || (err as Error).name === "TargetUrlError") {
      process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (args === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ("check" in args) {
    const spec = parseTarget(args.target);
    const where = describeTarget(spec);
    process.stdout.write(
      `Checking ${where.kind} ${where.host ?? ""} ${where.database ?? ""} for imports into schema "${args.schema}"\n`,
    );
    const checks = await preflightTarget(spec, args.schema);
    process.stdout.write(`${formatPreflight(checks)}\n`);
    return preflightExitCode(checks);
  }

  // The file is checked before the warehouse is opened: a typo should not cost a connection or a lock.
  const fileProblem = await snapshotFileProblem(args.snapshotPath);
  if (fileProblem) {
    process.stderr.write(`error: ${fileProblem}\nNothing was changed in the target.\n`);
    return 2;
  }

  const where = describeTarget(parseTarget(args.target));
  process.stdout.write(
    `Importing ${args.snapshotPath} into ${where.kind} ${where.host ?? ""} ${where.database ?? ""}, schema "${args.schema}"\n`,
  );
  const printer = new ProgressPrinter(process.stdout);
  const controller = new AbortController();
  const onSignal = () => {
    printer.clearLive();
    process.stderr.write("\nInterrupted: rolling back; the target stays as it was…\n");
    controller.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    const result = await importSnapshot({
      snapshotPath: args.snapshotPath,
      target: args.target,
      schema: args.schema,
      tables: args.tables,
      includeStorage: args.includeStorage,
      snapshotTs: args.snapshotTs,
      onProgress: (p) => printer.update(p),
      signal: controller.signal,
    });
    printer.clearLive();
    const rows = result.tables.map((t) => [
      t.table,
      t.sqlTable,
      formatCount(t.rows),
      String(t.columns),
      formatBytes(t.bytes),
      t.seconds.toFixed(2),
    ]);
    process.stdout.write(
      `\n${renderTable(["table", "sql table", "rows", "columns", "size", "seconds"], rows, [false, false, true, true, true, true])}\n\n`,
    );
    process.stdout.write(
      `Loaded ${countOf(result.totalRows, "row")} in ${countOf(result.tables.length, "table")} in ${(result.durationMs / 1000).toFixed(1)} s.\n`,
    );
    return 0;
  } catch (err) {
    printer.clearLive();
    if (err instanceof ImportCancelledError) {
      process.stderr.write(`${err.message}\n`);
      return 130;
    }
    const e = err as Error;
    const prefix = err instanceof SnapshotFormatError ? "bad snapshot" : "import failed";
    process.stderr.write(`error: ${prefix}: ${e.message}\nNothing was changed in the target.\n`);
    const target = classifyTargetError(err);
    if (target) process.stderr.write(`${target.explanation} (${target.reference})\n`);
    if (process.env.DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
