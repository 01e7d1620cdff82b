/**
 * Each enabled app with a schedule has one dynamic cron in @convex-dev/crons, named `app:<appId>`, with the
 * app's cron spec and IANA time zone. Changing an app re-registers it (remove + register); disabling or
 * clearing the schedule removes it. maintenance.ts re-registers any that went missing.
 */
import { Crons } from "@convex-dev/crons";
import { v } from "convex/values";
import { components, internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, type MutationCtx, type QueryCtx } from "./_generated/server";
import { adminQuery } from "./access";
import { recordAudit } from "./audit";
import { activeJobOf, AppDisabledError, startJob } from "./jobs";
import { chooseJobKind, effectiveSyncMode, MIN_SCHEDULED_SNAPSHOT_INTERVAL_MS } from "./lib/jobKind";
import { nextRuns, runDensity, runsMoreOftenThanHourly, validateSchedule } from "./lib/cron";
import { MAX_APPS } from "./lib/limits";

export const crons = new Crons(components.crons);

export function scheduleName(appId: Id<"apps">): string {
  return `app:${appId}`;
}

export function nextRunsOf(app: Doc<"apps">, fromMs: number, count: number): number[] {
  if (!app.enabled || !app.schedule) return [];
  try {
    return nextRuns(app.schedule.cron, app.schedule.timeZone, fromMs, count);
  } catch {
    return [];
  }
}

export async function unregisterAppSchedule(ctx: MutationCtx, appId: Id<"apps">): Promise<void> {
  if (await crons.get(ctx, { name: scheduleName(appId) }))
    await crons.delete(ctx, { name: scheduleName(appId) });
}

/** Makes the registered cron match the app: update = remove + register; disabled/no schedule = removed. */
export async function syncAppSchedule(ctx: MutationCtx, appId: Id<"apps">): Promise<void> {
  await unregisterAppSchedule(ctx, appId);
  const app = await ctx.db.get(appId);
  if (!app?.enabled || !app.schedule) return;
  await crons.register(
    ctx,
    { kind: "cron", cronspec: app.schedule.cron, tz: app.schedule.timeZone },
    internal.schedules.runScheduled,
    { appId },
    scheduleName(appId),
  );
}

/** Called by the dynamic cron. */
export const runScheduled = internalMutation({
  args: { appId: v.id("apps") },
  handler: async (ctx, args): Promise<null> => {
    const app = await ctx.db.get(args.appId);
    if (!app) {
      await unregisterAppSchedule(ctx, args.appId);
      return null;
    }
    try {
      const held = await snapshotHeldBack(ctx, app, Date.now());
      if (held) {
        await recordAudit(ctx, {
          actor: "system",
          action: "schedule.run",
          outcome: "ignored",
          target: app.slug,
          detail: `skipped: ${held}`,
        });
        return null;
      }
      const result = await startJob(ctx, app, "schedule", "system:schedule");
      await recordAudit(ctx, {
        actor: "system",
        action: "schedule.run",
        outcome: result.created ? "ok" : "ignored",
        target: app.slug,
        detail: result.created ? `started ${result.jobId}` : `already active ${result.jobId}`,
      });
    } catch (error) {
      if (!(error instanceof AppDisabledError)) throw error;
      await unregisterAppSchedule(ctx, app._id);
    }
    return null;
  },
});

/**
 * Why a scheduled run of an app in auto/incremental mode is skipped, or null: its next job would be a snapshot
 * and the app's previous snapshot started less than MIN_SCHEDULED_SNAPSHOT_INTERVAL_MS ago. In snapshot mode the
 * user chose the cadence (the app form warns when it is more often than hourly). An active job is left to
 * startJob (the run is skipped as "already active").
 */
export async function snapshotHeldBack(ctx: QueryCtx, app: Doc<"apps">, now: number): Promise<string | null> {
  if (effectiveSyncMode(app) === "snapshot" || !app.enabled) return null;
  if (chooseJobKind(app, now).kind !== "snapshot") return null;
  if (await activeJobOf(ctx, app._id)) return null;
  // At most one job a minute is scheduled, so the window holds at most ~60 jobs.
  const previous = await ctx.db
    .query("jobs")
    .withIndex("by_app_created", (q) =>
      q.eq("appId", app._id).gt("createdAt", now - MIN_SCHEDULED_SNAPSHOT_INTERVAL_MS),
    )
    .order("desc")
    .filter((q) => q.neq(q.field("kind"), "incremental"))
    .first();
  if (!previous) return null;
  const minutes = Math.round(MIN_SCHEDULED_SNAPSHOT_INTERVAL_MS / 60_000);
  const ago = Math.max(0, Math.round((now - previous.createdAt) / 60_000));
  return (
    `the next run would be a full snapshot and the last one started ${ago} min ago (job ${previous._id}); ` +
    `scheduled snapshots of an app in ${effectiveSyncMode(app)} mode run at most every ${minutes} min`
  );
}

/** Registers missing schedules and removes stray ones. Returns how many it changed. */
export async function repairSchedules(ctx: MutationCtx): Promise<number> {
  let changed = 0;
  const apps = await ctx.db.query("apps").take(MAX_APPS);
  for (const app of apps) {
    const registered = await crons.get(ctx, { name: scheduleName(app._id) });
    const wanted = app.enabled && app.schedule !== null;
    const matches =
      registered?.schedule.kind === "cron" &&
      registered.schedule.cronspec === app.schedule?.cron &&
      registered.schedule.tz === app.schedule?.timeZone;
    if (wanted ? !matches : registered !== null) {
      await syncAppSchedule(ctx, app._id);
      changed++;
    }
  }
  return changed;
}

export const scheduleView = v.object({
  appId: v.id("apps"),
  name: v.string(),
  slug: v.string(),
  enabled: v.boolean(),
  cron: v.union(v.string(), v.null()),
  timeZone: v.union(v.string(), v.null()),
  registered: v.boolean(),
  nextRuns: v.array(v.number()),
  /** With `timelineFrom`: the quarter hours of the timeline that hold runs, and how many runs it holds. */
  timeline: v.union(v.object({ occupied: v.array(v.number()), runs: v.number() }), v.null()),
});

/** The Scheduling page's timeline: 48 hours in quarter hours (lib/cron.ts runDensity). */
export const TIMELINE_WINDOWS = 192;

function timelineOf(app: Doc<"apps">, fromMs: number | undefined) {
  if (fromMs === undefined || !app.enabled || !app.schedule) return null;
  try {
    return runDensity(app.schedule.cron, app.schedule.timeZone, fromMs, TIMELINE_WINDOWS);
  } catch {
    return null;
  }
}

/**
 * Each app's schedule and next run times (the Scheduling page); with `timelineFrom` (a quarter hour, fixed by
 * the page so the subscription stays put) also where the runs of the next 48 hours fall.
 */
export const nextRunsByApp = adminQuery({
  args: { count: v.optional(v.number()), timelineFrom: v.optional(v.number()) },
  returns: v.array(scheduleView),
  handler: async (ctx, args) => {
    const count = Math.min(Math.max(1, Math.floor(args.count ?? 5)), 20);
    const now = Date.now();
    const apps = await ctx.db.query("apps").withIndex("by_name").take(MAX_APPS);
    const out = [];
    for (const app of apps) {
      const registered = (await crons.get(ctx, { name: scheduleName(app._id) })) !== null;
      out.push({
        appId: app._id,
        name: app.name,
        slug: app.slug,
        enabled: app.enabled,
        cron: app.schedule?.cron ?? null,
        timeZone: app.schedule?.timeZone ?? null,
        registered,
        nextRuns: nextRunsOf(app, now, count),
        timeline: timelineOf(
          app,
          args.timelineFrom === undefined ? undefined : Math.floor(args.timelineFrom / 900_000) * 900_000,
        ),
      });
    }
    return out;
  },
});

/** Checks a cron spec + time zone without saving (the schedule form's preview). */
export const preview = adminQuery({
  args: { cron: v.string(), timeZone: v.string(), count: v.optional(v.number()) },
  returns: v.union(
    v.object({
      ok: v.literal(true),
      nextRuns: v.array(v.number()),
      /** Two runs less than an hour apart: the app form warns a snapshot-mode app about it. */
      moreOftenThanHourly: v.boolean(),
    }),
    v.object({ ok: v.literal(false), error: v.string() }),
  ),
  handler: async (_ctx, args) => {
    const check = validateSchedule(args.cron, args.timeZone);
    if (!check.ok) return check;
    const now = Date.now();
    return {
      ok: true as const,
      nextRuns: nextRuns(args.cron, args.timeZone, now, Math.min(args.count ?? 5, 20)),
      moreOftenThanHourly: runsMoreOftenThanHourly(args.cron, args.timeZone, now),
    };
  },
});
