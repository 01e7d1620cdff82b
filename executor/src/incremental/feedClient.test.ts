import { afterEach, describe, expect, it } from "vitest";
import { FeedDeployment, serveDataSyncFeed, type ServedFeed } from "../../../test/standins/dataSyncFeed.js";
import {
  CursorExpiredError,
  FeedAuthError,
  FeedClient,
  FeedError,
  FeedPermissionError,
  InvalidCursorError,
  StreamingExportNotEnabledError,
} from "./feedClient.js";

const BIG = 2n ** 63n - 1n;
const FAST_RETRY = { attempts: 3, backoff: { baseMs: 1, maxMs: 2 } };
let served: ServedFeed | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function setup(options: ConstructorParameters<typeof FeedDeployment>[0] = {}) {
  const deployment = new FeedDeployment({
    restrictedKeys: { "prod:x|backups": ["ViewBackups"] },
    ...options,
  });
  served = await serveDataSyncFeed(deployment);
  const client = (deployKey = deployment.deployKey) =>
    new FeedClient({ deploymentUrl: served!.url + "/", deployKey, retry: FAST_RETRY });
  return { deployment, served, client };
}

describe("FeedClient", () => {
  it("parses pages losslessly: int64 and timestamps above 2^53 as bigint, bytes as Buffer, floats as numbers", async () => {
    const { deployment, client } = await setup();
    deployment.transaction(
      (tx) => void tx.insert("users", { big: BIG, b: Buffer.from([0, 255]), f: 2.0, nan: NaN }),
    );
    const page = await client().page(undefined);
    expect(page.status).toMatchObject({ type: "upToDate" });
    expect(page.status.type === "upToDate" && page.status.snapshotTs).toBe(deployment.latestTs);
    const [value] = page.values;
    expect(value!.ts).toBe(deployment.latestTs);
    expect(value!.value.big).toBe(BIG);
    expect(value!.value.b).toEqual(Buffer.from([0, 255]));
    expect(value!.value.f).toBe(2);
    expect(value!.value.nan).toBeNaN();
    expect(page.truncates).toEqual([{ component: "", table: "users" }]);
  });

  it("types the refusals callers act on", async () => {
    const { deployment, client } = await setup({ limits: { retentionNs: 1_000_000_000n } });
    await expect(client("prod:x|wrong").page(undefined)).rejects.toBeInstanceOf(FeedAuthError);
    await expect(client("prod:x|backups").page(undefined)).rejects.toBeInstanceOf(FeedPermissionError);
    await expect(client().page("01deadbeef")).rejects.toBeInstanceOf(InvalidCursorError);
    const page = await client().page(undefined);
    deployment.advance(5_000_000_000n);
    await expect(client().page(page.pagination.nextCursor)).rejects.toMatchObject({
      constructor: CursorExpiredError,
      status: 400,
      code: "DataSyncCursorExpired",
    });
    deployment.streamingExportEnabled = false;
    await expect(client().page(undefined)).rejects.toBeInstanceOf(StreamingExportNotEnabledError);
    await expect(client().testConnection()).rejects.toBeInstanceOf(StreamingExportNotEnabledError);
  });

  it("takes any other 403 for a refused deploy key, like a 401, and does not retry it", async () => {
    const { served } = await setup();
    const calls: string[] = [];
    const forbidden: typeof fetch = async (input) => {
      calls.push(String(input));
      return new Response(JSON.stringify({ code: "Forbidden", message: "key rejected" }), { status: 403 });
    };
    const client = new FeedClient({
      deploymentUrl: served.url,
      deployKey: "prod:x|revoked",
      retry: FAST_RETRY,
      fetch: forbidden,
    });
    await expect(client.page(undefined)).rejects.toMatchObject({
      constructor: FeedAuthError,
      status: 403,
      code: "Forbidden",
    });
    await expect(client.testConnection()).rejects.toBeInstanceOf(FeedAuthError);
    expect(calls).toHaveLength(2);
  });

  it("tells the size of each page as received", async () => {
    const { deployment, served, client } = await setup();
    deployment.transaction((tx) => void tx.insert("users", { name: "x".repeat(10_000) }));
    const sizes: number[] = [];
    const measuring: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const text = await response.text();
      sizes.push(text.length);
      return new Response(text, { status: response.status });
    };
    const page = await new FeedClient({
      deploymentUrl: served.url,
      deployKey: deployment.deployKey,
      fetch: measuring,
    }).page(undefined);
    expect(page.bytes).toBe(sizes[0]);
    expect(page.bytes).toBeGreaterThan(10_000);
    expect((await client().page(page.pagination.nextCursor)).bytes).toBeLessThan(1_000);
  });

  it("retries transient failures and gives up after its attempts; a refusal is not retried", async () => {
    const { deployment, served, client } = await setup();
    served.failNext(2, 503);
    await expect(client().testConnection()).resolves.toBeUndefined();
    expect(served.requests.map((r) => r.status)).toEqual([503, 503, 200]);

    served.requests.length = 0;
    served.failNext(5, 502);
    const failure = await client()
      .page(undefined)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FeedError);
    expect((failure as Error).message).toMatch(/failed 3 times.*502/);
    expect(served.requests).toHaveLength(3);

    served.requests.length = 0;
    served.failNext(0, 503);
    await expect(client().page("zz")).rejects.toBeInstanceOf(InvalidCursorError);
    expect(served.requests).toHaveLength(1);
    expect(deployment.latestTs).toBeGreaterThan(0n);
  });

  it("mints a cursor from a snapshot timestamp; the feed then starts after it", async () => {
    const { deployment, client } = await setup();
    deployment.transaction((tx) => void tx.insert("users", { name: "before" }));
    const snapshotTs = deployment.latestTs;
    deployment.transaction((tx) => void tx.insert("users", { name: "after" }));
    const cursor = await client().cursorFromSnapshot(snapshotTs);
    const page = await client().page(cursor);
    expect(page.truncates).toEqual([]);
    expect(page.values.map((v) => v.value.name)).toEqual(["after"]);
    await expect(client().cursorFromSnapshot(deployment.latestTs + 1n)).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
  });
});
