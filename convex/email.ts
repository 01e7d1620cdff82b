/**
 * Email settings (SMTP password encrypted at rest, never returned) and alert scheduling. Sending happens in
 * emailNode.ts ("use node", nodemailer). An alert is recorded in `notifications` before it is sent, one per
 * (job, kind), so a job never alerts twice.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "./_generated/server";
import { adminAction, adminActor, adminQuery } from "./access";
import { recordAudit } from "./audit";
import { isEmail, normalizeEmail } from "./lib/adminList";
import { encryptSecret } from "./lib/crypto";
import { fromAddress, isHostName, isPort, MAX_RECIPIENTS, SMTP_PORT_RANGE } from "./lib/smtpRules";
import { invalidInput } from "./lib/userError";
import { rateLimiter } from "./rateLimits";

export const smtpSecurity = v.union(v.literal("tls"), v.literal("starttls"), v.literal("none"));

export const emailSettingsView = v.object({
  enabled: v.boolean(),
  host: v.string(),
  port: v.number(),
  security: smtpSecurity,
  username: v.union(v.string(), v.null()),
  passwordSet: v.boolean(),
  from: v.string(),
  recipients: v.array(v.string()),
  notifyOnRecovery: v.boolean(),
  updatedAt: v.number(),
});

export async function loadEmailSettings(ctx: QueryCtx): Promise<Doc<"emailSettings"> | null> {
  return ctx.db.query("emailSettings").order("desc").first();
}

export const getSettings = adminQuery({
  args: {},
  returns: v.union(emailSettingsView, v.null()),
  handler: async (ctx) => {
    const s = await loadEmailSettings(ctx);
    if (!s) return null;
    return {
      enabled: s.enabled,
      host: s.host,
      port: s.port,
      security: s.security,
      username: s.username ?? null,
      passwordSet: s.passwordCiphertext !== undefined,
      from: s.from,
      recipients: s.recipients,
      notifyOnRecovery: s.notifyOnRecovery,
      updatedAt: s.updatedAt,
    };
  },
});

const settingsFields = {
  enabled: v.boolean(),
  host: v.string(),
  port: v.number(),
  security: smtpSecurity,
  username: v.optional(v.string()),
  from: v.string(),
  recipients: v.array(v.string()),
  notifyOnRecovery: v.boolean(),
};

export const saveSettingsArgs = {
  ...settingsFields,
  /** undefined keeps the stored password; "" removes it. */
  password: v.optional(v.string()),
};

function checkSettings(s: { host: string; port: number; from: string; recipients: string[] }) {
  if (!isHostName(s.host)) throw invalidInput("host", `"${s.host}" is not a host name`);
  if (!isPort(s.port))
    throw invalidInput("port", `${s.port} is not a port (${SMTP_PORT_RANGE.join(" to ")})`);
  if (!isEmail(fromAddress(s.from))) throw invalidInput("from", `"${s.from}" is not an email address`);
  if (s.recipients.length === 0 || s.recipients.length > MAX_RECIPIENTS)
    throw invalidInput("recipients", `give 1 to ${MAX_RECIPIENTS} addresses`);
  for (const r of s.recipients)
    if (!isEmail(normalizeEmail(r))) throw invalidInput("recipients", `"${r}" is not an email address`);
}

export const storeSettings = internalMutation({
  args: {
    ...settingsFields,
    passwordCiphertext: v.optional(v.union(v.string(), v.null())),
    actor: v.string(),
  },
  handler: async (ctx, args): Promise<null> => {
    const { actor, passwordCiphertext, ...fields } = args;
    checkSettings(fields);
    const existing = await loadEmailSettings(ctx);
    const kept =
      passwordCiphertext === undefined ? existing?.passwordCiphertext : (passwordCiphertext ?? undefined);
    const row = {
      ...fields,
      recipients: fields.recipients.map(normalizeEmail),
      updatedAt: Date.now(),
      ...(kept !== undefined ? { passwordCiphertext: kept } : {}),
    };
    if (existing) await ctx.db.replace(existing._id, row);
    else await ctx.db.insert("emailSettings", row);
    await recordAudit(ctx, {
      actor,
      action: "email.saveSettings",
      outcome: "ok",
      detail: `host=${fields.host}:${fields.port} password=${passwordCiphertext === undefined ? "kept" : passwordCiphertext === null ? "removed" : "changed"}`,
    });
    return null;
  },
});

export const saveSettings = adminAction({
  args: saveSettingsArgs,
  handler: async (ctx, args): Promise<null> => {
    const { password, ...fields } = args;
    checkSettings(fields);
    const passwordCiphertext =
      password === undefined ? undefined : password === "" ? null : await encryptSecret(password);
    await ctx.runMutation(internal.email.storeSettings, {
      ...fields,
      ...(passwordCiphertext !== undefined ? { passwordCiphertext } : {}),
      actor: adminActor(ctx.admin),
    });
    return null;
  },
});

/**
 * Records and schedules an alert, unless email is off or this job already has one of this kind. A flapping
 * app (a schedule failing every few minutes) is held to the `alertEmail` rate limit; the alerts it drops are
 * recorded as skipped.
 */
export async function scheduleAlert(
  ctx: MutationCtx,
  job: { _id: Id<"jobs">; appId: Id<"apps"> },
  kind: "failure" | "recovery",
): Promise<void> {
  const jobId = job._id;
  const settings = await loadEmailSettings(ctx);
  if (!settings?.enabled || (kind === "recovery" && !settings.notifyOnRecovery)) return;
  const existing = await ctx.db
    .query("notifications")
    .withIndex("by_job_kind", (q) => q.eq("jobId", jobId).eq("kind", kind))
    .first();
  if (existing) return;
  const allowed = await rateLimiter.limit(ctx, "alertEmail", { key: job.appId });
  if (!allowed.ok) {
    await ctx.db.insert("notifications", {
      jobId,
      kind,
      status: "skipped",
      error: "too many alerts for this app: rate limited",
      at: Date.now(),
    });
    return;
  }
  const notificationId = await ctx.db.insert("notifications", {
    jobId,
    kind,
    status: "pending",
    at: Date.now(),
  });
  await ctx.scheduler.runAfter(0, internal.emailNode.sendJobAlert, { notificationId });
}

export const alertContext = internalQuery({
  args: { notificationId: v.id("notifications") },
  handler: async (ctx, args) => {
    const notification = await ctx.db.get(args.notificationId);
    if (!notification?.jobId) return null;
    const job = await ctx.db.get(notification.jobId);
    const settings = await loadEmailSettings(ctx);
    if (!job || !settings) return null;
    const app = await ctx.db.get(job.appId);
    const events = await ctx.db
      .query("jobEvents")
      .withIndex("by_job", (q) => q.eq("jobId", job._id))
      .order("desc")
      .take(10);
    return { notification, job, appName: app?.name ?? job.appSlug, settings, events: events.reverse() };
  },
});

export const settingsForSend = internalQuery({
  args: {},
  handler: async (ctx): Promise<Doc<"emailSettings"> | null> => loadEmailSettings(ctx),
});

export const recordNotification = internalMutation({
  args: {
    notificationId: v.optional(v.id("notifications")),
    kind: v.union(v.literal("failure"), v.literal("recovery"), v.literal("test")),
    status: v.union(v.literal("sent"), v.literal("error"), v.literal("skipped")),
    error: v.optional(v.string()),
    actor: v.optional(v.string()),
  },
  handler: async (ctx, args): Promise<null> => {
    const patch = {
      status: args.status,
      at: Date.now(),
      ...(args.error ? { error: args.error.slice(0, 1000) } : {}),
    };
    if (args.notificationId) await ctx.db.patch(args.notificationId, patch);
    else await ctx.db.insert("notifications", { kind: args.kind, ...patch });
    if (args.actor)
      await recordAudit(ctx, {
        actor: args.actor,
        action: `email.${args.kind}`,
        outcome: args.status === "sent" ? "ok" : "error",
        ...(args.error ? { detail: args.error } : {}),
      });
    return null;
  },
});
