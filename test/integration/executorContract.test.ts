/**
 * The contract between the two real sides, with no stand-in for either: the project's convex/ functions hosted
 * by the harness (scheduler, signed dispatch, HTTP callback routes) and the real executor (HTTP server, job
 * manager, outbox, import engine into PGlite) in this process. The demo test covers a successful sync; this one
 * covers a cancel of a running job and a sync after it, where each side's own tests only meet a stand-in, and the
 * two job kinds of incremental sync: a snapshot job that starts the change feed (the control plane mints the
 * cursor, the executor stores it) and an incremental job after it (figures back to the control plane).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importSnapshot } from "../../executor/src/import/index.js";
import { listLoadedTables } from "../../executor/src/import/inventory.js";
import { openChangeTarget } from "../../executor/src/incremental/openTarget.js";
import type { ImportFn } from "../../executor/src/service/runImport.js";
import { loadConfig } from "../../executor/src/service/config.js";
import { startExecutor, type RunningExecutor } from "../../executor/src/service/executor.js";
import { setLogLevel } from "../../executor/src/service/log.js";
import {
  SHOP_COMPONENT,
  SHOP_ROW_COUNTS,
  SHOP_TABLES,
  writeShopSnapshot,
} from "../../scripts/demo/sampleShop.js";
import { startConvexSource, type ConvexSource } from "../standins/convexSource.js";
import { FeedDeployment } from "../standins/dataSyncFeed.js";
import { freePort } from "../../scripts/lib/processes.js";
import { startHarness, type Harness } from "../harness/server.js";

setLogLevel(process.env.TEST_LOG ? "debug" : "silent");

const ADMIN = { email: "admin@example.com", password: "correct-horse-battery" };
const SIGNUP_CODE = "contract-test-signup-code";
const SCHEMA = "shop";
const ref = {
  signIn: makeFunctionReference<"action">("auth:signIn"),
  createApp: makeFunctionReference<"action">("apps:create"),
  trigger: makeFunctionReference<"mutation">("jobs:trigger"),
  cancel: makeFunctionReference<"mutation">("jobs:cancel"),
  job: makeFunctionReference<"query">("jobQueries:get"),
};

interface JobView {
  status: string;
  attempt: number;
  kind?: string;
  phase?: string;
  totalRows?: number;
  tables: { table: string; rows: number }[];
  changes?: { table: string; inserted: number; updated: number; deleted: number }[];
  incremental?: { outcome: string; position: string | null };
}

let dir: string;
let harness: Harness;
let source: ConvexSource;
let feedSource: ConvexSource;
let executor: RunningExecutor;
let client: ConvexHttpClient;
let appId: string;
let warehouseTarget: string;

/** The real engine, held at its start until released or the job is stopped (so a cancel meets a running job). */
const gate = { open: false, release: () => {}, started: 0 };
const heldImport: ImportFn = async (options) => {
  gate.started++;
  if (!gate.open)
    await new Promise<void>((resolve) => {
      gate.release = resolve;
      options.signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  return importSnapshot(options);
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "contract-"));
  const zipFile = path.join(dir, "snapshot.zip");
  await writeShopSnapshot(zipFile);
  const deployKey = `prod:shop|${randomBytes(24).toString("hex")}`;
  source = await startConvexSource({
    deployKey,
    zipFile,
    exportDelayMs: 0,
    tables: {
      root: SHOP_TABLES.filter((t) => !t.includes("/")),
      components: {
        [SHOP_COMPONENT]: SHOP_TABLES.filter((t) => t.includes("/")).map((t) => t.split("/")[1]!),
      },
    },
    port: 0,
  });
  const secret = randomBytes(32).toString("base64url");
  const executorPort = await freePort();
  harness = await startHarness({
    convexDir: path.resolve(import.meta.dirname, "../../convex"),
    env: {
      ADMIN_EMAILS: ADMIN.email,
      ADMIN_SIGNUP_CODE: SIGNUP_CODE,
      SECRETS_KEY: randomBytes(32).toString("base64"),
      EXECUTOR_URL: `http://127.0.0.1:${executorPort}`,
      EXECUTOR_SECRET: secret,
    },
  });
  warehouseTarget = `pglite:${path.join(dir, "warehouse")}`;
  const config = loadConfig({
    EXECUTOR_SECRET: secret,
    CONVEX_SITE_URL: harness.siteUrl,
    EXECUTOR_TARGET: warehouseTarget,
    EXECUTOR_PORT: String(executorPort),
    EXECUTOR_DATA_DIR: path.join(dir, "executor"),
    EXECUTOR_ID: "contract-pc",
    EXECUTOR_PROGRESS_SECONDS: "0.2",
  });
  executor = await startExecutor(config, { importFn: heldImport });
  const anonymous = new ConvexHttpClient(harness.cloudUrl);
  const { tokens } = (await anonymous.action(ref.signIn, {
    provider: "password",
    params: { ...ADMIN, flow: "signUp", signupCode: SIGNUP_CODE },
  })) as { tokens: { token: string } };
  client = new ConvexHttpClient(harness.cloudUrl);
  client.setAuth(tokens.token);
  appId = (await client.action(ref.createApp, {
    name: "Shop",
    slug: "shop",
    deploymentUrl: source.url,
    deployKey,
    tables: null,
    targetSchema: SCHEMA,
    schedule: null,
    enabled: true,
  })) as string;
}, 120_000);

afterAll(async () => {
  await executor?.stop(1_000);
  await source?.close();
  await feedSource?.close();
  await harness?.close();
  await rm(dir, { recursive: true, force: true });
});

async function jobOf(jobId: string): Promise<JobView> {
  return ((await client.query(ref.job, { jobId })) as { job: JobView }).job;
}

async function waitForJob(jobId: string, done: (job: JobView) => boolean, what: string): Promise<JobView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = await jobOf(jobId);
    if (done(job)) return job;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; job is ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.sequential("control plane ↔ executor, both real", () => {
  it("cancels a running job on the executor and ends it cancelled, with the warehouse untouched", async () => {
    const { jobId } = (await client.mutation(ref.trigger, { appId })) as { jobId: string };
    await waitForJob(jobId, (j) => j.status === "running" && gate.started === 1, "the import to start");
    await client.mutation(ref.cancel, { jobId, reason: "contract test" });
    const job = await waitForJob(jobId, (j) => j.status === "cancelled", "the cancel");
    expect(job.attempt).toBe(1);
    const { events } = (await client.query(ref.job, { jobId })) as { events: { message: string }[] };
    expect(events.map((e) => e.message)).toContain("cancelled; the executor confirmed");
    expect(executor.jobs.status(jobId)).toMatchObject({ state: "cancelled", attempt: 1 });
    // The executor's own completion ("cancelled") reaches the control plane and changes nothing.
    await waitForJob(jobId, () => executor.outbox.pending === 0, "the outbox to drain");
    expect((await jobOf(jobId)).status).toBe("cancelled");
    expect(await listLoadedTables(warehouseTarget, SCHEMA)).toEqual([]);
  });

  it("then syncs the app to success with the executor's figures", async () => {
    gate.open = true;
    gate.release();
    const { jobId } = (await client.mutation(ref.trigger, { appId })) as { jobId: string };
    const job = await waitForJob(
      jobId,
      (j) => ["succeeded", "failed", "cancelled"].includes(j.status),
      "the sync",
    );
    expect(job.status).toBe("succeeded");
    const expected = Object.values(SHOP_ROW_COUNTS).reduce((a, b) => a + b, 0);
    expect(job.totalRows).toBe(expected);
    expect(Object.fromEntries(job.tables.map((t) => [t.table, t.rows]))).toEqual(SHOP_ROW_COUNTS);
  });
});

describe.sequential("incremental sync, both sides real", () => {
  const FEED_SCHEMA = "feedshop";
  const deployKey = `prod:feedshop|${randomBytes(24).toString("hex")}`;
  const deployment = new FeedDeployment({ deployKey, clock: "wall" });
  const ids: Record<string, string> = {};
  let feedAppId: string;

  const terminal = (j: JobView) => ["succeeded", "failed", "cancelled"].includes(j.status);
  const storedPosition = async () => {
    const target = await openChangeTarget(warehouseTarget, FEED_SCHEMA);
    try {
      return (await target.readState())?.snapshotTs ?? null;
    } finally {
      await target.close();
    }
  };

  beforeAll(async () => {
    gate.open = true;
    gate.release();
    deployment.transaction((tx) => {
      ids.a = tx.insert("orders", { total: 10n });
      ids.b = tx.insert("orders", { total: 20n });
      tx.insert("chat/messages", { text: "hello" });
    });
    feedSource = await startConvexSource({ deployKey, feed: deployment, exportDelayMs: 0, port: 0 });
    feedAppId = (await client.action(ref.createApp, {
      name: "Feed shop",
      slug: "feedshop",
      deploymentUrl: feedSource.url,
      deployKey,
      tables: null,
      targetSchema: FEED_SCHEMA,
      schedule: null,
      enabled: true,
      syncMode: "auto",
    })) as string;
  });

  it("first loads a snapshot whose change-feed position the executor stores in the warehouse", async () => {
    const { jobId } = (await client.mutation(ref.trigger, { appId: feedAppId })) as { jobId: string };
    const job = await waitForJob(jobId, terminal, "the first load");
    expect(job.status).toBe("succeeded");
    expect(job.kind ?? "snapshot").toBe("snapshot");
    expect(job.totalRows).toBe(3);
    expect(await storedPosition()).not.toBeNull();
  });

  it("then applies the source's changes in an incremental job, with per-table figures", async () => {
    deployment.transaction((tx) => {
      tx.patch(ids.a!, { total: 11n });
      tx.delete(ids.b!);
      tx.insert("orders", { total: 30n });
    });
    deployment.transaction((tx) => void tx.insert("chat/messages", { text: "again" }));
    const { jobId } = (await client.mutation(ref.trigger, { appId: feedAppId })) as { jobId: string };
    const job = await waitForJob(jobId, terminal, "the incremental run");
    expect(job.status).toBe("succeeded");
    expect(job.kind).toBe("incremental");
    expect(job.incremental?.outcome).toBe("upToDate");
    expect(job.changes).toEqual([
      expect.objectContaining({ table: "chat/messages", inserted: 1, updated: 0, deleted: 0 }),
      expect.objectContaining({ table: "orders", inserted: 1, updated: 1, deleted: 1 }),
    ]);
    expect(job.incremental?.position).toBe(String(await storedPosition()));
  });
});
