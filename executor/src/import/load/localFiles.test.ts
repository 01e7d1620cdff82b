import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nearestExistingDirectory } from "./localFiles.js";

describe("nearestExistingDirectory", () => {
  it("is the directory itself when it exists", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "near-"));
    expect(await nearestExistingDirectory(dir)).toBe(dir);
  });

  it("walks up to the closest ancestor that exists", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "near-"));
    expect(await nearestExistingDirectory(path.join(dir, "a", "b", "c"))).toBe(dir);
  });

  it("resolves a relative path against the working directory", async () => {
    expect(await nearestExistingDirectory("no-such-dir-here/x")).toBe(process.cwd());
  });

  it("stops at a file in the way (the create then fails there, naming it)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "near-"));
    await writeFile(path.join(dir, "file"), "x");
    expect(await nearestExistingDirectory(path.join(dir, "file", "sub"))).toBe(path.join(dir, "file"));
  });
});
