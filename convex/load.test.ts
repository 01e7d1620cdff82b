/**
 * Load in the suite (no timing assertions; convex-test runs transactions one at a time, so this checks the rules
 * under volume, not the database's concurrency control):
 * - 1,000 trigger requests from several tokens against several apps: the rate limit holds per token, each app
 *   has at most one active job, every refusal is a 429 with Retry-After, and refusals write nothing but counters;
 * - 50 apps whose schedules fall due in the same minute each get exactly one job.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import type { TokenScope } from "./schema";
import { asAdmin, createApp, newTest, type T } from "./test/harness.testkit";

afterEach(() => {
  vi.useRealTimers();
});

const TABLES = [
  "apps",
  "jobs",
  "jobEvents",
  "auditLog",
  "refusedRequests",
  "apiTokens",
  "callbackReceipts",
  "notifications",
  "executors",
] as const;

async function rowCounts(t: T): Promise<Record<string, number>> {
  return t.run(async (ctx) => {
    const out: Record<string, number> = {};
    for (const table of TABLES) out[table] = (await ctx.db.query(table).collect()).length;
    out._scheduled = (await ctx.db.system.query("_scheduled_functions").collect()).length;
    return out;
  });
}

describe("load", () => {
  test("1,000 triggers from 5 tokens on 4 apps: limits per token, one active job per app, 429s write nothing", async () => {
    const t = newTest();
    vi.setSystemTime(new Date("2026-11-28T12:00:00Z"));
    const apps: Id<"apps">[] = [];
    for (let i = 0; i < 4; i++)
      apps.push(await createApp(t, { name: `App ${i}`, slug: `app-${i}`, targetSchema: `app_${i}` }));
    const admin = await asAdmin(t);
    const scopes: TokenScope[] = [
      { kind: "all" },
      { kind: "all" },
      { kind: "apps", appIds: [apps[0]!, apps[1]!] },
      { kind: "apps", appIds: [apps[2]!, apps[3]!] },
      { kind: "apps", appIds: apps },
    ];
    const tokens: { token: string; slugs: string[] }[] = [];
    for (const [i, scope] of scopes.entries()) {
      const { token } = await admin.action(api.tokens.create, { name: `caller-${i}`, scope });
      const ids = scope.kind === "all" ? apps : scope.appIds;
      tokens.push({ token, slugs: ids.map((id) => `app-${apps.indexOf(id)}`) });
    }
    const before = await rowCounts(t);

    const requests = Array.from({ length: 1_000 }, (_, i) => {
      const caller = tokens[i % tokens.length]!;
      return {
        caller: i % tokens.length,
        slug: caller.slugs[Math.floor(i / tokens.length) % caller.slugs.length]!,
      };
    });
    const results: {
      caller: number;
      slug: string;
      status: number;
      retryAfter: string | null;
      body: unknown;
    }[] = [];
    for (let i = 0; i < requests.length; i += 25) {
      const batch = requests.slice(i, i + 25);
      results.push(
        ...(await Promise.all(
          batch.map(async ({ caller, slug }) => {
            const res = await t.fetch(`/api/sync/${slug}`, {
              method: "POST",
              headers: { Authorization: `Bearer ${tokens[caller]!.token}` },
            });
            return {
              caller,
              slug,
              status: res.status,
              retryAfter: res.headers.get("Retry-After"),
              body: await res.json(),
            };
          }),
        )),
      );
    }

    // Each token gets its burst of 10 (time stands still, so nothing refills), and only that.
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status !== 202);
    for (let caller = 0; caller < tokens.length; caller++)
      expect(accepted.filter((r) => r.caller === caller)).toHaveLength(10);
    expect(refused).toHaveLength(950);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }

    // At most one active job per app; every accepted request got its app's one job.
    const jobs = await t.run((ctx) => ctx.db.query("jobs").collect());
    for (const appId of apps)
      expect(jobs.filter((j) => j.appId === appId && j.active).length).toBeLessThanOrEqual(1);
    const jobBySlug = new Map(jobs.map((j) => [j.appSlug, j._id as string]));
    for (const r of accepted) expect((r.body as { jobId: string }).jobId).toBe(jobBySlug.get(r.slug));

    // Written: the jobs (with their first event and first step), one audit row per accepted request, and one
    // counter row per token for the refusals of this minute. Nothing else.
    const after = await rowCounts(t);
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
    expect(delta).toEqual({
      apps: 0,
      jobs: jobs.length,
      jobEvents: jobs.length,
      auditLog: 50,
      refusedRequests: tokens.length,
      apiTokens: 0,
      callbackReceipts: 0,
      notifications: 0,
      executors: 0,
      _scheduled: jobs.length,
    });
    expect(jobs.length).toBe(4);
    const counters = await t.run((ctx) => ctx.db.query("refusedRequests").collect());
    expect(counters.every((c) => c.reason === "rate_limited" && c.route === "http.sync")).toBe(true);
    expect(counters.reduce((n, c) => n + c.count, 0)).toBe(950);
  });

  test("50 apps whose schedules fall due in the same minute each get exactly one job", async () => {
    const t = newTest();
    vi.setSystemTime(new Date("2026-11-28T12:59:00Z"));
    const apps: Id<"apps">[] = [];
    for (let i = 0; i < 50; i++)
      apps.push(
        await createApp(t, {
          name: `Scheduled ${i}`,
          slug: `scheduled-${i}`,
          targetSchema: `scheduled_${i}`,
          schedule: { cron: "0 * * * *", timeZone: i % 2 ? "UTC" : "Europe/London" },
        }),
      );
    expect(await t.run((ctx) => ctx.db.query("jobs").collect())).toHaveLength(0);

    // As convex/schedules.test.ts drives the crons component: the due run, then the runAfter(0) it starts.
    for (let i = 0; i < 61; i++) {
      vi.advanceTimersByTime(1_000);
      await t.finishInProgressScheduledFunctions();
    }

    const jobs = await t.run((ctx) => ctx.db.query("jobs").collect());
    for (const appId of apps) expect(jobs.filter((j) => j.appId === appId)).toHaveLength(1);
    expect(jobs.every((j) => j.trigger === "schedule")).toBe(true);

    // A second delivery of the same tick (at-least-once) still leaves one job per app.
    for (const appId of apps) await t.mutation(internal.schedules.runScheduled, { appId });
    expect(await t.run((ctx) => ctx.db.query("jobs").collect())).toHaveLength(50);
  });
});
