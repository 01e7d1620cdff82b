/**
 * What `npm run dev` starts, decided from the environment and the files the tools write, without side effects
 * (so it can be tested): `convex dev` against the developer's deployment, the dashboard's dev server pointed at
 * it, and the executor calling back to it. Missing configuration becomes a list of problems, each saying what
 * to do.
 */
import path from "node:path";
import { siteUrlFor } from "../convex/lib/httpApiUrls.js";
import { DEFAULT_TARGET } from "../executor/src/import/load/target.js";
import { MIN_SECRET_LENGTH } from "../executor/src/service/config.js";

export const DEV_PARTS = ["convex", "site", "executor"] as const;
export type DevPart = (typeof DEV_PARTS)[number];

export interface DevInputs {
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** `.env.local`, written by `npx convex dev` (CONVEX_DEPLOYMENT, PUBLIC_CONVEX_URL, …); null if absent. */
  envLocal: Record<string, string> | null;
  /** `.env`, the executor's configuration; null if absent. */
  dotEnv: Record<string, string> | null;
  parts: readonly DevPart[];
  root: string;
  /** The Node binary to run the tools with (process.execPath). */
  node: string;
}

export interface DevProcess {
  name: DevPart;
  command: string;
  args: string[];
  /** Added to the inherited environment. */
  env: Record<string, string>;
}

export interface DevPlan {
  processes: DevProcess[];
  problems: string[];
  notes: string[];
}

/** `--only convex,site` → the parts to run, in a stable order. */
export function parseParts(only: string | undefined, skip: string | undefined): DevPart[] {
  const list = (value: string) =>
    value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((name) => {
        if (!(DEV_PARTS as readonly string[]).includes(name))
          throw new Error(`unknown part "${name}" (expected ${DEV_PARTS.join(", ")})`);
        return name as DevPart;
      });
  const chosen = new Set(only ? list(only) : DEV_PARTS);
  for (const name of skip ? list(skip) : []) chosen.delete(name);
  if (chosen.size === 0) throw new Error("nothing to run: --only/--skip leave no part");
  return DEV_PARTS.filter((p) => chosen.has(p));
}

const first = (...values: (string | undefined)[]) => values.find((v) => v !== undefined && v !== "");

export function planDev(inputs: DevInputs): DevPlan {
  const { env, root, node } = inputs;
  const local = inputs.envLocal ?? {};
  const dot = inputs.dotEnv ?? {};
  const problems: string[] = [];
  const notes: string[] = [];
  const processes: DevProcess[] = [];
  const wants = (part: DevPart) => inputs.parts.includes(part);

  const deployment = first(env.CONVEX_DEPLOYMENT, local.CONVEX_DEPLOYMENT, env.CONVEX_DEPLOY_KEY);
  const cloudUrl = first(env.PUBLIC_CONVEX_URL, local.PUBLIC_CONVEX_URL, local.CONVEX_URL, env.CONVEX_URL);
  const siteUrl = first(
    env.CONVEX_SITE_URL,
    dot.CONVEX_SITE_URL,
    local.PUBLIC_CONVEX_SITE_URL,
    local.CONVEX_SITE_URL,
    cloudUrl ? (siteUrlFor(cloudUrl) ?? undefined) : undefined,
  );
  const firstRun =
    "run `npx convex dev` once on its own: it signs you in, creates or picks a deployment and writes .env.local";

  if (wants("convex")) {
    if (!deployment)
      problems.push(`No Convex deployment configured (no CONVEX_DEPLOYMENT in .env.local): ${firstRun}.`);
    processes.push({
      name: "convex",
      command: node,
      args: [path.join(root, "node_modules/convex/bin/main.js"), "dev"],
      env: {},
    });
  }

  if (wants("site")) {
    if (!cloudUrl)
      problems.push(
        `The dashboard needs the deployment URL (PUBLIC_CONVEX_URL, in .env.local): ${firstRun}.`,
      );
    else
      processes.push({
        name: "site",
        command: node,
        args: [path.join(root, "node_modules/vite/bin/vite.js"), "dev"],
        env: { PUBLIC_CONVEX_URL: cloudUrl },
      });
  }

  if (wants("executor")) {
    const secret = first(env.EXECUTOR_SECRET, dot.EXECUTOR_SECRET);
    if (!secret)
      problems.push(
        `EXECUTOR_SECRET is not set: put a random value of at least ${MIN_SECRET_LENGTH} characters in .env ` +
          "(EXECUTOR_SECRET=…) and the same on the deployment: `npx convex env set EXECUTOR_SECRET <value>`.",
      );
    else if (secret.length < MIN_SECRET_LENGTH)
      problems.push(
        `EXECUTOR_SECRET is ${secret.length} characters long; it must be at least ${MIN_SECRET_LENGTH}.`,
      );
    // Without any deployment URL the first-run advice above already covers it.
    const explained = !cloudUrl && (wants("convex") || wants("site"));
    if (!siteUrl && !explained)
      problems.push(
        "The executor needs the deployment's HTTP actions URL: set CONVEX_SITE_URL=https://<name>.convex.site in .env.",
      );
    const extra: Record<string, string> = {};
    if (siteUrl && !first(env.CONVEX_SITE_URL, dot.CONVEX_SITE_URL)) extra.CONVEX_SITE_URL = siteUrl;
    if (!first(env.EXECUTOR_TARGET, dot.EXECUTOR_TARGET)) {
      extra.EXECUTOR_TARGET = DEFAULT_TARGET;
      notes.push(
        `EXECUTOR_TARGET is not set: importing into the embedded DuckDB warehouse ${DEFAULT_TARGET.slice("duckdb:".length)} ` +
          "(set EXECUTOR_TARGET in .env for SQL Server or PostgreSQL).",
      );
    }
    processes.push({
      name: "executor",
      command: node,
      args: ["--import", "tsx", path.join(root, "executor/src/service/main.ts")],
      env: extra,
    });
    notes.push(
      "For jobs to reach this executor, the deployment needs EXECUTOR_URL (a public URL that reaches port " +
        `${first(env.EXECUTOR_PORT, dot.EXECUTOR_PORT) ?? "8787"}, e.g. through \`npm run tunnel\`) and the same ` +
        "EXECUTOR_SECRET; see docs/executor.md.",
    );
  }
  return { processes, problems, notes };
}
