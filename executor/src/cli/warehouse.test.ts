import { spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const cli = (name: string, args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, `executor/src/cli/${name}.ts`), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });

describe("npm run warehouse", () => {
  it("explains itself with --help and refuses unknown options as usage errors", () => {
    const help = cli("warehouse", ["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run warehouse -- \[--target <url>\] \[--schema <name>\]/);
    expect(help.stdout).toMatch(/--schema <name>/);
    const unknown = cli("warehouse", ["--tables", "x"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--tables'.*Usage:/s);
  });

  it("lists loaded tables with the snapshot and load times as UTC date-times", async () => {
    // The snapshot's time comes from the file name: snapshot_<deployment>_<ns>.zip.
    const ns = "1764400815123456789";
    const zip = await tempSnapshot([
      { name: "users", docs: [{ _creationTime: 1.7e12, _id: fakeId(1), name: "Ada" }] },
    ]);
    const dir = await mkdtemp(path.join(os.tmpdir(), "warehouse-cli-"));
    const target = `duckdb:${dir}/w.duckdb`;
    const load = cli("import", [zip, "--target", target, "--snapshot-ts", ns]);
    expect(load.status, load.stderr).toBe(0);
    const listing = cli("warehouse", ["--target", target]);
    expect(listing.status, listing.stderr).toBe(0);
    expect(listing.stdout).toMatch(/table\s+sql table\s+rows\s+loaded at\s+snapshot of/);
    expect(listing.stdout).toMatch(
      /^users\s+users\s+1\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\s+2025-11-29 07:20:15 UTC$/m,
    );
    expect(listing.stdout).not.toContain(ns);
  });
});
