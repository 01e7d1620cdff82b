/**
 * Convex Auth with email + password. Accounts can only be created for emails on the admin allow-list
 * (convex/access.ts): anyone else is refused at sign-up, so every account is an admin account.
 * When ADMIN_SIGNUP_CODE is set, creating an account also needs that code, so nobody can claim an
 * allow-listed email before its owner has signed up.
 */
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";
import { ConvexError } from "convex/values";
import type { Id } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import { isAllowListed } from "./access";
import { constantTimeEqual } from "./contract/signing";
import { normalizeEmail } from "./lib/adminList";

/** Convex Auth's `createOrUpdateUser` callback: existing users sign in; new ones must be allow-listed. */
export async function createOrUpdateAdminUser(
  ctx: MutationCtx,
  args: { existingUserId: Id<"users"> | null; profile: { email?: string } },
): Promise<Id<"users">> {
  if (args.existingUserId) return args.existingUserId;
  const email = normalizeEmail(String(args.profile.email ?? ""));
  if (!email || !(await isAllowListed(ctx, email)))
    throw new ConvexError({ code: "forbidden", message: "sign-up is limited to the admin allow-list" });
  return await ctx.db.insert("users", { email });
}

/** Refuses unless ADMIN_SIGNUP_CODE is unset (or empty) or `given` matches it. */
export function requireSignupCode(given: unknown): void {
  const expected = process.env.ADMIN_SIGNUP_CODE;
  if (!expected) return;
  if (typeof given !== "string" || !constantTimeEqual(given, expected))
    throw new ConvexError({ code: "forbidden", message: "a valid sign-up code is required" });
}

/**
 * The Password provider's `profile`: runs for every flow before any account is looked up or created, so a
 * sign-up without the code is refused before anything is written. Signing in never needs the code.
 */
export function passwordProfile(params: Record<string, unknown>): { email: string } {
  if (params.flow === "signUp") requireSignupCode(params.signupCode);
  return { email: normalizeEmail(String(params.email ?? "")) };
}

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [Password({ profile: passwordProfile })],
  callbacks: {
    createOrUpdateUser: (ctx, args) =>
      createOrUpdateAdminUser(ctx as unknown as MutationCtx, {
        existingUserId: args.existingUserId as Id<"users"> | null,
        profile: args.profile,
      }),
  },
});
