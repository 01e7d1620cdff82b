/**
 * Managing the admin allow-list (see convex/access.ts for how it is enforced).
 *
 * Bootstrap: set ADMIN_EMAILS on the deployment (`npx convex env set ADMIN_EMAILS you@example.com`), sign up
 * with that email, then add further admins here. `seedFromEnv` copies ADMIN_EMAILS into the table (run by
 * the maintenance cron, or by hand with `npx convex run admins:seedFromEnv`). Emails in ADMIN_EMAILS stay
 * admins even if their row is removed; take them out of the variable to revoke them.
 */
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { adminActor, adminMutation, adminQuery, type Admin } from "./access";
import { recordAudit } from "./audit";
import { ADMIN_EMAILS_ENV, isEmail, normalizeEmail, parseAdminEmails } from "./lib/adminList";
import { conflict, invalidInput } from "./lib/userError";

const MAX_ADMINS = 200;

export interface AdminRow {
  email: string;
  addedAt: number;
  addedBy: string;
  fromEnv: boolean;
}

export const me = adminQuery({ args: {}, handler: async (ctx): Promise<Admin> => ctx.admin });

export const list = adminQuery({
  args: {},
  handler: async (ctx): Promise<AdminRow[]> => {
    const fromEnv = new Set(parseAdminEmails(process.env[ADMIN_EMAILS_ENV]));
    const rows = await ctx.db.query("admins").withIndex("by_email").take(MAX_ADMINS);
    return rows.map((r) => ({
      email: r.email,
      addedAt: r.addedAt,
      addedBy: r.addedBy,
      fromEnv: fromEnv.has(r.email),
    }));
  },
});

async function addAdminEmail(ctx: MutationCtx, email: string, addedBy: string): Promise<boolean> {
  const existing = await ctx.db
    .query("admins")
    .withIndex("by_email", (q) => q.eq("email", email))
    .unique();
  if (existing) return false;
  await ctx.db.insert("admins", { email, addedAt: Date.now(), addedBy });
  return true;
}

export const add = adminMutation({
  args: { email: v.string() },
  handler: async (ctx, args): Promise<null> => {
    const email = normalizeEmail(args.email);
    if (!isEmail(email)) throw invalidInput("email", `"${args.email}" is not an email address`);
    await addAdminEmail(ctx, email, adminActor(ctx.admin));
    await recordAudit(ctx, {
      actor: adminActor(ctx.admin),
      action: "admins.add",
      outcome: "ok",
      target: email,
    });
    return null;
  },
});

export const remove = adminMutation({
  args: { email: v.string() },
  handler: async (ctx, args): Promise<null> => {
    const email = normalizeEmail(args.email);
    if (email === ctx.admin.email) throw conflict("you cannot remove yourself");
    const row = await ctx.db
      .query("admins")
      .withIndex("by_email", (q) => q.eq("email", email))
      .unique();
    if (row) await ctx.db.delete(row._id);
    await recordAudit(ctx, {
      actor: adminActor(ctx.admin),
      action: "admins.remove",
      outcome: row ? "ok" : "ignored",
      target: email,
    });
    return null;
  },
});

export async function seedAdminsFromEnv(ctx: MutationCtx): Promise<number> {
  let added = 0;
  for (const email of parseAdminEmails(process.env[ADMIN_EMAILS_ENV]))
    if (await addAdminEmail(ctx, email, "env:ADMIN_EMAILS")) added++;
  return added;
}

export const seedFromEnv = internalMutation({ args: {}, handler: seedAdminsFromEnv });
