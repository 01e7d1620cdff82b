/**
 * The feed probe and cursor minting against the source stand-in serving a change feed (test/standins/convexSource.ts
 * with `feed`, whose routes follow crates/local_backend/src/streaming_export.rs).
 */
import { afterEach, describe, expect, test } from "vitest";
import { startConvexSource, type ConvexSource } from "../../test/standins/convexSource";
import { FeedDeployment } from "../../test/standins/dataSyncFeed";
import { dataSyncResponse } from "../contract/dataSync";
import { SourceDeploymentError } from "./sourceError";
import { cursorFromSnapshot, FEED_REASONS, probeFeed } from "./sourceFeed";

const KEY = "prod:feed-shop|0123456789abcdefabcdef";
const BACKUPS_ONLY = "prod:feed-shop|backupsonlybackupsonly";
let servers: ConvexSource[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function shop(options: { streamingExportEnabled?: boolean } = {}): FeedDeployment {
  const feed = new FeedDeployment(options);
  feed.transaction((tx) => {
    tx.insert("customers", { name: "Ada" });
    tx.insert("reviews/reviews", { rating: 5n });
  });
  return feed;
}

async function source(feed: FeedDeployment | undefined): Promise<ConvexSource> {
  const s = await startConvexSource({
    deployKey: KEY,
    restrictedKeys: { [BACKUPS_ONLY]: ["ViewBackups", "CreateBackups", "DownloadBackups"] },
    ...(feed ? { feed } : { tables: { root: ["customers"] } }),
    worker: "manual",
  });
  servers.push(s);
  return s;
}

const at = (s: ConvexSource, deployKey = KEY) => ({ url: s.url, deployKey, allowInsecureHttp: true });

describe("probing the change feed", () => {
  test("a plan with streaming export and a full deploy key: available", async () => {
    const s = await source(shop());
    expect(await probeFeed(at(s))).toEqual({ available: true });
    expect(s.requests.at(-1)).toMatchObject({ method: "GET", path: "/api/test_streaming_export_connection" });
  });

  test("each refusal is unavailable with its reason in words: plan, permission, key", async () => {
    const free = await source(shop({ streamingExportEnabled: false }));
    expect(await probeFeed(at(free))).toEqual({
      available: false,
      code: "StreamingExportNotEnabled",
      reason: FEED_REASONS.plan,
    });
    expect(FEED_REASONS.plan).toContain("paid plans only");

    const paid = await source(shop());
    expect(await probeFeed(at(paid, BACKUPS_ONLY))).toEqual({
      available: false,
      code: "OperationNotPermitted",
      reason: FEED_REASONS.permission,
    });
    expect(FEED_REASONS.permission).toContain("deployment:data:view");

    const wrongKey = await probeFeed(at(paid, "prod:feed-shop|notthekeynotthekey"));
    expect(wrongKey).toMatchObject({ available: false, reason: expect.stringContaining("401") });
    expect(wrongKey.available === false && wrongKey.reason).toContain(FEED_REASONS.key);
  });

  test("a source without a feed given refuses as a free plan does", async () => {
    const s = await source(undefined);
    expect(await probeFeed(at(s))).toMatchObject({ available: false, code: "StreamingExportNotEnabled" });
  });

  test("no answer about the feed (unreachable) throws a retryable error instead of a verdict", async () => {
    const error = await probeFeed({
      url: "http://127.0.0.1:9",
      deployKey: KEY,
      allowInsecureHttp: true,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceDeploymentError);
    expect(error).toMatchObject({ kind: "unreachable", retryable: true });
  });
});

describe("a cursor at a snapshot's timestamp", () => {
  test("the timestamp travels as a bare JSON integer, with the app's tables as the selection", async () => {
    const feed = shop();
    const s = await source(feed);
    const ts = feed.latestTs.toString();
    expect(BigInt(ts)).toBeGreaterThan(2n ** 53n);
    await cursorFromSnapshot(at(s), ts, ["customers", "reviews/reviews"]);
    const sent = s.requests.at(-1)!;
    expect(sent).toMatchObject({ method: "POST", path: "/api/data_sync_cursor_from_deltas", status: 200 });
    expect(sent.body.startsWith(`{"cursor":${ts},`)).toBe(true);
    expect(JSON.parse(sent.body.replace(/^\{"cursor":\d+,/, "{"))).toEqual({
      selection: {
        _other: "excluded",
        "": { _other: "excluded", customers: { _other: "included" } },
        reviews: { _other: "excluded", reviews: { _other: "included" } },
      },
    });
    await cursorFromSnapshot(at(s), ts, null);
    expect(s.requests.at(-1)!.body).toBe(`{"cursor":${ts}}`);
  });

  test("the feed continues from the snapshot: only changes after it come", async () => {
    const feed = shop();
    const s = await source(feed);
    const cursor = await cursorFromSnapshot(at(s), feed.latestTs.toString(), null);
    feed.transaction((tx) => void tx.insert("customers", { name: "Grace" }));
    const response = await fetch(`${s.url}/api/v1/data/sync`, {
      method: "POST",
      headers: { Authorization: `Convex ${KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ cursor }),
    });
    // ts and snapshotTs are above 2^53: compare the names only, which JSON.parse keeps exactly.
    const text = await response.text();
    const page = dataSyncResponse
      .omit({ status: true, values: true })
      .parse(JSON.parse(text.replace(/"(ts|snapshotTs)":(\d+)/g, '"$1":"$2"')));
    expect(page.truncates).toEqual([]);
    expect(text).toContain('"name":"Grace"');
    expect(text).not.toContain('"name":"Ada"');
  });

  test("a refusal names why: a plan without the feed, a timestamp the source cannot start from", async () => {
    const free = await source(shop({ streamingExportEnabled: false }));
    await expect(cursorFromSnapshot(at(free), "1800000000000000000", null)).rejects.toMatchObject({
      kind: "feed_unavailable",
      message: FEED_REASONS.plan,
    });
    const feed = shop();
    const paid = await source(feed);
    const ahead = (feed.latestTs + 10n ** 12n).toString();
    await expect(cursorFromSnapshot(at(paid), ahead, null)).rejects.toMatchObject({
      kind: "feed_unavailable",
      message: expect.stringContaining("InvalidDataSyncCursor"),
    });
    await expect(
      cursorFromSnapshot(at(paid, BACKUPS_ONLY), feed.latestTs.toString(), null),
    ).rejects.toMatchObject({
      kind: "missing_permission",
    });
  });
});
