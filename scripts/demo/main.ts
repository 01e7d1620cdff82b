/**
 * `npm run demo`: the whole system on this machine, with no account and no internet. Prints where to sign
 * in; Ctrl-C stops everything.
 *
 *   npm run demo -- [--dashboard-port 4173] [--cloud-port 3210] [--site-port 3211] [--executor-port 8787]
 *                   [--source-port 3220] [--data-dir .data] [--activity-seconds 5]
 *
 * `--activity-seconds`: how often the shop commits a transaction (0: never).
 */
import { parseArgs } from "node:util";
import { banner } from "./banner.js";
import { DEFAULT_ACTIVITY_MS, startDemo } from "./demo.js";

const DEFAULT_PORTS = { dashboard: 4173, cloud: 3210, site: 3211, executor: 8787, source: 3220 };

function parsePort(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--${flag}: "${value}" is not a port number`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "dashboard-port": { type: "string" },
      "cloud-port": { type: "string" },
      "site-port": { type: "string" },
      "executor-port": { type: "string" },
      "source-port": { type: "string" },
      "data-dir": { type: "string" },
      "activity-seconds": { type: "string" },
    },
  });
  const activitySeconds = Number(values["activity-seconds"] ?? DEFAULT_ACTIVITY_MS / 1000);
  if (!Number.isFinite(activitySeconds) || activitySeconds < 0)
    throw new Error(
      `--activity-seconds: "${values["activity-seconds"]}" is not a number of seconds (0 = none)`,
    );
  const demo = await startDemo({
    ports: {
      dashboard: parsePort("dashboard-port", values["dashboard-port"], DEFAULT_PORTS.dashboard),
      cloud: parsePort("cloud-port", values["cloud-port"], DEFAULT_PORTS.cloud),
      site: parsePort("site-port", values["site-port"], DEFAULT_PORTS.site),
      executor: parsePort("executor-port", values["executor-port"], DEFAULT_PORTS.executor),
      source: parsePort("source-port", values["source-port"], DEFAULT_PORTS.source),
    },
    ...(values["data-dir"] ? { dataDir: values["data-dir"] } : {}),
    activityEveryMs: Math.round(activitySeconds * 1000),
  });
  process.stdout.write(banner(demo));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the executor, the dashboard and the control plane…\n`);
    demo.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stopping failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`The demo could not start: ${message}\n`);
  if (/EADDRINUSE/.test(message))
    process.stderr.write(
      "A port is taken: pick others with --dashboard-port, --cloud-port, … (0 = any free port).\n",
    );
  process.exit(1);
});
