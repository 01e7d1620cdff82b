/**
 * The source stand-in given a change-feed deployment (`startConvexSource({feed})`): its tables, its snapshot
 * exports and its feed routes all describe that deployment, with the source's keys, as one backend's would
 * (crates/local_backend/src/router.rs mounts them side by side).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { latestExport, listTables, requestExport } from "../../convex/lib/sourceDeployment.js";
import { discoverTables } from "../../executor/src/import/reader/layout.js";
import { decodeUniformLine } from "../../executor/src/import/reader/uniform.js";
import { ZipReader } from "../../executor/src/import/reader/zip.js";
import { toExportJson } from "../../executor/src/import/values.js";
import { startConvexSource, type ConvexSource } from "./convexSource.js";
import { FeedDeployment } from "./dataSyncFeed.js";

const KEY = "prod:feed-shop|0123456789abcdef";
const BACKUPS_ONLY = "prod:feed-shop|backupsonlybackups";
const DATA_VIEWER = "prod:feed-shop|dataviewerdataviewer";
const BIG = 2n ** 60n + 7n;
let dir: string;
const started: ConvexSource[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "convex-source-feed-"));
});
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function shop(): FeedDeployment {
  const feed = new FeedDeployment();
  feed.transaction((tx) => {
    tx.insert("customers", { name: "Ada", points: BIG });
    tx.insert("orders", { total: 12.5 });
    tx.insert("reviews/reviews", { rating: 5n });
  });
  return feed;
}

async function source(
  feed: FeedDeployment | undefined,
  extra: Partial<Parameters<typeof startConvexSource>[0]> = {},
) {
  const s = await startConvexSource({
    deployKey: KEY,
    restrictedKeys: {
      [BACKUPS_ONLY]: ["ViewBackups", "CreateBackups", "DownloadBackups"],
      [DATA_VIEWER]: ["ViewData"],
    },
    ...(feed ? { feed } : { tables: { root: ["orders"] } }),
    worker: "manual",
    ...extra,
  });
  started.push(s);
  return s;
}

async function post(s: ConvexSource, route: string, body: unknown, key: string | null = KEY) {
  const response = await fetch(`${s.url}${route}`, {
    method: "POST",
    headers: { ...(key ? { Authorization: `Convex ${key}` } : {}), "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

async function probe(s: ConvexSource, key: string | null = KEY) {
  const response = await fetch(`${s.url}/api/test_streaming_export_connection`, {
    headers: key ? { Authorization: `Convex ${key}` } : {},
  });
  return { status: response.status, json: (await response.json()) as { code?: string } | null };
}

/** Every table of a snapshot ZIP as qualified name → documents in the export encoding. */
async function zipContents(s: ConvexSource, ts: string): Promise<Map<string, string[]>> {
  const response = await fetch(`${s.url}/api/export/zip/${ts}`, {
    headers: { Authorization: `Convex ${KEY}` },
  });
  expect(response.status).toBe(200);
  const file = path.join(dir, `download_${ts}.zip`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  const zip = await ZipReader.open(file);
  try {
    const out = new Map<string, string[]>();
    for (const table of discoverTables(zip.entries, { includeStorage: false })) {
      const text = await zip.readSmallEntry(table.documentsEntry);
      out.set(
        table.qualified,
        text
          .split("\n")
          .filter(Boolean)
          .map((line) => toExportJson(decodeUniformLine(line))),
      );
    }
    return out;
  } finally {
    zip.close();
  }
}

function stateAt(feed: FeedDeployment, ts: bigint): Map<string, string[]> {
  return new Map([...feed.stateAt(ts)].map(([t, docs]) => [t, docs.map((d) => toExportJson(d))]));
}

describe("a source whose data is a change-feed deployment", () => {
  it("lists the deployment's root and component tables, following tables added and dropped", async () => {
    const feed = shop();
    const s = await source(feed);
    const deployment = { url: s.url, deployKey: KEY };
    expect(await listTables(deployment)).toEqual(["customers", "orders", "reviews/reviews"]);
    feed.transaction((tx) => void tx.insert("reviews/votes", { up: true }));
    feed.dropTable("orders");
    expect(await listTables(deployment)).toEqual(["customers", "reviews/reviews", "reviews/votes"]);
    expect(Object.keys(s.componentIds)).toEqual(["reviews"]);
  });

  it("an export is a ZIP of the deployment at its start_ts, the latest timestamp when the worker took its snapshot", async () => {
    const feed = shop();
    const s = await source(feed);
    const deployment = { url: s.url, deployKey: KEY };
    expect(await requestExport(deployment, false)).toBe("requested");
    s.exportWorker.step();
    feed.transaction((tx) => void tx.insert("orders", { total: 3.25 })); // before the snapshot: in the ZIP
    s.exportWorker.step();
    const snapshotTs = feed.latestTs;
    feed.transaction((tx) => void tx.insert("orders", { total: 99.0 })); // after it: not in the ZIP
    expect((await latestExport(deployment)).state).toBe("in_progress"); // until the ZIP is written
    await s.exportWorker.settled();
    const done = await latestExport(deployment);
    if (done.state !== "completed") throw new Error(`export is ${done.state}`);
    expect(done.startTs).toBe(snapshotTs.toString());
    const contents = await zipContents(s, done.startTs);
    expect(contents).toEqual(stateAt(feed, snapshotTs));
    expect(contents.get("orders")).toHaveLength(2);
    expect(contents.get("customers")![0]).toContain(`"points":${BIG}`);
  });

  it("the automatic worker completes exports of the deployment too", async () => {
    const feed = shop();
    const s = await source(feed, { worker: "auto", exportDelayMs: 0 });
    await requestExport({ url: s.url, deployKey: KEY }, false);
    let done = await latestExport({ url: s.url, deployKey: KEY });
    while (done.state !== "completed") {
      await new Promise((r) => setTimeout(r, 20));
      done = await latestExport({ url: s.url, deployKey: KEY });
    }
    expect(await zipContents(s, done.startTs)).toEqual(stateAt(feed, BigInt(done.startTs)));
  });

  it("serves the feed with the source's keys: cursor_from_deltas at an export's start_ts, then only later changes", async () => {
    const feed = shop();
    const s = await source(feed);
    const ts = feed.latestTs;
    const minted = await post(s, "/api/data_sync_cursor_from_deltas", `{"cursor":${ts}}`);
    expect(minted.status).toBe(200);
    const { cursor } = JSON.parse(minted.text) as { cursor: string };
    let orderId = "";
    feed.transaction((tx) => void (orderId = tx.insert("orders", { total: 7.0 })));
    feed.transaction((tx) => tx.delete(orderId));
    const page = await post(s, "/api/v1/data/sync", { cursor });
    expect(page.status).toBe(200);
    const parsed = decodeUniformLine(page.text) as unknown as {
      status: { type: string; snapshotTs: bigint };
      truncates: unknown[];
      values: { table: string; deleted: boolean }[];
    };
    expect(parsed.status).toEqual({ type: "upToDate", snapshotTs: feed.latestTs });
    expect(parsed.truncates).toEqual([]);
    expect(parsed.values.map((v) => [v.table, v.deleted])).toEqual([
      ["orders", false],
      ["orders", true],
    ]);
    // The deployment's own key is not this source's.
    expect((await probe(s, feed.deployKey)).status).toBe(401);
    expect(await probe(s)).toEqual({ status: 200, json: null });
  });

  it("refuses the feed as the backend does: no key, a key without deployment:data:view, a plan without it", async () => {
    const feed = shop();
    const s = await source(feed);
    expect(await probe(s, null)).toMatchObject({ status: 403, json: { code: "BadDeployKey" } });
    expect(await probe(s, "prod:feed-shop|wrong")).toMatchObject({
      status: 401,
      json: { code: "BadAdminKey" },
    });
    expect(await probe(s, BACKUPS_ONLY)).toMatchObject({
      status: 403,
      json: { code: "OperationNotPermitted" },
    });
    expect(await probe(s, DATA_VIEWER)).toEqual({ status: 200, json: null });
    expect((await post(s, "/api/v1/data/sync", "{", KEY)).status).toBe(400);
    feed.streamingExportEnabled = false;
    for (const key of [KEY, BACKUPS_ONLY])
      expect(await probe(s, key)).toMatchObject({ status: 403, json: { code: "StreamingExportNotEnabled" } });
    expect(JSON.parse((await post(s, "/api/v1/data/sync", {})).text)).toMatchObject({
      code: "StreamingExportNotEnabled",
    });
  });
});

describe("a source with fixed data (no feed)", () => {
  it("is a plan without streaming export: the feed routes refuse with 403 after the key check", async () => {
    const s = await source(undefined);
    expect(await probe(s)).toMatchObject({ status: 403, json: { code: "StreamingExportNotEnabled" } });
    expect(await probe(s, "prod:feed-shop|wrong")).toMatchObject({
      status: 401,
      json: { code: "BadAdminKey" },
    });
    expect((await post(s, "/api/data_sync_cursor_from_deltas", `{"cursor":1}`)).status).toBe(403);
    expect(s.feed).toBeNull();
  });
});
