/**
 * The demo's source data: a small shop, generated deterministically and written as a Convex snapshot ZIP in
 * the current (uniform) encoding. Covers what a newcomer should see land in SQL: int64 quantities, floats,
 * nested objects, arrays, optional fields, references between tables, an int64 above 2^53 (`orders.paymentRef`) and
 * one component table. The demo's source is a live deployment seeded with it (`seedShop`); `writeShopSnapshot`
 * writes the same shop as a ZIP for tests that need only a file.
 */
import type { FixtureTable } from "../../test/fixtures/snapshot-zip.js";
import { fakeId, writeSnapshotZip } from "../../test/fixtures/snapshot-zip.js";
import type { ConvexObject } from "../../executor/src/import/values.js";
import type { FeedStore } from "../../test/standins/feedStore.js";

export const SHOP_COMPONENT = "reviews";

/** Rows per table, qualified as the control plane names them (`<component>/<table>` for component tables). */
export const SHOP_ROW_COUNTS = {
  customers: 40,
  products: 12,
  orders: 150,
  [`${SHOP_COMPONENT}/reviews`]: 30,
} as const;

export type ShopTable = keyof typeof SHOP_ROW_COUNTS;
export const SHOP_TABLES = Object.keys(SHOP_ROW_COUNTS) as ShopTable[];

const FIRST_NAMES = ["Ada", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas"];
const LAST_NAMES = ["Okafor", "Müller", "Nakamura", "Silva", "Novak", "Haddad", "Larsen", "Rossi"];
const CITIES = [
  { city: "Lisbon", country: "PT" },
  { city: "Berlin", country: "DE" },
  { city: "Osaka", country: "JP" },
  { city: "Lagos", country: "NG" },
  { city: "Toronto", country: "CA" },
];
const PRODUCTS = [
  ["Espresso beans 1 kg", "coffee", 24.9],
  ["Pour-over kettle", "equipment", 59.0],
  ["Ceramic dripper", "equipment", 32.5],
  ["Paper filters (100)", "supplies", 6.75],
  ["Hand grinder", "equipment", 89.99],
  ["Decaf beans 500 g", "coffee", 14.2],
  ["Milk jug 600 ml", "equipment", 18.0],
  ["Tasting cups (4)", "supplies", 22.4],
  ["Cold brew bottle", "equipment", 27.3],
  ["Single origin sampler", "coffee", 39.0],
  ["Cleaning tablets", "supplies", 9.95],
  ["Travel mug", "equipment", 21.5],
] as const;

const BASE_TIME = Date.UTC(2026, 0, 5, 9, 0, 0);
const HOUR = 3_600_000;

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length]!;
}

/** Creation time in ms with the fraction Convex gives `_creationTime`. */
function creationTime(n: number, spacingHours: number): number {
  return BASE_TIME + n * spacingHours * HOUR + 0.25;
}

function doc(table: number, n: number, spacingHours: number, fields: ConvexObject): ConvexObject {
  return { _id: fakeId(n + 1, table), _creationTime: creationTime(n, spacingHours), ...fields };
}

/** A payment provider's 64-bit reference: above 2^53, so only a lossless int64 path keeps it exact. */
export function paymentRef(n: number): bigint {
  return 2n ** 62n + BigInt(n) * 1_000_003n;
}

function customerFields(n: number): ConvexObject {
  const where = pick(CITIES, n);
  const first = pick(FIRST_NAMES, n);
  const last = pick(LAST_NAMES, n * 3 + 1);
  return {
    name: `${first} ${last}`,
    email: `${first.toLowerCase()}.${last.toLowerCase()}${n}@example.com`
      .normalize("NFD")
      .replace(/\p{M}/gu, ""),
    address: { street: `${10 + n} Market Street`, ...where },
    tags: n % 4 === 0 ? ["wholesale", "newsletter"] : n % 3 === 0 ? ["newsletter"] : [],
    loyaltyPoints: BigInt(n * 37),
    ...(n % 5 === 0 ? { phone: `+1 555 01${String(n).padStart(2, "0")}` } : {}),
  };
}

function productFields(n: number): ConvexObject {
  const [name, category, price] = PRODUCTS[n]!;
  return {
    name,
    category,
    price,
    stock: BigInt(20 + ((n * 17) % 90)),
    dimensions: { weightKg: Math.round((0.2 + n * 0.15) * 100) / 100, fragile: category === "equipment" },
    active: n !== 10,
  };
}

/** An order of customer `customerIds[…]` for products `productIds[…]` (ids of the documents as stored). */
export function orderFields(
  n: number,
  customerIds: readonly string[],
  productIds: readonly string[],
): ConvexObject {
  const lines = Array.from({ length: 1 + (n % 3) }, (_, i) => {
    const p = (n + i * 5) % PRODUCTS.length;
    return { productId: productIds[p]!, quantity: BigInt(1 + ((n + i) % 4)), unitPrice: PRODUCTS[p]![2] };
  });
  const total = lines.reduce((sum, l) => sum + Number(l.quantity) * l.unitPrice, 0);
  return {
    customerId: customerIds[(n * 7) % customerIds.length]!,
    status: pick(["paid", "shipped", "delivered", "refunded"], n),
    lines,
    total: Math.round(total * 100) / 100,
    discount: n % 6 === 0 ? 0.1 : 0,
    paymentRef: paymentRef(n),
    ...(n % 4 === 2
      ? { shipping: { carrier: "PostNL", tracking: `PN${100000 + n}`, express: n % 8 === 2 } }
      : {}),
  };
}

export function reviewFields(
  n: number,
  customerIds: readonly string[],
  productIds: readonly string[],
): ConvexObject {
  return {
    productId: productIds[n % productIds.length]!,
    customerId: customerIds[(n * 3) % customerIds.length]!,
    rating: BigInt(1 + ((n * 7) % 5)),
    body: n % 3 === 0 ? "Great value, would buy again." : "Arrived quickly; works as described.",
    helpfulVotes: BigInt(n % 9),
  };
}

const count = (table: ShopTable) => SHOP_ROW_COUNTS[table];

export function shopTables(): FixtureTable[] {
  const customers = Array.from({ length: count("customers") }, (_, n) => doc(1, n, 7, customerFields(n)));
  const products = PRODUCTS.map((_, n) => doc(2, n, 1, productFields(n)));
  const [customerIds, productIds] = [customers, products].map((docs) => docs.map((d) => d._id as string));
  const orders = Array.from({ length: count("orders") }, (_, n) =>
    doc(3, n, 2, orderFields(n, customerIds!, productIds!)),
  );
  const reviews = Array.from({ length: count(`${SHOP_COMPONENT}/reviews`) }, (_, n) =>
    doc(4, n, 11, reviewFields(n, customerIds!, productIds!)),
  );
  return [
    { name: "customers", docs: customers },
    { name: "products", docs: products },
    { name: "orders", docs: orders },
    { name: "reviews", component: SHOP_COMPONENT, docs: reviews },
  ];
}

/** The shop as one transaction of a change-feed deployment (the demo's live source). */
export function seedShop(feed: FeedStore): void {
  feed.transaction((tx) => {
    const customerIds = Array.from({ length: count("customers") }, (_, n) =>
      tx.insert("customers", customerFields(n)),
    );
    const productIds = PRODUCTS.map((_, n) => tx.insert("products", productFields(n)));
    for (let n = 0; n < count("orders"); n++) tx.insert("orders", orderFields(n, customerIds, productIds));
    for (let n = 0; n < count(`${SHOP_COMPONENT}/reviews`); n++)
      tx.insert(`${SHOP_COMPONENT}/reviews`, reviewFields(n, customerIds, productIds));
  });
}

export async function writeShopSnapshot(file: string): Promise<void> {
  await writeSnapshotZip(file, shopTables());
}
