/**
 * Who may call what. Every public query, mutation and action is built with `adminQuery`, `adminMutation` or
 * `adminAction` from this module: they refuse callers that are not signed in (code "unauthenticated") or
 * whose email is not on the allow-list (code "forbidden"), and hand the handler `ctx.admin`.
 *
 * The allow-list is the `admins` table plus the ADMIN_EMAILS environment variable (the bootstrap list; see
 * convex/admins.ts to manage the table from the dashboard).
 */
import { getAuthUserId } from "@convex-dev/auth/server";
import { customAction, customCtx, customMutation, customQuery } from "convex-helpers/server/customFunctions";
import { internal } from "./_generated/api";
import {
  action,
  internalQuery,
  mutation,
  query,
  type ActionCtx,
  type MutationCtx,
  type QueryCtx,
} from "./_generated/server";
import { ADMIN_EMAILS_ENV, normalizeEmail, parseAdminEmails } from "./lib/adminList";
import { userError, type UserError } from "./lib/userError";

export interface Admin {
  userId: string;
  email: string;
}

export function unauthenticated(): UserError {
  return userError("unauthenticated", "sign in first");
}

export function forbidden(): UserError {
  return userError("forbidden", "this account is not an admin");
}

export async function isAllowListed(ctx: QueryCtx | MutationCtx, email: string): Promise<boolean> {
  const normalized = normalizeEmail(email);
  if (parseAdminEmails(process.env[ADMIN_EMAILS_ENV]).includes(normalized)) return true;
  const row = await ctx.db
    .query("admins")
    .withIndex("by_email", (q) => q.eq("email", normalized))
    .unique();
  return row !== null;
}

/** The signed-in admin, or null when the caller is anonymous or not allow-listed. */
export async function currentAdmin(ctx: QueryCtx | MutationCtx): Promise<Admin | null> {
  const userId = await getAuthUserId(ctx);
  if (userId === null) return null;
  const user = await ctx.db.get(userId);
  if (!user?.email) return null;
  return (await isAllowListed(ctx, user.email)) ? { userId, email: normalizeEmail(user.email) } : null;
}

export async function requireAdmin(ctx: QueryCtx | MutationCtx): Promise<Admin> {
  const userId = await getAuthUserId(ctx);
  if (userId === null) throw unauthenticated();
  const admin = await currentAdmin(ctx);
  if (!admin) throw forbidden();
  return admin;
}

export const adminForCaller = internalQuery({
  args: {},
  handler: async (ctx): Promise<Admin | "unauthenticated" | "forbidden"> => {
    if ((await getAuthUserId(ctx)) === null) return "unauthenticated";
    return (await currentAdmin(ctx)) ?? "forbidden";
  },
});

async function requireAdminInAction(ctx: ActionCtx): Promise<Admin> {
  const result: Admin | "unauthenticated" | "forbidden" = await ctx.runQuery(
    internal.access.adminForCaller,
    {},
  );
  if (result === "unauthenticated") throw unauthenticated();
  if (result === "forbidden") throw forbidden();
  return result;
}

export const adminQuery = customQuery(
  query,
  customCtx(async (ctx) => ({ admin: await requireAdmin(ctx) })),
);
export const adminMutation = customMutation(
  mutation,
  customCtx(async (ctx) => ({ admin: await requireAdmin(ctx) })),
);
export const adminAction = customAction(
  action,
  customCtx(async (ctx) => ({ admin: await requireAdminInAction(ctx) })),
);

/** How an admin appears in the audit log. */
export function adminActor(admin: Admin): string {
  return `admin:${admin.email}`;
}
