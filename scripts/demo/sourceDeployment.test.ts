import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  latestExport,
  listTables,
  requestExport,
  SourceDeploymentError,
} from "../../convex/lib/sourceDeployment.js";
import { SHOP_TABLES, writeShopSnapshot } from "./sampleShop.js";
import { startDemoSource, type DemoSource } from "./sourceDeployment.js";

// The demo's source deployment, spoken to by the control plane's own client code.
const DEPLOY_KEY = "prod:demo-shop|0123456789abcdef";
let dir: string;
let source: DemoSource;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "demo-source-"));
  const zipFile = path.join(dir, "snapshot.zip");
  await writeShopSnapshot(zipFile);
  source = await startDemoSource({
    deployKey: DEPLOY_KEY,
    zipFile,
    tables: { root: ["customers", "orders", "products"], components: { reviews: ["reviews"] } },
    exportDelayMs: 200,
  });
});
afterAll(async () => {
  await source?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the demo source deployment", () => {
  it("lists root and component tables as the control plane qualifies them", async () => {
    expect(await listTables({ url: source.url, deployKey: DEPLOY_KEY })).toEqual([...SHOP_TABLES].sort());
  });

  it("runs an export to completion and serves its ZIP only with the deploy key", async () => {
    const deployment = { url: source.url, deployKey: DEPLOY_KEY };
    expect(await latestExport(deployment)).toEqual({ state: "none" });
    expect(await requestExport(deployment, false)).toBe("requested");
    expect(await requestExport(deployment, false)).toBe("in_progress");
    expect((await latestExport(deployment)).state).toBe("in_progress");
    await new Promise((r) => setTimeout(r, 400));
    const done = await latestExport(deployment);
    if (done.state !== "completed") throw new Error(`export is ${done.state}`);

    const zipUrl = `${source.url}/api/export/zip/${done.startTs}`;
    const ok = await fetch(zipUrl, { headers: { Authorization: `Convex ${DEPLOY_KEY}` } });
    expect(ok.status).toBe(200);
    const body = Buffer.from(await ok.arrayBuffer());
    expect(body.subarray(0, 2).toString()).toBe("PK");
    const resumed = await fetch(zipUrl, {
      headers: { Authorization: `Convex ${DEPLOY_KEY}`, Range: "bytes=100-" },
    });
    expect(resumed.status).toBe(206);
    expect(Buffer.from(await resumed.arrayBuffer()).equals(body.subarray(100))).toBe(true);

    const refused = await fetch(zipUrl, { headers: { Authorization: "Convex prod:demo-shop|wrong" } });
    expect(refused.status).toBe(401);
  });

  it("rejects a wrong deploy key the way the control plane recognises", async () => {
    const error = await listTables({ url: source.url, deployKey: "prod:demo-shop|wrong-key" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceDeploymentError);
    expect((error as SourceDeploymentError).kind).toBe("key_rejected");
  });
});
