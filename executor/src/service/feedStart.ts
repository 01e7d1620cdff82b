/**
 * After a snapshot job's swap has committed: stores the change-feed cursor the control plane minted at the
 * snapshot's timestamp (`feedStart`), so later incremental jobs continue from that snapshot.
 *
 * The swap and this write are two transactions. If this one fails (or the executor dies in between), the data is
 * still swapped and the job still succeeded; the result says `stored: false` and the control plane starts the feed
 * from a new snapshot. The cursor is opaque, encrypted data of the source deployment: treated like a secret, it is
 * never logged, never written to the journal, and redacted from the error reported.
 *
 * Warehouse tables the snapshot did not load (dropped in the source: a snapshot leaves them as they were, README
 * "The SQL mapping") are stored as detached: the feed does not maintain them, and an incremental run does not take
 * them for tables dropped since (which would ask for a snapshot again after every snapshot). The result names them.
 */
import type { FeedStartResult } from "../../../convex/contract/executor.js";
import type { DuckdbSettings } from "../import/load/duckdb/instance.js";
import { openChangeTarget } from "../incremental/openTarget.js";
import { redact } from "./jobErrors.js";
import { createLogger, errorMessage } from "./log.js";

const log = createLogger("feedStart");

const MAX_ERROR = 2000;
const MAX_DETACHED = 10_000;

export interface FeedStartDeps {
  target: string;
  targetSecrets: readonly string[];
  duckdb?: DuckdbSettings;
}

export interface FeedStartJob {
  jobId: string;
  targetSchema: string;
  snapshotTs: string;
  /** Qualified names of the tables the snapshot import loaded (its result's tables). */
  loadedTables: readonly string[];
}

export async function storeFeedStart(
  deps: FeedStartDeps,
  job: FeedStartJob,
  cursor: string,
  secrets: readonly string[],
): Promise<FeedStartResult> {
  const position = job.snapshotTs;
  try {
    const target = await openChangeTarget(deps.target, job.targetSchema, {
      ...(deps.duckdb ? { duckdb: deps.duckdb } : {}),
    });
    let detachedTables: string[];
    try {
      const loaded = new Set(job.loadedTables);
      detachedTables = [...(await target.readPrior()).keys()].filter((t) => !loaded.has(t)).sort();
      await target.initialize({
        cursor,
        syncId: "",
        status: "stale",
        snapshotTs: BigInt(position),
        // Taken after the swap committed: the tables it loaded are not "loaded after the feed position".
        appliedAt: new Date(),
        detachedTables,
      });
    } finally {
      await target.close();
    }
    log.info("feed position stored", {
      jobId: job.jobId,
      position,
      ...(detachedTables.length > 0 ? { detachedTables: detachedTables.length } : {}),
    });
    return {
      stored: true,
      position,
      ...(detachedTables.length > 0 ? { detachedTables: detachedTables.slice(0, MAX_DETACHED) } : {}),
    };
  } catch (error) {
    const message = redact(
      `the snapshot is loaded, but its change-feed position could not be stored, so the next incremental run needs a new snapshot: ${errorMessage(error)}`,
      [cursor, ...secrets, ...deps.targetSecrets],
    ).slice(0, MAX_ERROR);
    log.warn("feed position not stored", { jobId: job.jobId, position, error: message });
    return { stored: false, position, error: message };
  }
}
