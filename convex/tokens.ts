/**
 * API tokens for the external HTTP routes (`Authorization: Bearer <token>`). Only the SHA-256 of a token is
 * stored; the token is shown once, when it is created.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, type MutationCtx, type QueryCtx } from "./_generated/server";
import { adminAction, adminActor, adminMutation, adminQuery } from "./access";
import { recordAudit } from "./audit";
import { constantTimeEqual } from "./contract/signing";
import { randomToken, sha256Hex } from "./lib/crypto";
import { invalidInput, notFound } from "./lib/userError";

export const TOKEN_PREFIX = "cws_";
const MAX_TOKENS = 200;

export interface ApiTokenInfo {
  id: Id<"apiTokens">;
  name: string;
  prefix: string;
  createdAt: number;
  createdBy: string;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export const insertToken = internalMutation({
  args: { name: v.string(), tokenHash: v.string(), prefix: v.string(), createdBy: v.string() },
  handler: async (ctx, args): Promise<Id<"apiTokens">> => {
    const id = await ctx.db.insert("apiTokens", { ...args, createdAt: Date.now() });
    await recordAudit(ctx, {
      actor: args.createdBy,
      action: "tokens.create",
      outcome: "ok",
      target: args.name,
    });
    return id;
  },
});

export const create = adminAction({
  args: { name: v.string() },
  handler: async (ctx, args): Promise<{ id: Id<"apiTokens">; token: string }> => {
    const name = args.name.trim();
    if (!name || name.length > 100) throw invalidInput("name", "must be 1 to 100 characters");
    const token = TOKEN_PREFIX + randomToken(32);
    const id: Id<"apiTokens"> = await ctx.runMutation(internal.tokens.insertToken, {
      name,
      tokenHash: await sha256Hex(token),
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      createdBy: adminActor(ctx.admin),
    });
    return { id, token };
  },
});

export const list = adminQuery({
  args: {},
  handler: async (ctx): Promise<ApiTokenInfo[]> => {
    const rows = await ctx.db.query("apiTokens").order("desc").take(MAX_TOKENS);
    return rows.map((r) => ({
      id: r._id,
      name: r.name,
      prefix: r.prefix,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
      lastUsedAt: r.lastUsedAt ?? null,
      revokedAt: r.revokedAt ?? null,
    }));
  },
});

export const revoke = adminMutation({
  args: { tokenId: v.id("apiTokens") },
  handler: async (ctx, args): Promise<null> => {
    const token = await ctx.db.get(args.tokenId);
    if (!token) throw notFound(`no token ${args.tokenId}`);
    if (!token.revokedAt) await ctx.db.patch(token._id, { revokedAt: Date.now() });
    await recordAudit(ctx, {
      actor: adminActor(ctx.admin),
      action: "tokens.revoke",
      outcome: "ok",
      target: token.name,
    });
    return null;
  },
});

/** The bearer token from an Authorization header value, or null. */
export function bearerToken(header: string | null): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header?.trim() ?? "");
  return match?.[1] ?? null;
}

/** The live token row matching `token`, or null. Looks up by hash, then compares the hashes in constant time. */
export async function findApiToken(ctx: QueryCtx, token: string | null): Promise<Doc<"apiTokens"> | null> {
  if (!token || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const hash = await sha256Hex(token);
  const row = await ctx.db
    .query("apiTokens")
    .withIndex("by_hash", (q) => q.eq("tokenHash", hash))
    .unique();
  if (!row || row.revokedAt !== undefined || !constantTimeEqual(row.tokenHash, hash)) return null;
  return row;
}

export async function touchApiToken(ctx: MutationCtx, token: Doc<"apiTokens">): Promise<void> {
  await ctx.db.patch(token._id, { lastUsedAt: Date.now() });
}
