import { describe, expect, it, vi } from "vitest";
import { FeedDeployment } from "../../test/standins/dataSyncFeed.js";
import { paymentRef, SHOP_ROW_COUNTS, SHOP_TABLES, seedShop } from "./sampleShop.js";
import { shopActivity, type TableTally } from "./shopActivity.js";

function seeded() {
  const feed = new FeedDeployment();
  seedShop(feed);
  return feed;
}

/** What changed between two states of the source, per table, by document id. */
function diff(feed: FeedDeployment, from: bigint, to: bigint): Record<string, TableTally> {
  const [before, after] = [feed.stateAt(from), feed.stateAt(to)];
  const out: Record<string, TableTally> = {};
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const old = new Map(
      (before.get(table) ?? []).map((d) => [
        d._id as string,
        JSON.stringify(d, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)),
      ]),
    );
    const now = new Map(
      (after.get(table) ?? []).map((d) => [
        d._id as string,
        JSON.stringify(d, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)),
      ]),
    );
    const t = { inserted: 0, updated: 0, deleted: 0 };
    for (const [id, doc] of now)
      if (!old.has(id)) t.inserted++;
      else if (old.get(id) !== doc) t.updated++;
    for (const id of old.keys()) if (!now.has(id)) t.deleted++;
    if (t.inserted + t.updated + t.deleted > 0) out[table] = t;
  }
  return out;
}

describe("the demo shop as a live deployment", () => {
  it("seedShop commits the whole shop in one transaction, the component table and an int64 above 2^53 included", () => {
    const feed = seeded();
    const state = feed.stateAt(feed.latestTs);
    expect(Object.fromEntries([...state].map(([t, docs]) => [t, docs.length]))).toEqual(SHOP_ROW_COUNTS);
    expect([...state.keys()].sort()).toEqual([...SHOP_TABLES].sort());
    expect(state.get("orders")!.map((o) => o.paymentRef)).toContain(paymentRef(149));
    expect(paymentRef(0)).toBeGreaterThan(2n ** 53n);
    // Orders reference the customers and products as stored.
    const customerIds = new Set(state.get("customers")!.map((c) => c._id));
    expect(state.get("orders")!.every((o) => customerIds.has(o.customerId as string))).toBe(true);
  });

  it("a round of activity inserts, updates and deletes, in root and component tables, one transaction a step", () => {
    const feed = seeded();
    const start = feed.latestTs;
    const activity = shopActivity(feed);
    const ts = Array.from({ length: 12 }, () => activity.step().ts);
    expect(new Set(ts).size).toBe(12);
    const changes = activity.changesAfter(start);
    expect(Object.keys(changes).sort()).toEqual(["customers", "orders", "products", "reviews/reviews"]);
    const sum = (k: keyof TableTally) => Object.values(changes).reduce((n, t) => n + t[k], 0);
    expect([sum("inserted"), sum("updated"), sum("deleted")]).toEqual([5, 5, 2]);
  });

  it("reports exactly what the source changed, since any step (no document is touched twice while others are fresh)", () => {
    const feed = seeded();
    const activity = shopActivity(feed);
    for (let i = 0; i < 30; i++) activity.step();
    for (const from of [activity.steps[0]!.ts - 1n, activity.steps[9]!.ts, activity.steps[20]!.ts])
      expect(activity.changesAfter(from)).toEqual(diff(feed, from, feed.latestTs));
  });
});

describe("the activity's timer", () => {
  it("commits a step each interval until stopped", async () => {
    vi.useFakeTimers();
    try {
      const feed = seeded();
      const activity = shopActivity(feed);
      const heard: string[] = [];
      activity.start(5_000);
      await vi.advanceTimersByTimeAsync(15_000);
      expect(activity.steps).toHaveLength(3);
      activity.stop();
      await vi.advanceTimersByTimeAsync(15_000);
      expect(activity.steps).toHaveLength(3);
      activity.start(1_000, (s) => heard.push(s.summary));
      await vi.advanceTimersByTimeAsync(2_000);
      activity.stop();
      expect(heard).toEqual(activity.steps.slice(3).map((s) => s.summary));
      expect(heard).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
