/**
 * A stand-in for Convex's change feed ("data sync"), built from the backend's source (get-convex/convex-backend
 * at 94a42c3d): a tiny in-memory deployment whose documents change through transactions (feedStore.ts), the
 * feed's pages (feedPages.ts, table_iteration/src/data_sync.rs and streaming_export/src/lib.rs), its opaque
 * cursor (feedCursor.ts, keybroker/src/encryptor.rs) and the three routes with their checks (feedRoutes.ts,
 * local_backend/src/streaming_export.rs). Mounted in the source stand-in (`startConvexSource({feed})`, which
 * then lists its tables and exports its snapshots) or served alone (`serveDataSyncFeed`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CursorCipher } from "./feedCursor.js";
import { BACKEND_LIMITS, DataSyncPages, type FeedLimits, type Selection } from "./feedPages.js";
import { handleFeedRequest, type FeedRequest } from "./feedRoutes.js";
import { FeedStore, type StoreOptions } from "./feedStore.js";
import { deploymentNameOf, KeyRing, type DeploymentOp } from "./keys.js";

export { BACKEND_LIMITS, type FeedLimits } from "./feedPages.js";
export type { Transaction } from "./feedStore.js";

export interface DeploymentOptions extends StoreOptions {
  deployKey?: string;
  /** Keys with only some operations (a backups-only key has no ViewData). */
  restrictedKeys?: Record<string, DeploymentOp[]>;
  /** A free plan refuses the feed (model/src/backend_info/mod.rs); self-hosted and paid plans allow it. */
  streamingExportEnabled?: boolean;
  limits?: Partial<FeedLimits>;
}

export class FeedDeployment extends FeedStore {
  readonly deployKey: string;
  readonly limits: FeedLimits;
  /** false: the plan has no streaming export, every feed route answers 403 StreamingExportNotEnabled. */
  streamingExportEnabled: boolean;
  /** The keys this deployment accepts when served alone (mounted in the source stand-in, the source's keys). */
  readonly keys: KeyRing;
  private readonly pages: DataSyncPages;

  constructor(options: DeploymentOptions = {}) {
    super(options);
    this.deployKey = options.deployKey ?? "prod:stand-in-feed|key";
    this.keys = new KeyRing(
      deploymentNameOf(this.deployKey) ?? "stand-in-feed",
      this.deployKey,
      options.restrictedKeys,
    );
    this.streamingExportEnabled = options.streamingExportEnabled ?? true;
    this.limits = { ...BACKEND_LIMITS, ...options.limits };
    this.pages = new DataSyncPages(this, new CursorCipher(), this.limits);
  }

  /** One page of `POST /api/v1/data/sync` (checks not included), as JSON text. */
  syncPage(cursor: string | undefined, selection: Selection): string {
    return this.pages.syncPage(cursor, selection);
  }

  /** `POST /api/data_sync_cursor_from_deltas` (checks not included): the cursor. */
  cursorFromDeltas(ts: bigint, selection: Selection): string {
    return this.pages.cursorFromDeltas(ts, selection);
  }

  /** Answers one request if it is a feed route; undefined for any other path. `keys`: whose keys to accept. */
  handle(request: FeedRequest, keys: KeyRing = this.keys): { status: number; body: string } | undefined {
    return handleFeedRequest(request, keys, this);
  }
}

export interface ServedFeed {
  url: string;
  /** Requests answered, in order (path and status), for tests that count retries. */
  requests: { path: string; status: number }[];
  /** The next `n` requests get this status (a proxy's or the backend's transient failure). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

/** Serves the feed routes of `deployment` on 127.0.0.1. */
export async function serveDataSyncFeed(deployment: FeedDeployment, port = 0): Promise<ServedFeed> {
  const requests: ServedFeed["requests"] = [];
  let failures: { n: number; status: number } = { n: 0, status: 503 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      let answer: { status: number; body: string } | undefined;
      if (failures.n > 0) {
        failures.n--;
        answer = {
          status: failures.status,
          body: JSON.stringify({ code: "Overloaded", message: "try again" }),
        };
      } else {
        answer = deployment.handle({
          method: req.method ?? "GET",
          path,
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"],
          body: Buffer.concat(chunks).toString("utf8"),
        }) ?? { status: 404, body: JSON.stringify({ code: "NotFound", message: "" }) };
      }
      requests.push({ path, status: answer.status });
      res.writeHead(answer.status, { "Content-Type": "application/json" });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext(n, status) {
      failures = { n, status };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
