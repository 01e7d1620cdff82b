import { afterEach, describe, expect, test } from "vitest";
import { startConvexSource, type ConvexSource } from "../test/standins/convexSource";
import { api } from "./_generated/api";
import { classifyDeployKey } from "./lib/deployKey";
import { checkSourceAccess, listTables, parseExportDocument } from "./lib/sourceDeployment";
import type { SourceDeploymentError } from "./lib/sourceError";
import { normalizeDeploymentUrl } from "./lib/sourceUrl";
import { asAdmin, createApp, newTest } from "./test/harness.testkit";
import { startServer, UNREACHABLE_URL, type StandIn } from "./test/standins.testkit";

const KEY = "prod:source-123|goodkeygoodkeygoodkey";
let servers: (StandIn | ConvexSource)[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function source(extra: Partial<Parameters<typeof startConvexSource>[0]> = {}) {
  const s = await startConvexSource({
    deployKey: KEY,
    tables: { root: ["users", "orders"], components: { workpool: ["pendingStart"], "a/b": ["deep"] } },
    ...extra,
  });
  servers.push(s);
  return s;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e as SourceDeploymentError,
  );

describe("fetching a source deployment's tables", () => {
  test("lists root and component tables through getTableMapping per component id, at the root", async () => {
    const s = await source();
    expect(await listTables({ url: s.url, deployKey: KEY })).toEqual([
      "a/b/deep",
      "orders",
      "users",
      "workpool/pendingStart",
    ]);
    expect(s.requests.every((r) => r.authorization === `Convex ${KEY}`)).toBe(true);
    // /api/function with a component id as componentPath is a 500 on a real deployment.
    expect(s.requests.every((r) => r.method === "POST" && r.path === "/api/query")).toBe(true);
    const mappingCalls = s.requests
      .map((r) => JSON.parse(r.body) as { path: string; args: { componentId?: string } })
      .filter((b) => b.path === "_system/frontend/getTableMapping");
    expect(mappingCalls.map((b) => b.args.componentId ?? "root").sort()).toEqual(
      ["root", s.componentIds.workpool, s.componentIds["a/b"]].sort(),
    );
  });

  test("system tables in the mapping (_scheduled_jobs, _file_storage) are not listed", async () => {
    const s = await source({ tables: { root: ["users"] } });
    expect(await listTables({ url: s.url, deployKey: KEY })).toEqual(["users"]);
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
    // A project token or preview deploy key is named as such before anything is sent, as on saving.
    for (const deployKey of ["project:my-team:my-project|abc123abc", "preview:my-team:my-project|abc123abc"])
      expect(
        await admin.action(api.sources.previewTables, { deploymentUrl: s.url, deployKey }),
      ).toMatchObject({ ok: false, kind: "unsupported_key", error: expect.stringMatching(/use the deploy/) });
    expect(s.requests.filter((r) => r.authorization?.includes("my-project"))).toEqual([]);
  });

  test("specific errors: wrong URL, key rejected, unreachable, not a deployment", async () => {
    const s = await source();
    await expect(listTables({ url: "not a url", deployKey: KEY })).rejects.toMatchObject({ kind: "bad_url" });
    await expect(listTables({ url: "http://example.com", deployKey: KEY })).rejects.toMatchObject({
      kind: "bad_url",
      message: expect.stringContaining("must use https"),
    });
    const rejected = await failure(listTables({ url: s.url, deployKey: "prod:source-123|nope" }));
    expect(rejected).toMatchObject({ kind: "key_rejected", retryable: false });
    expect(rejected.message).toContain("BadAdminKey");
    await expect(listTables({ url: UNREACHABLE_URL, deployKey: KEY })).rejects.toMatchObject({
      kind: "unreachable",
      retryable: true,
    });
    const notConvex = await startServer(() => ({ status: 404 }));
    servers.push(notConvex);
    await expect(listTables({ url: notConvex.url, deployKey: KEY })).rejects.toMatchObject({
      kind: "not_found",
    });
  });

  test("a restricted key without ViewData: the error names the missing permission", async () => {
    const restricted = "prod:source-123|restrictedrestricted";
    const s = await source({
      restrictedKeys: { [restricted]: ["ViewBackups", "CreateBackups", "DownloadBackups"] },
    });
    const error = await failure(listTables({ url: s.url, deployKey: restricted }));
    expect(error).toMatchObject({ kind: "missing_permission", missingPermissions: ["ViewData"] });
    expect(error.message).toMatch(/lacks the ViewData permission/);
    expect(error.message).toContain("ViewData, ViewBackups, CreateBackups, DownloadBackups");
  });

  test("a self-hosted backend behind a proxy path is reached under that path", async () => {
    const s = await source({ pathPrefix: "/convex" });
    expect(await listTables({ url: `${s.url}/convex/`, deployKey: KEY })).toContain("users");
    expect(s.requests.every((r) => r.path === "/convex/api/query")).toBe(true);
  });
});

describe("deployment URLs and deploy keys", () => {
  test("a .convex.site URL (HTTP actions) is refused, naming the .convex.cloud address to use", () => {
    expect(() => normalizeDeploymentUrl("https://happy-animal-123.convex.site")).toThrow(
      /HTTP-actions address; use its API address https:\/\/happy-animal-123\.convex\.cloud/,
    );
    expect(() =>
      normalizeDeploymentUrl("https://dashboard.convex.dev/t/team/shop/happy-animal-123/data"),
    ).toThrow(/Convex dashboard's address; use the deployment's API URL/);
  });

  test("http only to loopback, or to a private host when the app allows it explicitly", () => {
    expect(normalizeDeploymentUrl("http://127.0.0.1:3210/")).toBe("http://127.0.0.1:3210");
    expect(() => normalizeDeploymentUrl("http://10.0.0.5:3210")).toThrow(/travel unencrypted/);
    expect(normalizeDeploymentUrl("http://10.0.0.5:3210", { allowInsecureHttp: true })).toBe(
      "http://10.0.0.5:3210",
    );
    expect(normalizeDeploymentUrl("http://convex.internal/api-root/", { allowInsecureHttp: true })).toBe(
      "http://convex.internal/api-root",
    );
    expect(() => normalizeDeploymentUrl("http://convex.example.com", { allowInsecureHttp: true })).toThrow(
      /must use https/,
    );
    expect(normalizeDeploymentUrl("https://convex.example.com/convex/")).toBe(
      "https://convex.example.com/convex",
    );
    expect(() => normalizeDeploymentUrl("https://happy-animal-123.convex.cloud/api")).toThrow(
      /just the origin/,
    );
  });

  test("project tokens and preview deploy keys are refused, saying which key to use", () => {
    expect(() => classifyDeployKey("project:my-team:my-project|abc123")).toThrow(
      /project token.*use the deployment's deploy key/,
    );
    expect(() => classifyDeployKey("preview:my-team:my-project|abc123")).toThrow(
      /preview deploy key.*use the deploy key of the deployment to copy/,
    );
    expect(classifyDeployKey("prod:happy-animal-123|abc")).toEqual({
      type: "prod",
      deploymentName: "happy-animal-123",
    });
    expect(classifyDeployKey("preview:happy-animal-456|abc")).toMatchObject({ type: "preview" });
    expect(classifyDeployKey("convex-self-hosted|01abcdef")).toMatchObject({ type: "legacy" });
  });

  test("a key of another cloud deployment than the URL's is refused before anything is sent", async () => {
    const error = await failure(
      checkSourceAccess({
        url: "https://happy-animal-123.convex.cloud",
        deployKey: "prod:other-deploy-456|abc",
      }),
    );
    expect(error).toMatchObject({ kind: "key_rejected" });
    expect(error.message).toContain("belongs to deployment other-deploy-456");
  });

  test("export timestamps must be int64 decimal strings: a JS number cannot hold a ns timestamp", () => {
    const doc = { _id: "k1", state: "completed", complete_ts: "1795932784753000001", expiration_ts: "1" };
    expect(parseExportDocument({ ...doc, start_ts: "1795932784753000000" })).toMatchObject({
      startTs: "1795932784753000000",
    });
    expect(() => parseExportDocument({ ...doc, start_ts: 1795932784753000000 })).toThrow(
      /int64 decimal strings/,
    );
  });
});

describe("saving an app tests the connection first", () => {
  const fields = {
    name: "Shop",
    slug: "shop",
    tables: null,
    targetSchema: "shop",
    schedule: null,
    enabled: true,
  };
  const dataOf = (e: unknown) => (e as { data?: { code: string; field?: string; message: string } }).data;

  test("create with a key the source refuses fails at the key field and saves nothing", async () => {
    const t = newTest();
    const s = await source();
    const admin = await asAdmin(t);
    const error = await admin
      .action(api.apps.create, { ...fields, deploymentUrl: s.url, deployKey: "prod:source-123|revoked-key" })
      .catch((e: unknown) => e);
    expect(dataOf(error)).toMatchObject({ code: "invalid_input", field: "deployKey" });
    expect(dataOf(error)?.message).toContain("does not accept this deploy key");
    expect(await admin.query(api.apps.list, {})).toEqual([]);
  });

  test("create with a key lacking DownloadBackups fails naming it; a full key saves", async () => {
    const t = newTest();
    const readOnly = "prod:source-123|readonlyreadonly";
    const s = await source({ restrictedKeys: { [readOnly]: ["ViewData", "ViewBackups", "CreateBackups"] } });
    const admin = await asAdmin(t);
    const error = await admin
      .action(api.apps.create, { ...fields, deploymentUrl: s.url, deployKey: readOnly })
      .catch((e: unknown) => e);
    expect(dataOf(error)).toMatchObject({ field: "deployKey" });
    expect(dataOf(error)?.message).toMatch(/lacks the DownloadBackups permission/);
    const appId = await admin.action(api.apps.create, { ...fields, deploymentUrl: s.url, deployKey: KEY });
    expect(await admin.query(api.apps.get, { appId })).toMatchObject({ deploymentUrl: s.url });
  });

  test("create with a project token or a .convex.site URL fails before anything is sent", async () => {
    const t = newTest();
    const s = await source();
    const admin = await asAdmin(t);
    const token = await admin
      .action(api.apps.create, {
        ...fields,
        deploymentUrl: s.url,
        deployKey: "project:team:proj|secretsecret",
      })
      .catch((e: unknown) => e);
    expect(dataOf(token)).toMatchObject({ field: "deployKey" });
    const site = await admin
      .action(api.apps.create, {
        ...fields,
        deploymentUrl: "https://happy-animal-123.convex.site",
        deployKey: KEY,
      })
      .catch((e: unknown) => e);
    expect(dataOf(site)).toMatchObject({ field: "deploymentUrl" });
    expect(s.requests).toHaveLength(0);
  });

  test("a new key or a new source is saved only once the source accepts it", async () => {
    const t = newTest();
    const s = await source();
    const other = await source();
    const admin = await asAdmin(t);
    const appId = await admin.action(api.apps.create, { ...fields, deploymentUrl: s.url, deployKey: KEY });
    const hint = (await admin.query(api.apps.get, { appId }))?.deployKeyHint;
    const refusedKey = await admin
      .action(api.apps.setDeployKey, { appId, deployKey: "prod:source-123|wrongwrongwrong" })
      .catch((e: unknown) => e);
    expect(dataOf(refusedKey)).toMatchObject({ field: "deployKey" });
    expect((await admin.query(api.apps.get, { appId }))?.deployKeyHint).toBe(hint);
    // The update mutation cannot test a connection, so it refuses to move the app.
    const moved = await admin
      .mutation(api.apps.update, { appId, ...fields, deploymentUrl: other.url })
      .catch((e: unknown) => e);
    expect(dataOf(moved)).toMatchObject({ field: "deploymentUrl" });
    const unreachable = await admin
      .action(api.apps.setSource, { appId, deploymentUrl: UNREACHABLE_URL })
      .catch((e: unknown) => e);
    expect(dataOf(unreachable)).toMatchObject({ field: "deploymentUrl" });
    expect((await admin.query(api.apps.get, { appId }))?.deploymentUrl).toBe(s.url);
    await admin.action(api.apps.setSource, { appId, deploymentUrl: other.url });
    expect((await admin.query(api.apps.get, { appId }))?.deploymentUrl).toBe(other.url);
  });
});
