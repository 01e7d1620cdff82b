import { makeFunctionReference } from "convex/server";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TableChanges } from "../../convex/contract/executor.js";
import { startConvexSource, type ConvexSource } from "../standins/convexSource.js";
import { FeedDeployment } from "../standins/dataSyncFeed.js";
import { shownText, startDashboardWithExecutor, type Dashboard } from "./dashboard.js";
import type { ExecutorStandIn } from "./standIns.js";

// An auto-mode app on a plan with the change feed, through the control plane's own steps: the feed probed at
// save, a first snapshot that starts the feed, then an incremental run whose changes show live on the app page.
// The source is the stand-in with a change-feed deployment (test/standins/dataSyncFeed.ts); the executor is the
// scripted stand-in reporting through the signed callbacks.
const DEPLOY_KEY = "prod:feed-shop|0123456789abcdef";
const EXECUTOR_SECRET = "test-executor-secret-feed-flow-0123";

let dashboard: Dashboard;
let feed: FeedDeployment;
let source: ConvexSource;
let executor: ExecutorStandIn;
let page: Page;

const utcSeconds = (ns: string) =>
  new Date(Number(BigInt(ns) / 1_000_000n)).toISOString().replace("T", " ").slice(0, 19);

beforeAll(async () => {
  feed = new FeedDeployment({ clock: "wall" });
  feed.transaction((tx) => {
    tx.insert("messages", { body: "hello" });
    tx.insert("chat/threads", { title: "welcome" });
  });
  source = await startConvexSource({ deployKey: DEPLOY_KEY, feed, exportDelayMs: 200 });
  ({ dashboard, executor } = await startDashboardWithExecutor(EXECUTOR_SECRET, {
    SECRETS_KEY: Buffer.alloc(32, 3).toString("base64"),
  }));
  const appId = (await dashboard.admin.action(makeFunctionReference<"action">("apps:create"), {
    name: "Feed Shop",
    slug: "feed-shop",
    deploymentUrl: source.url,
    deployKey: DEPLOY_KEY,
    tables: null,
    targetSchema: "feed_shop",
    // Manual only: the test decides when each run starts.
    schedule: null,
    enabled: true,
  })) as string;
  page = await dashboard.openSignedIn(`/apps/${appId}`);
});
afterAll(async () => {
  if (page) await dashboard.screenshot(page, "incremental-flow-last-state");
  await dashboard?.close();
  await executor?.close();
  await source?.close();
});

describe.sequential("an auto app from its first snapshot to incremental runs", () => {
  it("is auto by default, and knows from the probe at save that the first run loads a snapshot", async () => {
    await page.getByRole("heading", { name: "Feed Shop" }).waitFor();
    expect(await page.getByTestId("sync-mode").getAttribute("data-mode")).toBe("auto");
    expect(await shownText(page, "sync-mode")).toBe(
      "auto → incremental: the first run loads a snapshot, then the change feed continues from it",
    );
    expect(await shownText(page, "feed-availability")).toMatch(/^available · checked/);
    expect(await shownText(page, "feed-position")).toBe("no feed position stored");
  });

  it("runs a first snapshot that starts the feed, then shows where the warehouse is and the lag", async () => {
    await page.getByRole("button", { name: "Sync Now" }).click();
    await page.getByTestId("kind-reason").first().waitFor();
    expect(await shownText(page, "kind-reason")).toMatch(
      /^first load: the change feed starts from this snapshot/,
    );
    expect(await shownText(page, "job-kind")).toBe("snapshot");
    const job = await executor.waitForJob();
    if (job.kind !== "snapshot") throw new Error(`expected a snapshot job, got ${job.kind}`);
    expect(job.feedStart?.cursor).toBeTruthy();
    await executor.complete(
      job,
      "succeeded",
      [{ table: "messages", state: "swapped", rows: 1, bytes: 100, seconds: 0.2 }],
      undefined,
      { feedStart: { stored: true, position: job.snapshot.snapshotTs } },
    );
    await page.locator('[data-testid="sync-mode"][data-next="incremental"]').waitFor();
    expect(await shownText(page, "sync-mode")).toBe("auto → incremental");
    expect(await shownText(page, "feed-position")).toMatch(
      new RegExp(`^warehouse at ${utcSeconds(job.snapshot.snapshotTs)} UTC`),
    );
    await page.getByTestId("feed-lag").waitFor();
    expect(await shownText(page, "feed-lag")).toMatch(/^\d+ s$|min/);
  });

  it("runs incrementally next, with the changes live on the app page and the cursor's age after", async () => {
    await page.getByRole("button", { name: "Sync Now" }).click();
    const job = await executor.waitForJob();
    expect(job.kind).toBe("incremental");
    await page.locator('[data-testid="job-kind"][data-kind="incremental"]').first().waitFor();

    const changes: TableChanges[] = [
      { table: "messages", inserted: 3, updated: 1, deleted: 1, truncated: false },
    ];
    await executor.applying(job, changes);
    const row = page.locator('[data-testid="change-row"][data-table="messages"]');
    await row.waitFor();
    expect((await row.locator("td").allTextContents()).map((t) => t.trim())).toEqual([
      "messages",
      "3",
      "1",
      "1",
      "no",
    ]);
    await dashboard.screenshot(page, "incremental-flow-applying");

    const position = feed.latestTs.toString();
    await executor.completeIncremental(job, "succeeded", {
      outcome: "upToDate",
      pages: 1,
      transactions: 1,
      tables: changes,
      droppedTables: [],
      position,
      lagMs: 800,
      cursorAgeMs: 61_000,
    });
    await page.locator('[data-testid="job-progress"][data-status="succeeded"]').waitFor();
    await page.getByTestId("cursor-age").getByText("1 min 01 s").waitFor();
    expect(await shownText(page, "feed-position")).toMatch(
      new RegExp(`^warehouse at ${utcSeconds(position)} UTC`),
    );
    const recent = page.getByTestId("job-row");
    expect(await recent.getByTestId("job-kind").allTextContents()).toEqual(["incremental", "snapshot"]);
    expect((await recent.getByTestId("job-amount").allTextContents()).map((t) => t.trim())).toEqual([
      "+3 ~1 −1",
      "1",
    ]);
    await dashboard.screenshot(page, "incremental-flow-app");
  });
});
