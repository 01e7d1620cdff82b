/**
 * An app's sync mode as saved through the public functions: the default, the checks, what a save asks the
 * source about its change feed, and what changing the app does to the feed position. Schedules down to a minute.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { startConvexSource, type ConvexSource } from "../test/standins/convexSource";
import { FeedDeployment } from "../test/standins/dataSyncFeed";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { FEED_REASONS } from "./lib/sourceFeed";
import type { AppFeed } from "./schema";
import { asAdmin, createApp, newTest, scheduled, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";

const KEY = "prod:feed-shop|0123456789abcdefabcdef";
const fields = {
  name: "Shop",
  slug: "shop",
  tables: null,
  targetSchema: "shop",
  schedule: null,
  enabled: true,
};
let servers: ConvexSource[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function source(streamingExportEnabled = true): Promise<ConvexSource> {
  const feed = new FeedDeployment({ streamingExportEnabled });
  feed.transaction((tx) => void tx.insert("customers", { name: "Ada" }));
  const s = await startConvexSource({ deployKey: KEY, feed, worker: "manual" });
  servers.push(s);
  return s;
}

const appOf = (t: T, appId: Id<"apps">) => t.run((ctx) => ctx.db.get(appId));
const audit = (t: T) => t.run((ctx) => ctx.db.query("auditLog").collect());
const withPosition: AppFeed = {
  availability: "available",
  checkedAt: Date.now(),
  position: { ts: "1800000000000000000", appliedAt: Date.now() },
};

describe("the sync mode of an app", () => {
  test("new apps default to auto, and saving records whether the source's plan allows the feed", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const paid = await source(true);
    const appId = await admin.action(api.apps.create, { ...fields, deploymentUrl: paid.url, deployKey: KEY });
    expect(await admin.query(api.apps.get, { appId })).toMatchObject({
      syncMode: "auto",
      feed: { availability: "available", checkedAt: expect.any(Number) },
    });
    expect((await audit(t)).find((a) => a.action === "apps.create")?.detail).toBe("syncMode auto");

    const free = await source(false);
    const other = await admin.action(api.apps.create, {
      ...fields,
      slug: "free",
      targetSchema: "free",
      deploymentUrl: free.url,
      deployKey: KEY,
    });
    expect((await admin.query(api.apps.get, { appId: other }))?.feed).toMatchObject({
      availability: "unavailable",
      reason: FEED_REASONS.plan,
    });
  });

  test("snapshot mode asks nothing about the feed; apps from before modes show as snapshot", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const s = await source();
    const appId = await admin.action(api.apps.create, {
      ...fields,
      deploymentUrl: s.url,
      deployKey: KEY,
      syncMode: "snapshot",
    });
    expect(s.requests.some((r) => r.path === "/api/test_streaming_export_connection")).toBe(false);
    const view = await admin.query(api.apps.get, { appId });
    expect(view?.syncMode).toBe("snapshot");
    expect(view?.feed).toBeUndefined();
    const legacy = await createApp(t, { slug: "legacy" });
    expect((await appOf(t, legacy))?.syncMode).toBeUndefined();
    expect((await admin.query(api.apps.get, { appId: legacy }))?.syncMode).toBe("snapshot");
  });

  test("a mode that does not exist is refused naming syncMode, on create and update", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    await expectUserError(
      admin.action(api.apps.create, {
        ...fields,
        deploymentUrl: "http://127.0.0.1:9",
        deployKey: KEY,
        syncMode: "sometimes",
      }),
      { code: "invalid_input", field: "syncMode", message: /"sometimes" is not a sync mode/ },
    );
    const appId = await createApp(t);
    await expectUserError(
      admin.mutation(api.apps.update, {
        appId,
        ...fields,
        deploymentUrl: "http://127.0.0.1:9",
        syncMode: "Incremental",
      }),
      { code: "invalid_input", field: "syncMode" },
    );
  });

  test("changing the mode is audited and has the feed probed; leaving syncMode out keeps it", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const appId = await createApp(t);
    const base = { appId, ...fields, deploymentUrl: "http://127.0.0.1:9" };
    await admin.mutation(api.apps.update, { ...base, syncMode: "incremental" });
    expect((await appOf(t, appId))?.syncMode).toBe("incremental");
    expect((await audit(t)).find((a) => a.action === "apps.update")?.detail).toBe(
      "syncMode snapshot → incremental",
    );
    expect((await scheduled(t)).map((s) => s.name)).toContain("feeds:probeAndStore");
    await admin.mutation(api.apps.update, { ...base, name: "Shop 2" });
    expect((await appOf(t, appId))?.syncMode).toBe("incremental");
  });

  test("a new target schema or table selection clears the feed position: the next job is a full snapshot", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const appId = await createApp(t, { syncMode: "auto" });
    await t.run((ctx) => ctx.db.patch(appId, { feed: withPosition }));
    const base = { appId, ...fields, deploymentUrl: "http://127.0.0.1:9" };
    await admin.mutation(api.apps.update, { ...base, name: "Renamed" });
    expect((await appOf(t, appId))?.feed?.position).toBeDefined();
    await admin.mutation(api.apps.update, { ...base, targetSchema: "shop_v2" });
    const feed = (await appOf(t, appId))?.feed;
    expect(feed?.position).toBeUndefined();
    expect(feed).toMatchObject({ availability: "available", needsSnapshot: "the target schema changed" });
    const { jobId } = await admin.mutation(api.jobs.trigger, { appId });
    expect(await t.run((ctx) => ctx.db.get(jobId))).toMatchObject({
      kind: "snapshot",
      kindReason: "full snapshot: the target schema changed",
    });
  });

  test("a new source starts the feed over; a new key has its permission asked again, the position kept", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const s = await source();
    const other = await source();
    const appId = await admin.action(api.apps.create, { ...fields, deploymentUrl: s.url, deployKey: KEY });
    await t.run((ctx) => ctx.db.patch(appId, { feed: withPosition }));
    await admin.action(api.apps.setDeployKey, { appId, deployKey: KEY });
    expect((await appOf(t, appId))?.feed).toMatchObject({
      availability: "unknown",
      position: withPosition.position,
    });
    await admin.action(api.apps.setSource, { appId, deploymentUrl: other.url });
    expect((await appOf(t, appId))?.feed).toEqual({
      availability: "unknown",
      needsSnapshot: "the source deployment changed",
    });
    await t.action(internal.feeds.probeAndStore, { appId });
    expect((await appOf(t, appId))?.feed).toMatchObject({
      availability: "available",
      checkedAt: expect.any(Number),
    });
    expect(other.requests.some((r) => r.path === "/api/test_streaming_export_connection")).toBe(true);
  });
});

describe("schedules down to every minute", () => {
  test("every minute is accepted; a run still active when the next minute fires is skipped, not queued", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const appId = await createApp(t, { syncMode: "auto" });
    await admin.mutation(api.apps.update, {
      appId,
      ...fields,
      deploymentUrl: "http://127.0.0.1:9",
      schedule: { cron: "* * * * *", timeZone: "UTC" },
    });
    expect((await admin.query(api.apps.get, { appId }))?.nextRuns).toHaveLength(5);
    await t.mutation(internal.schedules.runScheduled, { appId });
    await t.mutation(internal.schedules.runScheduled, { appId });
    const jobs = await t.run((ctx) => ctx.db.query("jobs").collect());
    expect(jobs).toHaveLength(1);
    const runs = (await audit(t)).filter((a) => a.action === "schedule.run").map((a) => a.outcome);
    expect(runs).toEqual(["ok", "ignored"]);
    await expectUserError(
      admin.mutation(api.apps.update, {
        appId,
        ...fields,
        deploymentUrl: "http://127.0.0.1:9",
        schedule: { cron: "*/20 * * * * *", timeZone: "UTC" },
      }),
      { code: "invalid_input", field: "schedule", message: /more than once a minute/ },
    );
  });
});
