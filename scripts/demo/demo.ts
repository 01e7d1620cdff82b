/**
 * The offline demo, as one function: the harness hosting convex/ (test/harness), the built dashboard, the
 * real executor in its own process with an embedded DuckDB warehouse, and a stand-in source deployment whose
 * data is a live shop (a change-feed deployment seeded with sampleShop.ts, changed every few seconds by
 * shopActivity.ts) with its snapshot exports and its change feed. An admin account and the demo app — mode auto,
 * syncing every minute — are created through the real functions: the first sync is a snapshot that starts the
 * feed, the later ones apply the shop's changes, and the dashboard shows the lag. `scripts/demo/main.ts` prints
 * the result; the test drives it.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import { ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import { startHarness, type Harness } from "../../test/harness/server.js";
import { serveSite, type SiteServer } from "../../test/harness/siteServer.js";
import { ensureSiteBuilt, SITE_BUILD_DIR } from "../../test/browser/build.js";
import { freePort, startChild, type Child } from "../lib/processes.js";
import { seedShop } from "./sampleShop.js";
import { shopActivity, type ShopActivity } from "./shopActivity.js";
import { startConvexSource, type ConvexSource } from "../../test/standins/convexSource.js";
import { FeedDeployment } from "../../test/standins/dataSyncFeed.js";
import { watchJobs, type JobWatcher } from "./jobWatcher.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const DEMO_SCHEMA = "convex";
export const DEMO_APP = { name: "Demo Shop", slug: "demo-shop" };
/** Every minute, in auto mode: incremental wherever the source's plan and key allow it. */
export const DEMO_SCHEDULE = { cron: "* * * * *", timeZone: "UTC" };
export const DEFAULT_ACTIVITY_MS = 5_000;

export interface DemoPorts {
  cloud: number;
  site: number;
  dashboard: number;
  executor: number;
  source: number;
}

export interface DemoOptions {
  /** 0 picks a free port. */
  ports?: Partial<DemoPorts>;
  /**
   * Holds demo-warehouse.duckdb (kept between runs; each run's first sync is a snapshot that reloads it) and
   * demo-executor/ (fresh each run).
   */
  dataDir?: string;
  admin?: { email: string; password: string };
  /** Where progress lines and the executor's output go; default stdout. */
  output?: Writable;
  /** Build site/ when stale and serve it (default true). */
  dashboard?: boolean;
  /** A shop transaction this often (ms); 0: none (tests call `demo.activity.step()`). */
  activityEveryMs?: number;
  /** The app's schedule; default every minute. null: only Sync Now and the trigger API. */
  schedule?: { cron: string; timeZone: string } | null;
}

export interface Demo {
  dashboardUrl: string | null;
  cloudUrl: string;
  siteUrl: string;
  executorUrl: string;
  source: { url: string; deployKey: string };
  /** The source's data: the live shop with its change feed. */
  feed: FeedDeployment;
  /** The shop's activity generator (running when `activityEveryMs` > 0). */
  activity: ShopActivity;
  activityEveryMs: number;
  admin: { email: string; password: string };
  appId: string;
  /** `duckdb:<file>`: the warehouse the executor imports into. */
  warehouseTarget: string;
  schema: string;
  harness: Harness;
  /** The control plane as the demo admin (Convex Auth token from sign-up). */
  client: ConvexHttpClient;
  jobs: JobWatcher;
  stop(): Promise<void>;
}

export const DEFAULT_ADMIN = { email: "demo@example.com", password: "demo-password-123" };

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const output = options.output ?? process.stdout;
  const dataDir = path.resolve(options.dataDir ?? path.join(ROOT, ".data"));
  const warehouseFile = path.join(dataDir, "demo-warehouse.duckdb");
  const executorDir = path.join(dataDir, "demo-executor");
  const admin = options.admin ?? DEFAULT_ADMIN;
  const ports = options.ports ?? {};
  // Whatever the last run left queued for another control plane must not be replayed against this one.
  await rm(executorDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  const childEnv = { ...process.env };

  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const deployKey = `prod:demo-shop|${randomBytes(24).toString("hex")}`;
    // The shop as a live deployment whose timestamps follow the clock, so the lag shown is real.
    const feed = new FeedDeployment({ deployKey, clock: "wall" });
    seedShop(feed);
    // The same stand-in the tests use, built from the Convex backend's source (test/standins/convexSource.ts):
    // its tables, snapshot exports and change feed are all this deployment's.
    const source: ConvexSource = await startConvexSource({ deployKey, feed, port: ports.source ?? 0 });
    cleanups.push(() => source.close());

    // A fresh shared secret per run: the control plane signs jobs with it, the executor its callbacks.
    const secret = randomBytes(32).toString("base64url");
    const signupCode = randomBytes(24).toString("base64url");
    const executorPort = ports.executor || (await freePort());
    const executorUrl = `http://127.0.0.1:${executorPort}`;
    const harness = await startHarness({
      convexDir: path.join(ROOT, "convex"),
      cloudPort: ports.cloud ?? 0,
      sitePort: ports.site ?? 0,
      env: {
        ADMIN_EMAILS: admin.email,
        // Convex Auth logs every `auth:store` call at INFO; the demo's terminal is for the sync's own story.
        AUTH_LOG_LEVEL: "WARN",
        // Creating an account needs a sign-up code or an invite (convex/signupGate.ts): one per run.
        ADMIN_SIGNUP_CODE: signupCode,
        SECRETS_KEY: randomBytes(32).toString("base64"),
        EXECUTOR_URL: executorUrl,
        EXECUTOR_SECRET: secret,
      },
    });
    cleanups.push(() => harness.close());

    const client = await signUp(harness, { ...admin, signupCode });
    const appId = (await client.action(makeFunctionReference<"action">("apps:create"), {
      ...DEMO_APP,
      deploymentUrl: source.url,
      deployKey,
      tables: null,
      targetSchema: DEMO_SCHEMA,
      schedule: options.schedule === undefined ? DEMO_SCHEDULE : options.schedule,
      syncMode: "auto",
      enabled: true,
    })) as string;

    let site: SiteServer | null = null;
    if (options.dashboard ?? true) {
      output.write("Building the dashboard if site/ changed since the last build…\n");
      ensureSiteBuilt();
      site = await serveSite(SITE_BUILD_DIR, harness.cloudUrl, ports.dashboard ?? 0, harness.siteUrl);
      cleanups.push(() => site!.close());
    }

    const warehouseTarget = `duckdb:${warehouseFile}`;
    const executor = startExecutorProcess(
      {
        ...childEnv,
        EXECUTOR_ENV_FILE: path.join(executorDir, "no.env"),
        EXECUTOR_SECRET: secret,
        CONVEX_SITE_URL: harness.siteUrl,
        EXECUTOR_TARGET: warehouseTarget,
        EXECUTOR_PORT: String(executorPort),
        EXECUTOR_BIND: "127.0.0.1",
        EXECUTOR_DATA_DIR: executorDir,
        EXECUTOR_ID: "demo-executor",
        EXECUTOR_HEARTBEAT_SECONDS: "15",
        EXECUTOR_PROGRESS_SECONDS: "0.5",
        EXECUTOR_SHUTDOWN_GRACE_SECONDS: "5",
      },
      output,
    );
    let stopping = false;
    cleanups.push(async () => {
      stopping = true;
      await executor.stop();
    });
    void executor.exited.then((code) => {
      if (!stopping)
        output.write(`[demo] the executor exited (code ${code}); syncs cannot run until the demo restarts\n`);
    });
    await executor.waitForLine(/executor listening/);

    const jobs = watchJobs({ harness, warehouseTarget, schema: DEMO_SCHEMA, output });
    cleanups.push(() => jobs.stop());

    const activity = shopActivity(feed);
    const activityEveryMs = options.activityEveryMs ?? DEFAULT_ACTIVITY_MS;
    if (activityEveryMs > 0) activity.start(activityEveryMs);
    cleanups.push(async () => activity.stop());

    return {
      dashboardUrl: site?.url ?? null,
      cloudUrl: harness.cloudUrl,
      siteUrl: harness.siteUrl,
      executorUrl,
      source: { url: source.url, deployKey },
      feed,
      activity,
      activityEveryMs,
      admin,
      appId,
      warehouseTarget,
      schema: DEMO_SCHEMA,
      harness,
      client,
      jobs,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function signUp(harness: Harness, admin: { email: string; password: string; signupCode: string }) {
  const anonymous = new ConvexHttpClient(harness.cloudUrl);
  const signedUp = (await anonymous.action(makeFunctionReference<"action">("auth:signIn"), {
    provider: "password",
    params: { ...admin, flow: "signUp" },
  })) as { tokens: { token: string } };
  const client = new ConvexHttpClient(harness.cloudUrl);
  client.setAuth(signedUp.tokens.token);
  return client;
}

/** The real executor (`npm run executor`'s entry point) in its own process. */
function startExecutorProcess(env: NodeJS.ProcessEnv, output: Writable): Child {
  return startChild({
    name: "executor",
    command: process.execPath,
    args: ["--import", "tsx", path.join(ROOT, "executor/src/service/main.ts")],
    cwd: ROOT,
    env,
    output,
    // Its own process group on POSIX: Ctrl-C reaches only the demo, which then stops the executor once.
    detached: process.platform !== "win32",
  });
}
