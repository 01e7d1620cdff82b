/**
 * Every public query, mutation and action refuses anonymous callers and signed-in non-admins. The table below
 * must list every public function of the app (checked by enumerating the modules), so a new function cannot
 * slip in without an access test.
 */
import { getFunctionName, type FunctionReference } from "convex/server";
import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { asAdmin, asNonAdmin, createApp, insertJob, modules, newTest, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";

type Kind = "query" | "mutation" | "action";
interface Case {
  ref: FunctionReference<Kind, "public">;
  kind: Kind;
  args: (ids: { appId: Id<"apps">; jobId: Id<"jobs">; tokenId: Id<"apiTokens"> }) => Record<string, unknown>;
}

const page = { paginationOpts: { numItems: 10, cursor: null } };
const appFields = {
  name: "X",
  slug: "x",
  deploymentUrl: "https://x.convex.cloud",
  tables: null,
  targetSchema: "x",
  schedule: null,
  enabled: true,
};

const cases: Case[] = [
  { ref: api.admins.me, kind: "query", args: () => ({}) },
  { ref: api.admins.list, kind: "query", args: () => ({}) },
  { ref: api.admins.add, kind: "mutation", args: () => ({ email: "new@example.com" }) },
  { ref: api.admins.remove, kind: "mutation", args: () => ({ email: "new@example.com" }) },
  { ref: api.apps.list, kind: "query", args: () => ({}) },
  { ref: api.apps.get, kind: "query", args: ({ appId }) => ({ appId }) },
  { ref: api.apps.create, kind: "action", args: () => ({ ...appFields, deployKey: "prod:x|abcdefghijkl" }) },
  { ref: api.apps.update, kind: "mutation", args: ({ appId }) => ({ appId, ...appFields }) },
  { ref: api.apps.setEnabled, kind: "mutation", args: ({ appId }) => ({ appId, enabled: false }) },
  {
    ref: api.apps.setDeployKey,
    kind: "action",
    args: ({ appId }) => ({ appId, deployKey: "prod:x|abcdefghijkl" }),
  },
  {
    ref: api.apps.setSource,
    kind: "action",
    args: ({ appId }) => ({ appId, deploymentUrl: "https://x.convex.cloud" }),
  },
  { ref: api.apps.remove, kind: "mutation", args: ({ appId }) => ({ appId }) },
  { ref: api.audit.list, kind: "query", args: () => page },
  { ref: api.email.getSettings, kind: "query", args: () => ({}) },
  {
    ref: api.email.saveSettings,
    kind: "action",
    args: () => ({
      enabled: true,
      host: "smtp.example.com",
      port: 587,
      security: "starttls",
      from: "a@example.com",
      recipients: ["b@example.com"],
      notifyOnRecovery: false,
    }),
  },
  { ref: api.emailNode.sendTestEmail, kind: "action", args: () => ({}) },
  { ref: api.executors.list, kind: "query", args: () => ({}) },
  { ref: api.jobQueries.listByApp, kind: "query", args: ({ appId }) => ({ appId, ...page }) },
  { ref: api.jobQueries.listByStatus, kind: "query", args: () => ({ status: "failed", ...page }) },
  { ref: api.jobQueries.listByDateRange, kind: "query", args: () => ({ from: 0, to: 1, ...page }) },
  { ref: api.jobQueries.get, kind: "query", args: ({ jobId }) => ({ jobId }) },
  { ref: api.jobQueries.events, kind: "query", args: ({ jobId }) => ({ jobId, ...page }) },
  { ref: api.jobs.trigger, kind: "mutation", args: ({ appId }) => ({ appId }) },
  { ref: api.jobs.cancel, kind: "mutation", args: ({ jobId }) => ({ jobId }) },
  { ref: api.schedules.nextRunsByApp, kind: "query", args: () => ({}) },
  { ref: api.schedules.preview, kind: "query", args: () => ({ cron: "0 * * * *", timeZone: "UTC" }) },
  { ref: api.settings.get, kind: "query", args: () => ({}) },
  { ref: api.settings.update, kind: "mutation", args: () => ({ retentionDays: 10, staleJobMinutes: 10 }) },
  { ref: api.sources.fetchTables, kind: "action", args: ({ appId }) => ({ appId }) },
  {
    ref: api.sources.previewTables,
    kind: "action",
    args: () => ({ deploymentUrl: "https://x.convex.cloud", deployKey: "k" }),
  },
  { ref: api.refusals.recent, kind: "query", args: () => ({}) },
  { ref: api.stats.daily, kind: "query", args: () => ({ from: 0, to: 86_400_000 }) },
  { ref: api.stats.freshness, kind: "query", args: () => ({}) },
  { ref: api.tokens.create, kind: "action", args: () => ({ name: "ci", scope: { kind: "all" as const } }) },
  { ref: api.tokens.list, kind: "query", args: () => ({}) },
  { ref: api.tokens.revoke, kind: "mutation", args: ({ tokenId }) => ({ tokenId }) },
];

/** Convex Auth's own endpoints must be callable before signing in. */
const OPEN_BY_DESIGN = new Set(["auth:signIn", "auth:signOut", "auth:isAuthenticated"]);

async function fixtures(t: T) {
  const appId = await createApp(t);
  const jobId = await insertJob(t, appId, {
    status: "failed",
    createdAt: 0,
    updatedAt: 0,
    lastSignOfLifeAt: 0,
  });
  const tokenId = await t.run(async (ctx) =>
    ctx.db.insert("apiTokens", { name: "t", tokenHash: "h", prefix: "p", createdAt: 0, createdBy: "test" }),
  );
  return { appId, jobId, tokenId };
}

async function call(
  caller: Pick<T, "query" | "mutation" | "action">,
  c: Case,
  args: Record<string, unknown>,
) {
  const fn = caller[c.kind] as (ref: unknown, args: unknown) => Promise<unknown>;
  return fn(c.ref, args);
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConvexError) return (error.data as { code: string }).code;
    throw error;
  }
  return "allowed";
}

describe("access rules", () => {
  test("the table covers every public function", async () => {
    const listed = new Set(cases.map((c) => getFunctionName(c.ref)));
    const found: string[] = [];
    for (const [path, load] of Object.entries(modules)) {
      const base = path.split("/").pop() ?? "";
      // Like the Convex CLI: files with two dots (convex.config.ts, auth.config.ts) are not function modules.
      if (path.includes("/_generated/") || base.split(".").length > 2) continue;
      const mod = (await load()) as Record<string, { isPublic?: boolean }>;
      const name = path.replace(/^\.\.\//, "").replace(/\.ts$/, "");
      for (const [exportName, value] of Object.entries(mod))
        if (value?.isPublic) found.push(`${name}:${exportName}`);
    }
    const unlisted = found.filter((f) => !listed.has(f) && !OPEN_BY_DESIGN.has(f));
    expect(unlisted).toEqual([]);
    expect(found.length).toBeGreaterThanOrEqual(cases.length);
  });

  test.each(cases.map((c) => [getFunctionName(c.ref), c] as const))(
    "%s refuses anonymous callers",
    async (_n, c) => {
      const t = newTest();
      const ids = await fixtures(t);
      expect(await refusal(call(t, c, c.args(ids)))).toBe("unauthenticated");
    },
  );

  test.each(cases.map((c) => [getFunctionName(c.ref), c] as const))(
    "%s refuses non-admins",
    async (_n, c) => {
      const t = newTest();
      const ids = await fixtures(t);
      const user = await asNonAdmin(t);
      expect(await refusal(call(user, c, c.args(ids)))).toBe("forbidden");
    },
  );

  test("an email in ADMIN_EMAILS is an admin without a row in the table", async () => {
    const t = newTest();
    process.env.ADMIN_EMAILS = "Boss@Example.com, other@example.com";
    const userId = await t.run((ctx) => ctx.db.insert("users", { email: "boss@example.com" }));
    const boss = t.withIdentity({ subject: `${userId}|s` });
    expect(await boss.query(api.admins.me, {})).toMatchObject({ email: "boss@example.com" });
    process.env.ADMIN_EMAILS = "";
    expect(await refusal(boss.query(api.admins.me, {}))).toBe("forbidden");
  });

  test("an admin can add another admin, who then gets in", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const later = await asNonAdmin(t, "later@example.com");
    expect(await refusal(later.query(api.apps.list, {}))).toBe("forbidden");
    await admin.mutation(api.admins.add, { email: " Later@Example.com " });
    expect(await later.query(api.apps.list, {})).toEqual([]);
    await expectUserError(admin.mutation(api.admins.remove, { email: "admin@example.com" }), {
      code: "conflict",
      message: /yourself/,
    });
  });
});
