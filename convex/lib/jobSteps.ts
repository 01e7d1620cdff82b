/**
 * A job's steps (export request, export checks, dispatch) run as scheduled functions. Each is scheduled through
 * {@link scheduleStep}, which keeps the scheduled function's id on the job, so the watchdog (maintenance.ts) can
 * read its state in `_scheduled_functions` and notice a step that died: an action killed by a restart or a
 * timeout ends `failed`, and then nothing would ever move the job on. (Scheduled actions run at most once and are
 * not retried; a completed row is kept for 7 days: docs.convex.dev/scheduling/scheduled-functions. The states are
 * those of `SystemDataModel["_scheduled_functions"]` in node_modules/convex/dist/esm-types/server/schema.d.ts.)
 */
import {
  getFunctionName,
  type FunctionReference,
  type OptionalRestArgs,
  type SchedulableFunctionReference,
} from "convex/server";
import { v } from "convex/values";
import type { Doc, Id } from "../_generated/dataModel";
import type { MutationCtx, QueryCtx } from "../_generated/server";

/** Every step's arguments: its job, and the attempt it works for (a step of an older attempt does nothing). */
export const stepArgs = { jobId: v.id("jobs"), attempt: v.number() };

export async function scheduleStep<F extends SchedulableFunctionReference>(
  ctx: MutationCtx,
  jobId: Id<"jobs">,
  delayMs: number,
  fn: F & FunctionReference<"mutation" | "action", "internal">,
  ...args: OptionalRestArgs<F>
): Promise<void> {
  const functionId = await ctx.scheduler.runAfter(delayMs, fn, ...args);
  await ctx.db.patch(jobId, { step: { functionId, name: getFunctionName(fn) } });
}

/** Why the job's current step can no longer move it on, or null while it is pending, running or done. */
export async function deadStep(ctx: QueryCtx, job: Doc<"jobs">): Promise<string | null> {
  if (!job.step) return null;
  const fn = await ctx.db.system.get(job.step.functionId);
  if (!fn) return `its scheduled step ${job.step.name} is gone from _scheduled_functions`;
  switch (fn.state.kind) {
    case "pending":
    case "inProgress":
    case "success":
      return null;
    case "failed":
      return `its scheduled step ${job.step.name} failed${fn.state.error ? `: ${fn.state.error}` : ""}`;
    case "canceled":
      return `its scheduled step ${job.step.name} was canceled`;
    default:
      return fn.state satisfies never;
  }
}
