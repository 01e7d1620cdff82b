import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PassThrough } from "node:stream";
import { makeFunctionReference } from "convex/server";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ARTIFACTS_DIR, CHROMIUM, CHROMIUM_FLAGS } from "../../test/browser/dashboard.js";
import { listLoadedTables } from "../../executor/src/import/inventory.js";
import { banner } from "./banner.js";
import { DEMO_SCHEDULE, startDemo, type Demo } from "./demo.js";
import { appJobs, sourceRowsAt, sumChanges, warehouseAtPosition, type StoredJob } from "./demoChecks.js";
import { paymentRef, SHOP_ROW_COUNTS } from "./sampleShop.js";

const run = promisify(execFile);
// The functions run in this process: what they log goes through this process's console.
const consoleLines: string[] = [];
for (const level of ["log", "info", "debug"] as const) {
  const original = console[level].bind(console);
  vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
    consoleLines.push(args.map(String).join(" "));
    original(...args);
  });
}

// The demo as a newcomer gets it, on free ports: real functions, real executor process, DuckDB warehouse, the app
// in auto mode syncing every minute. Only the shop's activity generator is driven by the test (one step at a time)
// instead of a timer, so the changes each job must apply are known. A scheduled run may still start at any minute:
// the checks below add up every incremental job since a position rather than assume which job applied what.
let demo: Demo;
let dataDir: string;
let log = "";

const EXPECTED_SQL_TABLES = {
  customers: SHOP_ROW_COUNTS.customers,
  products: SHOP_ROW_COUNTS.products,
  orders: SHOP_ROW_COUNTS.orders,
  "reviews/reviews": SHOP_ROW_COUNTS["reviews/reviews"],
};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "demo-test-"));
  const output = new PassThrough();
  output.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  demo = await startDemo({
    dataDir,
    output,
    ports: { cloud: 0, site: 0, dashboard: 0, executor: 0, source: 0 },
    activityEveryMs: 0,
  });
}, 300_000);

interface AppState {
  syncMode: string;
  schedule: { cron: string } | null;
  feed?: { availability: string; position?: { ts: string; appliedAt: number } };
}
const appState = async () =>
  (await demo.client.query(makeFunctionReference<"query">("apps:get"), { appId: demo.appId })) as AppState;

/** Starts a sync as Sync Now does; a job already active (a scheduled run) is the one to follow then. */
async function syncNow(appId = demo.appId): Promise<string> {
  const { jobId } = (await demo.client.mutation(makeFunctionReference<"mutation">("jobs:trigger"), {
    appId,
  })) as { jobId: string };
  return jobId;
}

/** Waits for the job, then for any job that was active with it (a scheduled run) to finish too. */
async function settle(jobId: string): Promise<StoredJob> {
  await demo.jobs.waitForFinal(jobId, 120_000);
  for (const job of await appJobs(demo))
    if (!["succeeded", "failed", "cancelled"].includes(job.status))
      await demo.jobs.waitForFinal(job.id, 120_000);
  return (await appJobs(demo)).find((j) => j.id === jobId)!;
}

/** The warehouse equals the source at the position it stores, row by row; returns that position. */
async function expectWarehouseEqualsSource(): Promise<bigint> {
  const { position, rows } = await warehouseAtPosition(demo);
  const source = await sourceRowsAt(demo, position);
  expect([...rows.keys()].sort()).toEqual([...source.keys()].sort());
  for (const [table, sourceRows] of source) expect(rows.get(table), table).toEqual(sourceRows);
  return position;
}

/**
 * Checks the warehouse against the source and that the app shows the warehouse's position; read again when a
 * scheduled run landed between the two reads (the position moves with every run, even one with nothing to apply).
 */
async function expectPositionsAgree(): Promise<bigint> {
  for (let attempt = 1; ; attempt++) {
    const position = await expectWarehouseEqualsSource();
    const shown = (await appState()).feed?.position?.ts;
    if (shown === position.toString() || attempt === 3) {
      expect(shown).toBe(position.toString());
      return position;
    }
  }
}

/** The jobs started since `before`, once every one of them is final. */
async function newJobsSettled(before: Set<string>): Promise<StoredJob[]> {
  for (;;) {
    const since = (await appJobs(demo)).filter((j) => !before.has(j.id));
    const running = since.find((j) => !["succeeded", "failed", "cancelled"].includes(j.status));
    if (!running) return since;
    await settle(running.id);
  }
}

afterAll(async () => {
  await demo?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe.sequential("npm run demo", () => {
  it("has the demo app ready to sync, and the real executor reports in", async () => {
    const apps = (await demo.client.query(makeFunctionReference<"query">("apps:list"), {})) as {
      id: string;
      slug: string;
      deploymentUrl: string;
    }[];
    expect(apps.map((a) => [a.id, a.slug, a.deploymentUrl])).toEqual([
      [demo.appId, "demo-shop", demo.source.url],
    ]);
    const deadline = Date.now() + 20_000;
    let executors: { executorId: string; online: boolean }[] = [];
    while (Date.now() < deadline) {
      executors = (await demo.client.query(makeFunctionReference<"query">("executors:list"), {})) as never;
      if (executors.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(executors.map((e) => [e.executorId, e.online])).toEqual([["demo-executor", true]]);
    const app = await appState();
    expect(app.syncMode).toBe("auto");
    expect(app.schedule?.cron).toBe(DEMO_SCHEDULE.cron);
    // Probed when the app was saved: the stand-in source's plan has streaming export.
    expect(app.feed?.availability).toBe("available");
  });

  it("first syncs a snapshot of every table into the DuckDB warehouse, which starts the change feed", async () => {
    await settle(await syncNow());
    // The app's first job, whether Sync Now started it or the every-minute schedule came first.
    const jobId = (await appJobs(demo))[0]!.id;
    const { job, warehouse } = await demo.jobs.waitForFinal(jobId, 120_000);
    expect(job.status, log).toBe("succeeded");
    expect(job.kind).toBe("snapshot");
    const counts = (tables: { table: string; rows: number }[] | null) =>
      Object.fromEntries((tables ?? []).map((t) => [t.table, t.rows]));
    expect(counts(warehouse)).toEqual(EXPECTED_SQL_TABLES);
    // The demo printed them too, and the control plane recorded the executor's figures.
    expect(log).toMatch(new RegExp(`job ${jobId} \\(snapshot[,)].*: succeeded`));
    expect(log).toMatch(/orders\s+150 rows/);
    const detail = (await demo.client.query(makeFunctionReference<"query">("jobQueries:get"), {
      jobId,
    })) as { job: { tables: { table: string; rows: number; state: string }[] } };
    expect(Object.fromEntries(detail.job.tables.map((t) => [t.table, t.rows]))).toEqual(EXPECTED_SQL_TABLES);
    // The snapshot's completion stored the feed position: in the warehouse, and as the app's position.
    await expectPositionsAgree();
  });

  it("then each sync applies the shop's transactions incrementally, exactly as the source committed them", async () => {
    const before = BigInt((await appState()).feed!.position!.ts);
    const jobsBefore = new Set((await appJobs(demo)).map((j) => j.id));
    for (let i = 0; i < 12; i++) demo.activity.step();
    const expected = demo.activity.changesAfter(before);
    // The generator made inserts, updates and deletes, in a root table and in the component's.
    const totals = Object.values(expected).reduce(
      (t, c) => ({
        inserted: t.inserted + c.inserted,
        updated: t.updated + c.updated,
        deleted: t.deleted + c.deleted,
      }),
      { inserted: 0, updated: 0, deleted: 0 },
    );
    expect(totals.inserted * totals.updated * totals.deleted, JSON.stringify(expected)).toBeGreaterThan(0);

    const jobId = await syncNow();
    const job = await settle(jobId);
    expect(job.status, log).toBe("succeeded");
    expect(job.kind).toBe("incremental");
    expect(job.incremental?.outcome).toBe("upToDate");
    expect(job.incremental?.lagMs).toEqual(expect.any(Number));
    // Every incremental job since the position (this one, and a scheduled one that may have run first).
    const since = await newJobsSettled(jobsBefore);
    expect(since.every((j) => j.kind === "incremental" && j.status === "succeeded")).toBe(true);
    expect(sumChanges(since)).toEqual(expected);

    const position = await expectPositionsAgree();
    expect(position).toBeGreaterThanOrEqual(demo.activity.steps.at(-1)!.ts);
    expect((await appState()).feed?.position?.appliedAt).toEqual(expect.any(Number));
    // The printed story: what the run applied, and the lag.
    expect(log).toMatch(new RegExp(`job ${jobId} \\(incremental[,)].*: succeeded`));
    expect(log).toMatch(/applied the change feed \(upToDate; lag \d+\.\d s\)/);
  });

  it("keeps int64 above 2^53 exact in the warehouse", async () => {
    const { rows } = await warehouseAtPosition(demo);
    const orders = [...rows.get("orders")!.values()];
    expect(orders.some((o) => o.paymentRef === paymentRef(3).toString())).toBe(true);
    expect(paymentRef(3)).toBeGreaterThan(2n ** 53n);
  });

  it("prints the trigger API's URL with a curl command that starts a sync", async () => {
    const text = banner(demo);
    expect(text).toContain(`Trigger API      POST ${demo.siteUrl}/api/sync/demo-shop`);
    const curl = text
      .split("\n")
      .find((line) => line.trim().startsWith("curl "))!
      .trim();
    const { token } = (await demo.client.action(makeFunctionReference<"action">("tokens:create"), {
      name: "demo banner",
      scope: { kind: "all" },
    })) as { token: string };
    const { stdout } = await run("sh", ["-c", `${curl} --silent --show-error`], {
      env: { ...process.env, SYNC_TOKEN: token },
    });
    const { jobId } = JSON.parse(stdout) as { jobId: string };
    const { job } = await demo.jobs.waitForFinal(jobId, 90_000);
    expect(job.status, log).toBe("succeeded");
  });

  it("names the schema of the app that synced, and keeps Convex Auth's debug lines out", async () => {
    const appId = (await demo.client.action(makeFunctionReference<"action">("apps:create"), {
      name: "Shop Copy",
      slug: "shop-copy",
      deploymentUrl: demo.source.url,
      deployKey: demo.source.deployKey,
      tables: ["orders"],
      targetSchema: "shop_copy",
      schedule: null,
      enabled: true,
    })) as string;
    const { jobId } = (await demo.client.mutation(makeFunctionReference<"mutation">("jobs:trigger"), {
      appId,
    })) as { jobId: string };
    const { job, warehouse } = await demo.jobs.waitForFinal(jobId, 90_000);
    expect(job.status, log).toBe("succeeded");
    expect(warehouse?.map((t) => [t.table, t.rows])).toEqual([
      ["orders", demo.feed.documents("orders").length],
    ]);
    expect(log).toContain(`schema "shop_copy") now holds:`);
    expect(log).not.toMatch(/auth:store/);
    expect(consoleLines.filter((line) => line.includes("auth:store"))).toEqual([]);
  });

  it.skipIf(!CHROMIUM)(
    "Sync Now in the dashboard applies the latest shop changes; the app page shows the run and the lag (screenshot)",
    async () => {
      for (let i = 0; i < 3; i++) demo.activity.step();
      const jobsBefore = new Set((await appJobs(demo)).map((j) => j.id));
      const browser = await chromium.launch({ executablePath: CHROMIUM!, args: CHROMIUM_FLAGS });
      try {
        const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
        await page.goto(`${demo.dashboardUrl}/apps/${demo.appId}`);
        await page.getByLabel("Email").fill(demo.admin.email);
        await page.getByLabel("Password").fill(demo.admin.password);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("heading", { name: "Demo Shop" }).waitFor();
        await page.getByRole("button", { name: "Sync Now" }).click();
        let started: StoredJob | undefined;
        while (!(started = (await appJobs(demo)).find((j) => !jobsBefore.has(j.id))))
          await new Promise((r) => setTimeout(r, 250));
        await settle(started.id);
        // A scheduled run may have started between the activity and the click and applied the changes first; the
        // click then started a run with nothing left to apply (or followed the scheduled one). Either way every run
        // since is incremental and succeeded, and one of them carries the changes.
        const since = (await appJobs(demo)).filter((j) => !jobsBefore.has(j.id));
        for (const j of since) await settle(j.id);
        const runs = (await appJobs(demo)).filter((j) => !jobsBefore.has(j.id));
        expect(
          runs.map((j) => [j.kind, j.status]),
          log,
        ).toEqual(runs.map(() => ["incremental", "succeeded"]));
        const applied = runs.filter((j) =>
          (j.changes ?? []).some((c) => c.inserted + c.updated + c.deleted > 0),
        );
        expect(applied.length, log).toBeGreaterThan(0);
        // The app page follows its latest run, and shows the mode and the live lag.
        await page
          .locator('[data-testid="job-progress"][data-status="succeeded"]')
          .waitFor({ timeout: 30_000 });
        await page.locator('[data-testid="sync-mode"][data-mode="auto"]').waitFor();
        expect(await page.getByTestId("feed-lag").textContent()).toMatch(/\d/);
        await mkdir(ARTIFACTS_DIR, { recursive: true });
        await page.screenshot({
          path: path.join(ARTIFACTS_DIR, "demo-app-incremental.png"),
          fullPage: true,
        });
        // The run that applied the changes lists them per table on its page.
        await page.goto(`${demo.dashboardUrl}/logs/${applied.at(-1)!.id}`);
        await page.locator('[data-testid="job-changes"] [data-testid="change-row"]').first().waitFor();
      } finally {
        await browser.close();
      }
      await demo.stop();
      const tables = await listLoadedTables(demo.warehouseTarget, demo.schema);
      const source = demo.feed.stateAt(demo.feed.latestTs);
      expect(Object.fromEntries(tables.map((t) => [t.table, t.rows]))).toEqual(
        Object.fromEntries([...source].map(([table, docs]) => [table, docs.length])),
      );
    },
    180_000,
  );
});
