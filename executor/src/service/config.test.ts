import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, withDotEnv } from "./config.js";

const SECRET = "s".repeat(40);
const minimal = {
  EXECUTOR_SECRET: SECRET,
  CONVEX_SITE_URL: "https://happy-animal-123.convex.site/",
  EXECUTOR_TARGET: "postgres://warehouse:pw@db.local:5432/dw",
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("applies defaults: loopback bind, port 8787, one job at a time", () => {
    const config = loadConfig(minimal);
    expect(config.bindAddress).toBe("127.0.0.1");
    expect(config.port).toBe(8787);
    expect(config.concurrency).toBe(1);
    expect(config.convexSiteUrl).toBe("https://happy-animal-123.convex.site");
    expect(config.targetDescription).toEqual({ kind: "postgres", host: "db.local", database: "dw" });
  });

  it("imports into the embedded DuckDB warehouse by default, with bounded memory", () => {
    const { EXECUTOR_TARGET: _, ...withoutTarget } = minimal;
    const config = loadConfig(withoutTarget);
    expect(config.targetSpec).toEqual({
      kind: "duckdb",
      file: path.resolve(".data/warehouse.duckdb"),
    });
    expect(config.duckdb).toEqual({ memoryLimit: "64MB", threads: 1 });
    expect(
      loadConfig({ ...minimal, EXECUTOR_DUCKDB_MEMORY_LIMIT: "1GB", EXECUTOR_DUCKDB_THREADS: "4" }).duckdb,
    ).toEqual({ memoryLimit: "1GB", threads: 4 });
    expect(problemsOf({ ...minimal, EXECUTOR_DUCKDB_MEMORY_LIMIT: "lots" }).join("\n")).toMatch(
      /EXECUTOR_DUCKDB_MEMORY_LIMIT: must be a size/,
    );
  });

  it("names every missing setting at once, with a hint", () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["CONVEX_SITE_URL", "EXECUTOR_SECRET"]);
    expect(problems.find((p) => p.startsWith("EXECUTOR_SECRET"))).toMatch(/shared signing secret/);
  });

  it("rejects a short secret, a bad port, a bad URL and an unknown target kind", () => {
    const problems = problemsOf({
      EXECUTOR_SECRET: "short",
      CONVEX_SITE_URL: "ftp://x",
      EXECUTOR_TARGET: "oracle://x/y",
      EXECUTOR_PORT: "99999",
    });
    expect(problems.join("\n")).toMatch(/EXECUTOR_SECRET: must be at least 32/);
    expect(problems.join("\n")).toMatch(/EXECUTOR_PORT: /);
    expect(problems.join("\n")).toMatch(/CONVEX_SITE_URL: /);
    expect(problems.join("\n")).toMatch(/EXECUTOR_TARGET: invalid --target/);
  });

  it("never echoes the target's password in an error", () => {
    const problems = problemsOf({ ...minimal, EXECUTOR_TARGET: "postgres://u:hunter2@/" });
    expect(problems.join("\n")).not.toContain("hunter2");
  });

  it("reads a .env file, but the real environment wins", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "executor-env-"));
    const file = path.join(dir, ".env");
    writeFileSync(
      file,
      `EXECUTOR_SECRET=${SECRET}\nEXECUTOR_PORT=9000\n# comment\nEXECUTOR_TARGET=pglite:./x\n`,
    );
    const env = withDotEnv({ EXECUTOR_PORT: "9100", CONVEX_SITE_URL: minimal.CONVEX_SITE_URL }, file);
    const config = loadConfig(env);
    expect(config.port).toBe(9100);
    expect(config.secret).toBe(SECRET);
    expect(config.targetSpec.kind).toBe("pglite");
  });
});
