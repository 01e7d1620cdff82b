/**
 * What only the DuckDB target has: one writer per file (DuckDB's own lock, and the same rule within a process),
 * the memory limits it is opened with, and the DuckDB behaviours its swap relies on (see ./sql.ts).
 * The shared import suite (executor/src/import/import*.test.ts) runs on DuckDB as well.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { queryDuckdbFile } from "../../../../../test/fixtures/duckdb-file.js";
import { fakeId, tempSnapshot } from "../../../../../test/fixtures/snapshot-zip.js";
import { importSnapshot } from "../../index.js";
import { listLoadedTables } from "../../inventory.js";
import type { ConvexObject } from "../../values.js";
import { classifyTargetError } from "../targetErrors.js";
import { openDuckdb } from "./instance.js";
import { duckdbPreflight } from "./preflight.js";

const ROOT = path.resolve(import.meta.dirname, "../../../../..");
const doc = (n: number, fields: Record<string, unknown> = {}) =>
  ({ _creationTime: 1.7e12 + n, _id: fakeId(n), ...fields }) as ConvexObject;

async function freshFile(): Promise<string> {
  return path.join(await mkdtemp(path.join(os.tmpdir(), "duckdb-")), "warehouse.duckdb");
}

const query = queryDuckdbFile;

let holder: ChildProcess | undefined;
afterEach(async () => {
  if (holder && holder.exitCode === null && holder.signalCode === null) {
    holder.kill();
    await once(holder, "exit");
  }
  holder = undefined;
});

/** Another process with the file open for writing, as the DuckDB CLI or DBeaver would have it. */
async function holdOpen(file: string): Promise<ChildProcess> {
  const script = `
    import { DuckDBInstance } from "@duckdb/node-api";
    const instance = await DuckDBInstance.create(${JSON.stringify(file)});
    await instance.connect();
    process.stdout.write("ready\\n");
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  expect(chunk.toString()).toBe("ready\n");
  return child;
}

describe("DuckDB warehouse file", () => {
  it("refuses an import while another process has the file open, naming that process, and changes nothing", async () => {
    const file = await freshFile();
    const target = `duckdb:${file}`;
    await importSnapshot({
      snapshotPath: await tempSnapshot([{ name: "t", docs: [doc(1, { v: "before" })] }]),
      target,
    });
    holder = await holdOpen(file);
    const next = await tempSnapshot([{ name: "t", docs: [doc(1, { v: "after" })] }]);
    const err = await importSnapshot({ snapshotPath: next, target }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      `the DuckDB warehouse ${file} is in use by process ${holder.pid} (node); close it there`,
    );
    // The executor retries such a job: it succeeds once the other process closes the file.
    expect(classifyTargetError(err)).toMatchObject({ code: "target_busy", retryable: true });
    holder.kill();
    await once(holder, "exit");
    expect(await query(file, `SELECT v FROM convex.t`)).toEqual([{ v: "before" }]);
    await importSnapshot({ snapshotPath: next, target });
    expect(await query(file, `SELECT v FROM convex.t`)).toEqual([{ v: "after" }]);
  });

  it("refuses a second import into the same file from the same process while the first runs", async () => {
    const target = `duckdb:${await freshFile()}`;
    const zip = await tempSnapshot([
      { name: "t", docs: Array.from({ length: 20_000 }, (_, i) => doc(i, { pad: "x".repeat(100) })) },
    ]);
    let second: Promise<string> | undefined;
    const first = importSnapshot({
      snapshotPath: zip,
      target,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (!second && (p.tables[0]?.rows ?? 0) > 0) {
          second = importSnapshot({ snapshotPath: zip, target }).then(
            () => "loaded",
            (e: Error) => e.message,
          );
        }
      },
    });
    await expect(first).resolves.toMatchObject({ totalRows: 20_000 });
    expect(await second).toMatch(/^the DuckDB warehouse .* is in use by this process;/);
  });

  it("opens with the configured memory limit and threads", async () => {
    const opened = await openDuckdb(await freshFile(), { memoryLimit: "100MB", threads: 1 });
    try {
      const reader = await opened.connection.runAndReadAll(
        `SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t`,
      );
      expect(reader.getRowObjectsJS()).toEqual([{ m: "95.3 MiB", t: 1n }]);
    } finally {
      opened.close();
    }
  });

  it("lists the loaded tables with live row counts, read-only, while other readers have the file open", async () => {
    const file = await freshFile();
    const zip = await tempSnapshot([
      { name: "a", docs: [doc(1), doc(2)] },
      { name: "b", component: "chat", docs: [doc(3)] },
    ]);
    await importSnapshot({ snapshotPath: zip, target: `duckdb:${file}` });
    const reader = await DuckDBInstance.create(file, { access_mode: "READ_ONLY" });
    try {
      const tables = await listLoadedTables(`duckdb:${file}`);
      expect(tables.map((t) => [t.table, t.sqlTable, t.rows, t.snapshotTs])).toEqual([
        ["a", "a", 2, "1745162191687970000"],
        ["chat/b", "chat__b", 1, "1745162191687970000"],
      ]);
    } finally {
      reader.closeSync();
    }
  });

  it("lists nothing, and creates no file, for a warehouse never written", async () => {
    const file = await freshFile();
    expect(await listLoadedTables(`duckdb:${file}`)).toEqual([]);
    await expect(import("node:fs/promises").then((fs) => fs.access(file))).rejects.toThrow();
  });
});

describe("npm run import -- --check on a DuckDB file", () => {
  it("passes for a new file and a free one, and fails naming the process that holds the file", async () => {
    const file = await freshFile();
    expect(await duckdbPreflight(file)).toEqual([
      { check: "file", status: "ok", detail: `${file} does not exist yet; the first import creates it` },
    ]);
    await importSnapshot({
      snapshotPath: await tempSnapshot([{ name: "t", docs: [doc(1)] }]),
      target: `duckdb:${file}`,
    });
    expect((await duckdbPreflight(file)).map((c) => [c.check, c.status])).toEqual([
      ["file", "ok"],
      ["writer", "ok"],
    ]);
    holder = await holdOpen(file);
    const [, writer] = await duckdbPreflight(file);
    expect(writer).toEqual({
      check: "writer",
      status: "fail",
      detail: expect.stringContaining(`is in use by process ${holder.pid} (node)`),
    });
  });
});

describe("DuckDB behaviours the swap relies on (DuckDB 1.5)", () => {
  it("has no ALTER TABLE … SET SCHEMA, so staging tables are renamed within the schema", async () => {
    const file = await freshFile();
    await expect(
      query(file, `CREATE SCHEMA a; CREATE SCHEMA b; CREATE TABLE a.t (x INT); ALTER TABLE a.t SET SCHEMA b`),
    ).rejects.toThrow(/Not implemented/);
  });

  it("rolls back DROP TABLE and RENAME together, and views bind to the new table by name", async () => {
    const file = await freshFile();
    await query(
      file,
      `CREATE TABLE t AS SELECT 'old' AS v; CREATE TABLE s AS SELECT 'new' AS v; CREATE VIEW w AS SELECT v FROM t`,
    );
    await query(file, `BEGIN; DROP TABLE t; ALTER TABLE s RENAME TO t; ROLLBACK`);
    expect(await query(file, `SELECT v FROM w`)).toEqual([{ v: "old" }]);
    expect(await query(file, `SELECT v FROM s`)).toEqual([{ v: "new" }]);
    await query(file, `BEGIN; DROP TABLE t; ALTER TABLE s RENAME TO t; COMMIT`);
    expect(await query(file, `SELECT v FROM w`)).toEqual([{ v: "new" }]);
  });
});
