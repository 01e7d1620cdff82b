/**
 * The change feed's three routes and their checks, in the handlers' order (get-convex/convex-backend at 94a42c3d,
 * crates/local_backend/src/streaming_export.rs `_data_sync`, `data_sync_cursor_from_deltas`,
 * `test_streaming_export_connection`): identity 401 (ExtractIdentity), JSON body 400 BadJsonBody
 * (common/src/http/extract.rs), plan 403 StreamingExportNotEnabled (model/src/backend_info/mod.rs
 * `ensure_streaming_export_enabled`), permission 403 (`require_operation(ViewData)`), then the cursor 400.
 */
import { decodeUniformLine } from "../../executor/src/import/reader/uniform.js";
import { parseSelection, type Selection } from "./feedPages.js";
import { HttpError } from "./httpError.js";
import type { KeyRing } from "./keys.js";

export const FEED_ROUTES = [
  { name: "sync", method: "POST", path: "/api/v1/data/sync" },
  { name: "cursorFromDeltas", method: "POST", path: "/api/data_sync_cursor_from_deltas" },
  { name: "testConnection", method: "GET", path: "/api/test_streaming_export_connection" },
] as const;

export interface FeedRequest {
  method: string;
  path: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

/** What answers the routes once the checks pass; null: a deployment whose plan has no streaming export. */
export interface FeedBackend {
  readonly streamingExportEnabled: boolean;
  syncPage(cursor: string | undefined, selection: Selection): string;
  cursorFromDeltas(ts: bigint, selection: Selection): string;
}

export function isFeedRoute(method: string, path: string): boolean {
  return FEED_ROUTES.some((r) => r.method === method && r.path === path);
}

/** Answers one request if it is a feed route; undefined for any other path (to mount beside other routes). */
export function handleFeedRequest(
  request: FeedRequest,
  keys: KeyRing,
  backend: FeedBackend | null,
): { status: number; body: string } | undefined {
  const route = FEED_ROUTES.find((r) => r.method === request.method && r.path === request.path);
  if (!route) return undefined;
  try {
    const identity = keys.identityOf(request.authorization);
    let args: Record<string, unknown> = {};
    if (route.method === "POST") {
      if (!/^application\/json/i.test(request.contentType ?? ""))
        throw new HttpError(400, "BadJsonBody", "Expected request with `Content-Type: application/json`");
      try {
        args = decodeUniformLine(request.body) as Record<string, unknown>;
      } catch (err) {
        throw new HttpError(
          400,
          "BadJsonBody",
          `Failed to deserialize the JSON body: ${(err as Error).message}`,
        );
      }
    }
    if (!backend?.streamingExportEnabled)
      throw new HttpError(
        403,
        "StreamingExportNotEnabled",
        "Streaming export is not available on your current subscription. See https://www.convex.dev/plans to upgrade.",
      );
    keys.requireOperation(identity, "ViewData");
    switch (route.name) {
      case "sync": {
        if (args.cursor !== undefined && args.cursor !== null && typeof args.cursor !== "string")
          throw new HttpError(400, "BadJsonBody", "cursor: invalid type, expected a string");
        const cursor = (args.cursor as string | null | undefined) ?? undefined;
        return { status: 200, body: backend.syncPage(cursor, parseSelection(args.selection)) };
      }
      case "cursorFromDeltas": {
        if (typeof args.cursor !== "bigint")
          throw new HttpError(400, "BadJsonBody", "cursor: invalid type, expected i64");
        const cursor = backend.cursorFromDeltas(args.cursor, parseSelection(args.selection));
        return { status: 200, body: JSON.stringify({ cursor }) };
      }
      case "testConnection":
        return { status: 200, body: "null" };
    }
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, body: err.body };
    throw err;
  }
}
