import { afterEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import type { TokenScope } from "./schema";
import { asAdmin, createApp, newTest, type T } from "./test/harness.testkit";

afterEach(() => {
  vi.useRealTimers();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function tokenFor(t: T, name: string, scope: TokenScope): Promise<string> {
  return (await (await asAdmin(t)).action(api.tokens.create, { name, scope })).token;
}

async function twoApps(t: T): Promise<{ shop: Id<"apps">; blog: Id<"apps"> }> {
  const shop = await createApp(t, { name: "Shop", slug: "shop", targetSchema: "shop" });
  const blog = await createApp(t, { name: "Blog", slug: "blog", targetSchema: "blog" });
  return { shop, blog };
}

describe("API token scope", () => {
  test("a token scoped to one app triggers it; another app answers 404 exactly like a missing one", async () => {
    const t = newTest();
    const { shop } = await twoApps(t);
    const token = await tokenFor(t, "shop-ci", { kind: "apps", appIds: [shop] });
    expect((await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) })).status).toBe(202);
    const outside = await t.fetch("/api/sync/blog", { method: "POST", headers: bearer(token) });
    const missing = await t.fetch("/api/sync/nope", { method: "POST", headers: bearer(token) });
    expect(outside.status).toBe(404);
    expect(await outside.json()).toEqual({ error: 'no app "blog"' });
    expect(missing.status).toBe(404);
    const jobs = await t.run((ctx) => ctx.db.query("jobs").collect());
    expect(jobs.map((j) => j.appSlug)).toEqual(["shop"]);
  });

  test("GET /api/jobs/{id} of an app outside the scope answers 404", async () => {
    const t = newTest();
    const { shop, blog } = await twoApps(t);
    const all = await tokenFor(t, "ops", { kind: "all" });
    const shopOnly = await tokenFor(t, "shop-ci", { kind: "apps", appIds: [shop] });
    const blogJob = (await (
      await t.fetch("/api/sync/blog", { method: "POST", headers: bearer(all) })
    ).json()) as { jobId: string };
    expect((await t.fetch(`/api/jobs/${blogJob.jobId}`, { headers: bearer(all) })).status).toBe(200);
    const refused = await t.fetch(`/api/jobs/${blogJob.jobId}`, { headers: bearer(shopOnly) });
    expect(refused.status).toBe(404);
    expect(await refused.json()).toEqual({ error: `no job "${blogJob.jobId}"` });
    const both = await tokenFor(t, "both", { kind: "apps", appIds: [shop, blog] });
    expect((await t.fetch(`/api/jobs/${blogJob.jobId}`, { headers: bearer(both) })).status).toBe(200);
  });

  test("a token made before scopes existed keeps access to all apps and is listed as such", async () => {
    const t = newTest();
    await twoApps(t);
    const token = await tokenFor(t, "old", { kind: "all" });
    await t.run(async (ctx) => {
      const row = (await ctx.db.query("apiTokens").first())!;
      await ctx.db.patch(row._id, { scope: undefined });
    });
    expect((await t.fetch("/api/sync/blog", { method: "POST", headers: bearer(token) })).status).toBe(202);
    const [listed] = await (await asAdmin(t)).query(api.tokens.list, {});
    expect(listed?.scope).toEqual({ kind: "all", explicit: false });
  });

  test("the list shows each token's scope with app names, creation and last use", async () => {
    const t = newTest();
    vi.setSystemTime(new Date("2026-11-28T12:00:00Z"));
    const { shop } = await twoApps(t);
    const token = await tokenFor(t, "shop-ci", { kind: "apps", appIds: [shop] });
    await tokenFor(t, "ops", { kind: "all" });
    const admin = await asAdmin(t);
    const before = await admin.query(api.tokens.list, {});
    const created = before.find((r) => r.name === "shop-ci")!.createdAt;
    expect(created - Date.parse("2026-11-28T12:00:00Z")).toBeLessThan(1_000);
    expect(before.find((r) => r.name === "shop-ci")).toMatchObject({
      lastUsedAt: null,
      scope: { kind: "apps", apps: [{ id: shop, slug: "shop", name: "Shop" }] },
    });
    expect(before.find((r) => r.name === "ops")?.scope).toEqual({ kind: "all", explicit: true });
    vi.setSystemTime(new Date("2026-11-28T13:00:00Z"));
    await t.fetch("/api/sync/shop", { method: "POST", headers: bearer(token) });
    const after = await admin.query(api.tokens.list, {});
    const used = after.find((r) => r.name === "shop-ci")!.lastUsedAt!;
    expect(used - Date.parse("2026-11-28T13:00:00Z")).toBeLessThan(1_000);
    expect(used).toBeGreaterThanOrEqual(Date.parse("2026-11-28T13:00:00Z"));
  });

  test("a scope must name at least one existing app", async () => {
    const t = newTest();
    const { shop } = await twoApps(t);
    const admin = await asAdmin(t);
    await expect(
      admin.action(api.tokens.create, { name: "none", scope: { kind: "apps", appIds: [] } }),
    ).rejects.toMatchObject({ data: { code: "invalid_input", field: "scope", message: /at least one app/ } });
    await t.run((ctx) => ctx.db.delete(shop));
    await expect(
      admin.action(api.tokens.create, { name: "gone", scope: { kind: "apps", appIds: [shop] } }),
    ).rejects.toMatchObject({ data: { field: "scope", message: /no app/ } });
    expect(await admin.query(api.tokens.list, {})).toEqual([]);
  });
});
