/**
 * The source-deployment stand-in answers as the Convex backend does (each case names the backend file it
 * follows in convexSource.ts), and the control plane's own client works against it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestExport, listTables, requestExport } from "../../convex/lib/sourceDeployment.js";
import { SHOP_TABLES, writeShopSnapshot } from "../../scripts/demo/sampleShop.js";
import { startConvexSource, type ConvexSource } from "./convexSource.js";

const KEY = "prod:demo-shop|0123456789abcdef";
const READ_ONLY = "prod:demo-shop|readonlyreadonly";
let dir: string;
let zipFile: string;
let source: ConvexSource;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "convex-source-"));
  zipFile = path.join(dir, "snapshot.zip");
  await writeShopSnapshot(zipFile);
  source = await startConvexSource({
    deployKey: KEY,
    restrictedKeys: { [READ_ONLY]: ["ViewData", "ViewBackups", "DownloadBackups"] },
    zipFile,
    tables: { root: ["customers", "orders", "products"], components: { reviews: ["reviews"] } },
    worker: "manual",
  });
});
afterAll(async () => {
  await source?.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(
  route: string,
  options: { key?: string | null; method?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const key = options.key === undefined ? KEY : options.key;
  const response = await fetch(`${source.url}${route}`, {
    method: options.method ?? "POST",
    headers: {
      ...(key === null ? {} : { Authorization: `Convex ${key}` }),
      "Content-Type": "application/json",
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* a ZIP or an empty body */
  }
  return { status: response.status, json: json as Record<string, unknown> | null, response };
}
const query = (path: string, args: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  call("/api/query", { body: { path, args, format: "json", ...extra } });

describe("authentication", () => {
  it("a key that is present but not the deployment's: 401 BadAdminKey", async () => {
    for (const route of ["/api/query", "/api/export/request/zip"])
      expect(await call(route, { key: "prod:demo-shop|wrong", body: { path: "x", args: {} } })).toMatchObject(
        {
          status: 401,
          json: { code: "BadAdminKey" },
        },
      );
  });

  it("no admin identity: 403 BadDeployKey for exports and /api/function, SystemIdentityRequired for _system", async () => {
    expect(await call("/api/export/request/zip", { key: null })).toMatchObject({
      status: 403,
      json: { code: "BadDeployKey" },
    });
    expect(
      await call("/api/function", { key: null, body: { path: "_system/cli/tables", args: {} } }),
    ).toMatchObject({ status: 403, json: { code: "BadDeployKey" } });
    expect(
      await call("/api/query", { key: null, body: { path: "_system/cli/exports:getLatest", args: {} } }),
    ).toMatchObject({ status: 403, json: { code: "SystemIdentityRequired" } });
  });

  it("a restricted key: OperationNotPermitted over HTTP, a function error inside a system query", async () => {
    expect(await call("/api/export/request/zip", { key: READ_ONLY })).toMatchObject({
      status: 403,
      json: {
        code: "OperationNotPermitted",
        message: "You do not have permission to perform this operation (deployment:backups:create).",
      },
    });
    const viewOnly = await startConvexSource({
      deployKey: KEY,
      restrictedKeys: { [READ_ONLY]: ["ViewBackups"] },
    });
    try {
      const refused = await fetch(`${viewOnly.url}/api/query`, {
        method: "POST",
        headers: { Authorization: `Convex ${READ_ONLY}` },
        body: JSON.stringify({ path: "_system/frontend/components:list", args: {} }),
      });
      expect(refused.status).toBe(200);
      expect(((await refused.json()) as { errorMessage: string }).errorMessage).toContain(
        "(deployment:data:view)",
      );
      // _system/server.ts `withArgsValidated`: the permission is checked before the arguments.
      const both = await fetch(`${viewOnly.url}/api/query`, {
        method: "POST",
        headers: { Authorization: `Convex ${READ_ONLY}` },
        body: JSON.stringify({ path: "_system/cli/tables", args: { paginationOpts: {}, extra: 1 } }),
      });
      expect(((await both.json()) as { errorMessage: string }).errorMessage).toContain(
        "You do not have permission to perform this operation (deployment:data:view).",
      );
    } finally {
      await viewOnly.close();
    }
  });
});

describe("functions", () => {
  it("a function's error is HTTP 200 {status: error} whose message starts with a request id", async () => {
    const { status, json } = await query("messages:list");
    expect(status).toBe(200);
    expect(json?.status).toBe("error");
    // /api/query validates the path as a public export (udf/src/validation.rs `missing_or_internal_error`).
    expect(json?.errorMessage).toMatch(
      /^\[Request ID: [0-9a-f]{16}\] Server Error\nCould not find public function for 'messages:list'\.$/,
    );
  });

  it("/api/function: a component id as componentPath is a 500; a real path has no _system functions", async () => {
    const byId = await call("/api/function", {
      body: { path: "_system/cli/tables", args: {}, componentPath: source.componentIds.reviews },
    });
    expect(byId).toMatchObject({ status: 500, json: { code: "InternalServerError" } });
    const byPath = await call("/api/function", {
      body: { path: "_system/cli/tables", args: {}, componentPath: "reviews" },
    });
    expect(byPath.status).toBe(200);
    expect(byPath.json).toMatchObject({ status: "error" });
    expect(byPath.json?.errorMessage).toContain(
      "Could not find function for '_system/cli/tables:default' in 'reviews'",
    );
  });

  it("/api/query ignores unknown fields: a componentPath there still lists the root", async () => {
    const { json } = await query(
      "_system/cli/tables",
      { paginationOpts: { cursor: null, numItems: 10 } },
      {
        componentPath: "reviews",
      },
    );
    expect(json).toMatchObject({ status: "success", value: { page: expect.any(Array), isDone: true } });
    expect((json!.value as { page: { name: string }[] }).page.map((t) => t.name)).toEqual([
      "customers",
      "orders",
      "products",
    ]);
  });

  it("getTableMapping per component: table numbers to names, _scheduled_jobs and _file_storage kept", async () => {
    const { json: components } = await query("_system/frontend/components:list");
    const list = components!.value as { id: string; path: string }[];
    expect(list.map((c) => c.path)).toEqual(["", "reviews"]);
    const { json } = await query("_system/frontend/getTableMapping", { componentId: list[1]!.id });
    expect(Object.values(json!.value as object).sort()).toEqual([
      "_file_storage",
      "_scheduled_jobs",
      "reviews",
    ]);
    const extra = await query("_system/cli/tables", { paginationOpts: {}, componentId: list[1]!.id });
    expect(extra.json?.errorMessage).toContain("extra field `componentId`");
  });
});

describe("exports", () => {
  it("pass through requested; completing replaces start_ts; int64 are decimal strings in format json", async () => {
    expect((await call("/api/export/request/zip?includeStorage=false")).status).toBe(200);
    expect((await query("_system/cli/exports:getLatest")).json?.value).toMatchObject({ state: "requested" });
    expect((await call("/api/export/request/zip")).json).toMatchObject({ code: "ExportInProgress" });
    source.exportWorker.step();
    const running = (await query("_system/cli/exports:getLatest")).json?.value as Record<string, unknown>;
    expect(running).toMatchObject({ state: "in_progress", start_ts: expect.stringMatching(/^\d{19}$/) });
    source.exportWorker.step();
    const done = (await query("_system/cli/exports:getLatest")).json?.value as Record<string, unknown>;
    expect(done).toMatchObject({ state: "completed", requestor: "snapshotExport" });
    expect(BigInt(done.start_ts as string)).toBeGreaterThan(BigInt(running.start_ts as string));
    expect(done.complete_ts).toMatch(/^\d+$/);
    expect(done.size).toMatch(/^\d+$/);
    const encoded = await query("_system/cli/exports:getLatest", {}, { format: "convex_encoded_json" });
    expect((encoded.json?.value as Record<string, unknown>).start_ts).toEqual({
      $integer: expect.any(String),
    });

    // Download by timestamp: only a completed export matches; Range is ignored (200, the whole body).
    expect((await call(`/api/export/zip/${running.start_ts}`, { method: "GET" })).json).toMatchObject({
      code: "ExportNotFound",
    });
    const whole = await call(`/api/export/zip/${done.start_ts}`, {
      method: "GET",
      headers: { Range: "bytes=100-" },
    });
    expect(whole.status).toBe(200);
    expect(Number(whole.response.headers.get("content-length"))).toBe(Number(done.size));
    // custom_headers.rs: unquoted, as `npx convex export` reads it (cli/lib/convexExport.ts).
    expect(whole.response.headers.get("content-disposition")).toBe(
      `attachment; filename=snapshot_demo-shop_${String(done.start_ts)}.zip`,
    );
    expect(whole.response.headers.get("cache-control")).toBe("private, max-age=2592000");
    expect(whole.response.headers.get("content-type")).toBeNull();
  });

  it("a dashboard backup blocks a snapshot export request and is not what getLatest shows", async () => {
    const before = (await query("_system/cli/exports:getLatest")).json?.value;
    source.exportWorker.startBackup();
    expect(await call("/api/export/request/zip")).toMatchObject({
      status: 400,
      json: { code: "ExportInProgress" },
    });
    expect((await query("_system/cli/exports:getLatest")).json?.value).toEqual(before);
    source.exportWorker.step();
    source.exportWorker.step();
  });
});

describe("the control plane's client against it", () => {
  it("lists root and component tables as the control plane qualifies them", async () => {
    expect(await listTables({ url: source.url, deployKey: KEY })).toEqual(
      ["customers", "orders", "products", "reviews/reviews"].sort(),
    );
    expect(SHOP_TABLES).toContain("reviews/reviews");
  });

  it("runs an export to completion and downloads its ZIP", async () => {
    const deployment = { url: source.url, deployKey: KEY };
    expect(await requestExport(deployment, false)).toBe("requested");
    expect(await requestExport(deployment, false)).toBe("in_progress");
    source.exportWorker.step();
    source.exportWorker.step();
    const done = await latestExport(deployment);
    if (done.state !== "completed") throw new Error(`export is ${done.state}`);
    const zip = await fetch(`${source.url}/api/export/zip/${done.startTs}`, {
      headers: { Authorization: `Convex ${KEY}` },
    });
    expect(zip.status).toBe(200);
    expect(
      Buffer.from(await zip.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe("PK");
  });
});
