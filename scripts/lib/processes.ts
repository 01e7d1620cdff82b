/**
 * Child processes for `npm run demo` and `npm run dev`: output prefixed line by line with the process's name, and a
 * stop that asks politely (SIGTERM, or the platform's equivalent) and insists after a grace period.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves with the first output line matching `pattern` (rejects if the process exits first). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(graceMs?: number): Promise<void>;
}

export interface StartChildOptions extends Pick<SpawnOptions, "cwd" | "env"> {
  name: string;
  command: string;
  args: string[];
  /** Where the prefixed output goes; default this process's stdout. */
  output?: Writable;
  /** Own process group (POSIX), so a terminal's Ctrl-C reaches only the parent, which stops the child. */
  detached?: boolean;
}

function eachLine(input: Readable, onLine: (line: string) => void): void {
  createInterface({ input, crlfDelay: Infinity }).on("line", onLine);
}

export function startChild(options: StartChildOptions): Child {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
    windowsHide: true,
  });
  const output = options.output ?? process.stdout;
  const prefix = `[${options.name}] `;
  const watchers = new Set<(line: string) => void>();
  const onLine = (line: string) => {
    output.write(prefix + line + "\n");
    for (const watcher of watchers) watcher(line);
  };
  eachLine(child.stdout!, onLine);
  eachLine(child.stderr!, onLine);
  // Last resort when this process exits without stopping the child (a crash): don't leave it orphaned.
  const killOnExit = () => child.kill();
  process.once("exit", killOnExit);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      process.off("exit", killOnExit);
      resolve(code);
    });
    child.once("error", (error) => {
      output.write(`${prefix}could not start ${options.command}: ${error.message}\n`);
      resolve(-1);
    });
  });

  return {
    name: options.name,
    process: child,
    exited,
    waitForLine(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const done = () => {
          watchers.delete(watch);
          clearTimeout(timer);
        };
        const watch = (line: string) => {
          const match = pattern.exec(line);
          if (match) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${options.name}: no line matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        watchers.add(watch);
        void exited.then((code) => {
          if (!watchers.has(watch)) return;
          done();
          reject(new Error(`${options.name} exited (code ${code}) before printing ${pattern}`));
        });
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port that was free a moment ago (for a child that must be told its port before it starts). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
