/**
 * Runs `executor/src/service/main.ts` as a real child process (Node 22 + tsx, as `npm run executor` does) so
 * tests can send it signals or kill it outright.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ExecutorProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnExecutor(env: Record<string, string>): Promise<ExecutorProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "executor/src/service/main.ts")],
    {
      cwd: ROOT,
      env: { ...process.env, EXECUTOR_ENV_FILE: path.join(ROOT, ".env.does-not-exist"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the executor did not start:\n${output}`)), 60_000);
    const check = () => {
      const match = /executor listening \{"url":"([^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stderr!.on("data", check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the executor exited during start-up:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}
