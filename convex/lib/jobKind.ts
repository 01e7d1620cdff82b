/**
 * Which kind of job an app's next sync is (docs/incremental.md): a snapshot reload or an incremental run of the
 * change feed, from the app's sync mode and what the control plane knows of its feed. Pure, so the rules are
 * tested without a backend; jobs.ts `startJob` applies them and feeds.ts settles them once the feed is probed.
 */
import type { AppFeed, RetryPolicy, SyncMode } from "../schema";

/** Re-probe the feed (GET /api/test_streaming_export_connection) when the last verdict is older than this. */
export const FEED_PROBE_MAX_AGE_MS = 24 * 60 * 60_000;

/** An incremental run is minutes of work; past this the watchdog gives up on the attempt (snapshots get 12 h). */
export const INCREMENTAL_ATTEMPT_DEADLINE_MS = 60 * 60_000;

/**
 * Retries of an incremental job: few and quick. The app's own policy is for hours-long snapshots (minutes of
 * backoff); an incremental app runs again at its next scheduled minute anyway, and a run still active then makes
 * the schedule skip that minute.
 */
export const INCREMENTAL_RETRY: RetryPolicy = { maxAttempts: 2, baseDelayMs: 5_000, maxDelayMs: 60_000 };

/**
 * A scheduled snapshot of an app in auto/incremental mode waits this long after the app's previous snapshot
 * started: a feed that cannot start (a plan without it, a start that keeps failing) must not turn a per-minute
 * schedule into back-to-back exports of the whole deployment, which block the source's own backups
 * (ExportInProgress). Manual and API triggers are not held back.
 */
export const MIN_SCHEDULED_SNAPSHOT_INTERVAL_MS = 60 * 60_000;

export type JobKind = "snapshot" | "incremental";

/** Apps from before sync modes have none: they keep snapshot syncs. */
export function effectiveSyncMode(app: { syncMode?: SyncMode }): SyncMode {
  return app.syncMode ?? "snapshot";
}

/** Whether the feed's availability must be asked again before relying on it. */
export function feedProbeDue(feed: AppFeed | undefined, now: number): boolean {
  return (
    !feed ||
    feed.availability === "unknown" ||
    feed.checkedAt === undefined ||
    now - feed.checkedAt > FEED_PROBE_MAX_AGE_MS
  );
}

export interface KindChoice {
  kind: JobKind;
  /** Shown with the job, e.g. "full snapshot: the feed position expired". */
  kindReason?: string;
  /** A snapshot job that mints a feed cursor at its export and has the executor store it (`feedStart`). */
  startsFeed: boolean;
}

export const FIRST_FEED_LOAD = "first load: the change feed starts from this snapshot";

/**
 * - snapshot mode: a snapshot.
 * - auto with the feed known unavailable (recently checked): a plain snapshot, saying why.
 * - incremental or auto with a feed position and nothing asking for a snapshot: incremental.
 * - otherwise a snapshot that starts the feed (the first load, or the snapshot the feed asked for).
 *
 * incremental mode with the feed unavailable still gets a job: its first step fails it, non-retryably, naming the
 * reason (feeds.ts `settleJobFeed`), so the refusal is visible where the user looks.
 */
export function chooseJobKind(app: { syncMode?: SyncMode; feed?: AppFeed }, now: number): KindChoice {
  const mode = effectiveSyncMode(app);
  if (mode === "snapshot") return { kind: "snapshot", startsFeed: false };
  const feed = app.feed;
  if (mode === "auto" && feed?.availability === "unavailable" && !feedProbeDue(feed, now))
    return {
      kind: "snapshot",
      startsFeed: false,
      kindReason: `auto → snapshot: ${feed.reason ?? "the change feed is unavailable"}`,
    };
  if (feed?.position && feed.needsSnapshot === undefined) return { kind: "incremental", startsFeed: false };
  return {
    kind: "snapshot",
    startsFeed: true,
    kindReason: feed?.needsSnapshot ? `full snapshot: ${feed.needsSnapshot}` : FIRST_FEED_LOAD,
  };
}

/** The retry policy a job of `kind` runs under: an incremental job never waits or retries longer than the app's. */
export function retryPolicyFor(kind: JobKind, app: RetryPolicy): RetryPolicy {
  if (kind === "snapshot") return app;
  return {
    maxAttempts: Math.min(app.maxAttempts, INCREMENTAL_RETRY.maxAttempts),
    baseDelayMs: Math.min(app.baseDelayMs, INCREMENTAL_RETRY.baseDelayMs),
    maxDelayMs: Math.min(app.maxDelayMs, INCREMENTAL_RETRY.maxDelayMs),
  };
}

/** Whether position `a` (ns decimal string) is later than `b`. */
export function isLaterPosition(a: string, b: string | undefined): boolean {
  return b === undefined || BigInt(a) > BigInt(b);
}
