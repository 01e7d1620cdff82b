/**
 * End to end through the HTTP API with the real import engine: a signed job in → the stand-in source deployment
 * serves a real export ZIP → rows in the target → a completion callback with the right figures.
 * PGlite always; PostgreSQL too when PG_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import { DEPLOY_KEY, makePayload, SECRET, signedFetch, testConfig } from "../../test/harness.js";
import { LEGACY_SAMPLE_ZIPS } from "../../../test/fixtures/legacy-sample-zips.js";
import { startConvexSource, type ConvexSource } from "../../../test/standins/convexSource.js";
import { SAMPLE_ROWS } from "../../../test/fixtures/legacy-sample-zips.js";
import { createdSchemas, e2eTargets, uniqueSchemaName } from "../../test/targets.js";
import { startExecutor, type RunningExecutor } from "./executor.js";
import { setLogLevel } from "./log.js";

const ANOUK_DEV_ZIP = LEGACY_SAMPLE_ZIPS.anoukDev;

setLogLevel("silent");

const SNAPSHOT_TS = "1746291000000000000";

let convex: ConvexReceiver;
let source: ConvexSource;
beforeAll(async () => {
  convex = await startConvexReceiver(SECRET);
  source = await startConvexSource({
    deployKey: DEPLOY_KEY,
    completedExports: { [SNAPSHOT_TS]: ANOUK_DEV_ZIP },
  });
});
afterAll(async () => {
  await source.close();
  await convex.close();
});

for (const target of e2eTargets()) {
  describe(`executor end to end into ${target.name}`, () => {
    let executor: RunningExecutor;
    let targetUrl: string;
    beforeAll(async () => {
      targetUrl = target.fresh();
      executor = await startExecutor(testConfig({ convexSiteUrl: convex.url, target: targetUrl }), {
        probe: async () => ({ reachable: true }),
      });
    });
    afterAll(async () => {
      await executor.stop(5_000);
      await target.dropSchemas(targetUrl, createdSchemas);
    });

    async function runToCompletion(overrides: Parameters<typeof makePayload>[1]) {
      const payload = makePayload(source.url, {
        snapshot: { snapshotTs: SNAPSHOT_TS, includeStorage: false },
        ...overrides,
      });
      const response = await signedFetch(executor.url, "/jobs", { body: payload });
      expect(response.status).toBe(202);
      await convex.waitFor((c) => c.completions.some((x) => x.jobId === payload.jobId), 60_000);
      return { payload, completion: convex.completions.find((x) => x.jobId === payload.jobId)! };
    }

    it("imports every table, and the completion carries each table's figures", async () => {
      const schema = uniqueSchemaName();
      const { payload, completion } = await runToCompletion({ targetSchema: schema });
      expect(completion.error).toBeUndefined();
      expect(completion.outcome).toBe("succeeded");
      expect(Object.fromEntries(completion.tables.map((t) => [t.table, t.rows]))).toEqual(
        SAMPLE_ROWS.anoukDev,
      );
      expect(completion.totalRows).toBe(179);
      expect(completion.tables.every((t) => t.state === "swapped" && t.sqlTable)).toBe(true);

      const [sentences] = await target.query<{ n: number }>(
        targetUrl,
        `SELECT count(*)::int AS n FROM "${schema}".sentences`,
      );
      expect(sentences!.n).toBe(74);
      const [profiles] = await target.query<{ n: number }>(
        targetUrl,
        `SELECT count(*)::int AS n FROM "${schema}".profiles`,
      );
      expect(profiles!.n).toBe(19);

      const progress = convex.progress.filter((p) => p.jobId === payload.jobId);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.some((p) => p.phase === "downloading" || p.phase === "importing")).toBe(true);
      const status = await signedFetch(executor.url, `/jobs/${payload.jobId}`);
      expect(status.json).toMatchObject({ state: "succeeded", phase: "finished" });
    });

    it("imports only the tables the job names", async () => {
      const schema = uniqueSchemaName();
      const { completion } = await runToCompletion({
        targetSchema: schema,
        tables: ["profiles", "userProgress"],
      });
      expect(completion.outcome).toBe("succeeded");
      expect(completion.tables.map((t) => [t.table, t.rows]).sort()).toEqual([
        ["profiles", 19],
        ["userProgress", 10],
      ]);
      const tables = await target.query<{ table_name: string }>(
        targetUrl,
        `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' AND NOT starts_with(table_name, '_convex') ORDER BY 1`,
      );
      expect(tables.map((t) => t.table_name)).toEqual(["profiles", "userProgress"]);
    });

    it("fails with a clear error naming an unknown table, and leaves the target as it was", async () => {
      const schema = uniqueSchemaName();
      await runToCompletion({ targetSchema: schema, tables: ["profiles"] });
      const { completion } = await runToCompletion({ targetSchema: schema, tables: ["noSuchTable"] });
      expect(completion.outcome).toBe("failed");
      expect(completion.error?.message).toMatch(/noSuchTable/);
      const [profiles] = await target.query<{ n: number }>(
        targetUrl,
        `SELECT count(*)::int AS n FROM "${schema}".profiles`,
      );
      expect(profiles!.n).toBe(19);
    });
  });
}
