/**
 * kill -9 in the middle of an import: the target must be exactly as before, and a re-run must succeed
 * (cleaning the staging leftovers of the killed run).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets, uniqueSchema } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "./index.js";
import type { ConvexObject } from "./values.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const CLI = path.join(ROOT, "executor/src/cli/import.ts");

const doc = (n: number, fields: Record<string, unknown>) =>
  ({ _creationTime: 1.7e12 + n, _id: fakeId(n), ...fields }) as ConvexObject;

/** Runs the import CLI and SIGKILLs it once `trigger` appears on its output. */
function runAndKill(args: string[], trigger: RegExp): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let killed = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!killed && trigger.test(output)) {
        // At once: the next table is loading now, and on a fast target (DuckDB) it may finish within 200 ms.
        killed = true;
        child.kill("SIGKILL");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("exit", (_code, signal) => resolve({ killed: killed && signal === "SIGKILL", output }));
  });
}

for (const target of testTargets()) {
  describe(`crash safety (${target.name})`, () => {
    it("leaves the target unchanged when the import process is killed mid-load; a re-run succeeds", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const before = await tempSnapshot([
        { name: "a", docs: [doc(1, { v: "before" })] },
        { name: "big", docs: [doc(2, { v: "before" })] },
      ]);
      await importSnapshot({ snapshotPath: before, target: url, schema });
      const state = async () => ({
        a: await target.query(url, `SELECT v FROM "${schema}".a`),
        big: await target.query(url, `SELECT CAST(count(*) AS INT) AS n, min(v) AS v FROM "${schema}".big`),
        meta: await target.query(
          url,
          `SELECT convex_table, CAST(row_count AS INT) AS n FROM "${schema}"._convex_tables ORDER BY 1`,
        ),
      });
      const expected = await state();

      const after = await tempSnapshot([
        { name: "a", docs: [doc(1, { v: "after" })] },
        {
          name: "big",
          lines: function* () {
            for (let i = 0; i < 150_000; i++) {
              yield `{"_creationTime":${1.7e12 + i}.5,"_id":"${fakeId(i)}","v":"after","n":${i},"pad":"${"x".repeat(100)}"}`;
            }
          },
        },
      ]);
      const run = await runAndKill([after, "--target", url, "--schema", schema], /✓ a: 1 rows?\b/);
      expect(run.killed, run.output).toBe(true);
      expect(run.output).not.toMatch(/Swapping/);
      expect(await state()).toEqual(expected);

      const rerun = await importSnapshot({ snapshotPath: after, target: url, schema });
      expect(rerun.totalRows).toBe(150_001);
      expect(await target.query(url, `SELECT v FROM "${schema}".a`)).toEqual([{ v: "after" }]);
      const [leftovers] = await target.query<{ n: number }>(url, target.stagingCountSql(schema));
      expect(leftovers!.n).toBe(0);
    }, 180_000);
  });
}
