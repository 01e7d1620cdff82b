import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Id } from "../../convex/_generated/dataModel.js";
import type { IncrementalFigures, TableChanges } from "../../convex/contract/executor.js";
import { startConvexSource, type ConvexSource } from "../standins/convexSource.js";
import { contrastProblems } from "./contrast.js";
import { shownText, startDashboardWithExecutor, type Dashboard } from "./dashboard.js";
import { appRow, type AppRow } from "./seed.js";
import type { ExecutorStandIn } from "./standIns.js";

// Sync modes and incremental runs in the dashboard (issue 13): the mode chosen in the form, what it does now on
// the app page (with the warehouse's position and a live lag), and an incremental job's changes per table.
// App and job states the control plane reaches only over time (a probed feed, a stored position, finished runs)
// are written into the harness's database in the control plane's schema, as logs.test.ts does; the running job
// moves through the executor's real signed HTTP callbacks.
const DEPLOY_KEY = "prod:happy-animal-123|0123456789abcdef";
const EXECUTOR_SECRET = "test-executor-secret-incremental-0123";
const MINUTE = 60_000;
const NOW = Date.now();
/** The warehouse's position: 42 s before the test started, in the source's nanoseconds (above 2^53). */
const POSITION_MS = NOW - 42_000;
const POSITION_TS = `${BigInt(POSITION_MS) * 1_000_000n + 123_456n}`;
const EXPIRED = "the feed position is older than the source keeps its change log";
const NO_FEED = "the deployment's plan has no streaming export (403 StreamingExportNotEnabled)";

let dashboard: Dashboard;
let source: ConvexSource;
let executor: ExecutorStandIn;
let page: Page;
const ids: Record<"live" | "freePlan" | "expired" | "quarterHourly", Id<"apps">> = {} as never;
const jobs: Record<"finished" | "fallback" | "running" | "needsSnapshot", Id<"jobs">> = {} as never;

const changes: TableChanges[] = [
  { table: "messages", inserted: 1200, updated: 30, deleted: 4, truncated: false },
  { table: "chat/threads", inserted: 5, updated: 0, deleted: 0, truncated: true },
];
const upToDate: IncrementalFigures = {
  outcome: "upToDate",
  pages: 3,
  transactions: 2,
  tables: changes,
  droppedTables: [],
  position: POSITION_TS,
  lagMs: 1_500,
  cursorAgeMs: 95_000,
};

beforeAll(async () => {
  source = await startConvexSource({ deployKey: DEPLOY_KEY, tables: { root: ["messages", "users"] } });
  ({ dashboard, executor } = await startDashboardWithExecutor(EXECUTOR_SECRET, {
    SECRETS_KEY: Buffer.alloc(32, 7).toString("base64"),
  }));
  await dashboard.harness.backend.seed(async (ctx) => {
    const app = (name: string, fields: Partial<AppRow>) =>
      ctx.db.insert(
        "apps",
        appRow(name, NOW - 60 * MINUTE, { schedule: { cron: "* * * * *", timeZone: "UTC" }, ...fields }),
      );
    ids.live = await app("Feed Live", {
      syncMode: "auto",
      feed: {
        availability: "available",
        checkedAt: NOW - 5 * MINUTE,
        position: { ts: POSITION_TS, appliedAt: NOW - 40_000 },
      },
    });
    ids.freePlan = await app("Free Plan", {
      syncMode: "auto",
      feed: { availability: "unavailable", reason: NO_FEED, checkedAt: NOW - MINUTE },
    });
    ids.expired = await app("Expired Feed", {
      syncMode: "incremental",
      feed: { availability: "available", checkedAt: NOW - MINUTE, needsSnapshot: EXPIRED },
    });
    ids.quarterHourly = await app("Quarter Hourly", {
      syncMode: "snapshot",
      schedule: { cron: "*/15 * * * *", timeZone: "UTC" },
    });
    const finished = (createdAt: number) => ({ finishedAt: createdAt + 2_000, durationMs: 2_000 });
    const job = (createdAt: number, fields: object) =>
      ctx.db.insert("jobs", {
        appId: ids.live,
        appSlug: "feed-live",
        status: "succeeded",
        active: false,
        trigger: "schedule",
        triggeredBy: "schedule",
        attempt: 1,
        maxAttempts: 3,
        createdAt,
        updatedAt: createdAt + 2_000,
        lastSignOfLifeAt: createdAt + 2_000,
        dispatchAttempts: 1,
        tables: [],
        eventCount: 0,
        ...fields,
      });
    jobs.fallback = await job(NOW - 20 * MINUTE, {
      ...finished(NOW - 20 * MINUTE),
      kind: "snapshot",
      kindReason: "full snapshot: the feed position expired",
      tables: [{ table: "messages", state: "swapped", rows: 5000, bytes: 250_000, seconds: 1.2 }],
      totalRows: 5000,
    });
    jobs.finished = await job(NOW - 10 * MINUTE, {
      ...finished(NOW - 10 * MINUTE),
      kind: "incremental",
      phase: "finished",
      totalRows: 1239,
      changes,
      incremental: upToDate,
    });
    jobs.needsSnapshot = await job(NOW - 5 * MINUTE, {
      ...finished(NOW - 5 * MINUTE),
      kind: "incremental",
      phase: "finished",
      totalRows: 0,
      incremental: {
        ...upToDate,
        outcome: "needsSnapshot",
        reason: "tables dropped in the source: orders",
        droppedTables: ["orders"],
        tables: [],
        pages: 1,
        transactions: 0,
      },
    });
    // Handed to the executor (attempt 1), which now reports through its signed callbacks.
    jobs.running = await job(NOW - MINUTE, {
      kind: "incremental",
      status: "dispatched",
      active: true,
      trigger: "manual",
      triggeredBy: "admin@example.com",
      lastSignOfLifeAt: NOW,
      attemptDeadline: NOW + 60 * MINUTE,
    });
    await ctx.db.patch(ids.live, {
      lastJobId: jobs.running,
      lastJobStatus: "dispatched",
      lastJobAt: NOW - MINUTE,
    });
  });
  page = await dashboard.openSignedIn("/apps");
});
afterAll(async () => {
  if (page) await dashboard.screenshot(page, "incremental-last-state");
  await dashboard?.close();
  await executor?.close();
  await source?.close();
});

/** Seconds in a lag such as "42 s" or "1 min 05 s". */
function lagSeconds(lag: string): number {
  const match = /^(?:(\d+) min )?(\d+) s$/.exec(lag);
  if (!match) throw new Error(`not a lag in seconds: "${lag}"`);
  return Number(match[1] ?? 0) * 60 + Number(match[2]);
}

describe.sequential("sync modes and incremental runs", () => {
  it("saves the sync mode chosen in the form, auto for a new app, and offers a schedule of every minute", async () => {
    await page.goto(dashboard.site.url + "/apps/new");
    const mode = (name: string) => page.getByRole("radio", { name: new RegExp(`^${name}`) });
    await mode("Auto").waitFor();
    expect(await mode("Auto").isChecked()).toBe(true);
    expect(await page.locator("#sync-mode-plan").textContent()).toMatch(/paid plans.*auto falls back/s);
    await page.getByLabel("Name").fill("Shop Incremental");
    await page.getByLabel("Deployment URL").fill(source.url);
    await page.getByLabel(/^Deploy key/).fill(DEPLOY_KEY);
    await mode("Incremental").check();
    await page.getByLabel("Run on a schedule").check();
    await page.getByLabel("Repeat").selectOption({ label: "Every minute" });
    expect(await page.getByLabel(/^Cron/).inputValue()).toBe("* * * * *");
    expect(await page.getByTestId("cron-reading").textContent()).toMatch(/^Every minute/);
    await dashboard.screenshot(page, "incremental-app-form");
    await page.getByRole("button", { name: "Create app" }).click();
    await page.getByRole("heading", { name: "Shop Incremental" }).waitFor();
    const appUrl = page.url();
    expect(await page.getByTestId("sync-mode").getAttribute("data-mode")).toBe("incremental");
    expect(await shownText(page, "sync-runs")).toBe("Every minute");

    await page.goto(appUrl + "/edit");
    await mode("Incremental").waitFor();
    expect(await mode("Incremental").isChecked()).toBe(true);
    expect(await page.getByLabel("Repeat").inputValue()).toBe("minutely");
    await mode("Snapshot").check();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("heading", { name: "Shop Incremental" }).waitFor();
    await page.locator('[data-testid="sync-mode"][data-mode="snapshot"]').waitFor();
    expect(await shownText(page, "sync-mode")).toBe("snapshot");
  });

  it("shows on the app page what auto does now, where the warehouse is, and a lag that ticks", async () => {
    await page.goto(`${dashboard.site.url}/apps/${ids.live}`);
    await page.getByRole("heading", { name: "Feed Live" }).waitFor();
    expect(await shownText(page, "sync-mode")).toBe("auto → incremental");
    expect(await page.getByTestId("sync-mode").getAttribute("data-next")).toBe("incremental");
    // The position to the second, in UTC: nanoseconds above 2^53 read exactly.
    const at = new Date(POSITION_MS).toISOString().replace("T", " ").slice(0, 19);
    expect(await shownText(page, "feed-position")).toMatch(new RegExp(`^warehouse at ${at} UTC`));
    const lag = page.getByTestId("feed-lag");
    const first = (await lag.textContent()) ?? "";
    expect(lagSeconds(first)).toBeGreaterThanOrEqual(42);
    // Live: the lag moves on without a reload.
    await page.waitForFunction(
      (before) => document.querySelector('[data-testid="feed-lag"]')?.textContent !== before,
      first,
    );
    expect(lagSeconds((await lag.textContent()) ?? "")).toBeGreaterThan(lagSeconds(first));
    // The cursor's age from the newest incremental run with figures.
    await page.getByTestId("cursor-age").getByText("1 min 35 s").waitFor();
    expect(await shownText(page, "sync-runs")).toBe("Every minute");
    await dashboard.screenshot(page, "incremental-app-live");

    // The Overview gives the same live lag for apps on the feed, and keeps "… ago" for the others.
    await page.goto(dashboard.site.url + "/");
    const freshness = (name: string) =>
      page.getByRole("row").filter({ hasText: name }).getByTestId("freshness");
    const overviewLag = freshness("Feed Live").getByTestId("freshness-lag");
    await overviewLag.waitFor();
    const shown = ((await overviewLag.textContent()) ?? "").trim();
    expect(lagSeconds(shown.replace(/ behind$/, ""))).toBeGreaterThanOrEqual(42);
    await page.waitForFunction(
      (before) => document.querySelector('[data-testid="freshness-lag"]')?.textContent?.trim() !== before,
      shown,
    );
    expect(await freshness("Shop Incremental").getByTestId("freshness-lag").count()).toBe(0);
    await dashboard.screenshot(page, "incremental-overview");

    await page.goto(`${dashboard.site.url}/apps/${ids.freePlan}`);
    await page.getByRole("heading", { name: "Free Plan" }).waitFor();
    expect(await shownText(page, "sync-mode")).toBe(`auto → snapshot: ${NO_FEED}`);
    expect(await page.getByTestId("sync-mode").getAttribute("data-next")).toBe("snapshot");
    expect(await shownText(page, "feed-availability")).toMatch(/^unavailable: the deployment's plan/);

    await page.goto(`${dashboard.site.url}/apps/${ids.expired}`);
    await page.getByRole("heading", { name: "Expired Feed" }).waitFor();
    expect(await shownText(page, "sync-mode")).toBe(`incremental: needs a snapshot: ${EXPIRED}`);
    expect(await shownText(page, "feed-position")).toBe("no feed position stored");
    expect(await page.getByTestId("feed-lag").count()).toBe(0);
  });

  it("warns in the schedule form of a snapshot-mode app that runs more often than hourly, not hourly or on auto", async () => {
    const warning = page.getByTestId("snapshot-cadence-warning");
    const mode = (name: string) => page.getByRole("radio", { name: new RegExp(`^${name}`) });
    /** The preview of the cron now typed has arrived: five runs, each passing `runs`. */
    const previewed = (runs: RegExp) =>
      page.waitForFunction((source) => {
        const items = [...document.querySelectorAll('[data-testid="next-runs"] li')];
        return items.length === 5 && items.every((li) => new RegExp(source).test(li.textContent ?? ""));
      }, runs.source);

    await page.goto(`${dashboard.site.url}/apps/${ids.quarterHourly}/edit`);
    await warning.waitFor();
    expect(await mode("Snapshot").isChecked()).toBe(true);
    expect(await page.getByLabel(/^Cron/).inputValue()).toBe("*/15 * * * *");
    expect(await warning.textContent()).toMatch(/more often than hourly.*snapshot mode.*whole deployment/s);
    await dashboard.screenshot(page, "snapshot-cadence-warning");

    await page.getByLabel(/^Cron/).fill("0 * * * *");
    await previewed(/:00 UTC$/);
    expect(await warning.count()).toBe(0);

    // Auto at every minute: no warning, until the same schedule is chosen for snapshots.
    await page.goto(`${dashboard.site.url}/apps/${ids.live}/edit`);
    await previewed(/UTC$/);
    expect(await mode("Auto").isChecked()).toBe(true);
    expect(await page.getByLabel(/^Cron/).inputValue()).toBe("* * * * *");
    expect(await warning.count()).toBe(0);
    await mode("Snapshot").check();
    await warning.waitFor();
  });

  it("lists jobs with their kind, an incremental run's changes instead of rows, and why a kind was chosen", async () => {
    await page.goto(`${dashboard.site.url}/logs?app=${ids.live}`);
    const rows = page.getByTestId("job-row");
    await rows.nth(3).waitFor();
    const kinds = await rows.getByTestId("job-kind").allTextContents();
    expect(kinds).toEqual(["incremental", "incremental", "incremental", "snapshot"]);
    const amounts = (await rows.getByTestId("job-amount").allTextContents()).map((t) => t.trim());
    expect(amounts).toEqual(["—", "+0 ~0 −0", "+1,205 ~30 −4", "5,000"]);
    expect(await rows.nth(3).getByTestId("kind-reason").textContent()).toMatch(
      /full snapshot: the feed position expired/,
    );
    await dashboard.screenshot(page, "incremental-logs");
  });

  it("shows an incremental job's changes per table live while it applies, then the run's figures", async () => {
    const job = { jobId: jobs.running, attempt: 1 };
    await page.goto(`${dashboard.site.url}/logs/${jobs.running}`);
    await page.getByTestId("job-progress").waitFor();
    expect(await shownText(page, "job-kind")).toBe("incremental");

    await executor.applying(job, [changes[0]!]);
    await page.getByText("Applying the source's changes").waitFor();
    const row = (table: string) => page.locator(`[data-testid="change-row"][data-table="${table}"]`);
    await row("messages").waitFor();
    expect(await shownText(page, "changes-summary")).toBe("Committed so far: +1,200 ~30 −4 in 1 table");
    await executor.applying(job, changes);
    await row("chat/threads").waitFor();
    expect(await row("chat/threads").getByTestId("change-truncated").textContent()).toMatch(/yes/);
    await dashboard.screenshot(page, "incremental-job-applying");

    await executor.completeIncremental(job, "succeeded", upToDate);
    await page.locator('[data-testid="job-progress"][data-status="succeeded"]').waitFor();
    expect(await page.getByTestId("incremental-outcome").getAttribute("data-outcome")).toBe("upToDate");
    const cells = async (table: string) =>
      (await row(table).locator("td").allTextContents()).map((t) => t.trim());
    expect(await cells("messages")).toEqual(["messages", "1,200", "30", "4", "no"]);
    expect(await cells("chat/threads")).toEqual(["chat/threads", "5", "0", "0", "yes, emptied first"]);
    expect(await shownText(page, "incremental-pages")).toBe("3");
    expect(await shownText(page, "incremental-transactions")).toMatch(/^2 committed/);
    expect(await shownText(page, "incremental-lag")).toBe("1 s");
    expect(await shownText(page, "incremental-cursor-age")).toMatch(/^1 min 35 s when the run started/);
    expect(await shownText(page, "incremental-position")).toMatch(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/,
    );
    expect(await shownText(page, "changes-summary")).toBe(
      "Changes: +1,205 ~30 −4 in 2 tables, 1 emptied first",
    );
    await dashboard.screenshot(page, "incremental-job-detail");
  });

  it("explains in words a run that found the feed needs a snapshot", async () => {
    await page.goto(`${dashboard.site.url}/logs/${jobs.needsSnapshot}`);
    const outcome = page.getByTestId("incremental-outcome");
    await outcome.waitFor();
    expect(await outcome.getAttribute("data-outcome")).toBe("needsSnapshot");
    expect(await outcome.textContent()).toMatch(
      /cannot continue from the warehouse's position.*full snapshot/s,
    );
    expect(await shownText(page, "incremental-reason")).toBe("tables dropped in the source: orders");
    expect(await shownText(page, "incremental-dropped")).toBe("orders");
    expect(await page.getByText("No changes: the source had nothing new.").count()).toBe(1);
  });

  it("has text contrast of at least WCAG AA in every feed state and on the job pages, light and dark", async () => {
    const viewer = await dashboard.openSignedIn("/");
    const pages: [string, string][] = [
      ["/", "freshness-lag"],
      [`/apps/${ids.live}`, "feed-lag"],
      [`/apps/${ids.freePlan}`, "sync-mode"],
      [`/apps/${ids.expired}`, "sync-mode"],
      [`/logs/${jobs.finished}`, "job-changes"],
      [`/logs/${jobs.needsSnapshot}`, "incremental-outcome"],
      [`/logs?app=${ids.live}`, "job-row"],
      [`/apps/${ids.quarterHourly}/edit`, "snapshot-cadence-warning"],
      ["/apps/new", ""],
    ];
    const found: string[] = [];
    for (const scheme of ["light", "dark"] as const) {
      await viewer.emulateMedia({ colorScheme: scheme });
      for (const [pathname, shown] of pages) {
        await viewer.goto(dashboard.site.url + pathname);
        if (!shown) await viewer.getByRole("radio", { name: /^Auto/ }).waitFor();
        else await viewer.getByTestId(shown).first().waitFor();
        for (const p of await contrastProblems(viewer))
          found.push(
            `${scheme} ${pathname}: "${p.text}" ${p.ratio}:1 < ${p.required}:1 (${p.color} on ${p.background})`,
          );
      }
    }
    await viewer.close();
    expect(found).toEqual([]);
  });

  it("fits the new parts on a phone", async () => {
    const phone = await dashboard.openSignedIn(`/apps/${ids.live}`, { width: 360, height: 780 });
    const pages: [string, string][] = [
      [`/apps/${ids.live}`, "sync-mode"],
      [`/logs/${jobs.finished}`, "job-changes"],
      [`/apps/${ids.live}/edit`, "key-hint"],
      ["/logs", "job-row"],
    ];
    for (const [i, [pathname, shown]] of pages.entries()) {
      await phone.goto(dashboard.site.url + pathname);
      await phone.getByTestId(shown).first().waitFor();
      const width = await phone.evaluate(() => document.scrollingElement!.scrollWidth);
      expect(width, `${pathname} scrolls sideways`).toBeLessThanOrEqual(360);
      await dashboard.screenshot(phone, `phone-incremental-${i}`);
    }
    await phone.close();
  });
});
