import { ConvexError } from "convex/values";
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import { authEnv } from "./test/authEnv.testkit";
import { newTest, setTestEnv, type T } from "./test/harness.testkit";

const PASSWORD = "correct horse battery";

async function backend(env: Record<string, string | undefined> = {}): Promise<T> {
  const t = newTest();
  setTestEnv({ ...(await authEnv()), ADMIN_SIGNUP_CODE: undefined, ...env });
  return t;
}

function signUp(t: T, email: string, signupCode?: string) {
  return t.action(api.auth.signIn, {
    provider: "password",
    params: { email, password: PASSWORD, flow: "signUp", ...(signupCode ? { signupCode } : {}) },
  });
}

const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConvexError);
  return (e as ConvexError<{ code: string; field?: string; message: string }>).data;
};
const users = (t: T) => t.run((ctx) => ctx.db.query("users").collect());
const inviteToken = (link: string) => new URL(link).searchParams.get("invite")!;

afterEach(() => {
  setTestEnv({ ADMIN_SIGNUP_CODE: undefined });
  vi.useRealTimers();
});

describe("no admin account without the sign-up code or an invite", () => {
  test("an allow-listed email cannot sign up when no code is set and it has no invite", async () => {
    const t = await backend({ ADMIN_EMAILS: "owner@example.com" });
    expect(await refusal(signUp(t, "owner@example.com"))).toMatchObject({
      code: "forbidden",
      field: "signupCode",
    });
    expect(await users(t)).toEqual([]);
  });

  test("an invite made by the owner lets that email sign up once, and only before it expires", async () => {
    const t = await backend({ DASHBOARD_ORIGIN: "https://dash.example.com" });
    const made = await t.action(internal.admins.invite, { email: "New.Admin@Example.com", hours: 2 });
    expect(made.link).toMatch(
      /^https:\/\/dash\.example\.com\/\?invite=inv_[^&]+&email=new\.admin%40example\.com$/,
    );
    const token = inviteToken(made.link);
    // Stored hashed only; the audit row names the email, never the token.
    const stored = await t.run(async (ctx) => ({
      invites: await ctx.db.query("adminInvites").collect(),
      audit: await ctx.db.query("auditLog").collect(),
    }));
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored.invites).toMatchObject([{ email: "new.admin@example.com" }]);

    // Another email cannot use it.
    expect(await refusal(signUp(t, "someone.else@example.com", token))).toMatchObject({ code: "forbidden" });
    const ok = await signUp(t, "new.admin@example.com", token);
    expect(ok.tokens?.token).toEqual(expect.any(String));
    expect(await users(t)).toMatchObject([{ email: "new.admin@example.com" }]);
    const admins = await t.run((ctx) => ctx.db.query("admins").collect());
    expect(admins).toMatchObject([{ email: "new.admin@example.com", addedBy: "invite" }]);
    expect((await t.run((ctx) => ctx.db.query("adminInvites").first()))?.usedAt).toEqual(expect.any(Number));

    // Spent: a second account (after the first is gone) cannot reuse it.
    await t.run(async (ctx) => {
      for (const table of ["authAccounts", "authSessions", "authRefreshTokens", "users"] as const)
        for (const row of await ctx.db.query(table).collect()) await ctx.db.delete(row._id);
    });
    expect(await refusal(signUp(t, "new.admin@example.com", token))).toMatchObject({ code: "forbidden" });
  });

  test("an expired invite is refused", async () => {
    const t = await backend({ DASHBOARD_ORIGIN: undefined });
    vi.setSystemTime(new Date("2026-11-28T12:00:00Z"));
    const made = await t.action(internal.admins.invite, { email: "late@example.com", hours: 1 });
    expect(made.note).toMatch(/DASHBOARD_ORIGIN is not set/);
    vi.setSystemTime(new Date("2026-11-28T13:00:01Z"));
    expect(
      await refusal(
        signUp(t, "late@example.com", inviteToken(made.link.replace("<dashboard URL>", "https://x"))),
      ),
    ).toMatchObject({
      code: "forbidden",
    });
    expect(await users(t)).toEqual([]);
  });

  test("wrong codes are rate-limited per email: after 5, even the right code waits", async () => {
    const t = await backend({ ADMIN_EMAILS: "owner@example.com", ADMIN_SIGNUP_CODE: "the-right-code-123" });
    vi.setSystemTime(new Date("2026-11-28T12:00:00Z"));
    for (let i = 0; i < 5; i++)
      expect(await refusal(signUp(t, "owner@example.com", `guess-${i}`))).toMatchObject({
        code: "forbidden",
      });
    expect(await refusal(signUp(t, "owner@example.com", "the-right-code-123"))).toMatchObject({
      code: "rate_limited",
      field: "signupCode",
    });
    expect(await users(t)).toEqual([]);
    // Refusals are counted, not audited.
    const rows = await t.run(async (ctx) => ({
      audit: await ctx.db.query("auditLog").collect(),
      counters: await ctx.db.query("refusedRequests").collect(),
    }));
    expect(rows.audit).toEqual([]);
    expect(rows.counters.map((c) => [c.reason, c.count])).toEqual([
      ["bad_code", 5],
      ["rate_limited", 1],
    ]);
    // The bucket refills: one more try after a few minutes, and the right code works.
    vi.setSystemTime(new Date("2026-11-28T12:04:00Z"));
    expect((await signUp(t, "owner@example.com", "the-right-code-123")).tokens?.token).toEqual(
      expect.any(String),
    );
  });
});
