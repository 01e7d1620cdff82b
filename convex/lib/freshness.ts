/**
 * How old an app's data in the warehouse is, and whether that is older than its schedule implies. The data is as
 * of the snapshot of the last successful load (the export's `start_ts`, ns). A scheduled app is behind when its
 * snapshot predates the scheduled run before the latest one: the latest may still be running, but the one
 * before it should have landed. Apps without a schedule are never behind: nothing promised a time.
 */
export type Freshness = {
  /** Epoch ms the warehouse's data is as of, or null when no load succeeded (or none is known). */
  snapshotAt: number | null;
  /** When that load finished. */
  loadedAt: number | null;
  /** The scheduled run whose data should be in the warehouse by now; null without a schedule. */
  expectedSince: number | null;
  behind: boolean;
};

/** A snapshot timestamp (ns since the epoch, as a decimal string) as epoch ms; null when unreadable. */
export function snapshotTsToMs(ns: string | undefined): number | null {
  if (!ns || !/^\d{1,25}$/.test(ns)) return null;
  return Number(BigInt(ns) / 1_000_000n);
}

/** `previousRuns`: the schedule's runs at or before now, newest first (lib/cron.ts previousRuns). */
export function freshnessOf(
  lastLoad: { snapshotTs?: string; finishedAt?: number } | null,
  previousRuns: number[] | null,
): Freshness {
  const snapshotAt = snapshotTsToMs(lastLoad?.snapshotTs) ?? null;
  const expectedSince = previousRuns?.[1] ?? null;
  return {
    snapshotAt,
    loadedAt: lastLoad?.finishedAt ?? null,
    expectedSince,
    behind: expectedSince !== null && (snapshotAt === null || snapshotAt < expectedSince),
  };
}
