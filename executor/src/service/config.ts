/**
 * The executor's configuration: environment variables (and a `.env` file beside them), validated with zod at
 * start-up. Every missing or invalid setting is reported at once, each with what to put there.
 *
 *   const config = loadConfig(withDotEnv(process.env, ".env"));
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";
import { DEFAULT_DUCKDB_SETTINGS, type DuckdbSettings } from "../import/load/duckdb/instance.js";
import { DEFAULT_TARGET, describeTarget, parseTarget, type TargetSpec } from "../import/load/target.js";

export const MIN_SECRET_LENGTH = 32;

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Environment variable → schema. The descriptions become the error hints. */
const envSchema = z.object({
  EXECUTOR_SECRET: z
    .string({ error: "missing" })
    .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`)
    .describe("the shared signing secret, the same value as in the Convex deployment's environment"),
  CONVEX_SITE_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .describe("the control plane's HTTP actions URL, e.g. https://happy-animal-123.convex.site"),
  EXECUTOR_TARGET: z
    .string()
    .min(1)
    .default(DEFAULT_TARGET)
    .describe(
      "where to import: duckdb:<file>, mssql://user:pass@host:1433/db, Server=…;Database=…, postgres://…, or pglite:<dir>",
    ),
  EXECUTOR_DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, "must be a size such as 128MB or 1GB")
    .default(DEFAULT_DUCKDB_SETTINGS.memoryLimit)
    .describe(
      "DuckDB target: its buffer memory (it spills to disk beyond it); the process needs about 150 MB more",
    ),
  EXECUTOR_DUCKDB_THREADS: intFrom(1, 64)
    .default(DEFAULT_DUCKDB_SETTINGS.threads)
    .describe("DuckDB target: its worker threads"),
  EXECUTOR_PORT: intFrom(0, 65535)
    .default(8787)
    .describe("the port the tunnel forwards to (0: any free port, for tests)"),
  EXECUTOR_BIND: z
    .string()
    .min(1)
    .default("127.0.0.1")
    .describe("the address to listen on; keep 127.0.0.1 so only the tunnel reaches it"),
  EXECUTOR_DATA_DIR: z
    .string()
    .min(1)
    .default(path.join(".data", "executor"))
    .describe("directory for downloads, the job journal and the callback outbox"),
  EXECUTOR_CONCURRENCY: intFrom(1, 8).default(1).describe("jobs that may run on the target at the same time"),
  EXECUTOR_ID: z.string().min(1).max(128).default(os.hostname()).describe("this executor's name in Convex"),
  EXECUTOR_KEEP_FAILED_HOURS: z.coerce
    .number()
    .min(0)
    .default(24)
    .describe("hours to keep a snapshot ZIP after a failed job (for inspection)"),
  EXECUTOR_HEARTBEAT_SECONDS: intFrom(5, 3600).default(60).describe("seconds between heartbeats"),
  EXECUTOR_PROGRESS_SECONDS: z.coerce
    .number()
    .min(0.1)
    .max(300)
    .default(2)
    .describe("seconds between progress callbacks"),
  EXECUTOR_MAX_BODY_BYTES: intFrom(1024, 64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe("request body limit"),
  EXECUTOR_SHUTDOWN_GRACE_SECONDS: intFrom(0, 3600)
    .default(30)
    .describe("on SIGINT/SIGTERM, how long a running job may take to finish before it is cancelled"),
});

export interface ExecutorConfig {
  secret: string;
  convexSiteUrl: string;
  target: string;
  targetSpec: TargetSpec;
  /** Safe to show and to send to Convex: no user names or passwords. */
  targetDescription: ReturnType<typeof describeTarget>;
  /** Memory limit and threads when the target is a DuckDB file. */
  duckdb: DuckdbSettings;
  port: number;
  bindAddress: string;
  dataDir: string;
  concurrency: number;
  executorId: string;
  keepFailedZipMs: number;
  heartbeatIntervalMs: number;
  progressIntervalMs: number;
  maxBodyBytes: number;
  shutdownGraceMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`the executor's configuration is incomplete:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** `env` plus the variables of `dotEnvPath` that `env` does not set already (the real environment wins). */
export function withDotEnv(
  env: Record<string, string | undefined>,
  dotEnvPath: string,
): Record<string, string | undefined> {
  if (!existsSync(dotEnvPath)) return env;
  const fromFile = parseEnv(readFileSync(dotEnvPath, "utf8"));
  return { ...fromFile, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) };
}

export function loadConfig(env: Record<string, string | undefined>): ExecutorConfig {
  // Empty strings count as unset, so `EXECUTOR_PORT=` in a .env falls back to the default.
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(input);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "?");
      const hint = envSchema.shape[name as keyof typeof envSchema.shape]?.description;
      problems.push(`${name}: ${issue.message}${hint ? ` (${hint})` : ""}`);
    }
  }
  let targetSpec: TargetSpec | undefined;
  try {
    targetSpec = parseTarget(
      typeof input.EXECUTOR_TARGET === "string" ? input.EXECUTOR_TARGET : DEFAULT_TARGET,
    );
  } catch (error) {
    problems.push(`EXECUTOR_TARGET: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!parsed.success || !targetSpec || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    secret: e.EXECUTOR_SECRET,
    convexSiteUrl: e.CONVEX_SITE_URL.replace(/\/+$/, ""),
    target: e.EXECUTOR_TARGET,
    targetSpec,
    targetDescription: describeTarget(targetSpec),
    duckdb: { memoryLimit: e.EXECUTOR_DUCKDB_MEMORY_LIMIT, threads: e.EXECUTOR_DUCKDB_THREADS },
    port: e.EXECUTOR_PORT,
    bindAddress: e.EXECUTOR_BIND,
    dataDir: path.resolve(e.EXECUTOR_DATA_DIR),
    concurrency: e.EXECUTOR_CONCURRENCY,
    executorId: e.EXECUTOR_ID,
    keepFailedZipMs: Math.round(e.EXECUTOR_KEEP_FAILED_HOURS * 3_600_000),
    heartbeatIntervalMs: e.EXECUTOR_HEARTBEAT_SECONDS * 1000,
    progressIntervalMs: Math.round(e.EXECUTOR_PROGRESS_SECONDS * 1000),
    maxBodyBytes: e.EXECUTOR_MAX_BODY_BYTES,
    shutdownGraceMs: e.EXECUTOR_SHUTDOWN_GRACE_SECONDS * 1000,
  };
}
