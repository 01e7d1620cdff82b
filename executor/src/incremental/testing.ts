/**
 * Test scaffolding shared by the incremental tests: a stand-in deployment served over HTTP, a warehouse loaded
 * from its snapshot with the feed started at that snapshot, and a row-by-row comparison with a fresh snapshot
 * import of the source at the warehouse's timestamp.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  FeedDeployment,
  serveDataSyncFeed,
  type DeploymentOptions,
  type ServedFeed,
} from "../../../test/standins/dataSyncFeed.js";
import { uniqueSchema } from "../../../test/fixtures/targets.js";
import {
  readWarehouseRows,
  withWarehouse,
  type WarehouseRows,
} from "../../../test/fixtures/warehouseRows.js";
import { importSnapshot } from "../import/index.js";
import { FeedClient } from "./feedClient.js";
import { openChangeTarget } from "./openTarget.js";
import { runIncremental, startAfterSnapshot, type IncrementalRunResult } from "./run.js";

export interface SyncedWarehouse {
  deployment: FeedDeployment;
  served: ServedFeed;
  feed: FeedClient;
  url: string;
  schema: string;
  /** One incremental run in this process. */
  sync(options?: { maxHeldEntries?: number; sourceTables?: boolean }): Promise<IncrementalRunResult>;
  /** The source at `ts` imported fresh into another schema. */
  freshImport(ts: bigint): Promise<string>;
  rows(schema: string): Promise<WarehouseRows>;
  /** Rows of the warehouse and of a fresh import of the source at the warehouse's stored timestamp. */
  compareWithSource(): Promise<{ warehouse: WarehouseRows; source: WarehouseRows; snapshotTs: bigint }>;
  close(): Promise<void>;
}

export async function syncedWarehouse(
  url: string,
  populate: (deployment: FeedDeployment) => void,
  options: DeploymentOptions = {},
): Promise<SyncedWarehouse> {
  const deployment = new FeedDeployment(options);
  populate(deployment);
  const served = await serveDataSyncFeed(deployment);
  const feed = new FeedClient({
    deploymentUrl: served.url,
    deployKey: deployment.deployKey,
    retry: { attempts: 3, backoff: { baseMs: 5, maxMs: 10 } },
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), "incremental-"));
  const schema = uniqueSchema("inc");
  const freshImport = async (ts: bigint) => {
    const zip = path.join(dir, `snapshot_stand-in_${ts}.zip`);
    await deployment.writeSnapshotZip(zip, ts);
    const freshSchema = uniqueSchema("fresh");
    await importSnapshot({ snapshotPath: zip, target: url, schema: freshSchema, snapshotTs: ts.toString() });
    return freshSchema;
  };

  const ts0 = deployment.latestTs;
  const zip = path.join(dir, `snapshot_stand-in_${ts0}.zip`);
  await deployment.writeSnapshotZip(zip, ts0);
  await importSnapshot({ snapshotPath: zip, target: url, schema, snapshotTs: ts0.toString() });
  const target = await openChangeTarget(url, schema);
  try {
    await startAfterSnapshot(target, feed, ts0);
  } finally {
    await target.close();
  }

  const rows = (s: string) => withWarehouse(url, (db) => readWarehouseRows(db, s));
  return {
    deployment,
    served,
    feed,
    url,
    schema,
    async sync(opts = {}) {
      const t = await openChangeTarget(url, schema);
      try {
        return await runIncremental({
          target: t,
          feed,
          maxHeldEntries: opts.maxHeldEntries,
          sourceTables: opts.sourceTables
            ? async () => [...deployment.stateAt(deployment.latestTs).keys()]
            : undefined,
        });
      } finally {
        await t.close();
      }
    },
    freshImport,
    rows,
    async compareWithSource() {
      const snapshotTs = await withWarehouse(url, async (db) => {
        const [row] = await db.query<{ ts: string }>(
          `SELECT CAST(snapshot_ts AS VARCHAR(20)) AS ts FROM "${schema}"._convex_sync_state WHERE id = 1`,
        );
        return BigInt(row!.ts);
      });
      const fresh = await freshImport(snapshotTs);
      const source = await rows(fresh);
      const all = await rows(schema);
      const warehouse: WarehouseRows = new Map([...all].filter(([t]) => source.has(t)));
      return { warehouse, source, snapshotTs };
    },
    close: () => served.close(),
  };
}
