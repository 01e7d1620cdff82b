/**
 * How old an app's data in the warehouse is, and whether that is older than its schedule implies. The data is as
 * of the snapshot of the last successful load (the export's `start_ts`, ns) or, for an app on the change feed, as
 * of its feed position (the source timestamp the warehouse equals after the last committed step). A scheduled app is behind when its
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
export function freshnessOf(lastLoad: LastLoad | null, previousRuns: number[] | null): Freshness {
  const snapshotAt = snapshotTsToMs(lastLoad?.snapshotTs) ?? null;
  const expectedSince = previousRuns?.[1] ?? null;
  return {
    snapshotAt,
    loadedAt: lastLoad?.finishedAt ?? null,
    expectedSince,
    behind: expectedSince !== null && (snapshotAt === null || snapshotAt < expectedSince),
  };
}

/** What `freshnessOf` reads of a load: the source timestamp the warehouse equals (ns) and when that landed. */
export type LastLoad = { snapshotTs?: string; finishedAt?: number };

/**
 * The load an app's data is as of. The feed position wins while it is set (it only moves forward, from the
 * snapshot that started the feed); otherwise the last successful job: an incremental run's position, or a
 * snapshot's export timestamp.
 */
export function lastLoadOf(
  feedPosition: { ts: string; appliedAt: number } | undefined,
  lastSucceeded: {
    kind?: "snapshot" | "incremental";
    export?: { snapshotTs?: string };
    incremental?: { position: string | null };
    finishedAt?: number;
  } | null,
): LastLoad | null {
  if (feedPosition) return { snapshotTs: feedPosition.ts, finishedAt: feedPosition.appliedAt };
  if (!lastSucceeded) return null;
  const ts =
    lastSucceeded.kind === "incremental"
      ? (lastSucceeded.incremental?.position ?? undefined)
      : lastSucceeded.export?.snapshotTs;
  return { snapshotTs: ts, finishedAt: lastSucceeded.finishedAt };
}
