/** What `npm run demo` prints once everything runs: where to sign in, the trigger API, the warehouse. */
import path from "node:path";
import { curlTrigger, triggerUrl } from "../../convex/lib/httpApiUrls.js";
import { DEMO_APP, type Demo } from "./demo.js";

export function banner(demo: Demo): string {
  const absolute = demo.warehouseTarget.slice("duckdb:".length);
  const relative = path.relative(process.cwd(), absolute);
  const warehouseFile = relative.startsWith("..") || path.isAbsolute(relative) ? absolute : relative;
  return [
    "",
    "The demo is running. Nothing here needs an account or the internet.",
    "",
    `  Dashboard        ${demo.dashboardUrl}`,
    `  Sign in as       ${demo.admin.email} / ${demo.admin.password}`,
    "",
    `  The app "Demo Shop" is set up in mode auto and syncs every minute: first a snapshot, then the change feed.`,
    demo.activityEveryMs > 0
      ? `  The shop commits a transaction every ${demo.activityEveryMs / 1000} s (orders, shipments, cancellations, reviews); open`
      : "  The shop's activity is off (--activity-seconds 0), so the runs find nothing to apply; open",
    "  Apps → Demo Shop to see each run's changes and the lag, or press Sync Now. To add it again by hand,",
    "  use New app with:",
    `    Deployment URL ${demo.source.url}`,
    `    Deploy key     ${demo.source.deployKey}`,
    "",
    `  Warehouse        DuckDB file ${warehouseFile} (schema "${demo.schema}"); row counts (snapshots) and changes`,
    "                   (incremental runs) are printed here after each sync; read it between syncs (or after",
    "                   Ctrl-C) with:",
    `    npm run warehouse -- --target duckdb:${warehouseFile} --schema ${demo.schema}`,
    `                   or open it in the DuckDB CLI: duckdb -readonly ${warehouseFile}`,
    "",
    `  Trigger API      POST ${triggerUrl(demo.siteUrl, DEMO_APP.slug)}`,
    "                   with an API token made in Settings → API tokens:",
    "    export SYNC_TOKEN=<the token>",
    `    ${curlTrigger(demo.siteUrl, DEMO_APP.slug)}`,
    "",
    `  Control plane    ${demo.cloudUrl} (convex/ hosted in this process, data in memory; the dashboard's`,
    `                   connection), its HTTP routes on ${demo.siteUrl} (.convex.site in a real deployment)`,
    `  Executor         ${demo.executorUrl} (the real one, output prefixed [executor])`,
    "",
    "Press Ctrl-C to stop.",
    "",
  ].join("\n");
}
