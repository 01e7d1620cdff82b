import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const run = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "executor/src/cli/import.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });

describe("npm run import", () => {
  it("loads a snapshot, prints plain progress lines and a summary table, exits 0", async () => {
    const zip = await tempSnapshot([
      { name: "users", docs: [{ _creationTime: 1.7e12, _id: fakeId(1), name: "Ada" }] },
      { name: "jobs", component: "workpool", docs: [] },
    ]);
    const dir = await mkdtemp(path.join(os.tmpdir(), "cli-"));
    const result = run([zip, "--target", `duckdb:${dir}/warehouse.duckdb`]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("✓ users: 1 row,");
    // Not a terminal: log lines only, never a progress bar.
    expect(result.stdout).not.toMatch(/[█░\r]/);
    expect(result.stdout).not.toContain("\u001b[");
    expect(result.stdout).toMatch(/table\s+sql table\s+rows\s+columns\s+size\s+seconds/);
    expect(result.stdout).toMatch(/workpool\/jobs\s+workpool__jobs\s+0\s+3/);
    expect(result.stdout).toContain("Loaded 1 row in 2 tables");
  });

  it("says a snapshot file does not exist before opening the warehouse, and leaves the target alone", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "cli-"));
    const warehouse = path.join(dir, "warehouse.duckdb");
    const missing = run([path.join(dir, "snapshot.zip"), "--target", `duckdb:${warehouse}`]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(
      `error: ${path.join(dir, "snapshot.zip")} does not exist\nNothing was changed in the target.\n`,
    );
    expect(missing.stdout).toBe("");
    // The warehouse was never opened, so not even created.
    expect(existsSync(warehouse)).toBe(false);
    const folder = run([dir, "--target", `duckdb:${warehouse}`]);
    expect(folder.stderr).toMatch(/is a directory, not a snapshot ZIP file/);
  });

  it("exits 1 with the place of the problem for a bad snapshot or what to do about the target, and 2 for bad usage", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "cli-"));
    const notZip = path.join(dir, "broken.zip");
    await writeFile(notZip, "this is not a zip");
    const bad = run([notZip, "--target", `pglite:${dir}/w`]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^error: bad snapshot: broken\.zip: not a readable ZIP archive/m);
    expect(bad.stderr).toContain("Nothing was changed in the target.");

    const zip = await tempSnapshot([{ name: "users", docs: [{ _creationTime: 1.7e12, _id: fakeId(1) }] }]);
    const unreachable = run([zip, "--target", "postgres://loader@127.0.0.1:1/warehouse"]);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(/could not be reached.*\(ECONNREFUSED\)/);

    const usage = run(["--target", "mysql://x/y", notZip]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/invalid --target/);
    expect(usage.stderr).not.toContain("mysql://x/y");
  });
});

describe("npm run import -- --check", () => {
  it.skipIf(!process.env.PG_URL)("prints one line per check and exits 0 when a sync can work", () => {
    const result = run(["--check", "--target", process.env.PG_URL!, "--schema", "convex"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Checking postgres 127\.0\.0\.1 \S+ for imports into schema "convex"$/m);
    expect(result.stdout).toMatch(/^ {2}ok {4}connection {6}reached /m);
    expect(result.stdout).toMatch(/^ {2}ok {4}server version {2}PostgreSQL /m);
    expect(result.stdout).toMatch(/^ {2}ok {4}permissions /m);
    expect(result.stdout).toMatch(/^A sync can work\.$/m);
  });

  it("exits 1 with the failing check for an unreachable SQL Server, never printing the credentials", () => {
    const result = run([
      "--check",
      "--target",
      "Server=127.0.0.1,1;Database=dw;User Id=loader;Password={Pa55;w0rd'}",
    ]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^ {2}fail {2}connection {2}cannot reach 127\.0\.0\.1:1 /m);
    expect(result.stdout).toMatch(/^1 check failed: a sync cannot work until it is fixed\.$/m);
    expect(result.stdout + result.stderr).not.toMatch(/loader|Pa55/);
  });

  it("refuses a snapshot with --check and a Windows-integrated login, as usage errors (exit 2)", () => {
    expect(run(["--check", "snap.zip"]).status).toBe(2);
    const integrated = run(["--check", "--target", "Server=sql01;Database=dw;Integrated Security=SSPI"]);
    expect(integrated.status).toBe(2);
    expect(integrated.stderr).toMatch(/Windows integrated authentication .* not possible/);
  });
});
