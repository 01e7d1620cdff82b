import { ConvexError } from "convex/values";
import { afterEach, describe, expect, test } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { userErrorOf } from "./lib/userError";
import { authEnv } from "./test/authEnv.testkit";
import { asAdmin, DEFAULT_APP, newTest, setTestEnv, type T } from "./test/harness.testkit";
import { expectUserError, SERVER_ERROR } from "./test/productionErrors.testkit";

afterEach(() => setTestEnv({ ADMIN_SIGNUP_CODE: undefined }));

const unexpectedSuccess = (): never => expect.unreachable("the call succeeded");

const { deployKey: _key, ...APP_FIELDS } = DEFAULT_APP;

describe("errors reach callers as on a production deployment", () => {
  test("a plain Error from a public function reaches the client as Server Error, nothing else", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    // The argument validator throws a plain Error before the handler runs.
    const error = await admin
      .mutation(api.jobs.cancel, { jobId: "not-a-job" as Id<"jobs"> })
      .then(unexpectedSuccess, (e: unknown) => e as Error);
    expect(error.message).toMatch(SERVER_ERROR);
    expect(error).not.toBeInstanceOf(ConvexError);
    expect(userErrorOf(error)).toBeNull();
  });

  test("a field error arrives as data (code, field, message) while its message is hidden", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const error = await admin
      .action(api.apps.create, { ...DEFAULT_APP, slug: "Bad Slug" })
      .then(unexpectedSuccess, (e: unknown) => e as Error);
    expect(error.message).toMatch(SERVER_ERROR);
    expect(userErrorOf(error)).toEqual({
      code: "invalid_input",
      field: "slug",
      message: '"Bad Slug" must be lowercase letters, digits and dashes (max 63)',
    });
  });

  test("a missing SECRETS_KEY is reported to the admin as a deployment setting, not Server Error", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    setTestEnv({ SECRETS_KEY: undefined });
    const settings = {
      enabled: true,
      host: "smtp.example.com",
      port: 587,
      security: "starttls" as const,
      from: "sync@example.com",
      recipients: ["ops@example.com"],
      notifyOnRecovery: false,
      password: "smtp-password",
    };
    await expectUserError(admin.action(api.email.saveSettings, settings), {
      code: "misconfigured",
      message: /SECRETS_KEY is not set/,
    });
  });

  test("internal functions keep their own errors: they are not client calls", async () => {
    const t = newTest();
    const error = await t
      .mutation(internal.apps.insertApp, {
        fields: {
          ...APP_FIELDS,
          slug: "Bad Slug",
          retry: { maxAttempts: 1, baseDelayMs: 1000, maxDelayMs: 1000 },
          includeStorage: false,
        },
        deployKeyCiphertext: "x",
        deployKeyHint: "x",
        actor: "test",
      })
      .then(unexpectedSuccess, (e: unknown) => e as Error);
    expect(error.message).toMatch(/must be lowercase/);
  });
});

describe("sign-in refusals carry codes the dashboard can show", () => {
  const EMAIL = "owner@example.com";
  const PASSWORD = "correct horse battery";

  const SIGNUP_CODE = "signup-code-for-tests";

  async function withAccount(): Promise<T> {
    const t = newTest();
    setTestEnv({ ...(await authEnv()), ADMIN_EMAILS: EMAIL, ADMIN_SIGNUP_CODE: SIGNUP_CODE });
    await signIn(t, "signUp", PASSWORD);
    return t;
  }
  function signIn(t: T, flow: "signIn" | "signUp", password: string, email = EMAIL) {
    const code = flow === "signUp" ? { signupCode: SIGNUP_CODE } : {};
    return t.action(api.auth.signIn, { provider: "password", params: { email, password, flow, ...code } });
  }

  test("wrong password and unknown email are bad_credentials; both say the same, naming neither", async () => {
    const t = await withAccount();
    await expectUserError(signIn(t, "signIn", "wrong password!"), {
      code: "bad_credentials",
      message: /^wrong email or password$/,
    });
    await expectUserError(signIn(t, "signIn", PASSWORD, "nobody@example.com"), {
      code: "bad_credentials",
      message: /^wrong email or password$/,
    });
  });

  test("signing up again is account_exists; a short password is a password field error", async () => {
    const t = await withAccount();
    // With the account's own password, Convex Auth's sign-up signs in; with another it refuses.
    await expectUserError(signIn(t, "signUp", "another password"), { code: "account_exists" });
    setTestEnv({ ADMIN_EMAILS: `${EMAIL},new@example.com` });
    await expectUserError(signIn(t, "signUp", "short", "new@example.com"), {
      code: "invalid_input",
      field: "password",
      message: /at least 8 characters/,
    });
  });

  test("an email off the allow-list is forbidden", async () => {
    const t = await withAccount();
    await expectUserError(signIn(t, "signUp", PASSWORD, "stranger@example.com"), {
      code: "forbidden",
      message: /allow-list/,
    });
  });
});
