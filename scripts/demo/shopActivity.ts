/**
 * The demo shop's customers at work: every few seconds one transaction on the live source — a new order, an order
 * shipped, an order cancelled (deleted), a restock, loyalty points, a review in the `reviews` component. Each
 * transaction touches documents no earlier one touched (while there are such documents), so what an incremental
 * run reports — inserted, updated, deleted per table — is exactly the sum of the steps since the last run.
 */
import type { ConvexObject } from "../../executor/src/import/values.js";
import type { FeedStore } from "../../test/standins/feedStore.js";
import { orderFields, reviewFields, SHOP_COMPONENT } from "./sampleShop.js";

export interface TableTally {
  inserted: number;
  updated: number;
  deleted: number;
}

export interface ActivityStep {
  /** What happened, in words, e.g. "order k57… shipped". */
  summary: string;
  /** The commit timestamp (ns). */
  ts: bigint;
  /** Per qualified table. */
  changes: Record<string, TableTally>;
}

export interface ShopActivity {
  /** Commits one shop transaction now. */
  step(): ActivityStep;
  /** Every step so far, oldest first. */
  readonly steps: readonly ActivityStep[];
  /** The changes of the steps committed after `ts` (ns), per qualified table. */
  changesAfter(ts: bigint): Record<string, TableTally>;
  /** Commits a step every `everyMs` until `stop()`; `onStep` hears each. */
  start(everyMs: number, onStep?: (step: ActivityStep) => void): void;
  stop(): void;
}

/** mulberry32: a small seeded generator, so which documents a run's activity picks is repeatable. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = "newOrder" | "shipOrder" | "cancelOrder" | "restock" | "loyalty" | "newReview";
/** One round of the shop's day, repeated: orders most often, some shipped, now and then a cancellation. */
const ROUND: Kind[] = [
  "newOrder",
  "shipOrder",
  "loyalty",
  "newOrder",
  "newReview",
  "cancelOrder",
  "restock",
  "newOrder",
  "shipOrder",
  "loyalty",
  "cancelOrder",
  "newOrder",
];

export function shopActivity(feed: FeedStore, options: { seed?: number } = {}): ShopActivity {
  const rand = random(options.seed ?? 13);
  const touched = new Set<string>();
  const steps: ActivityStep[] = [];
  let orderNo = 10_000;
  let timer: NodeJS.Timeout | undefined;

  /** A document of `table` no step has touched yet (any document once all have been), or undefined. */
  function pickDocument(
    table: string,
    where: (d: ConvexObject) => boolean = () => true,
  ): ConvexObject | undefined {
    const docs = feed.documents(table).filter(where);
    const fresh = docs.filter((d) => !touched.has(d._id as string));
    const pool = fresh.length > 0 ? fresh : docs;
    return pool.length === 0 ? undefined : pool[Math.floor(rand() * pool.length)];
  }
  const ids = (table: string) => feed.documents(table).map((d) => d._id as string);

  const chooseKind = (): Kind => ROUND[steps.length % ROUND.length]!;

  function step(): ActivityStep {
    const changes: Record<string, TableTally> = {};
    const count = (table: string, what: keyof TableTally) => {
      changes[table] ??= { inserted: 0, updated: 0, deleted: 0 };
      changes[table][what]++;
    };
    let summary = "";
    const ts = feed.transaction((tx) => {
      const kind = chooseKind();
      const order =
        kind === "shipOrder" || kind === "cancelOrder"
          ? pickDocument("orders", (d) => d.status === "paid")
          : undefined;
      const product = kind === "restock" ? pickDocument("products") : undefined;
      const customer = kind === "loyalty" ? pickDocument("customers") : undefined;
      if (order && kind === "shipOrder") {
        tx.patch(order._id as string, {
          status: "shipped",
          shipping: { carrier: "PostNL", tracking: `PN${orderNo++}`, express: false },
        });
        touched.add(order._id as string);
        count("orders", "updated");
        summary = `order ${order._id as string} shipped`;
      } else if (order && kind === "cancelOrder") {
        tx.delete(order._id as string);
        touched.add(order._id as string);
        count("orders", "deleted");
        summary = `order ${order._id as string} cancelled and deleted`;
      } else if (product) {
        tx.patch(product._id as string, { stock: (product.stock as bigint) + 24n });
        touched.add(product._id as string);
        count("products", "updated");
        summary = `${product.name as string} restocked`;
      } else if (customer) {
        tx.patch(customer._id as string, { loyaltyPoints: (customer.loyaltyPoints as bigint) + 15n });
        touched.add(customer._id as string);
        count("customers", "updated");
        summary = `${customer.name as string} earned loyalty points`;
      } else if (kind === "newReview") {
        const n = orderNo++;
        touched.add(
          tx.insert(`${SHOP_COMPONENT}/reviews`, reviewFields(n, ids("customers"), ids("products"))),
        );
        count(`${SHOP_COMPONENT}/reviews`, "inserted");
        summary = "a new review";
      } else {
        const n = orderNo++;
        const fields: ConvexObject = { ...orderFields(n, ids("customers"), ids("products")), status: "paid" };
        const id = tx.insert("orders", fields);
        touched.add(id);
        count("orders", "inserted");
        summary = `new order ${id} (${fields.total as number} EUR)`;
      }
    });
    const done = { summary, ts, changes };
    steps.push(done);
    return done;
  }

  return {
    step,
    steps,
    changesAfter(ts) {
      const sum: Record<string, TableTally> = {};
      for (const s of steps.filter((x) => x.ts > ts))
        for (const [table, t] of Object.entries(s.changes)) {
          const into = (sum[table] ??= { inserted: 0, updated: 0, deleted: 0 });
          into.inserted += t.inserted;
          into.updated += t.updated;
          into.deleted += t.deleted;
        }
      return sum;
    },
    start(everyMs, onStep) {
      timer = setInterval(() => {
        const done = step();
        onStep?.(done);
      }, everyMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
