/// <reference types="vite/client" />
/**
 * Test harness for convex-test: the app's modules, its components, environment, and signed-in callers.
 * (Files with two dots are not bundled by the Convex CLI, so this never deploys.)
 */
import cronsTest from "@convex-dev/crons/test";
import rateLimiterTest from "@convex-dev/rate-limiter/test";
import { convexTest } from "convex-test";
import { vi } from "vitest";
import type { WithoutSystemFields } from "convex/server";
import type { Doc, Id } from "../_generated/dataModel";
import { isFinal } from "../lib/jobStateMachine";
import schema from "../schema";
import { withProductionErrors } from "./productionErrors.testkit";

export const modules = import.meta.glob(["../**/*.ts", "!../**/*.test.ts", "!../**/*.testkit.ts"]);

/** 32 bytes of zeros is fine for tests; production sets a random SECRETS_KEY. */
export const TEST_SECRETS_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
export const TEST_EXECUTOR_SECRET = "executor-secret-for-tests-0123456789";

export function setTestEnv(extra: Record<string, string | undefined> = {}): void {
  const env: Record<string, string | undefined> = {
    SECRETS_KEY: TEST_SECRETS_KEY,
    EXECUTOR_SECRET: TEST_EXECUTOR_SECRET,
    EXECUTOR_URL: "http://127.0.0.1:9",
    ADMIN_EMAILS: "",
    DASHBOARD_ORIGIN: "https://dashboard.example.com",
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/**
 * A fresh backend. Timers are faked so scheduled functions run only when a test advances time or runs them:
 * tests see each step's state instead of racing the scheduler.
 */
export function newTest() {
  // setImmediate/nextTick stay real: nodemailer and node:net need them to make progress.
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  setTestEnv();
  // Public calls fail as a production client sees them: only a ConvexError's data gets through.
  const t = withProductionErrors(convexTest(schema, modules), modules);
  cronsTest.register(t, "crons");
  rateLimiterTest.register(t, "rateLimiter");
  return t;
}
export type T = ReturnType<typeof newTest>;

export async function signedInAs(t: T, email: string, admin: boolean) {
  const userId = await t.run(async (ctx) => {
    const existing = await ctx.db
      .query("users")
      .withIndex("email", (q) => q.eq("email", email))
      .first();
    const id = existing?._id ?? (await ctx.db.insert("users", { email }));
    const listed = await ctx.db
      .query("admins")
      .withIndex("by_email", (q) => q.eq("email", email))
      .first();
    if (admin && !listed) await ctx.db.insert("admins", { email, addedAt: Date.now(), addedBy: "test" });
    return id;
  });
  return t.withIdentity({ subject: `${userId}|session-${userId}`, email });
}

export const asAdmin = (t: T, email = "admin@example.com") => signedInAs(t, email, true);
export const asNonAdmin = (t: T, email = "someone@example.com") => signedInAs(t, email, false);

export const DEFAULT_APP = {
  name: "Shop",
  slug: "shop",
  deploymentUrl: "http://127.0.0.1:9",
  deployKey: "prod:happy-animal-123|0123456789abcdefSECRETKEYabcdef",
  tables: null,
  targetSchema: "shop",
  schedule: null,
  enabled: true,
} as const;

/**
 * Creates an app as `apps.create` stores it (fields checked, key encrypted) but without its connection test,
 * so tests of other concerns need no source deployment; apps.test.ts and sources.test.ts test `create` itself.
 */
export async function createApp(
  t: T,
  overrides: Partial<{
    name: string;
    slug: string;
    deploymentUrl: string;
    deployKey: string;
    tables: string[] | null;
    targetSchema: string;
    schedule: { cron: string; timeZone: string } | null;
    enabled: boolean;
    retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
    /** Absent: as apps from before sync modes (snapshot); apps.create itself defaults to auto. */
    syncMode: "snapshot" | "incremental" | "auto";
  }> = {},
): Promise<Id<"apps">> {
  const { internal } = await import("../_generated/api");
  const { encryptSecret, maskSecret } = await import("../lib/crypto");
  const { DEFAULT_RETRY_POLICY } = await import("../lib/backoff");
  const { deployKey, ...fields } = { ...DEFAULT_APP, ...overrides };
  return t.mutation(internal.apps.insertApp, {
    fields: { retry: DEFAULT_RETRY_POLICY, includeStorage: false, ...fields },
    deployKeyCiphertext: await encryptSecret(deployKey),
    deployKeyHint: maskSecret(deployKey),
    actor: "admin:creator@example.com",
  });
}

/**
 * A job row written directly, without the steps `jobs.startJob` schedules: a first attempt of `appId`, queued,
 * stamped now, unless `fields` says otherwise. The one place tests spell out a whole row of the jobs table.
 */
export async function insertJob(
  t: T,
  appId: Id<"apps">,
  fields: Partial<WithoutSystemFields<Doc<"jobs">>> = {},
): Promise<Id<"jobs">> {
  return t.run(async (ctx) => {
    const now = Date.now();
    const status = fields.status ?? "queued";
    return ctx.db.insert("jobs", {
      appId,
      appSlug: "shop",
      status,
      active: !isFinal(status),
      trigger: "manual",
      triggeredBy: "test",
      attempt: 1,
      maxAttempts: 1,
      createdAt: now,
      updatedAt: now,
      lastSignOfLifeAt: now,
      dispatchAttempts: 0,
      tables: [],
      eventCount: 0,
      ...fields,
    });
  });
}

/** The pending scheduled functions, by name. */
export async function scheduled(t: T): Promise<{ name: string; args: unknown; scheduledTime: number }[]> {
  return t.run(async (ctx) => {
    const rows = await ctx.db.system.query("_scheduled_functions").collect();
    return rows
      .filter((r) => r.state.kind === "pending")
      .map((r) => ({ name: r.name, args: r.args[0], scheduledTime: r.scheduledTime }));
  });
}
