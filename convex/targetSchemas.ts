/**
 * Which apps may share a target schema: only apps that all sync by snapshot. Checked when an app is created or
 * updated (apps.ts); `apps.setSource` changes neither the schema nor the mode, so it needs no check.
 */
import { v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internalQuery, type QueryCtx } from "./_generated/server";
import { effectiveSyncMode } from "./lib/jobKind";
import { MAX_APPS } from "./lib/limits";
import { conflict } from "./lib/userError";
import { syncMode, type SyncMode } from "./schema";

/**
 * The change feed keeps one position per target schema (`_convex_sync_state`, one row) and checks the schema's
 * tables against its source: two apps writing one schema with the feed would read each other's cursor and tables.
 * So a schema is shared only by apps that are all in snapshot mode. An app already sharing (saved before this
 * rule) may still be saved in snapshot mode with its schema unchanged: the other app is refused on its own save.
 */
async function schemaConflict(
  ctx: QueryCtx,
  fields: { targetSchema: string; syncMode?: SyncMode },
  app?: Doc<"apps">,
): Promise<string | null> {
  const mode = effectiveSyncMode(fields);
  if (app && mode === "snapshot" && app.targetSchema === fields.targetSchema) return null;
  const others = await ctx.db
    .query("apps")
    .withIndex("by_target_schema", (q) => q.eq("targetSchema", fields.targetSchema))
    .take(MAX_APPS);
  const other = others.find(
    (o) => o._id !== app?._id && (mode !== "snapshot" || effectiveSyncMode(o) !== "snapshot"),
  );
  if (!other) return null;
  return (
    `target schema "${fields.targetSchema}" is also used by app ${other.name} (${effectiveSyncMode(other)} mode): ` +
    `apps may share a target schema only when both sync by snapshot (the change feed keeps one position per ` +
    `schema). Choose another target schema, or snapshot mode for both apps`
  );
}

export async function assertSchemaShareable(
  ctx: QueryCtx,
  fields: { targetSchema: string; syncMode?: SyncMode },
  app?: Doc<"apps">,
): Promise<void> {
  const conflictMessage = await schemaConflict(ctx, fields, app);
  if (conflictMessage) throw conflict(conflictMessage, "targetSchema");
}

/** Checked before apps.create's (slower) connection test, and again on insert. */
export const conflictFor = internalQuery({
  args: { targetSchema: v.string(), syncMode: syncMode },
  handler: (ctx, args): Promise<string | null> => schemaConflict(ctx, args),
});
