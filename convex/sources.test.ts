import { afterEach, describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { listTables } from "./lib/sourceDeployment";
import { asAdmin, createApp, newTest } from "./test/harness.testkit";
import { startServer, startSourceDeployment, UNREACHABLE_URL, type StandIn } from "./test/standins.testkit";

const KEY = "prod:source-123|goodkeygoodkeygoodkey";
let servers: StandIn[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function source(extra: Partial<Parameters<typeof startSourceDeployment>[0]> = {}) {
  const s = await startSourceDeployment({
    deployKey: KEY,
    tables: { "": ["users", "orders"], workpool: ["pendingStart"], "a/b": ["deep"] },
    ...extra,
  });
  servers.push(s);
  return s;
}

describe("fetching a source deployment's tables", () => {
  test("lists root and component tables, qualified and sorted, with the deploy key", async () => {
    const s = await source();
    expect(await listTables({ url: s.url, deployKey: KEY })).toEqual([
      "a/b/deep",
      "orders",
      "users",
      "workpool/pendingStart",
    ]);
    expect(s.requests.every((r) => r.headers["authorization"] === `Convex ${KEY}`)).toBe(true);
  });

  test("through the admin action, by saved app (key decrypted server-side) and before saving", async () => {
    const t = newTest();
    const s = await source();
    const appId = await createApp(t, { deploymentUrl: s.url, deployKey: KEY });
    const admin = await asAdmin(t);
    const saved = await admin.action(api.sources.fetchTables, { appId });
    expect(saved).toMatchObject({
      ok: true,
      tables: expect.arrayContaining(["users", "workpool/pendingStart"]),
    });
    const preview = await admin.action(api.sources.previewTables, {
      deploymentUrl: s.url,
      deployKey: "wrong-key-123",
    });
    expect(preview).toMatchObject({ ok: false, kind: "key_rejected" });
    expect(JSON.stringify(preview)).not.toContain("wrong-key-123");
  });

  test("specific errors: wrong URL, key rejected, missing permission, unreachable, not a deployment", async () => {
    const s = await source({ readOnlyKey: "prod:source-123|readonlyreadonly" });
    await expect(listTables({ url: "not a url", deployKey: KEY })).rejects.toMatchObject({ kind: "bad_url" });
    await expect(listTables({ url: "http://example.com", deployKey: KEY })).rejects.toMatchObject({
      kind: "bad_url",
      message: expect.stringContaining("must use https"),
    });
    await expect(listTables({ url: s.url, deployKey: "prod:source-123|nope" })).rejects.toMatchObject({
      kind: "key_rejected",
      retryable: false,
    });
    await expect(listTables({ url: UNREACHABLE_URL, deployKey: KEY })).rejects.toMatchObject({
      kind: "unreachable",
      retryable: true,
    });
    const notConvex = await startServer(() => ({ status: 404, body: { code: "NotFound", message: "no" } }));
    servers.push(notConvex);
    await expect(listTables({ url: notConvex.url, deployKey: KEY })).rejects.toMatchObject({
      kind: "not_found",
    });
    const denied = await startServer(() => ({
      status: 200,
      body: {
        status: "error",
        errorMessage: "You do not have permission to perform this operation (ViewData)",
      },
    }));
    servers.push(denied);
    await expect(listTables({ url: denied.url, deployKey: KEY })).rejects.toMatchObject({
      kind: "missing_permission",
    });
  });
});
