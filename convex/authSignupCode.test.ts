import { ConvexError } from "convex/values";
import { afterEach, describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { authEnv } from "./test/authEnv.testkit";
import { newTest, setTestEnv, type T } from "./test/harness.testkit";

const ADMIN = "owner@example.com";
const PASSWORD = "correct horse battery";

async function backendWithAdmin(signupCode: string | undefined): Promise<T> {
  const t = newTest();
  setTestEnv({ ...(await authEnv()), ADMIN_EMAILS: ADMIN, ADMIN_SIGNUP_CODE: signupCode });
  await t.run((ctx) => ctx.db.insert("admins", { email: ADMIN, addedAt: 0, addedBy: "test" }));
  return t;
}

function signIn(t: T, flow: "signIn" | "signUp", extra: Record<string, string> = {}) {
  return t.action(api.auth.signIn, {
    provider: "password",
    params: { email: ADMIN, password: PASSWORD, flow, ...extra },
  });
}

const users = (t: T) => t.run((ctx) => ctx.db.query("users").collect());
const accounts = (t: T) => t.run((ctx) => ctx.db.query("authAccounts").collect());

afterEach(() => setTestEnv({ ADMIN_SIGNUP_CODE: undefined }));

describe("ADMIN_SIGNUP_CODE guards account creation", () => {
  test.each([
    ["missing", {}],
    ["wrong", { signupCode: "guess" }],
    ["a prefix of the right one", { signupCode: "s3cret-cod" }],
  ])("a sign-up with the code %s is refused and creates nothing", async (_name, extra) => {
    const t = await backendWithAdmin("s3cret-code");
    const refused = await signIn(t, "signUp", extra).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConvexError);
    expect((refused as ConvexError<{ code: string; message: string }>).data).toEqual({
      code: "forbidden",
      message: "a valid sign-up code or invite is required",
      field: "signupCode",
    });
    expect(await users(t)).toHaveLength(0);
    expect(await accounts(t)).toHaveLength(0);
  });

  test("a sign-up with the right code creates the account and a session", async () => {
    const t = await backendWithAdmin("s3cret-code");
    const result = await signIn(t, "signUp", { signupCode: "s3cret-code" });
    expect(result.tokens?.token).toEqual(expect.any(String));
    expect(await users(t)).toMatchObject([{ email: ADMIN }]);
    expect(await accounts(t)).toHaveLength(1);
  });

  test("signing in to an existing account needs no code", async () => {
    const t = await backendWithAdmin("s3cret-code");
    await signIn(t, "signUp", { signupCode: "s3cret-code" });
    const result = await signIn(t, "signIn");
    expect(result.tokens?.token).toEqual(expect.any(String));
    expect(await users(t)).toHaveLength(1);
  });

  test("without ADMIN_SIGNUP_CODE, an allow-listed email cannot sign up without an invite", async () => {
    const t = await backendWithAdmin(undefined);
    const refused = await signIn(t, "signUp").catch((e: unknown) => e);
    expect((refused as ConvexError<{ code: string; field: string }>).data).toMatchObject({
      code: "forbidden",
      field: "signupCode",
    });
    expect(await users(t)).toHaveLength(0);
  });

  test("without ADMIN_SIGNUP_CODE, an email off the allow-list is still refused", async () => {
    const t = await backendWithAdmin(undefined);
    const refused = await t
      .action(api.auth.signIn, {
        provider: "password",
        params: { email: "stranger@example.com", password: PASSWORD, flow: "signUp" },
      })
      .catch((e: unknown) => e);
    expect((refused as ConvexError<{ code: string }>).data).toMatchObject({ code: "forbidden" });
    expect(await users(t)).toHaveLength(0);
  });
});
