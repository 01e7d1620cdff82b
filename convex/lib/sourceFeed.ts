/**
 * The source deployment's change feed, as far as the control plane uses it: whether the plan and key allow it
 * (`GET /api/test_streaming_export_connection`) and turning a snapshot export's timestamp into a feed cursor
 * (`POST /api/data_sync_cursor_from_deltas`). Routes, bodies and error codes: convex/contract/dataSync.ts, checked
 * against get-convex/convex-backend crates/local_backend/src/streaming_export.rs (`test_streaming_export_connection`,
 * `data_sync_cursor_from_deltas`, `cursor_expired_error`) and crates/model/src/backend_info/mod.rs
 * (`ensure_streaming_export_enabled`). Failures are {@link SourceDeploymentError}s like lib/sourceDeployment.ts's;
 * the deploy key is never part of a message.
 */
import {
  convexErrorBody,
  cursorFromDeltasBody,
  cursorFromDeltasResponse,
  dataSyncErrorCodes,
  dataSyncRoutes,
  selectionOfTables,
} from "../contract/dataSync";
import { baseOf, call, errorFromResponse, type SourceDeployment } from "./sourceDeployment";
import { SourceDeploymentError } from "./sourceError";

export type FeedProbe = { available: true } | { available: false; code: string; reason: string };

/** Reasons in words, for the dashboard ("auto → snapshot: <reason>") and job errors. */
export const FEED_REASONS = {
  plan:
    "the source's Convex plan does not include streaming export, which the change feed needs (paid plans " +
    "only; 403 StreamingExportNotEnabled)",
  permission:
    "the deploy key lacks the deployment:data:view (ViewData) permission the change feed needs (403 " +
    "OperationNotPermitted)",
  key: "the source refused the deploy key",
  noRoute:
    "the source has no change feed API (404 on /api/test_streaming_export_connection: an older self-hosted " +
    "backend?)",
} as const;

/** The body of a refusal, read once: its text (for errorFromResponse) and the backend's `{code, message}`. */
async function refusalOf(response: Response): Promise<{ text: string; code?: string; message?: string }> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = convexErrorBody.partial().safeParse(JSON.parse(text));
    return parsed.success ? { text, ...parsed.data } : { text };
  } catch {
    return { text, message: text.slice(0, 300) };
  }
}

/**
 * Asks whether the change feed is allowed for this deployment and key. A refusal is `available: false` with the
 * reason; an answer that says nothing about the feed (unreachable, 5xx, garbage) throws, retryable or not.
 * The backend checks the key (401), then the plan (403 StreamingExportNotEnabled), then the key's permission
 * (403 OperationNotPermitted), and answers `null` when all pass.
 */
export async function probeFeed(source: SourceDeployment): Promise<FeedProbe> {
  const base = baseOf(source);
  const response = await call(source, dataSyncRoutes.testConnection, { method: "GET" });
  if (response.ok) {
    await response.body?.cancel();
    return { available: true };
  }
  const { code, message } = await refusalOf(response);
  const status = response.status;
  if (code === dataSyncErrorCodes.streamingExportNotEnabled)
    return { available: false, code, reason: FEED_REASONS.plan };
  if (code === dataSyncErrorCodes.operationNotPermitted)
    return { available: false, code, reason: FEED_REASONS.permission };
  if (status === 401 || status === 403)
    return {
      available: false,
      code: code ?? `http_${status}`,
      reason: `${FEED_REASONS.key} (${status}${code ? ` ${code}` : ""})`,
    };
  if (status === 404) return { available: false, code: code ?? "http_404", reason: FEED_REASONS.noRoute };
  const detail = [code, message].filter(Boolean).join(": ").slice(0, 300);
  throw new SourceDeploymentError(
    status >= 500 ? "server_error" : "bad_response",
    `${base} answered ${status} ${detail} to the change feed probe`,
  );
}

/**
 * A change-feed cursor at a snapshot export's timestamp (`snapshotTs`, ns as a decimal string): every selected
 * table counts as synced up to it (`tables` null = all). The timestamp travels as a bare JSON integer
 * (`cursorFromDeltasBody`): it is above 2^53, so a JS number would move it.
 */
export async function cursorFromSnapshot(
  source: SourceDeployment,
  snapshotTs: string,
  tables: readonly string[] | null,
): Promise<string> {
  if (!/^\d+$/.test(snapshotTs))
    throw new SourceDeploymentError("bad_response", `snapshot timestamp "${snapshotTs}" is not an integer`);
  const base = baseOf(source);
  const body = cursorFromDeltasBody(
    BigInt(snapshotTs),
    tables === null ? undefined : selectionOfTables(tables),
  );
  const response = await call(source, dataSyncRoutes.cursorFromDeltas, { method: "POST", body });
  if (!response.ok) {
    const { text, code, message } = await refusalOf(response);
    if (code === dataSyncErrorCodes.streamingExportNotEnabled)
      throw new SourceDeploymentError("feed_unavailable", FEED_REASONS.plan);
    if (code === dataSyncErrorCodes.cursorExpired || code === dataSyncErrorCodes.invalidCursor)
      throw new SourceDeploymentError(
        "feed_unavailable",
        `${base} refused a feed cursor at the snapshot's timestamp ${snapshotTs} (${code}: ${(message ?? "").slice(0, 300)})`,
      );
    throw await errorFromResponse(
      base,
      new Response(text, { status: response.status }),
      "starting the change feed at the snapshot",
    );
  }
  const parsed = cursorFromDeltasResponse.safeParse(await response.json().catch(() => null));
  if (!parsed.success)
    throw new SourceDeploymentError("bad_response", `${base} answered cursor_from_deltas without a cursor`);
  return parsed.data.cursor;
}
