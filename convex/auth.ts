/**
 * Convex Auth with email + password. Accounts can only be created for emails on the admin allow-list
 * (convex/access.ts): anyone else is refused at sign-up, so every account is an admin account.
 */
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";
import { ConvexError } from "convex/values";
import type { Id } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import { isAllowListed } from "./access";
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

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [Password({ profile: (params) => ({ email: normalizeEmail(String(params.email ?? "")) }) })],
  callbacks: {
    createOrUpdateUser: (ctx, args) =>
      createOrUpdateAdminUser(ctx as unknown as MutationCtx, {
        existingUserId: args.existingUserId as Id<"users"> | null,
        profile: args.profile,
      }),
  },
});
