import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import { createOrUpdateAdminUser } from "./auth";
import { newTest, setTestEnv } from "./test/harness.testkit";

const CODE = { signupCode: "sign-up-code-for-tests" };

describe("sign-up is limited to the allow-list", () => {
  test("an allow-listed email gets an account; others are refused", async () => {
    const t = newTest();
    setTestEnv({ ADMIN_SIGNUP_CODE: CODE.signupCode });
    await t.run((ctx) => ctx.db.insert("admins", { email: "ok@example.com", addedAt: 0, addedBy: "test" }));
    const id = await t.run((ctx) =>
      createOrUpdateAdminUser(ctx, { existingUserId: null, profile: { email: "OK@example.com", ...CODE } }),
    );
    expect(await t.run((ctx) => ctx.db.get(id))).toMatchObject({ email: "ok@example.com" });
    const refused = await t
      .run((ctx) =>
        createOrUpdateAdminUser(ctx, {
          existingUserId: null,
          profile: { email: "stranger@example.com", ...CODE },
        }),
      )
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConvexError);
    expect((refused as ConvexError<{ code: string }>).data.code).toBe("forbidden");
    expect(await t.run((ctx) => ctx.db.query("users").collect())).toHaveLength(1);
  });

  test("ADMIN_EMAILS counts as the allow-list, and existing users sign in unchanged", async () => {
    const t = newTest();
    setTestEnv({ ADMIN_EMAILS: "boot@example.com", ADMIN_SIGNUP_CODE: CODE.signupCode });
    const id = await t.run((ctx) =>
      createOrUpdateAdminUser(ctx, { existingUserId: null, profile: { email: "boot@example.com", ...CODE } }),
    );
    expect(await t.run((ctx) => createOrUpdateAdminUser(ctx, { existingUserId: id, profile: {} }))).toBe(id);
  });

  test("without the code (or an invite) even an allow-listed email is refused inside the creating mutation", async () => {
    const t = newTest();
    setTestEnv({ ADMIN_EMAILS: "boot@example.com", ADMIN_SIGNUP_CODE: undefined });
    const refused = await t
      .run((ctx) =>
        createOrUpdateAdminUser(ctx, { existingUserId: null, profile: { email: "boot@example.com" } }),
      )
      .catch((e: unknown) => e);
    expect((refused as ConvexError<{ code: string }>).data.code).toBe("forbidden");
    expect(await t.run((ctx) => ctx.db.query("users").collect())).toHaveLength(0);
  });
});
