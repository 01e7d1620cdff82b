"use node";
/**
 * Sending email with nodemailer over SMTP (Node runtime). Only this file may import nodemailer.
 */
import nodemailer from "nodemailer";
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
import { internalAction } from "./_generated/server";
import { adminAction, adminActor } from "./access";
import { alertMessage } from "./lib/alertMessage";
import { decryptSecret } from "./lib/crypto";

export const SMTP_TIMEOUT_MS = 15_000;

export function transportOptions(s: Doc<"emailSettings">, password: string | undefined) {
  return {
    host: s.host,
    port: s.port,
    secure: s.security === "tls",
    requireTLS: s.security === "starttls",
    ignoreTLS: s.security === "none",
    ...(s.username ? { auth: { user: s.username, pass: password ?? "" } } : {}),
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  };
}

/** "EAUTH: 535 Invalid login" — the SMTP error in words an admin can act on. Never includes the password. */
export function smtpErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & { code?: string; response?: string; responseCode?: number };
  const parts = [e.code, e.response ?? e.message].filter(Boolean);
  return parts.join(": ").slice(0, 1000);
}

async function send(s: Doc<"emailSettings">, message: { to: string[]; subject: string; text: string }) {
  const password = s.passwordCiphertext ? await decryptSecret(s.passwordCiphertext) : undefined;
  const transport = nodemailer.createTransport(transportOptions(s, password));
  try {
    return await transport.sendMail({
      from: s.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
    });
  } finally {
    transport.close();
  }
}

export const sendJobAlert = internalAction({
  args: { notificationId: v.id("notifications") },
  handler: async (ctx, args): Promise<null> => {
    const c = await ctx.runQuery(internal.email.alertContext, args);
    if (!c || c.notification.status !== "pending") return null;
    const kind = c.notification.kind;
    if (kind === "test") return null;
    if (!c.settings.enabled) {
      await ctx.runMutation(internal.email.recordNotification, { ...args, kind, status: "skipped" });
      return null;
    }
    const message = alertMessage({
      kind,
      appName: c.appName,
      appSlug: c.job.appSlug,
      jobId: c.job._id,
      attempt: c.job.attempt,
      maxAttempts: c.job.maxAttempts,
      ...(c.job.error ? { error: c.job.error } : {}),
      events: c.events,
      ...(process.env.DASHBOARD_URL ? { dashboardUrl: process.env.DASHBOARD_URL } : {}),
    });
    try {
      await send(c.settings, { to: c.settings.recipients, ...message });
      await ctx.runMutation(internal.email.recordNotification, { ...args, kind, status: "sent" });
    } catch (error) {
      await ctx.runMutation(internal.email.recordNotification, {
        ...args,
        kind,
        status: "error",
        error: smtpErrorText(error),
      });
    }
    return null;
  },
});

export type TestEmailResult =
  { ok: true; accepted: string[]; rejected: string[] } | { ok: false; error: string };

/** Sends a test message with the saved settings and reports the SMTP error plainly. */
export const sendTestEmail = adminAction({
  args: { to: v.optional(v.string()) },
  handler: async (ctx, args): Promise<TestEmailResult> => {
    const settings = await ctx.runQuery(internal.email.settingsForSend, {});
    const actor = adminActor(ctx.admin);
    if (!settings) return { ok: false, error: "no email settings saved yet" };
    const to = args.to ? [args.to] : settings.recipients;
    try {
      const info = await send(settings, {
        to,
        subject: "[warehouse sync] test email",
        text: `This is a test from the warehouse sync control plane, sent by ${ctx.admin.email}.`,
      });
      await ctx.runMutation(internal.email.recordNotification, { kind: "test", status: "sent", actor });
      return {
        ok: true,
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
      };
    } catch (error) {
      const text = smtpErrorText(error);
      await ctx.runMutation(internal.email.recordNotification, {
        kind: "test",
        status: "error",
        error: text,
        actor,
      });
      return { ok: false, error: text };
    }
  },
});
