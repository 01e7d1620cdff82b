/** Operational settings: retention of old jobs/events/audit rows and the watchdog's staleness limit. */
import { v } from "convex/values";
import type { QueryCtx } from "./_generated/server";
import { adminMutation, adminQuery, adminActor } from "./access";
import { recordAudit } from "./audit";
import { SETTINGS_LIMITS } from "./lib/limits";
import { invalidInput } from "./lib/userError";

export const DEFAULT_SETTINGS = { retentionDays: 30, staleJobMinutes: 30 } as const;

export interface Settings {
  retentionDays: number;
  staleJobMinutes: number;
}

export async function loadSettings(ctx: QueryCtx): Promise<Settings> {
  const row = await ctx.db.query("settings").order("desc").first();
  return row
    ? { retentionDays: row.retentionDays, staleJobMinutes: row.staleJobMinutes }
    : { ...DEFAULT_SETTINGS };
}

export const get = adminQuery({
  args: {},
  handler: async (ctx): Promise<Settings> => loadSettings(ctx),
});

export const updateArgs = { retentionDays: v.number(), staleJobMinutes: v.number() };

export const update = adminMutation({
  args: updateArgs,
  handler: async (ctx, args): Promise<null> => {
    for (const key of ["retentionDays", "staleJobMinutes"] as const) {
      const [min, max] = SETTINGS_LIMITS[key];
      if (!Number.isInteger(args[key]) || args[key] < min || args[key] > max)
        throw invalidInput(key, `must be a whole number from ${min} to ${max}, got ${args[key]}`);
    }
    const row = await ctx.db.query("settings").order("desc").first();
    if (row) await ctx.db.patch(row._id, { ...args, updatedAt: Date.now() });
    else await ctx.db.insert("settings", { ...args, updatedAt: Date.now() });
    await recordAudit(ctx, {
      actor: adminActor(ctx.admin),
      action: "settings.update",
      outcome: "ok",
      detail: `retentionDays=${args.retentionDays} staleJobMinutes=${args.staleJobMinutes}`,
    });
    return null;
  },
});
