/**
 * Who may create an admin account. Without one of these, nobody can, whatever the allow-list says:
 *
 * - the deployment's sign-up code (ADMIN_SIGNUP_CODE), for an email on the allow-list; or
 * - a one-time invite made by the deployment's owner (`npx convex run admins:invite '{"email": "…"}'`), for that
 *   email only, before it expires. Its token is given as the sign-up code (it starts with "inv_"); only its SHA-256
 *   is stored, and it is spent in the same transaction that creates the account.
 *
 * Wrong codes are rate-limited per email and overall (rateLimits.ts); a refused attempt is counted
 * (refusals.ts), never audited, and the limiter's state commits even though the sign-up fails, because the check
 * runs in a mutation of its own (`admit`) before Convex Auth's account-creating mutation.
 */
import { v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx, type QueryCtx } from "./_generated/server";
import { constantTimeEqual } from "./contract/signing";
import { normalizeEmail } from "./lib/adminList";
import { sha256Hex } from "./lib/crypto";
import { rateLimiter } from "./rateLimits";
import { countRefusal } from "./refusals";

export const INVITE_PREFIX = "inv_";
export const SIGNUP_ROUTE = "auth.signUp";

export type Admission =
  | { ok: true; via: "code" | "invite" }
  | { ok: false; code: "forbidden" | "rate_limited"; message: string; retryAfterMs?: number };

async function liveInvite(ctx: QueryCtx, email: string, token: string): Promise<Doc<"adminInvites"> | null> {
  const hash = await sha256Hex(token);
  const invite = await ctx.db
    .query("adminInvites")
    .withIndex("by_hash", (q) => q.eq("tokenHash", hash))
    .unique();
  if (!invite || !constantTimeEqual(invite.tokenHash, hash)) return null;
  if (invite.email !== email || invite.usedAt !== undefined || invite.expiresAt <= Date.now()) return null;
  return invite;
}

/** Whether `code` admits `email`, without writing anything. */
export async function admissionOf(
  ctx: QueryCtx,
  email: string,
  code: string | undefined,
): Promise<{ via: "code" | "invite"; invite?: Doc<"adminInvites"> } | null> {
  if (!code) return null;
  if (code.startsWith(INVITE_PREFIX)) {
    const invite = await liveInvite(ctx, email, code);
    return invite ? { via: "invite", invite } : null;
  }
  const expected = process.env.ADMIN_SIGNUP_CODE;
  return expected && constantTimeEqual(code, expected) ? { via: "code" } : null;
}

const REFUSED = "a valid sign-up code or invite is required";

/**
 * Runs before Convex Auth creates anything. Never throws for a wrong code: it returns the refusal so that the
 * rate limiter's consumption and the refusal counter commit.
 */
export async function admit(
  ctx: MutationCtx,
  args: { email: string; signupCode?: string },
): Promise<Admission> {
  const email = normalizeEmail(args.email);
  const keys = [
    { name: "signupFailuresPerEmail" as const, key: email },
    { name: "signupFailuresOverall" as const, key: "all" },
  ];
  for (const { name, key } of keys) {
    const status = await rateLimiter.check(ctx, name, { key });
    if (!status.ok) {
      await countRefusal(ctx, { route: SIGNUP_ROUTE, reason: "rate_limited" });
      return {
        ok: false,
        code: "rate_limited",
        message: "too many wrong sign-up codes: wait a few minutes and try again",
        retryAfterMs: status.retryAfter,
      };
    }
  }
  const admission = await admissionOf(ctx, email, args.signupCode?.trim());
  if (admission) return { ok: true, via: admission.via };
  for (const { name, key } of keys) await rateLimiter.limit(ctx, name, { key });
  await countRefusal(ctx, { route: SIGNUP_ROUTE, reason: args.signupCode ? "bad_code" : "no_code" });
  return { ok: false, code: "forbidden", message: REFUSED };
}

export const admitSignUp = internalMutation({
  args: { email: v.string(), signupCode: v.optional(v.string()) },
  handler: admit,
});

/**
 * In Convex Auth's account-creating mutation: checks the code again (nothing was written if it is wrong) and
 * spends an invite. Returns how the account was admitted, or null to refuse.
 */
export async function spendAdmission(
  ctx: MutationCtx,
  email: string,
  code: string | undefined,
): Promise<"code" | "invite" | null> {
  const admission = await admissionOf(ctx, email, code?.trim());
  if (!admission) return null;
  if (admission.invite) await ctx.db.patch(admission.invite._id, { usedAt: Date.now() });
  return admission.via;
}
