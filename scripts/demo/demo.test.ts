import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { makeFunctionReference } from "convex/server";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS_DIR, CHROMIUM, CHROMIUM_FLAGS } from "../../test/browser/dashboard.js";
import { listLoadedTables } from "../../executor/src/import/inventory.js";
import { startDemo, type Demo } from "./demo.js";
import { SHOP_ROW_COUNTS } from "./sampleShop.js";

// The demo as a newcomer gets it, on free ports: real functions, real executor process, DuckDB warehouse.
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
  });
}, 300_000);

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
  });

  it("syncs every table of the shop snapshot into the DuckDB warehouse", async () => {
    const started = (await demo.client.mutation(makeFunctionReference<"mutation">("jobs:trigger"), {
      appId: demo.appId,
    })) as { jobId: string; created: boolean };
    expect(started.created).toBe(true);

    const { job, warehouse } = await demo.jobs.waitForFinal(started.jobId, 90_000);
    expect(job.status, log).toBe("succeeded");
    const counts = (tables: { table: string; rows: number }[] | null) =>
      Object.fromEntries((tables ?? []).map((t) => [t.table, t.rows]));
    expect(counts(warehouse)).toEqual(EXPECTED_SQL_TABLES);
    // The demo printed them too, and the control plane recorded the executor's figures.
    expect(log).toMatch(new RegExp(`job ${started.jobId}: succeeded`));
    expect(log).toMatch(/orders\s+150 rows/);
    const detail = (await demo.client.query(makeFunctionReference<"query">("jobQueries:get"), {
      jobId: started.jobId,
    })) as { job: { tables: { table: string; rows: number; state: string }[] } };
    expect(Object.fromEntries(detail.job.tables.map((t) => [t.table, t.rows]))).toEqual(EXPECTED_SQL_TABLES);
  });

  it.skipIf(!CHROMIUM)(
    "Sync Now in the dashboard runs a second sync to success (screenshot of the app page)",
    async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM!, args: CHROMIUM_FLAGS });
      try {
        const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
        await page.goto(`${demo.dashboardUrl}/apps/${demo.appId}`);
        await page.getByLabel("Email").fill(demo.admin.email);
        await page.getByLabel("Password").fill(demo.admin.password);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("heading", { name: "Demo Shop" }).waitFor();
        await page.getByRole("button", { name: "Sync Now" }).click();
        await page
          .locator('[data-testid="job-progress"][data-status="succeeded"]')
          .waitFor({ timeout: 90_000 });
        await page.waitForFunction(
          () =>
            document.querySelector('[data-table="orders"] [data-testid="table-rows"]')?.textContent === "150",
        );
        await mkdir(ARTIFACTS_DIR, { recursive: true });
        await page.screenshot({
          path: path.join(ARTIFACTS_DIR, "demo-app-detail-succeeded.png"),
          fullPage: true,
        });
      } finally {
        await browser.close();
      }
      await demo.stop();
      const tables = await listLoadedTables(demo.warehouseTarget, demo.schema);
      expect(Object.fromEntries(tables.map((t) => [t.table, t.rows]))).toEqual(EXPECTED_SQL_TABLES);
    },
    150_000,
  );
});
