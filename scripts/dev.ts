/**
 * `npm run dev`: the real thing on your own Convex deployment — `convex dev` (pushes convex/ on every change),
 * the dashboard's dev server and the executor, with output prefixed [convex] / [site] / [executor]. Ctrl-C,
 * or any of them exiting, stops all three.
 *
 *   npm run dev -- [--only convex,site] [--skip executor]
 *
 * First time: `npx convex dev` on its own (sign-in, pick a deployment; it writes .env.local), and the
 * executor's .env (EXECUTOR_SECRET, optionally EXECUTOR_TARGET). See the README ("Develop against your own deployment") and docs/executor.md.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs, parseEnv } from "node:util";
import { startChild, type Child } from "./lib/processes.js";
import { parseParts, planDev } from "./devPlan.js";

const ROOT = path.resolve(import.meta.dirname, "..");

function readEnvFile(file: string): Record<string, string> | null {
  if (!existsSync(file)) return null;
  return Object.fromEntries(
    Object.entries(parseEnv(readFileSync(file, "utf8"))).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: "string" }, skip: { type: "string" } } });
  const plan = planDev({
    env: process.env,
    envLocal: readEnvFile(path.join(ROOT, ".env.local")),
    dotEnv: readEnvFile(path.join(ROOT, ".env")),
    parts: parseParts(values.only, values.skip),
    root: ROOT,
    node: process.execPath,
  });
  if (plan.problems.length > 0) {
    process.stderr.write(
      `npm run dev cannot start yet:\n${plan.problems.map((p) => `  - ${p}`).join("\n")}\n` +
        "Without a Convex account, `npm run demo` runs everything locally.\n",
    );
    return 2;
  }
  for (const note of plan.notes) process.stdout.write(`note: ${note}\n`);

  const children: Child[] = plan.processes.map((p) =>
    startChild({
      name: p.name,
      command: p.command,
      args: p.args,
      cwd: ROOT,
      env: { ...process.env, ...p.env },
      // Own process groups on POSIX: Ctrl-C reaches this script, which stops each child once.
      detached: process.platform !== "win32",
    }),
  );

  let stopping: Promise<void> | null = null;
  const stopAll = (why: string) =>
    (stopping ??= (async () => {
      process.stdout.write(`\n${why}: stopping ${children.map((c) => c.name).join(", ")}…\n`);
      await Promise.all(children.map((c) => c.stop()));
    })());
  process.on("SIGINT", () => void stopAll("SIGINT"));
  process.on("SIGTERM", () => void stopAll("SIGTERM"));

  const firstExit = await Promise.race(children.map(async (c) => ({ name: c.name, code: await c.exited })));
  const bySignal = stopping !== null;
  await stopAll(`${firstExit.name} exited with code ${firstExit.code}`);
  return bySignal ? 0 : (firstExit.code ?? 1);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm run dev: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
