/**
 * An app's sync mode in words: the choices the app form offers, and what the mode does right now given what the
 * control plane knows of the app's change feed (`apps.feed`, docs/incremental.md). Pure, tested in syncMode.test.ts.
 */
import type { SyncKind } from "$convex/contract/executor";
import type { AppFeed, SyncMode } from "$convex/schema";
import type { Tone } from "./format";

export const SYNC_MODES: { value: SyncMode; label: string; explanation: string }[] = [
  {
    value: "auto",
    label: "Auto",
    explanation:
      "Incremental where the deployment's plan and deploy key allow the change feed, snapshots otherwise.",
  },
  {
    value: "incremental",
    label: "Incremental",
    explanation:
      "One snapshot first, then each run applies only the changes since the last, deletes included, each step atomic.",
  },
  {
    value: "snapshot",
    label: "Snapshot",
    explanation: "Every run exports the whole deployment and reloads every table in one swap.",
  },
];

/** Who can use the change feed: shown beside the mode choice. */
export const PLAN_REQUIREMENT =
  "The change feed (streaming export) comes with Convex's paid plans, and the deploy key must be allowed to read " +
  "data. On a plan without it, auto falls back to snapshots.";

/** Shown by the schedule form when a snapshot-mode app would run more often than hourly. */
export const SNAPSHOT_CADENCE_WARNING =
  "This schedule runs more often than hourly, and in snapshot mode every run exports and reloads the whole " +
  "deployment: while an export runs, the deployment's own backups cannot start. Consider auto or incremental " +
  "mode (only changes), or an hourly or slower schedule.";

/** Apps saved before sync modes existed have none: they sync by snapshot. */
export function modeOf(app: { syncMode?: SyncMode | undefined }): SyncMode {
  return app.syncMode ?? "snapshot";
}

export interface SyncState {
  mode: SyncMode;
  /** What the next run does; null while `auto` has not learnt whether the feed is available. */
  next: SyncKind | null;
  /** "auto → incremental", "incremental", "snapshot". */
  headline: string;
  /** Why, when there is more to say: "needs a snapshot: the feed position expired". */
  detail: string | null;
  tone: Tone;
}

const NOT_AVAILABLE = "the change feed is not available";

/** What an app's mode does now: which kind of run comes next, and why. */
export function syncState(mode: SyncMode, feed: AppFeed | undefined): SyncState {
  if (mode === "snapshot")
    return { mode, next: "snapshot", headline: "snapshot", detail: null, tone: "neutral" };
  const availability = feed?.availability ?? "unknown";
  if (mode === "auto" && availability === "unavailable")
    return {
      mode,
      next: "snapshot",
      headline: "auto → snapshot",
      detail: feed?.reason ?? NOT_AVAILABLE,
      tone: "warn",
    };
  const headline = mode === "auto" ? "auto → incremental" : "incremental";
  // The control plane fails such a run at once, naming the reason (convex/feeds.ts): say so before it is tried.
  if (mode === "incremental" && availability === "unavailable")
    return {
      mode,
      next: null,
      headline,
      detail: `runs fail while the change feed is unavailable: ${feed?.reason ?? "no reason given"}`,
      tone: "bad",
    };
  if (feed?.needsSnapshot)
    return {
      mode,
      next: "snapshot",
      headline,
      detail: `needs a snapshot: ${feed.needsSnapshot}`,
      tone: "warn",
    };
  if (mode === "auto" && availability === "unknown" && !feed?.position)
    return {
      mode,
      next: null,
      headline: "auto",
      detail: "not decided yet: the next run asks the deployment whether its plan has the change feed",
      tone: "neutral",
    };
  if (!feed?.position)
    return {
      mode,
      next: "snapshot",
      headline,
      detail: "the first run loads a snapshot, then the change feed continues from it",
      tone: "active",
    };
  return { mode, next: "incremental", headline, detail: null, tone: "ok" };
}

/** The one-line reading: "auto → snapshot: the plan has no change feed". */
export function describeSyncState(state: SyncState): string {
  return state.detail ? `${state.headline}: ${state.detail}` : state.headline;
}

/** A source timestamp (nanoseconds, decimal string) as epoch milliseconds; null when it is not one. */
export function sourceTsToMs(ts: string | null | undefined): number | null {
  if (!ts || !/^\d+$/.test(ts)) return null;
  return Number(BigInt(ts) / 1_000_000n);
}
