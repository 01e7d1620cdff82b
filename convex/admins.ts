/**
 * Managing the admin allow-list (see convex/access.ts for how it is enforced).
 *
 * Bootstrap: creating an account needs the sign-up code or an invite (signupGate.ts). Either set ADMIN_EMAILS and
 * ADMIN_SIGNUP_CODE on the deployment and sign up with that email and code, or, as the deployment's owner, run
 * `npx convex run admins:invite '{"email": "you@example.com"}'` and open the link it prints (one use, expires).
 * Then add further admins here. `seedFromEnv` copies ADMIN_EMAILS into the table (run by
 * the maintenance cron, or by hand with `npx convex run admins:seedFromEnv`). Emails in ADMIN_EMAILS stay
 * admins even if their row is removed; take them out of the variable to revoke them.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { internalAction, internalMutation, type MutationCtx } from "./_generated/server";
import { adminActor, adminMutation, adminQuery, type Admin } from "./access";
import { recordAudit } from "./audit";
import { ADMIN_EMAILS_ENV, isEmail, normalizeEmail, parseAdminEmails } from "./lib/adminList";
import { randomToken, sha256Hex } from "./lib/crypto";
import { dashboardOrigins } from "./lib/dashboardOrigin";
import { INVITE_PREFIX } from "./signupGate";
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

export async function addAdminEmail(ctx: MutationCtx, email: string, addedBy: string): Promise<boolean> {
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

export const DEFAULT_INVITE_HOURS = 24;
const MAX_INVITE_HOURS = 7 * 24;

export const storeInvite = internalMutation({
  args: { email: v.string(), tokenHash: v.string(), expiresAt: v.number() },
  handler: async (ctx, args): Promise<null> => {
    // One live invite per email: a new one replaces any earlier, unused one.
    // At most one is unused (each new one deletes the earlier); used ones stay as history and are not read.
    const earlier = await ctx.db
      .query("adminInvites")
      .withIndex("by_email", (q) => q.eq("email", args.email))
      .filter((q) => q.eq(q.field("usedAt"), undefined))
      .take(10);
    for (const invite of earlier) await ctx.db.delete(invite._id);
    await ctx.db.insert("adminInvites", { ...args, createdAt: Date.now() });
    await recordAudit(ctx, {
      actor: "system",
      action: "admins.invite",
      outcome: "ok",
      target: args.email,
      detail: `expires ${new Date(args.expiresAt).toISOString()}`,
    });
    return null;
  },
});

/**
 * For the deployment's owner only (internal: `npx convex run admins:invite '{"email": "…"}'`, optionally
 * `"hours": 48`): a one-time link that lets `email` create an admin account until it expires. The token is
 * returned once and stored only as its SHA-256.
 */
export const invite = internalAction({
  args: { email: v.string(), hours: v.optional(v.number()) },
  handler: async (ctx, args): Promise<{ email: string; link: string; expiresAt: string; note?: string }> => {
    const email = normalizeEmail(args.email);
    if (!isEmail(email)) throw new Error(`admins:invite: "${args.email}" is not an email address`);
    const hours = args.hours ?? DEFAULT_INVITE_HOURS;
    if (!(hours > 0 && hours <= MAX_INVITE_HOURS))
      throw new Error(
        `admins:invite: hours must be more than 0 and at most ${MAX_INVITE_HOURS}, got ${hours}`,
      );
    const token = INVITE_PREFIX + randomToken(32);
    const expiresAt = Date.now() + Math.round(hours * 3_600_000);
    await ctx.runMutation(internal.admins.storeInvite, {
      email,
      tokenHash: await sha256Hex(token),
      expiresAt,
    });
    const query = `?invite=${encodeURIComponent(token)}&email=${encodeURIComponent(email)}`;
    const origin = dashboardOrigins()[0];
    return {
      email,
      link: `${origin ?? "<dashboard URL>"}/${query}`,
      expiresAt: new Date(expiresAt).toISOString(),
      ...(origin
        ? {}
        : { note: "DASHBOARD_ORIGIN is not set: put the dashboard's URL in front of the link" }),
    };
  },
});
