import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { makeFunctionReference } from "convex/server";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contrastProblems } from "./contrast.js";
import { startDashboardWithExecutor, type Dashboard } from "./dashboard.js";
import { startConvexSource, type ConvexSource } from "../standins/convexSource.js";
import type { ExecutorStandIn } from "./standIns.js";

// One app's life in the dashboard: created through the form, synced, failed, found in the logs.
const run = promisify(execFile);
const DEPLOY_KEY = "prod:happy-animal-123|0123456789abcdef";
const EXECUTOR_SECRET = "test-executor-secret-0123456789";
const TABLES = ["messages", "orders", "users"];

let dashboard: Dashboard;
let source: ConvexSource;
let executor: ExecutorStandIn;
let page: Page;
let appUrl: string;

beforeAll(async () => {
  source = await startConvexSource({ deployKey: DEPLOY_KEY, tables: { root: TABLES }, exportDelayMs: 300 });
  ({ dashboard, executor } = await startDashboardWithExecutor(EXECUTOR_SECRET, {
    SECRETS_KEY: Buffer.alloc(32, 9).toString("base64"),
  }));
  page = await dashboard.openSignedIn("/apps");
});
afterAll(async () => {
  if (page) await dashboard.screenshot(page, "sync-last-state");
  await dashboard?.close();
  await executor?.close();
  await source?.close();
});

describe.sequential("an app from creation to a failed sync", () => {
  it("validates the form before sending anything", async () => {
    await page.getByRole("link", { name: "Add app" }).first().click();
    await page.getByRole("button", { name: "Create app" }).click();
    expect(await page.locator("#name-error").textContent()).toMatch(/Give the app a name/);
    expect(await page.locator("#key-error").textContent()).toMatch(/deploy key/);
    expect(await page.getByLabel("Name").getAttribute("aria-invalid")).toBe("true");
  });

  it("creates an app with fetched tables and a schedule whose next runs are previewed", async () => {
    await page.getByLabel("Name").fill("Shop Prod");
    expect(await page.getByLabel(/^Slug/).inputValue()).toBe("shop-prod");
    expect(await page.getByLabel(/^Target schema/).inputValue()).toBe("shop_prod");
    // Once typed, slug and schema keep what was typed when the name changes.
    await page.getByLabel(/^Slug/).fill("shop-prod");
    await page.getByLabel(/^Target schema/).fill("shop_prod");
    await page.getByLabel("Name").fill("Shop Production");
    expect(await page.getByLabel(/^Slug/).inputValue()).toBe("shop-prod");
    expect(await page.getByLabel(/^Target schema/).inputValue()).toBe("shop_prod");
    await page.getByLabel("Name").fill("Shop Prod");
    await page.getByLabel("Deployment URL").fill(source.url);
    await page.getByLabel(/^Deploy key/).fill(DEPLOY_KEY);
    await page.getByLabel("Only the tables I select").check();
    await page.getByRole("button", { name: "Fetch tables" }).click();
    const checklist = page.getByRole("list", { name: "Source tables" });
    await checklist.waitFor();
    expect(await checklist.getByRole("checkbox").count()).toBe(3);
    await checklist.getByLabel("messages").uncheck();

    await page.getByLabel("Run on a schedule").check();
    // A preset writes the cron; the expression is read back in words.
    await page.getByLabel("Repeat").selectOption({ label: "Weekdays (Mon–Fri) at…" });
    await page.getByLabel(/^At/).fill("06:15");
    expect(await page.getByLabel(/^Cron/).inputValue()).toBe("15 6 * * 1-5");
    expect(await page.getByTestId("cron-reading").textContent()).toMatch(/At 06:15, Monday through Friday/);
    await page.getByLabel(/^At/).fill("25:00");
    expect(await page.locator("#schedule-time-error").textContent()).toMatch(/HH:MM, 24-hour/);
    expect(await page.getByLabel(/^Cron/).inputValue()).toBe("");
    await page.getByLabel(/^Cron/).fill("30 3 * * *");
    expect(await page.getByLabel("Repeat").inputValue()).toBe("daily");
    await page.getByLabel("Time zone").fill("Europe/Berlin");
    expect(await page.getByTestId("cron-reading").textContent()).toMatch(/At 03:30, Europe\/Berlin time/);
    const runs = page.getByTestId("next-runs").getByRole("listitem");
    await runs.nth(4).waitFor();
    expect(await runs.count()).toBe(5);
    // Shown in the dashboard's zone, labelled, with the schedule's own wall-clock time beside it.
    expect(await runs.first().textContent()).toMatch(
      /^\w{3} \d{4}-\d{2}-\d{2} \d{2}:30 UTC \(03:30 Europe\/Berlin\)$/,
    );
    await dashboard.screenshot(page, "app-form");

    await page.getByRole("button", { name: "Create app" }).click();
    await page.getByRole("heading", { name: "Shop Prod" }).waitFor();
    appUrl = page.url();
    const content = await page.content();
    expect(content).not.toContain(DEPLOY_KEY);
    expect(await page.getByText("orders, users").count()).toBe(1);
  });

  it("shows a server-side error next to its field", async () => {
    await page.goto(dashboard.site.url + "/apps/new");
    await page.getByLabel("Name").fill("Shop Prod");
    expect(await page.getByText(/^Runs only when triggered/).textContent()).toContain(
      `POST ${dashboard.harness.siteUrl}/api/sync/shop-prod`,
    );
    await page.getByLabel("Deployment URL").fill(source.url);
    await page.getByLabel(/^Deploy key/).fill(DEPLOY_KEY);
    await page.getByRole("button", { name: "Create app" }).click();
    const slugError = page.locator("#slug-error");
    await slugError.waitFor();
    expect(await slugError.textContent()).toMatch(/already used/);
    expect(await page.getByLabel(/^Slug/).getAttribute("aria-invalid")).toBe("true");

    // The source refuses this key: nothing is saved, the refusal reads at the key field.
    await page.getByLabel(/^Slug/).fill("shop-prod-2");
    await page.getByLabel(/^Deploy key/).fill("prod:happy-animal-123|revoked-or-wrong-key");
    await page.getByRole("button", { name: "Create app" }).click();
    const keyError = page.locator("#key-error");
    await keyError.waitFor();
    expect(await keyError.textContent()).toMatch(/does not accept this deploy key/);
    expect(page.url()).toMatch(/\/apps\/new$/);

    await page.goto(appUrl + "/edit");
    await page.getByLabel(/^Target schema/).waitFor();
    // What the source has (asked on opening, with the saved key) apart from what is selected.
    await page.getByText("The source has 3 tables.").waitFor();
    expect(await page.getByTestId("selected-tables").textContent()).toMatch(/Selected: 2 tables\./);
    const checklist = page.getByRole("list", { name: "Source tables" });
    expect(await checklist.getByRole("checkbox").count()).toBe(3);
    expect(await checklist.getByRole("checkbox", { checked: true }).count()).toBe(2);
    await page.getByLabel(/^Target schema/).fill("");
    await page.getByRole("button", { name: "Save changes" }).click();
    expect(await page.locator("#schema-error").textContent()).toMatch(/target schema is required/);
    await page.getByLabel(/^Target schema/).fill("shop_prod");
    expect(await page.getByTestId("key-hint").textContent()).not.toContain("0123456789abcdef");
    await page.getByLabel("Run on a schedule").check();
    await page.getByLabel(/^Cron/).fill("61 * * * *");
    await page.getByRole("button", { name: "Save changes" }).click();
    const error = page.getByTestId("cron-error");
    await error.waitFor();
    expect(await error.textContent()).toBe(
      'cron "61 * * * *": 61 is not a valid minute: minutes go from 0 to 59.',
    );
    await dashboard.screenshot(page, "app-edit-cron-error");
    await page.getByLabel(/^Cron/).fill("30 3 * * *");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("heading", { name: "Shop Prod" }).waitFor();
  });

  it("syncs now and shows per-table progress moving without a reload, then success", async () => {
    await page.getByRole("button", { name: "Sync Now" }).click();
    await page.getByRole("button", { name: "Syncing…" }).waitFor();
    const job = await executor.waitForJob();
    expect(job.tables).toEqual(["orders", "users"]);

    await executor.progress(job, [
      { table: "orders", state: "loaded", rows: 1200, bytes: 48_000 },
      { table: "users", state: "loading", rows: 40, bytes: 2_000 },
    ]);
    const users = page.locator('[data-testid="table-row"][data-table="users"] [data-testid="table-rows"]');
    await page.waitForFunction(
      () => document.querySelector('[data-table="users"] [data-testid="table-rows"]')?.textContent === "40",
    );
    await dashboard.screenshot(page, "app-detail-progress");
    await executor.progress(job, [
      { table: "orders", state: "loaded", rows: 1200, bytes: 48_000 },
      { table: "users", state: "loading", rows: 310, bytes: 15_500 },
    ]);
    await page.waitForFunction(
      () => document.querySelector('[data-table="users"] [data-testid="table-rows"]')?.textContent === "310",
    );
    expect(await users.textContent()).toBe("310");

    await executor.complete(job, "succeeded", [
      { table: "orders", state: "swapped", rows: 1200, bytes: 48_000, seconds: 1.5 },
      { table: "users", state: "swapped", rows: 500, bytes: 25_000, seconds: 0.5 },
    ]);
    await page.locator('[data-testid="job-progress"][data-status="succeeded"]').waitFor();
    await page.getByRole("button", { name: "Sync Now" }).waitFor();
    await dashboard.screenshot(page, "app-detail-succeeded");
  });

  it("shows how long each phase of the job took, and event times with seconds in one labelled zone", async () => {
    await page.getByRole("link", { name: "details and events" }).click();
    const timeline = page.getByTestId("job-timeline");
    await timeline.waitFor();
    const phases = await page
      .getByTestId("phase")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-phase")));
    expect(phases).toEqual(["Export", "Hand-over to the executor", "Import"]);
    for (const took of await page.getByTestId("phase-duration").allTextContents())
      expect(took).toMatch(/^\d+(\.\d)? (ms|s)$|min/);
    const tables = page.getByTestId("table-phase");
    expect(await tables.evaluateAll((els) => els.map((e) => e.getAttribute("data-table")))).toEqual([
      "orders",
      "users",
    ]);
    expect(await tables.first().textContent()).toMatch(/1\.5 s/);
    const times = await page.locator(".events time").allTextContents();
    expect(times.length).toBeGreaterThan(3);
    for (const time of times) expect(time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    // The success event gives both durations with tenths; the header gives the whole job's.
    const success = await page.getByText(/^succeeded: 1700 rows/).textContent();
    expect(success).toMatch(/^succeeded: 1700 rows; 4\.2 s on the executor, \d+\.\d s since the request$/);
    expect(await page.getByTestId("job-duration").textContent()).toMatch(/\d/);
    await dashboard.screenshot(page, "job-detail-timeline");
    await page.goto(appUrl);
    await page.getByRole("heading", { name: "Shop Prod" }).waitFor();
  });

  it("shows the app's full trigger URL with a curl command that starts a sync as it stands", async () => {
    const url = page.getByTestId("trigger-url");
    expect(await url.textContent()).toBe(`POST ${dashboard.harness.siteUrl}/api/sync/shop-prod`);
    const command = (await page.getByTestId("trigger-curl").textContent()) ?? "";
    expect(command).toContain("$SYNC_TOKEN");
    const { token } = (await dashboard.admin.action(makeFunctionReference<"action">("tokens:create"), {
      name: "curl from the app page",
      scope: { kind: "all" },
    })) as { token: string };
    const { stdout } = await run(
      "sh",
      ["-c", `${command} --silent --show-error --write-out ' %{http_code}'`],
      {
        env: { ...process.env, SYNC_TOKEN: token },
      },
    );
    expect(stdout).toMatch(/"jobId":"[^"]+".* 202$/);
    await page.getByRole("button", { name: "Syncing…" }).waitFor();
  });

  it("shows a failing job's error in plain words, on the app and in the logs", async () => {
    // The job the curl command started.
    const job = await executor.waitForJob();
    await executor.complete(job, "failed", [{ table: "orders", state: "failed", rows: 0, bytes: 0 }], {
      message: "The warehouse refused the login for user sync_writer",
      code: "target_unauthorized",
      retryable: false,
    });
    const error = page.getByTestId("job-error");
    await error.waitFor();
    expect(await error.textContent()).toMatch(/refused the login for user sync_writer/);

    await page.getByRole("link", { name: "Logs" }).click();
    await page.getByLabel("Status").selectOption("failed");
    const rows = page.getByTestId("job-row");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    await dashboard.screenshot(page, "logs-filtered");
    await rows.first().getByRole("link").click();
    await page.getByTestId("job-error").waitFor();
    expect(await page.getByTestId("job-error").textContent()).toMatch(/Retrying will not help/);
    expect(await page.getByRole("heading", { name: "Events" }).count()).toBe(1);
    await dashboard.screenshot(page, "job-detail-failed");
  });

  it("cancels a job that has not reached the executor yet", async () => {
    await page.goto(appUrl);
    await page.getByRole("button", { name: "Sync Now" }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.locator('[data-testid="job-progress"][data-status="cancelled"]').waitFor();
    await page.getByRole("button", { name: "Sync Now" }).waitFor();
  });

  it("lists every job unfiltered, and the schedule on the Scheduling page", async () => {
    await page.getByRole("link", { name: "Logs" }).click();
    await page.getByRole("search", { name: "Filter jobs" }).waitFor();
    await page.getByTestId("job-row").nth(2).waitFor();
    expect(await page.getByTestId("job-row").count()).toBe(3);

    await page.getByRole("link", { name: "Apps", exact: true }).click();
    await page.getByTestId("app-row").waitFor();
    expect(await page.getByTestId("app-row").textContent()).toMatch(/orders|2/);
    await dashboard.screenshot(page, "apps-list");

    // A second app that runs every five minutes: its 576 runs in 48 hours are one band, not one early dot.
    const frequentId = (await dashboard.admin.action(makeFunctionReference<"action">("apps:create"), {
      name: "Every Five",
      slug: "every-five",
      deploymentUrl: source.url,
      deployKey: DEPLOY_KEY,
      tables: null,
      targetSchema: "every_five",
      schedule: { cron: "*/5 * * * *", timeZone: "UTC" },
      enabled: true,
    })) as string;
    await page.getByRole("link", { name: "Scheduling" }).click();
    await page.getByRole("heading", { name: "Next runs" }).waitFor();
    expect(await page.getByRole("link", { name: "Shop Prod" }).count()).toBeGreaterThan(1);
    const lane = (name: string) => page.locator(`[data-testid="timeline-lane"][data-app="${name}"]`);
    await lane("Every Five").getByTestId("timeline-span").first().waitFor();
    expect(await lane("Every Five").getByTestId("timeline-runs").textContent()).toBe("576 runs");
    expect(await lane("Every Five").getByTestId("timeline-span").count()).toBe(1);
    const band = await lane("Every Five")
      .getByTestId("timeline-span")
      .evaluate((el) => el.style.width);
    expect(band).toBe("100%");
    expect(await lane("Shop Prod").getByTestId("timeline-runs").textContent()).toBe("2 runs");
    expect(await lane("Shop Prod").getByTestId("timeline-span").count()).toBe(2);
    await dashboard.screenshot(page, "scheduling");
    await dashboard.admin.mutation(makeFunctionReference<"mutation">("apps:remove"), { appId: frequentId });
  });

  it("shows the executor's heartbeat, its target checks and the day's figures on the Overview", async () => {
    await executor.heartbeat({
      kind: "mssql",
      host: "sql01",
      checks: [
        { check: "connection", status: "ok", detail: "reached sql01:1433" },
        {
          check: "permissions",
          status: "fail",
          detail: "missing CREATE TABLE; GRANT CREATE TABLE TO <user>",
        },
      ],
      checkedAt: Date.now(),
    });
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByTestId("executor").waitFor();
    expect(await page.getByTestId("executor").textContent()).toMatch(/online.*test-executor/s);
    const checks = page.getByTestId("target-checks").getByRole("listitem");
    expect(await checks.allTextContents()).toEqual([
      expect.stringMatching(/^\s*ok\s+connection: reached sql01:1433\s*$/),
      expect.stringMatching(/^\s*fail\s+permissions: missing CREATE TABLE; GRANT CREATE TABLE TO <user>\s*$/),
    ]);
    expect(await page.getByText("1,700").count()).toBeGreaterThan(0);
    // Today's failed run is in the chart, beside the successful one; the panels have value axes.
    const chart = page.getByTestId("daily-chart");
    expect(await chart.getByTestId("failed-bar").count()).toBe(1);
    expect(await chart.getByTestId("rows-bar").count()).toBe(1);
    expect(await chart.locator(".axis").first().textContent()).toMatch(/0.*1/s);
    expect(await chart.textContent()).toMatch(/Rows copied per day.*not the warehouse's size/s);
    // How old the warehouse's copy is: the successful load's snapshot, minutes ago, on schedule.
    const freshness = page.getByRole("row").filter({ hasText: "Shop Prod" }).getByTestId("freshness");
    expect(await freshness.textContent()).toMatch(/just now|min ago/);
    expect(await freshness.getAttribute("data-behind")).toBe("false");
    await dashboard.screenshot(page, "overview");
  });

  it("is usable at phone width on every page", async () => {
    const appPath = new URL(appUrl).pathname;
    const phone = await dashboard.openSignedIn(appPath, { width: 360, height: 780 });
    await phone.getByRole("heading", { name: "Shop Prod" }).waitFor();
    const pages: [string, string][] = [
      [appPath, "app-detail"],
      ["/", "overview"],
      ["/apps", "apps"],
      [`${appPath}/edit`, "app-edit"],
      ["/logs", "logs"],
      ["/scheduling", "scheduling"],
      ["/settings", "settings"],
    ];
    for (const [pathname, name] of pages) {
      await phone.goto(dashboard.site.url + pathname);
      await phone.getByRole("navigation", { name: "Main" }).waitFor();
      await phone.waitForTimeout(300);
      await phone
        .locator("[role=status]")
        .first()
        .waitFor({ state: "detached", timeout: 5_000 })
        .catch(() => {});
      const width = await phone.evaluate(() => document.scrollingElement!.scrollWidth);
      expect(width, `${pathname} scrolls sideways`).toBeLessThanOrEqual(360);
      // Every menu item is on screen, none cut off.
      const items = await phone
        .getByRole("navigation", { name: "Main" })
        .getByRole("link")
        .evaluateAll((links) => links.map((a) => [a.textContent, a.getBoundingClientRect().right]));
      expect(items.map(([label]) => label)).toEqual(["Overview", "Apps", "Logs", "Scheduling", "Settings"]);
      for (const [label, right] of items)
        expect(right as number, `${label as string} is cut off`).toBeLessThanOrEqual(360);
      await dashboard.screenshot(phone, `phone-${name}`);
    }
  });

  it("has text contrast of at least WCAG AA on every page, light and dark", async () => {
    const appPath = new URL(appUrl).pathname;
    const pages = [appPath, "/", "/apps", `${appPath}/edit`, "/logs", "/scheduling", "/settings"];
    const viewer = await dashboard.openSignedIn("/");
    const found: string[] = [];
    for (const scheme of ["light", "dark"] as const) {
      await viewer.emulateMedia({ colorScheme: scheme });
      for (const pathname of pages) {
        await viewer.goto(dashboard.site.url + pathname);
        await viewer.getByRole("navigation", { name: "Main" }).waitFor();
        await viewer.waitForTimeout(400);
        for (const p of await contrastProblems(viewer)) {
          found.push(
            `${scheme} ${pathname}: "${p.text}" ${p.ratio}:1 < ${p.required}:1 (${p.color} on ${p.background})`,
          );
        }
      }
    }
    await dashboard.screenshot(viewer, "dark-settings");
    expect(found).toEqual([]);
  });

  it("deletes the app only after confirmation", async () => {
    await page.goto(appUrl);
    await page.getByRole("button", { name: "Delete app" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).toMatch(/Delete Shop Prod\?/);
    await dialog.getByRole("button", { name: "Keep it" }).click();
    expect(await page.getByRole("heading", { name: "Shop Prod" }).count()).toBe(1);
    await page.getByRole("button", { name: "Delete app" }).click();
    await dialog.getByRole("button", { name: "Delete app" }).click();
    await page.getByText("No apps yet").waitFor();
    expect(new URL(page.url()).pathname).toBe("/apps");
  });
});
