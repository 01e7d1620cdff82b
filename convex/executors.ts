/** The executors' last heartbeats (target summary without credentials), for the dashboard. */
import { v } from "convex/values";
import { adminQuery } from "./access";
import { CONTRACT_VERSION } from "./contract/executor";
import { executorTarget } from "./schema";

/** An executor silent for longer than this is shown offline. */
export const HEARTBEAT_STALE_MS = 3 * 60_000;
const MAX_EXECUTORS = 50;

export const executorView = v.object({
  executorId: v.string(),
  version: v.string(),
  contractVersion: v.number(),
  target: executorTarget,
  freeDiskBytes: v.union(v.number(), v.null()),
  runningJobs: v.array(v.string()),
  queuedJobs: v.number(),
  lastHeartbeatAt: v.number(),
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
    return rows.map((r) => ({
      executorId: r.executorId,
      version: r.version,
      contractVersion: r.contractVersion,
      target: r.target,
      freeDiskBytes: r.freeDiskBytes ?? null,
      runningJobs: r.runningJobs,
      queuedJobs: r.queuedJobs,
      lastHeartbeatAt: r.lastHeartbeatAt,
      online: now - r.lastHeartbeatAt < HEARTBEAT_STALE_MS,
      contractCompatible: r.contractVersion === CONTRACT_VERSION,
    }));
  },
});
