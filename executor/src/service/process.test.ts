/**
 * The executor as a real process, with the real import engine: SIGTERM during an import, and a hard kill in the
 * middle of an import followed by a restart (the job is reported interrupted, the target is unchanged, and the
 * next job succeeds).
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBigSnapshot } from "../../test/bigSnapshot.js";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import { spawnExecutor, type ExecutorProcess } from "../../test/executorProcess.js";
import { DEPLOY_KEY, makePayload, SECRET, signedFetch, tempDir } from "../../test/harness.js";
import { LEGACY_SAMPLE_ZIPS } from "../../../test/fixtures/legacy-sample-zips.js";
import { startConvexSource, type ConvexSource } from "../../../test/standins/convexSource.js";
import { createdSchemas, e2eTargets, uniqueSchemaName } from "../../test/targets.js";

const ANOUK_DEV_ZIP = LEGACY_SAMPLE_ZIPS.anoukDev;

const SMALL_EVENTS = "1000000000000000001";
const BIG_EVENTS = "1000000000000000002";
const ANOUK = "1000000000000000003";
const BIG_ROWS = 200_000;

let convex: ConvexReceiver;
let source: ConvexSource;
beforeAll(async () => {
  convex = await startConvexReceiver(SECRET);
  const dir = tempDir("executor-big");
  writeBigSnapshot(path.join(dir, "small.zip"), 1_000);
  writeBigSnapshot(path.join(dir, "big.zip"), BIG_ROWS);
  source = await startConvexSource({
    deployKey: DEPLOY_KEY,
    completedExports: {
      [SMALL_EVENTS]: path.join(dir, "small.zip"),
      [BIG_EVENTS]: path.join(dir, "big.zip"),
      [ANOUK]: ANOUK_DEV_ZIP,
    },
  });
}, 120_000);
afterAll(async () => {
  await source.close();
  await convex.close();
});

function executorEnv(target: string, dataDir: string, extra: Record<string, string> = {}) {
  return {
    EXECUTOR_SECRET: SECRET,
    CONVEX_SITE_URL: convex.url,
    EXECUTOR_TARGET: target,
    EXECUTOR_PORT: "0",
    EXECUTOR_DATA_DIR: dataDir,
    EXECUTOR_ID: "process-test",
    EXECUTOR_PROGRESS_SECONDS: "0.2",
    EXECUTOR_LOG_LEVEL: "info",
    ...extra,
  };
}

const completionOf = (jobId: string) => convex.completions.find((c) => c.jobId === jobId);

async function submit(executor: ExecutorProcess, snapshotTs: string, targetSchema: string) {
  const payload = makePayload(source.url, { snapshot: { snapshotTs, includeStorage: false }, targetSchema });
  const response = await signedFetch(executor.url, "/jobs", { body: payload });
  expect(response.status).toBe(202);
  return payload;
}

async function runToSuccess(executor: ExecutorProcess, snapshotTs: string, schema: string) {
  const payload = await submit(executor, snapshotTs, schema);
  await convex.waitFor(() => completionOf(payload.jobId) !== undefined, 120_000);
  expect(completionOf(payload.jobId), executor.output()).toMatchObject({ outcome: "succeeded" });
  return payload;
}

/** Waits until the job is importing rows (not just downloading). */
async function waitUntilImporting(jobId: string) {
  await convex.waitFor(
    (c) =>
      c.progress.some(
        (p) => p.jobId === jobId && p.phase === "importing" && p.tables.some((t) => t.rows > 0),
      ),
    120_000,
  );
}

for (const target of e2eTargets()) {
  // POSIX signals: on Windows, kill() always terminates at once, so SIGTERM cannot be told from SIGKILL there.
  describe.skipIf(process.platform === "win32")(`executor process into ${target.name}`, () => {
    afterAll(() => target.dropSchemas(target.fresh(), createdSchemas));

    const countEvents = async (url: string, schema: string) =>
      (await target.query<{ n: number }>(url, `SELECT count(*)::int AS n FROM "${schema}".events`))[0]!.n;

    it("on SIGTERM stops the running import within the grace period, reports it, leaves the target, exits 0", async () => {
      const url = target.fresh();
      const schema = uniqueSchemaName("sigterm");
      const executor = await spawnExecutor(
        executorEnv(url, tempDir("executor-proc"), { EXECUTOR_SHUTDOWN_GRACE_SECONDS: "0" }),
      );
      await runToSuccess(executor, SMALL_EVENTS, schema);
      const big = await submit(executor, BIG_EVENTS, schema);
      await waitUntilImporting(big.jobId);
      executor.child.kill("SIGTERM");
      const exit = await executor.exited;
      expect(exit.code, executor.output()).toBe(0);
      expect(completionOf(big.jobId)).toMatchObject({ outcome: "interrupted", error: { retryable: true } });
      expect(await countEvents(url, schema)).toBe(1_000);
    }, 240_000);

    it("killed mid-import and restarted: reports the job interrupted, the target is unchanged, a new job succeeds", async () => {
      const url = target.fresh();
      const schema = uniqueSchemaName("killed");
      const dataDir = tempDir("executor-proc");
      const first = await spawnExecutor(executorEnv(url, dataDir));
      await runToSuccess(first, SMALL_EVENTS, schema);
      const big = await submit(first, BIG_EVENTS, schema);
      await waitUntilImporting(big.jobId);
      first.child.kill("SIGKILL");
      await first.exited;
      expect(completionOf(big.jobId)).toBeUndefined();

      const second = await spawnExecutor(executorEnv(url, dataDir));
      try {
        await convex.waitFor(() => completionOf(big.jobId) !== undefined, 30_000);
        expect(completionOf(big.jobId)).toMatchObject({
          outcome: "interrupted",
          error: { code: "executor_restarted", retryable: true },
        });
        const status = await signedFetch(second.url, `/jobs/${big.jobId}`);
        expect(status.json.state).toBe("interrupted");
        expect(await countEvents(url, schema)).toBe(1_000);

        await runToSuccess(second, ANOUK, schema);
        const [sentences] = await target.query<{ n: number }>(
          url,
          `SELECT count(*)::int AS n FROM "${schema}".sentences`,
        );
        expect(sentences!.n).toBe(74);
        expect(await countEvents(url, schema)).toBe(1_000);
      } finally {
        second.child.kill("SIGTERM");
        expect((await second.exited).code).toBe(0);
      }
    }, 300_000);
  });
}
