/** The executors' last heartbeats (target summary without credentials), for the dashboard. */
import { v } from "convex/values";
import { adminQuery } from "./access";
import { CONTRACT_VERSION } from "./contract/executor";
import schema from "./schema";

/** An executor silent for longer than this is shown offline. */
export const HEARTBEAT_STALE_MS = 3 * 60_000;
const MAX_EXECUTORS = 50;

/** An executors row as the dashboard sees it: the stored heartbeat, plus what it means now. */
export const executorView = schema.tables.executors.validator.omit("freeDiskBytes").extend({
  freeDiskBytes: v.union(v.number(), v.null()),
  online: v.boolean(),
  /** False when the executor speaks another contract version than this deployment. */
  contractCompatible: v.boolean(),
});

export const list = adminQuery({
  args: {},
  returns: v.array(executorView),
  handler: async (ctx) => {
    const rows = await ctx.db.query("executors").take(MAX_EXECUTORS);
    const now = Date.now();
    return rows.map(({ _id, _creationTime, freeDiskBytes, ...stored }) => ({
      ...stored,
      freeDiskBytes: freeDiskBytes ?? null,
      online: now - stored.lastHeartbeatAt < HEARTBEAT_STALE_MS,
      contractCompatible: stored.contractVersion === CONTRACT_VERSION,
    }));
  },
});
