/**
 * `npm run incremental -- --deployment <url> [--target <url>] [--schema convex] [--start-at <ns>]`: one incremental
 * run (docs/incremental.md) from the feed position stored in the warehouse, by hand. The deploy key comes from
 * CONVEX_DEPLOY_KEY (never from the command line, where other users and shell history would see it).
 */
import { parseArgs } from "node:util";
import { DEFAULT_TARGET } from "../import/load/target.js";
import { FeedClient } from "../incremental/feedClient.js";
import { openChangeTarget } from "../incremental/openTarget.js";
import { runIncremental, startAfterSnapshot } from "../incremental/run.js";
import { formatCount, renderTable } from "./format.js";

export const USAGE = `Usage: CONVEX_DEPLOY_KEY=… npm run incremental -- --deployment <url> [options]

Applies the source deployment's changes since the warehouse's stored feed position (Convex's data sync API, a
paid-plan feature), each page in one transaction, until the warehouse is up to date.

Options:
  --deployment <url>  the source deployment, e.g. https://happy-animal-123.convex.cloud
  --target <url>      duckdb:<file>, postgres://… or pglite:<dir> (default: WAREHOUSE_TARGET, else ${DEFAULT_TARGET})
  --schema <name>     the warehouse schema (default: convex)
  --start-at <ns>     first store a feed position at this snapshot timestamp (the _convex_tables snapshot_ts of
                      the snapshot just imported into the schema), then run
  -h, --help          show this help

Exit status: 0 up to date, 3 a snapshot sync is needed (the reason is printed), 1 failed, 2 usage error.`;

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        deployment: { type: "string" },
        target: { type: "string" },
        schema: { type: "string", default: "convex" },
        "start-at": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    out(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const deployKey = env.CONVEX_DEPLOY_KEY;
  const startAt = values["start-at"];
  if (!values.deployment || !deployKey || (startAt !== undefined && !/^\d{1,19}$/.test(startAt))) {
    out(
      `error: ${!values.deployment ? "--deployment is required" : !deployKey ? "set CONVEX_DEPLOY_KEY" : "--start-at takes a timestamp in ns"}\n\n${USAGE}\n`,
    );
    return 2;
  }
  const feed = new FeedClient({ deploymentUrl: values.deployment, deployKey });
  try {
    const target = await openChangeTarget(
      values.target ?? (env.WAREHOUSE_TARGET || DEFAULT_TARGET),
      values.schema,
    );
    try {
      if (startAt !== undefined) await startAfterSnapshot(target, feed, BigInt(startAt));
      const result = await runIncremental({ target, feed });
      if (result.tables.length > 0) {
        const rows = result.tables.map((t) => [
          t.table,
          formatCount(t.inserted),
          formatCount(t.updated),
          formatCount(t.deleted),
          t.truncated ? "yes" : "",
        ]);
        out(
          renderTable(["table", "inserted", "updated", "deleted", "truncated"], rows, [
            false,
            true,
            true,
            true,
            false,
          ]) + "\n",
        );
      }
      const lag = result.lagMs === null ? "unknown" : `${(result.lagMs / 1000).toFixed(1)} s`;
      out(`${result.pages} pages in ${result.transactions} transactions; ${result.outcome}; lag ${lag}\n`);
      if (result.outcome === "needsSnapshot") {
        out(`a snapshot sync is needed: ${result.reason}\n`);
        return 3;
      }
      return 0;
    } finally {
      await target.close();
    }
  } catch (err) {
    out(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

if (import.meta.filename === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2), process.env, (text) => process.stdout.write(text));
}
