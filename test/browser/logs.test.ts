import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "./dashboard.js";

// The Logs page over many jobs: pagination and filters. Jobs are written straight into the harness's
// database, in the control plane's own schema.
const DAY = 86_400_000;
const NOW = Date.now();
let dashboard: Dashboard;
let page: Page;

function dateInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

beforeAll(async () => {
  dashboard = await startDashboard({ SECRETS_KEY: Buffer.alloc(32, 5).toString("base64") });
  await dashboard.harness.backend.seed(async (ctx) => {
    const app = (slug: string) =>
      ctx.db.insert("apps", {
        name: slug,
        slug,
        deploymentUrl: "https://happy-animal-123.convex.cloud",
        deployKeyCiphertext: "not-used",
        deployKeyHint: "prod:happy-animal-123|••••0000",
        tables: null,
        targetSchema: slug.replace(/-/g, "_"),
        schedule: null,
        enabled: true,
        retry: { maxAttempts: 3, baseDelayMs: 5_000, maxDelayMs: 60_000 },
        includeStorage: false,
        createdAt: NOW - 60 * DAY,
        updatedAt: NOW - 60 * DAY,
        failureStreak: 0,
      });
    const apps = [await app("alpha"), await app("beta")];
    for (let i = 0; i < 40; i++) {
      const appId = apps[i % 2]!;
      const at = NOW - i * 0.5 * DAY - 3_600_000;
      const failed = i % 10 === 3;
      await ctx.db.insert("jobs", {
        appId,
        appSlug: i % 2 === 0 ? "alpha" : "beta",
        status: failed ? "failed" : "succeeded",
        active: false,
        trigger: "schedule",
        triggeredBy: "schedule",
        attempt: 1,
        maxAttempts: 3,
        createdAt: at,
        updatedAt: at + 60_000,
        lastSignOfLifeAt: at + 60_000,
        finishedAt: at + 60_000,
        durationMs: 60_000,
        dispatchAttempts: 1,
        tables: [],
        totalRows: failed ? 0 : 1000 + i,
        eventCount: 0,
        ...(failed ? { error: { message: `seeded failure ${i}`, retryable: false } } : {}),
      });
    }
  });
  page = await dashboard.openSignedIn("/logs");
});
afterAll(async () => {
  if (page) await dashboard.screenshot(page, "logs-last-state");
  await dashboard?.close();
});

describe("logs", () => {
  it("pages through all jobs", async () => {
    const rows = page.getByTestId("job-row");
    await rows.nth(24).waitFor();
    expect(await rows.count()).toBe(25);
    await page.getByRole("button", { name: "Load more" }).click();
    await rows.nth(39).waitFor();
    expect(await rows.count()).toBe(40);
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0);
  });

  it("filters by app, by status, and by date range", async () => {
    const rows = page.getByTestId("job-row");
    await page.getByLabel("App").selectOption({ label: "beta" });
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="job-row"]')].every((r) => r.textContent?.includes("beta")),
    );
    expect(await rows.count()).toBe(20);

    await page.getByLabel("Status").selectOption("failed");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="job-row"]').length === 4);
    expect(new URL(page.url()).searchParams.get("status")).toBe("failed");
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="job-row"]').length === 4);
    expect(await page.getByLabel("Status").inputValue()).toBe("failed");
    expect(await page.getByText("seeded failure 3", { exact: true }).count()).toBe(1);

    await page.getByRole("button", { name: "Clear filters" }).click();
    // The range applies to when a job was created; every seeded row was created by this test, today.
    await page.getByLabel("From").fill(dateInput(NOW + DAY));
    await page.getByText("No jobs match.").waitFor();
    await page.getByLabel("From").fill(dateInput(NOW));
    await page.getByLabel("To").fill(dateInput(NOW));
    await rows.nth(24).waitFor();
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(1);

    await page.getByLabel("From").fill(dateInput(NOW));
    await page.getByLabel("To").fill(dateInput(NOW - 3 * DAY));
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toMatch(/end date is before the start date/);
    await dashboard.screenshot(page, "logs");
  });
});
