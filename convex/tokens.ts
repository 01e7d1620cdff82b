/**
 * API tokens for the external HTTP routes (`Authorization: Bearer <token>`). Only the SHA-256 of a token is
 * stored; the token is shown once, when it is created. Each token has a scope: the apps it may trigger and read,
 * or explicitly all apps (httpApi.ts answers 404 for an app outside it).
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, type MutationCtx, type QueryCtx } from "./_generated/server";
import { adminAction, adminActor, adminMutation, adminQuery } from "./access";
import { recordAudit } from "./audit";
import { constantTimeEqual } from "./contract/signing";
import { randomToken, sha256Hex } from "./lib/crypto";
import { tokenScope, type TokenScope } from "./schema";
import { invalidInput, notFound } from "./lib/userError";

export const TOKEN_PREFIX = "cws_";
const MAX_TOKENS = 200;
const MAX_SCOPED_APPS = 100;

/** A token's scope as the dashboard shows it: app ids resolved to names (null when the app was deleted). */
export type TokenScopeInfo =
  | { kind: "all"; /** false for a token made before scopes existed */ explicit: boolean }
  | { kind: "apps"; apps: { id: Id<"apps">; slug: string | null; name: string | null }[] };

export interface ApiTokenInfo {
  id: Id<"apiTokens">;
  name: string;
  prefix: string;
  createdAt: number;
  createdBy: string;
  lastUsedAt: number | null;
  revokedAt: number | null;
  scope: TokenScopeInfo;
}

/** Tokens from before scopes existed (no `scope`) keep the access they were created with: all apps. */
export function tokenAllowsApp(token: Doc<"apiTokens">, appId: Id<"apps">): boolean {
  const scope = token.scope ?? { kind: "all" };
  return scope.kind === "all" || scope.appIds.includes(appId);
}

const scopeError = (message: string) => invalidInput("scope", message);

/** Checks a requested scope: at least one app, each existing, no repeats. Throws naming the problem. */
async function checkedScope(ctx: MutationCtx, scope: TokenScope): Promise<TokenScope> {
  if (scope.kind === "all") return scope;
  const appIds = [...new Set(scope.appIds)];
  if (appIds.length === 0) throw scopeError("choose at least one app, or all apps explicitly");
  if (appIds.length > MAX_SCOPED_APPS)
    throw scopeError(`at most ${MAX_SCOPED_APPS} apps; choose all apps instead`);
  for (const id of appIds) if (!(await ctx.db.get(id))) throw scopeError(`no app ${id} (deleted?)`);
  return { kind: "apps", appIds };
}

export const insertToken = internalMutation({
  args: {
    name: v.string(),
    tokenHash: v.string(),
    prefix: v.string(),
    createdBy: v.string(),
    scope: tokenScope,
  },
  handler: async (ctx, args): Promise<Id<"apiTokens">> => {
    const scope = await checkedScope(ctx, args.scope);
    const id = await ctx.db.insert("apiTokens", { ...args, scope, createdAt: Date.now() });
    await recordAudit(ctx, {
      actor: args.createdBy,
      action: "tokens.create",
      outcome: "ok",
      target: args.name,
      detail: scope.kind === "all" ? "scope: all apps" : `scope: ${scope.appIds.length} app(s)`,
    });
    return id;
  },
});

export const create = adminAction({
  args: { name: v.string(), scope: tokenScope },
  handler: async (ctx, args): Promise<{ id: Id<"apiTokens">; token: string }> => {
    const name = args.name.trim();
    if (!name || name.length > 100) throw invalidInput("name", "must be 1 to 100 characters");
    const token = TOKEN_PREFIX + randomToken(32);
    const id: Id<"apiTokens"> = await ctx.runMutation(internal.tokens.insertToken, {
      name,
      tokenHash: await sha256Hex(token),
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      createdBy: adminActor(ctx.admin),
      scope: args.scope,
    });
    return { id, token };
  },
});

export const list = adminQuery({
  args: {},
  handler: async (ctx): Promise<ApiTokenInfo[]> => {
    const rows = await ctx.db.query("apiTokens").order("desc").take(MAX_TOKENS);
    const out: ApiTokenInfo[] = [];
    for (const r of rows) {
      let scope: TokenScopeInfo;
      if (r.scope?.kind === "apps") {
        const apps = [];
        for (const id of r.scope.appIds) {
          const app = await ctx.db.get(id);
          apps.push({ id, slug: app?.slug ?? null, name: app?.name ?? null });
        }
        scope = { kind: "apps", apps };
      } else scope = { kind: "all", explicit: r.scope !== undefined };
      out.push({
        id: r._id,
        name: r.name,
        prefix: r.prefix,
        createdAt: r.createdAt,
        createdBy: r.createdBy,
        lastUsedAt: r.lastUsedAt ?? null,
        revokedAt: r.revokedAt ?? null,
        scope,
      });
    }
    return out;
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
