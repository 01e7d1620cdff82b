/**
 * The child processes of apply.crash.test.ts, made cheap enough for a kill point at every statement: crash.child.ts
 * is bundled once per test run (esbuild, with node_modules left external, so each child skips tsx's TypeScript
 * hooks) and the next child is started while the current one runs, so its module loading overlaps the run and the
 * checks that follow. A started child loads its modules, then waits for its kill point on stdin before it opens
 * the warehouse: two children never hold the target at once.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const SOURCE = path.join(import.meta.dirname, "crash.child.ts");

export interface CrashRun {
  output: string;
  signal: NodeJS.Signals | null;
}

interface Started {
  process: ChildProcessByStdio<Writable, Readable, Readable>;
  exited: Promise<CrashRun>;
}

export class CrashChildren {
  /** The child that runs next, loading its modules meanwhile. */
  private next: Started;

  private constructor(
    private readonly dir: string,
    private readonly bundle: string,
    private readonly args: string[],
  ) {
    this.next = this.start();
  }

  /** Children running `crash.child.ts <target> <schema> <feed url> <deploy key>`. */
  static async create(args: string[]): Promise<CrashChildren> {
    // Inside the checkout, so the bundle's bare imports resolve to this node_modules.
    const cache = path.join(ROOT, "node_modules", ".cache");
    await mkdir(cache, { recursive: true });
    const dir = await mkdtemp(path.join(cache, "crash-child-"));
    const bundle = path.join(dir, "crash.child.mjs");
    await build({
      entryPoints: [SOURCE],
      outfile: bundle,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      packages: "external",
      logLevel: "warning",
    });
    return new CrashChildren(dir, bundle, args);
  }

  private start(): Started {
    const child = spawn(process.execPath, [this.bundle, ...this.args], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      // Node's on-disk compile cache: each child parses the same node_modules code again otherwise.
      env: { ...process.env, NODE_COMPILE_CACHE: path.join(this.dir, "compile-cache") },
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<CrashRun>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (_code, signal) => resolve({ output, signal }));
    });
    // Awaited later, by run or close: a failed spawn is no unhandled rejection meanwhile.
    exited.catch(() => {});
    return { process: child, exited };
  }

  /** One run that dies just before statement `killAt` (a number, `sql:<prefix>` or 0 = never). */
  run(killAt: string): Promise<CrashRun> {
    const current = this.next;
    current.process.stdin.on("error", () => {});
    current.process.stdin.end(`${killAt}\n`);
    this.next = this.start();
    return current.exited;
  }

  /** Lets the unused child exit (it does when stdin closes without a kill point) and removes the bundle. */
  async close(): Promise<void> {
    this.next.process.stdin.on("error", () => {});
    this.next.process.stdin.end();
    await this.next.exited.catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
