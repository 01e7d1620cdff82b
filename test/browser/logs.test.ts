import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "./dashboard.js";
import { appRow } from "./seed.js";

// The Logs page over many jobs: pagination and filters, and the Overview's last runs. Jobs are written straight
// into the harness's database, in the control plane's own schema.
const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = new Date();
/** UTC midnight today: the date filters speak whole days in the dashboard's one zone, UTC. */
const TODAY = Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate());
let dashboard: Dashboard;
let page: Page;

function dateInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
/** The date filter for the UTC day `k` days ago. */
const daysAgo = (k: number) => dateInput(TODAY - k * DAY + 12 * HOUR);

beforeAll(async () => {
  dashboard = await startDashboard({ SECRETS_KEY: Buffer.alloc(32, 5).toString("base64") });
  await dashboard.harness.backend.seed(async (ctx) => {
    // alpha runs hourly, so its day-old data is behind schedule; beta is manual only.
    const app = (slug: string) =>
      ctx.db.insert(
        "apps",
        appRow(slug, TODAY - 60 * DAY, {
          schedule: slug === "alpha" ? { cron: "0 * * * *", timeZone: "UTC" } : null,
        }),
      );
    const apps = [await app("alpha"), await app("beta")];
    // Job i was created (floor(i/2) + 1) days ago: alpha (even i) at 18:00, beta (odd i) at 06:00. So each of
    // the last 20 days holds one job of each app; the failed ones (i = 3, 13, 23, 33) are beta's, 2, 7, 12
    // and 17 days ago. createdAt is all the dashboard filters on; every row's _creationTime is today.
    for (let i = 0; i < 40; i++) {
      const appId = apps[i % 2]!;
      const at = TODAY - (Math.floor(i / 2) + 1) * DAY + (i % 2 === 0 ? 18 : 6) * HOUR;
      const failed = i % 10 === 3;
      const jobId = await ctx.db.insert("jobs", {
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
        finishedAt: at + 60_000 + i * 1000,
        durationMs: 60_000 + i * 1000,
        dispatchAttempts: 1,
        tables: [],
        totalRows: failed ? 0 : 1000 + i,
        export: { requestedAt: at, checks: 1, snapshotTs: `${at}000000` },
        eventCount: 0,
        // Failure 3 was temporary but used the last of its 3 attempts.
        ...(failed
          ? { error: { message: `seeded failure ${i}`, retryable: i === 3 }, attempt: i === 3 ? 3 : 1 }
          : {}),
      });
      if (i < 2)
        await ctx.db.patch(appId, {
          lastJobId: jobId,
          lastJobStatus: "succeeded",
          lastJobAt: at + 60_000 + i * 1000,
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

  it("filters by app, by status, and by date range, alone or combined", async () => {
    const rows = page.getByTestId("job-row");
    const rowCount = (n: number) =>
      page.waitForFunction((n) => document.querySelectorAll('[data-testid="job-row"]').length === n, n);
    await page.getByLabel("App").selectOption({ label: "beta" });
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="job-row"]')].every((r) => r.textContent?.includes("beta")),
    );
    expect(await rows.count()).toBe(20);

    await page.getByLabel("Status").selectOption("failed");
    await rowCount(4);
    expect(new URL(page.url()).searchParams.get("status")).toBe("failed");
    await page.reload();
    await rowCount(4);
    expect(await page.getByLabel("Status").inputValue()).toBe("failed");
    expect(await page.getByText("seeded failure 3", { exact: true }).count()).toBe(1);

    // Status and app with a date range: whole UTC days, both ends included.
    await page.getByLabel("From").fill(daysAgo(7));
    await page.getByLabel("To").fill(daysAgo(2));
    await rowCount(2);
    const failures = async () =>
      (await page.locator('[data-testid="job-row"] .err').allTextContents()).map((t) => t.trim());
    expect(await failures()).toEqual(["seeded failure 3", "seeded failure 13"]);
    expect(await page.getByText(/does not apply/).count()).toBe(0);
    await page.getByLabel("From").fill(daysAgo(6));
    await rowCount(1);
    expect(await failures()).toEqual(["seeded failure 3"]);
    await page.getByLabel("To").fill(daysAgo(3));
    await page.getByText("No jobs match.").waitFor();
    const url = new URL(page.url()).searchParams;
    expect([url.get("app"), url.get("status"), url.get("from"), url.get("to")]).toEqual([
      await page.getByLabel("App").inputValue(),
      "failed",
      daysAgo(6),
      daysAgo(3),
    ]);
    // Status and range without the app: every failed job 17 to 12 days ago.
    // (To first: the reversed range in between shows no rows, so the count below is the final state's.)
    await page.getByLabel("App").selectOption({ label: "All apps" });
    await page.getByLabel("To").fill(daysAgo(12));
    await page.getByRole("alert").waitFor();
    await page.getByLabel("From").fill(daysAgo(17));
    await rowCount(2);
    expect(await failures()).toEqual(["seeded failure 23", "seeded failure 33"]);
    await page.reload();
    await rowCount(2);
    expect(await page.getByLabel("From").inputValue()).toBe(daysAgo(17));
    await dashboard.screenshot(page, "logs-status-and-dates");

    // A range alone, on createdAt: one job per app per day.
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.getByLabel("From").fill(dateInput(TODAY + DAY));
    await page.getByText("No jobs match.").waitFor();
    await page.getByLabel("From").fill(daysAgo(3));
    await page.getByLabel("To").fill(daysAgo(3));
    await rowCount(2);
    expect((await rows.allTextContents()).map((t) => /alpha|beta/.exec(t)?.[0])).toEqual(["alpha", "beta"]);
    await page.getByLabel("From").fill(daysAgo(20));
    await page.getByLabel("To").fill(daysAgo(1));
    await rowCount(25);
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(1);

    await page.getByLabel("From").fill(daysAgo(0));
    await page.getByLabel("To").fill(daysAgo(3));
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toMatch(/end date is before the start date/);
    await page.getByLabel("From").fill("29.11.2026");
    expect(await page.getByRole("alert").textContent()).toMatch(/Write dates as YYYY-MM-DD/);
    expect(await page.getByLabel("From").getAttribute("aria-invalid")).toBe("true");
    await dashboard.screenshot(page, "logs");
  });

  it("says a failed job's temporary error will not be retried once its attempts are used up", async () => {
    const job = await dashboard.openSignedIn("/logs?status=failed");
    await job.getByText("seeded failure 3", { exact: true }).waitFor();
    await job
      .getByTestId("job-row")
      .filter({ has: job.getByText("seeded failure 3", { exact: true }) })
      .getByRole("link")
      .click();
    const hint = await job.getByTestId("job-error").textContent();
    expect(hint).toMatch(/all 3 attempts failed: press Sync Now to try again/);
    expect(hint).not.toMatch(/retried if attempts remain/);
    await job.close();
  });

  it("shows per app how old the warehouse's data is, highlighted when the schedule says it is late", async () => {
    const overview = await dashboard.openSignedIn("/");
    const freshness = (slug: string) =>
      overview.getByRole("row").filter({ hasText: slug }).getByTestId("freshness");
    await freshness("alpha").waitFor();
    expect(await freshness("alpha").getAttribute("data-behind")).toBe("true");
    expect(await freshness("alpha").textContent()).toMatch(
      /ago.*behind schedule: the .* UTC run has not loaded/s,
    );
    expect(await freshness("beta").getAttribute("data-behind")).toBe("false");
    expect(await freshness("beta").textContent()).toMatch(/ ago\s*$/);
    await dashboard.screenshot(overview, "overview-freshness");
    await overview.close();
  });

  it("shows each app's last run, its duration and rows, on the Overview", async () => {
    const overview = await dashboard.openSignedIn("/");
    const lastRun = async (slug: string) => {
      const row = overview.getByRole("row").filter({ hasText: slug });
      await row.getByText(/rows/).waitFor();
      return (await row.textContent())?.replace(/\s+/g, " ");
    };
    expect(await lastRun("alpha")).toMatch(/1 min 00 s · 1,000 rows/);
    expect(await lastRun("beta")).toMatch(/1 min 01 s · 1,001 rows/);
    await overview.close();
  });
});
