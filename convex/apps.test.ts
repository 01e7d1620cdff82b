import { afterEach, describe, expect, onTestFinished, test, vi } from "vitest";
import { startConvexSource } from "../test/standins/convexSource";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { transitionJob } from "./jobs";
import { decryptSecret } from "./lib/crypto";
import type { JobStatus } from "./schema";
import { asAdmin, createApp, DEFAULT_APP, newTest, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";

async function moveJob(t: T, jobId: Id<"jobs">, path: JobStatus[], patch = {}) {
  await t.run(async (ctx) => {
    let job = (await ctx.db.get(jobId))!;
    for (const to of path) job = await transitionJob(ctx, job, to, to === path.at(-1) ? patch : {});
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("apps", () => {
  test("the deploy key is stored encrypted, shown masked, and never in queries or the audit log", async () => {
    const t = newTest();
    const newKey = "prod:happy-animal-123|NEWKEYNEWKEYNEWKEY9876";
    const source = await startConvexSource({
      deployKey: DEFAULT_APP.deployKey,
      restrictedKeys: { [newKey]: ["ViewData", "ViewBackups", "CreateBackups", "DownloadBackups"] },
    });
    onTestFinished(() => source.close());
    const appId = await createApp(t, { deploymentUrl: source.url });
    const admin = await asAdmin(t);
    const [listed] = await admin.query(api.apps.list, {});
    expect(listed).toMatchObject({
      slug: "shop",
      deployKeyHint: "prod:happy-animal-123|••••cdef",
      lastJob: null,
    });
    const everything = JSON.stringify([
      listed,
      await admin.query(api.apps.get, { appId }),
      await admin.query(api.audit.list, { paginationOpts: { numItems: 50, cursor: null } }),
    ]);
    expect(everything).not.toContain("SECRETKEY");
    const row = await t.run((ctx) => ctx.db.get(appId));
    expect(row?.deployKeyCiphertext).not.toContain("SECRETKEY");
    expect(await decryptSecret(row!.deployKeyCiphertext)).toBe(DEFAULT_APP.deployKey);

    await admin.action(api.apps.setDeployKey, { appId, deployKey: newKey });
    expect((await admin.query(api.apps.get, { appId }))?.deployKeyHint).toBe(
      "prod:happy-animal-123|••••9876",
    );
  });

  test("bad input is refused naming the field", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const bad = async (overrides: Record<string, unknown>) =>
      admin.action(api.apps.create, { ...DEFAULT_APP, ...overrides });
    const invalid = (field: string, message: RegExp) => ({ code: "invalid_input" as const, field, message });
    await expectUserError(bad({ slug: "Bad Slug" }), invalid("slug", /"Bad Slug" must be lowercase/));
    await expectUserError(bad({ deploymentUrl: "http://example.com" }), invalid("deploymentUrl", /https/));
    await expectUserError(bad({ tables: ["ok", "not valid!"] }), invalid("tables", /"not valid!"/));
    await expectUserError(bad({ targetSchema: "dbo; drop" }), invalid("targetSchema", /letters/));
    await expectUserError(bad({ deployKey: "short" }), invalid("deployKey", /does not look like/));
    await expectUserError(
      bad({ retry: { maxAttempts: 0, baseDelayMs: 1000, maxDelayMs: 1000 } }),
      invalid("retry.maxAttempts", /from 1 to 10/),
    );
    await createApp(t);
    await expectUserError(bad({ name: "Other" }), {
      code: "conflict",
      field: "slug",
      message: /"shop" is already used/,
    });
  });

  test("update keeps the key, remove refuses while a job is active", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const admin = await asAdmin(t);
    const { deployKey: _k, ...fields } = DEFAULT_APP;
    await admin.mutation(api.apps.update, { appId, ...fields, name: "Shop EU", tables: ["users", "orders"] });
    expect(await admin.query(api.apps.get, { appId })).toMatchObject({
      name: "Shop EU",
      tables: ["orders", "users"],
      deployKeyHint: "prod:happy-animal-123|••••cdef",
    });
    await admin.mutation(api.jobs.trigger, { appId });
    await expectUserError(admin.mutation(api.apps.remove, { appId }), {
      code: "conflict",
      message: /has an active job \(queued\); cancel it first/,
    });
  });

  test("the list carries each app's last job with its start, duration and rows", async () => {
    const t = newTest();
    const T0 = Date.UTC(2026, 10, 2, 8);
    vi.setSystemTime(T0);
    const shop = await createApp(t);
    const blog = await createApp(t, { slug: "blog", name: "Blog" });
    await createApp(t, { slug: "idle", name: "Idle" });
    const admin = await asAdmin(t);
    const { jobId: shopJob } = await admin.mutation(api.jobs.trigger, { appId: shop });
    vi.setSystemTime(T0 + 60_000);
    const { jobId: blogJob } = await admin.mutation(api.jobs.trigger, { appId: blog });
    vi.setSystemTime(T0 + 90_000);
    await moveJob(t, shopJob, ["exporting", "dispatched", "running", "succeeded"], { totalRows: 1234 });

    const bySlug = async () =>
      Object.fromEntries((await admin.query(api.apps.list, {})).map((a) => [a.slug, a.lastJob]));
    const [shopRow, blogRow] = await t.run(async (ctx) => [
      (await ctx.db.get(shopJob))!,
      (await ctx.db.get(blogJob))!,
    ]);
    expect(shopRow.durationMs).toBeGreaterThan(89_000);
    expect(await bySlug()).toEqual({
      blog: {
        id: blogJob,
        status: "queued",
        at: blogRow.createdAt,
        createdAt: blogRow.createdAt,
        kind: "snapshot",
      },
      idle: null,
      shop: {
        id: shopJob,
        status: "succeeded",
        at: shopRow.finishedAt,
        createdAt: shopRow.createdAt,
        durationMs: shopRow.durationMs,
        totalRows: 1234,
        kind: "snapshot",
      },
    });
    expect((await admin.query(api.apps.get, { appId: shop }))?.lastJob).toMatchObject({
      durationMs: shopRow.durationMs,
      totalRows: 1234,
    });

    // A pruned last job keeps the app's own summary, without figures.
    await t.run((ctx) => ctx.db.delete(shopJob));
    expect((await bySlug()).shop).toEqual({ id: shopJob, status: "succeeded", at: shopRow.finishedAt });
  });
});
