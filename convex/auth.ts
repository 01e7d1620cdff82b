/**
 * Convex Auth with email + password. Accounts can only be created for emails on the admin allow-list
 * (convex/admins.ts): anyone else is refused at sign-up, so every account is an admin account.
 */
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";
import { ConvexError } from "convex/values";
import type { MutationCtx } from "./_generated/server";
import { isAllowListed } from "./access";
import { normalizeEmail } from "./lib/adminList";

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [Password({ profile: (params) => ({ email: normalizeEmail(String(params.email ?? "")) }) })],
  callbacks: {
    async createOrUpdateUser(ctx, args) {
      if (args.existingUserId) return args.existingUserId;
      const email = normalizeEmail(String(args.profile.email ?? ""));
      if (!email || !(await isAllowListed(ctx as unknown as MutationCtx, email)))
        throw new ConvexError({ code: "forbidden", message: "sign-up is limited to the admin allow-list" });
      return await (ctx as unknown as MutationCtx).db.insert("users", { email });
    },
  },
});
