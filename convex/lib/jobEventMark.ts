/**
 * The milestone a job event marks, stored beside its free-text message so the dashboard's timeline
 * (site/src/lib/jobTimeline.ts) reads a structured field instead of parsing wording. Written by the code
 * that logs each step: convex/exports.ts (export requested / snapshot ready), convex/callbacks.ts (executor
 * phases), convex/jobs.ts failAttempt (attempt failed). No server imports: the site imports this module.
 */

import { v, type Infer } from "convex/values";
import { jobPhase } from "../contract/executor";

/** The executor contract's phases as a Convex validator (derived, so the enum lives only in the contract). */
export const jobPhaseValidator = v.union(...jobPhase.options.map((p) => v.literal(p)));

export const jobEventMark = v.union(
  v.object({ kind: v.literal("exportRequested") }),
  v.object({ kind: v.literal("exportReady") }),
  v.object({ kind: v.literal("phase"), phase: jobPhaseValidator }),
  v.object({ kind: v.literal("attemptFailed") }),
);
export type JobEventMark = Infer<typeof jobEventMark>;
