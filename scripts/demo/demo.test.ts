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
import { startDemo, type Demo } from "./demo.js";
import { SHOP_ROW_COUNTS } from "./sampleShop.js";

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
    expect(warehouse?.map((t) => [t.table, t.rows])).toEqual([["orders", SHOP_ROW_COUNTS.orders]]);
    expect(log).toContain(`schema "shop_copy") now holds:`);
    expect(log).not.toMatch(/auth:store/);
    expect(consoleLines.filter((line) => line.includes("auth:store"))).toEqual([]);
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
