/**
 * Sync apps: the source deployments to copy, with their encrypted deploy keys. Writes that carry a secret
 * are actions (encryption needs real randomness for the IV); the rest are mutations.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "./_generated/server";
import { adminAction, adminActor, adminMutation, adminQuery } from "./access";
import { recordAudit } from "./audit";
import { activeJobOf } from "./jobs";
import { DEFAULT_RETRY_POLICY } from "./lib/backoff";
import { MAX_APPS } from "./lib/limits";
import { decryptSecret, encryptSecret, maskSecret } from "./lib/crypto";
import { checkSourceForSaving } from "./lib/sourceCheck";
import { conflict, invalidInput, notFound } from "./lib/userError";
import {
  checkDeployKey,
  checkDeploymentUrl,
  checkName,
  checkRetry,
  checkSchedule,
  checkSlug,
  checkSyncMode,
  checkTables,
  checkTargetSchema,
} from "./lib/appInput";
import { appView, toAppView, type AppView } from "./lib/appView";
import { effectiveSyncMode } from "./lib/jobKind";
import { feedAfterUpdate, feedOnSave, probeFeedLater } from "./feeds";
import { appFeed, appSchedule, retryPolicy, type AppFeed } from "./schema";
import { assertSchemaShareable } from "./targetSchemas";
import { nextRunsOf, syncAppSchedule, unregisterAppSchedule } from "./schedules";

/** The job an app row points to as its last: one read by id (the app keeps `lastJobId` current). */
async function lastJobOf(ctx: QueryCtx, app: Doc<"apps">): Promise<Doc<"jobs"> | null> {
  return app.lastJobId ? await ctx.db.get(app.lastJobId) : null;
}

/** Apps with their last job (and its figures), status and next scheduled runs (Overview, Apps, Scheduling). */
export const list = adminQuery({
  args: {},
  returns: v.array(appView),
  handler: async (ctx): Promise<AppView[]> => {
    const apps = await ctx.db.query("apps").withIndex("by_name").take(MAX_APPS);
    const now = Date.now();
    return Promise.all(
      apps.map(async (app) => toAppView(app, nextRunsOf(app, now, 3), await lastJobOf(ctx, app))),
    );
  },
});

export const get = adminQuery({
  args: { appId: v.id("apps") },
  returns: v.union(appView, v.null()),
  handler: async (ctx, args): Promise<AppView | null> => {
    const app = await ctx.db.get(args.appId);
    return app ? toAppView(app, nextRunsOf(app, Date.now(), 5), await lastJobOf(ctx, app)) : null;
  },
});

const editableFields = {
  name: v.string(),
  slug: v.string(),
  deploymentUrl: v.string(),
  /** http:// to a private host (self-hosted); the deploy key then travels unencrypted. */
  allowInsecureHttp: v.optional(v.boolean()),
  tables: v.union(v.array(v.string()), v.null()),
  targetSchema: v.string(),
  schedule: v.union(appSchedule, v.null()),
  enabled: v.boolean(),
  retry: v.optional(retryPolicy),
  includeStorage: v.optional(v.boolean()),
  /** snapshot | incremental | auto (checked in lib/appInput.ts). Create: absent = auto; update: absent = kept. */
  syncMode: v.optional(v.string()),
};

export const createArgs = { ...editableFields, deployKey: v.string() };

function checkedFields(args: {
  name: string;
  slug: string;
  deploymentUrl: string;
  allowInsecureHttp?: boolean;
  tables: string[] | null;
  targetSchema: string;
  schedule: { cron: string; timeZone: string } | null;
  enabled: boolean;
  retry?: typeof retryPolicy.type;
  includeStorage?: boolean;
  syncMode?: string;
}) {
  return {
    name: checkName(args.name),
    slug: checkSlug(args.slug),
    deploymentUrl: checkDeploymentUrl(args.deploymentUrl, args.allowInsecureHttp ?? false),
    allowInsecureHttp: args.allowInsecureHttp ?? false,
    tables: checkTables(args.tables),
    targetSchema: checkTargetSchema(args.targetSchema),
    schedule: checkSchedule(args.schedule),
    enabled: args.enabled,
    retry: checkRetry(args.retry ?? DEFAULT_RETRY_POLICY),
    includeStorage: args.includeStorage ?? false,
    ...(args.syncMode !== undefined ? { syncMode: checkSyncMode(args.syncMode) } : {}),
  };
}

async function assertSlugFree(ctx: MutationCtx, slug: string, except?: Id<"apps">): Promise<void> {
  const other = await ctx.db
    .query("apps")
    .withIndex("by_slug", (q) => q.eq("slug", slug))
    .first();
  if (other && other._id !== except) throw conflict(`"${slug}" is already used by app ${other.name}`, "slug");
}

export const insertApp = internalMutation({
  args: {
    fields: v.object({ ...editableFields, retry: retryPolicy, includeStorage: v.boolean() }),
    deployKeyCiphertext: v.string(),
    deployKeyHint: v.string(),
    /** The change feed probe made while saving (apps.create), when the mode may use the feed. */
    feed: v.optional(appFeed),
    actor: v.string(),
  },
  handler: async (ctx, args): Promise<Id<"apps">> => {
    const fields = checkedFields(args.fields);
    await assertSlugFree(ctx, fields.slug);
    await assertSchemaShareable(ctx, fields);
    const now = Date.now();
    const appId = await ctx.db.insert("apps", {
      ...fields,
      deployKeyCiphertext: args.deployKeyCiphertext,
      deployKeyHint: args.deployKeyHint,
      ...(args.feed ? { feed: args.feed } : {}),
      createdAt: now,
      updatedAt: now,
      failureStreak: 0,
    });
    await syncAppSchedule(ctx, appId);
    await recordAudit(ctx, {
      actor: args.actor,
      action: "apps.create",
      outcome: "ok",
      target: fields.slug,
      detail: `syncMode ${effectiveSyncMode(fields)}`,
    });
    return appId;
  },
});

/** The app using a slug, if any: checked before the (slower) connection test, and again on insert. */
export const slugOwner = internalQuery({
  args: { slug: v.string() },
  handler: async (ctx, args): Promise<{ id: Id<"apps">; name: string } | null> => {
    const app = await ctx.db
      .query("apps")
      .withIndex("by_slug", (q) => q.eq("slug", args.slug))
      .first();
    return app ? { id: app._id, name: app.name } : null;
  },
});

/** Creates an app once its source has answered with the key (lib/sourceCheck.ts); else a field error. */
export const create = adminAction({
  args: createArgs,
  handler: async (ctx, args): Promise<Id<"apps">> => {
    const { deployKey, ...rest } = args;
    const key = checkDeployKey(deployKey);
    // New apps sync incrementally where the source allows it.
    const fields = checkedFields({ ...rest, syncMode: rest.syncMode ?? "auto" });
    const owner = await ctx.runQuery(internal.apps.slugOwner, { slug: fields.slug });
    if (owner) throw conflict(`"${fields.slug}" is already used by app ${owner.name}`, "slug");
    const shared = await ctx.runQuery(internal.targetSchemas.conflictFor, {
      targetSchema: fields.targetSchema,
      syncMode: effectiveSyncMode(fields),
    });
    if (shared) throw conflict(shared, "targetSchema");
    const source = { url: fields.deploymentUrl, deployKey: key, allowInsecureHttp: fields.allowInsecureHttp };
    await checkSourceForSaving(source);
    const feed = effectiveSyncMode(fields) === "snapshot" ? undefined : await feedOnSave(source);
    return await ctx.runMutation(internal.apps.insertApp, {
      fields,
      deployKeyCiphertext: await encryptSecret(key),
      deployKeyHint: maskSecret(key),
      ...(feed ? { feed } : {}),
      actor: adminActor(ctx.admin),
    });
  },
});

export const updateArgs = { appId: v.id("apps"), ...editableFields };

export const update = adminMutation({
  args: updateArgs,
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.db.get(args.appId);
    if (!app) throw notFound(`no app ${args.appId}`);
    const { appId, ...rest } = args;
    const fields = checkedFields({
      ...rest,
      allowInsecureHttp: rest.allowInsecureHttp ?? app.allowInsecureHttp ?? false,
      retry: rest.retry ?? app.retry,
      includeStorage: rest.includeStorage ?? app.includeStorage,
      ...((rest.syncMode ?? app.syncMode) !== undefined ? { syncMode: rest.syncMode ?? app.syncMode } : {}),
    });
    // A mutation cannot test a connection: moving the app to another source goes through setSource.
    if (
      fields.deploymentUrl !== app.deploymentUrl ||
      fields.allowInsecureHttp !== (app.allowInsecureHttp ?? false)
    )
      throw invalidInput(
        "deploymentUrl",
        "the source deployment changes through apps.setSource, which tests the connection before saving",
      );
    await assertSlugFree(ctx, fields.slug, appId);
    await assertSchemaShareable(ctx, fields, app);
    const feed = feedAfterUpdate(app, fields);
    await ctx.db.patch(appId, { ...fields, ...(feed ? { feed } : {}), updatedAt: Date.now() });
    await syncAppSchedule(ctx, appId);
    await probeFeedLater(ctx, { ...app, ...fields });
    const modeBefore = effectiveSyncMode(app);
    const modeAfter = effectiveSyncMode(fields);
    await recordAudit(ctx, {
      actor: adminActor(ctx.admin),
      action: "apps.update",
      outcome: "ok",
      target: fields.slug,
      ...(modeBefore !== modeAfter ? { detail: `syncMode ${modeBefore} → ${modeAfter}` } : {}),
    });
    return null;
  },
});

export const setEnabled = adminMutation({
  args: { appId: v.id("apps"), enabled: v.boolean() },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.db.get(args.appId);
    if (!app) throw notFound(`no app ${args.appId}`);
    await ctx.db.patch(app._id, { enabled: args.enabled, updatedAt: Date.now() });
    await syncAppSchedule(ctx, app._id);
    await recordAudit(ctx, {
      actor: adminActor(ctx.admin),
      action: args.enabled ? "apps.enable" : "apps.disable",
      outcome: "ok",
      target: app.slug,
    });
    return null;
  },
});

export const storeDeployKey = internalMutation({
  args: {
    appId: v.id("apps"),
    deployKeyCiphertext: v.string(),
    deployKeyHint: v.string(),
    actor: v.string(),
  },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.db.get(args.appId);
    if (!app) throw notFound(`no app ${args.appId}`);
    // A new key may lack the feed's permission: its availability is asked again.
    const feed: AppFeed | undefined = app.feed && { ...app.feed, availability: "unknown" };
    await ctx.db.patch(app._id, {
      deployKeyCiphertext: args.deployKeyCiphertext,
      deployKeyHint: args.deployKeyHint,
      ...(feed ? { feed } : {}),
      updatedAt: Date.now(),
    });
    await probeFeedLater(ctx, { ...app, ...(feed ? { feed } : {}) });
    await recordAudit(ctx, {
      actor: args.actor,
      action: "apps.setDeployKey",
      outcome: "ok",
      target: app.slug,
    });
    return null;
  },
});

/**
 * Moves an app to another source (URL, http flag, and a new key or the stored one) once the source has
 * answered with the key; else a field error and nothing changes.
 */
export const setSource = adminAction({
  args: {
    appId: v.id("apps"),
    deploymentUrl: v.string(),
    allowInsecureHttp: v.optional(v.boolean()),
    deployKey: v.optional(v.string()),
  },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.runQuery(internal.apps.getWithSecret, { appId: args.appId });
    if (!app) throw notFound(`no app ${args.appId}`);
    const allowInsecureHttp = args.allowInsecureHttp ?? false;
    const deploymentUrl = checkDeploymentUrl(args.deploymentUrl, allowInsecureHttp);
    const newKey = args.deployKey === undefined ? undefined : checkDeployKey(args.deployKey);
    const deployKey = newKey ?? (await decryptSecret(app.deployKeyCiphertext));
    await checkSourceForSaving({ url: deploymentUrl, deployKey, allowInsecureHttp });
    await ctx.runMutation(internal.apps.storeSource, {
      appId: args.appId,
      deploymentUrl,
      allowInsecureHttp,
      ...(newKey
        ? { deployKeyCiphertext: await encryptSecret(newKey), deployKeyHint: maskSecret(newKey) }
        : {}),
      actor: adminActor(ctx.admin),
    });
    return null;
  },
});

export const storeSource = internalMutation({
  args: {
    appId: v.id("apps"),
    deploymentUrl: v.string(),
    allowInsecureHttp: v.boolean(),
    deployKeyCiphertext: v.optional(v.string()),
    deployKeyHint: v.optional(v.string()),
    actor: v.string(),
  },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.db.get(args.appId);
    if (!app) throw notFound(`no app ${args.appId}`);
    const { appId: _id, actor, ...patch } = args;
    // Another deployment: its feed is another one, and the warehouse's position means nothing there.
    const feed: AppFeed = { availability: "unknown", needsSnapshot: "the source deployment changed" };
    await ctx.db.patch(app._id, { ...patch, ...(app.feed ? { feed } : {}), updatedAt: Date.now() });
    await probeFeedLater(ctx, app.feed ? { ...app, feed } : app);
    await recordAudit(ctx, { actor, action: "apps.setSource", outcome: "ok", target: app.slug });
    return null;
  },
});

/** A new deploy key for the app's source, saved once the source has accepted it. */
export const setDeployKey = adminAction({
  args: { appId: v.id("apps"), deployKey: v.string() },
  handler: async (ctx, args): Promise<null> => {
    const key = checkDeployKey(args.deployKey);
    const app = await ctx.runQuery(internal.apps.getWithSecret, { appId: args.appId });
    if (!app) throw notFound(`no app ${args.appId}`);
    await checkSourceForSaving({
      url: app.deploymentUrl,
      deployKey: key,
      allowInsecureHttp: app.allowInsecureHttp ?? false,
    });
    await ctx.runMutation(internal.apps.storeDeployKey, {
      appId: args.appId,
      deployKeyCiphertext: await encryptSecret(key),
      deployKeyHint: maskSecret(key),
      actor: adminActor(ctx.admin),
    });
    return null;
  },
});

export const remove = adminMutation({
  args: { appId: v.id("apps") },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.db.get(args.appId);
    if (!app) return null;
    const active = await activeJobOf(ctx, app._id);
    if (active) throw conflict(`${app.slug} has an active job (${active.status}); cancel it first`);
    await unregisterAppSchedule(ctx, app._id);
    await ctx.db.delete(app._id);
    await recordAudit(ctx, {
      actor: adminActor(ctx.admin),
      action: "apps.remove",
      outcome: "ok",
      target: app.slug,
    });
    return null;
  },
});

/** For actions that talk to the source deployment: the app including its key ciphertext. Internal only. */
export const getWithSecret = internalQuery({
  args: { appId: v.id("apps") },
  handler: async (ctx, args): Promise<Doc<"apps"> | null> => ctx.db.get(args.appId),
});
