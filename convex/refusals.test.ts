import { afterEach, describe, expect, test, vi } from "vitest";
import { callbackRoutes } from "./contract/executor";
import { createApp, newTest, type T } from "./test/harness.testkit";

afterEach(() => {
  vi.useRealTimers();
});

const tableSizes = (t: T) =>
  t.run(async (ctx) => ({
    audit: (await ctx.db.query("auditLog").collect()).length,
    counters: await ctx.db.query("refusedRequests").collect(),
    receipts: (await ctx.db.query("callbackReceipts").collect()).length,
    jobs: (await ctx.db.query("jobs").collect()).length,
  }));

describe("anonymous floods", () => {
  test("1,000 refused anonymous requests over two minutes cost a handful of counter rows and no audit rows", async () => {
    const t = newTest();
    vi.setSystemTime(new Date("2026-11-28T12:00:30Z"));
    await createApp(t);
    const before = await tableSizes(t);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1_000; i++) {
      if (i === 500) vi.setSystemTime(new Date("2026-11-28T12:01:30Z"));
      let res: Response;
      switch (i % 4) {
        case 0:
          res = await t.fetch("/api/sync/shop", { method: "POST" });
          break;
        case 1:
          res = await t.fetch("/api/sync/shop", {
            method: "POST",
            headers: { Authorization: `Bearer cws_${i}` },
          });
          break;
        case 2:
          res = await t.fetch("/api/jobs/", { headers: { Authorization: "Bearer cws_x" } });
          break;
        default:
          res = await t.fetch(callbackRoutes.progress, { method: "POST", body: JSON.stringify({ i }) });
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: 750, 404: 250 });
    const after = await tableSizes(t);
    expect(after.audit).toBe(before.audit);
    expect(after.receipts).toBe(before.receipts);
    expect(after.jobs).toBe(before.jobs);
    // 4 (route, reason) pairs × 2 minutes.
    expect(after.counters).toHaveLength(8);
    expect(after.counters.reduce((n, c) => n + c.count, 0)).toBe(1_000);
    expect(new Set(after.counters.map((c) => `${c.route} ${c.reason}`))).toEqual(
      new Set([
        "http.sync missing_token",
        "http.sync invalid_token",
        "http.jobStatus bad_path",
        "http.executor.progress missing_headers",
      ]),
    );
  });
});
