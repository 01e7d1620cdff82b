/**
 * Talking to a source Convex deployment with its deploy key, over plain HTTP (no Convex client), the way the
 * backend serves it (get-convex/convex-backend; test/standins/convexSource.ts follows the same files):
 *
 * - tables: `POST /api/query` at the root with `_system/frontend/components:list`, then
 *   `_system/frontend/getTableMapping` once per component with `{componentId}` — what the Convex dashboard
 *   does. (`/api/function` takes `componentPath` as a path of names, and a component's modules never hold
 *   `_system/*`; `/api/query` ignores unknown fields, so a `componentPath` there would silently list the root.)
 * - exports: `POST /api/export/request/zip`, `_system/cli/exports:getLatest` (as `npx convex export` does).
 *
 * Every failure becomes a {@link SourceDeploymentError} whose `kind` says what went wrong, whether a later try
 * may succeed, and which form field it concerns. The deploy key is never part of a message.
 */
import { checkKeyMatchesUrl } from "./deployKey";
import { fetchWithTimeout } from "./fetchTimeout";
import { missingPermissionError, SourceDeploymentError } from "./sourceError";
import { normalizeDeploymentUrl } from "./sourceUrl";

export const SOURCE_REQUEST_TIMEOUT_MS = 30_000;

export interface SourceDeployment {
  url: string;
  deployKey: string;
  /** Allow `http://` to a private host (self-hosted Convex on a private network). */
  allowInsecureHttp?: boolean;
  fetch?: typeof fetch;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------------

/** The deployment's API base URL (normalised; throws `bad_url`). */
export function baseOf(source: SourceDeployment): string {
  return normalizeDeploymentUrl(source.url, { allowInsecureHttp: source.allowInsecureHttp });
}

/** One request with the deploy key; a network failure or timeout becomes `unreachable`. */
export async function call(source: SourceDeployment, path: string, init: RequestInit): Promise<Response> {
  const base = baseOf(source);
  const doFetch = source.fetch ?? fetch;
  try {
    return await fetchWithTimeout(
      `${base}${path}`,
      {
        ...init,
        headers: {
          Authorization: `Convex ${source.deployKey}`,
          "Content-Type": "application/json",
          "Convex-Client": "convex-warehouse-sync-0.1.0",
        },
      },
      SOURCE_REQUEST_TIMEOUT_MS,
      doFetch,
    );
  } catch (error) {
    const cause = error instanceof Error ? error.message : String(error);
    throw new SourceDeploymentError("unreachable", `deployment ${base} is unreachable: ${cause}`);
  }
}

interface ErrorPayload {
  code?: string;
  message?: string;
}

async function readError(response: Response): Promise<ErrorPayload> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as ErrorPayload;
    return typeof body === "object" && body !== null ? body : { message: text };
  } catch {
    return { message: text.slice(0, 300) };
  }
}

const PERMISSION_REFUSAL = /You do not have permission to perform this operation \(([^)]+)\)/;

/**
 * Maps a non-2xx answer to a specific error. Codes from the backend: BadAdminKey (401, a key it does not
 * know: crates/authentication/src/application_auth.rs), BadDeployKey (403, no admin identity:
 * crates/keybroker/src/operations.rs), OperationNotPermitted (403, a restricted key: crates/roles/src/eval.rs),
 * ExportInProgress (400: crates/application/src/lib.rs `request_export`).
 */
export async function errorFromResponse(
  base: string,
  response: Response,
  during = "talking to it",
): Promise<SourceDeploymentError> {
  const body = await readError(response);
  const detail = [body.code, body.message].filter(Boolean).join(": ").slice(0, 500);
  const status = response.status;
  if (body.code === "ExportInProgress")
    return new SourceDeploymentError(
      "export_in_progress",
      `another export is requested or running on ${base} (a dashboard or scheduled backup, or another ` +
        `snapshot export); a new one can start only after it ends`,
    );
  const refused = PERMISSION_REFUSAL.exec(body.message ?? "");
  if (body.code === "OperationNotPermitted" || refused)
    return missingPermissionError(base, refused?.[1] ?? "?", during);
  if (body.code === "BadAdminKey" || body.code === "BadDeployKey" || body.code === "SystemIdentityRequired")
    return new SourceDeploymentError(
      "key_rejected",
      `${base} does not accept this deploy key (${status} ${body.code}): it is for another deployment or ` +
        `no longer valid. Generate a deploy key for this deployment in its Convex dashboard settings`,
    );
  if (status === 401 || status === 403)
    return new SourceDeploymentError("key_rejected", `deploy key refused by ${base} (${status} ${detail})`);
  if (status === 404)
    return new SourceDeploymentError(
      "not_found",
      `no Convex deployment API answers at ${base} (404${detail ? ` ${detail}` : ""}); the URL should be ` +
        `the deployment's https://<name>.convex.cloud address (or a self-hosted backend's API URL)`,
    );
  if (status >= 500) return new SourceDeploymentError("server_error", `${base} answered ${status} ${detail}`);
  return new SourceDeploymentError("bad_response", `${base} answered ${status} ${detail}`);
}

/**
 * Runs a system query at the root with `POST /api/query` and unwraps the `{status, value}` envelope. A
 * function's own failure is HTTP 200 with `{status: "error", errorMessage: "[Request ID: …] Server Error\n…"}`
 * (crates/local_backend/src/public_api.rs, crates/application/src/redaction.rs).
 */
export async function runQuery(
  source: SourceDeployment,
  path: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  const base = baseOf(source);
  // format "json": int64 values come back as decimal strings (crates/value/src/export.rs ConvexCleanJSON).
  const response = await call(source, "/api/query", {
    method: "POST",
    body: JSON.stringify({ path, args, format: "json" }),
  });
  if (!response.ok) throw await errorFromResponse(base, response, `running ${path}`);
  const body = (await response.json().catch(() => null)) as {
    status?: string;
    value?: unknown;
    errorMessage?: string;
  } | null;
  if (body?.status === "success") return body.value;
  const message = body?.errorMessage ?? "malformed answer";
  const refused = PERMISSION_REFUSAL.exec(message);
  if (refused) throw missingPermissionError(base, refused[1]!, `running ${path}`);
  throw new SourceDeploymentError("bad_response", `${path} on ${base} failed: ${message.slice(0, 500)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------------------

interface ComponentInfo {
  id: string;
  path: string;
}

/** `_system/frontend/components:list` (npm-packages/system-udfs/convex/_system/frontend/components.ts). */
async function listComponents(source: SourceDeployment): Promise<ComponentInfo[]> {
  const value = await runQuery(source, "_system/frontend/components:list", {});
  if (!Array.isArray(value))
    throw new SourceDeploymentError("bad_response", "the component list is not an array");
  return value.filter((c): c is ComponentInfo => typeof c?.id === "string" && typeof c?.path === "string");
}

/**
 * `_system/frontend/getTableMapping` (…/_system/frontend/getTableMapping.ts): table number → name of one
 * component's tables (the root without `componentId`); `_scheduled_jobs` and `_file_storage` are in it too.
 */
async function tablesOf(source: SourceDeployment, componentId: string | undefined): Promise<string[]> {
  const value = await runQuery(
    source,
    "_system/frontend/getTableMapping",
    componentId === undefined ? {} : { componentId },
  );
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new SourceDeploymentError("bad_response", "the table mapping is not an object");
  return Object.values(value).filter(
    (name): name is string => typeof name === "string" && !name.startsWith("_"),
  );
}

/**
 * Every table of the deployment, component tables qualified as `<component path>/<table>` (the contract's
 * `qualifiedTableName`), sorted.
 */
export async function listTables(source: SourceDeployment): Promise<string[]> {
  const all = await tablesOf(source, undefined);
  for (const component of await listComponents(source)) {
    if (!component.path) continue; // the root, listed above
    for (const table of await tablesOf(source, component.id)) all.push(`${component.path}/${table}`);
  }
  return [...new Set(all)].sort();
}

/**
 * What saving an app checks: the key reads data (ViewData, by listing tables), reads export state
 * (ViewBackups) and may download exports (DownloadBackups: a download of a snapshot that cannot exist
 * answers 404 ExportNotFound only after the permission check, crates/local_backend/src/snapshot_export.rs
 * `get_zip_export`). CreateBackups cannot be checked without starting an export: a key without it fails on
 * the first sync, with the permission named.
 */
export async function checkSourceAccess(source: SourceDeployment): Promise<{ tables: string[] }> {
  checkKeyMatchesUrl(source.deployKey, baseOf(source));
  const tables = await listTables(source);
  await latestExport(source);
  const base = baseOf(source);
  const probe = await call(source, "/api/export/zip/1", { method: "GET" });
  if (probe.status !== 404) {
    if (probe.ok) await probe.body?.cancel();
    else throw await errorFromResponse(base, probe, "checking that it may download snapshots");
  } else await probe.body?.cancel();
  return { tables };
}

// ---------------------------------------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------------------------------------

/**
 * POST /api/export/request/zip. Resolves to "requested", or "in_progress" when another export (of any kind:
 * snapshot, dashboard or scheduled backup) is requested or running and ours cannot start yet.
 */
export async function requestExport(
  source: SourceDeployment,
  includeStorage: boolean,
): Promise<"requested" | "in_progress"> {
  const base = baseOf(source);
  const response = await call(source, `/api/export/request/zip?includeStorage=${includeStorage}`, {
    method: "POST",
  });
  if (response.ok) {
    await response.body?.cancel();
    return "requested";
  }
  const error = await errorFromResponse(base, response, "requesting a snapshot export");
  if (error.kind === "export_in_progress") return "in_progress";
  throw error;
}

export type ExportState =
  | { state: "none" }
  | { state: "requested"; progress?: string }
  /** `startTs`: when the export worker began (`now_ts_for_reads`), at or before the snapshot it will take. */
  | { state: "in_progress"; progress?: string; startTs?: string }
  | { state: "completed"; exportId: string; startTs: string; completeTs: string; expirationTs?: string }
  | { state: "failed" | "canceled"; exportId?: string; endedTs?: string };

/** An int64 as format "json" writes it: a decimal string. A JS number could not hold a ns timestamp exactly. */
function int64String(value: unknown): string | undefined {
  return typeof value === "string" && /^\d+$/.test(value) ? value : undefined;
}

/**
 * Interprets the `_exports` document from `_system/cli/exports:getLatest` (crates/model/src/exports/types.rs
 * `SerializedExport`): states requested | in_progress | completed | failed | canceled (older documents say
 * `cancelled`, with `cancelled_ts`). `start_ts` of an in_progress export is when the worker began it
 * (crates/application/src/exports/worker.rs: `now_ts_for_reads()` then `Export::in_progress(ts)`); the worker
 * then takes `latest_database_snapshot()`, and `Export::completed` replaces `start_ts` with that snapshot's
 * timestamp — so a completed export's `start_ts` is the snapshot's, at or after the in_progress one.
 */
export function parseExportDocument(doc: unknown): ExportState {
  if (doc === null || doc === undefined) return { state: "none" };
  const d = doc as Record<string, unknown>;
  const exportId = typeof d._id === "string" ? { exportId: d._id } : {};
  switch (d.state) {
    case "requested":
      return {
        state: d.state,
        ...(typeof d.progress_message === "string" ? { progress: d.progress_message } : {}),
      };
    case "in_progress": {
      const startTs = int64String(d.start_ts);
      return {
        state: d.state,
        ...(typeof d.progress_message === "string" ? { progress: d.progress_message } : {}),
        ...(startTs ? { startTs } : {}),
      };
    }
    case "completed": {
      const startTs = int64String(d.start_ts);
      const completeTs = int64String(d.complete_ts);
      if (!startTs || !completeTs || typeof d._id !== "string")
        throw new SourceDeploymentError(
          "bad_response",
          "completed export without _id, or start_ts/complete_ts as int64 decimal strings",
        );
      const expirationTs = int64String(d.expiration_ts);
      return {
        state: "completed",
        exportId: d._id,
        startTs,
        completeTs,
        ...(expirationTs ? { expirationTs } : {}),
      };
    }
    case "failed": {
      const endedTs = int64String(d.failed_ts);
      return { state: "failed", ...exportId, ...(endedTs ? { endedTs } : {}) };
    }
    case "canceled":
    case "cancelled": {
      const endedTs = int64String(d.canceled_ts ?? d.cancelled_ts);
      return { state: "canceled", ...exportId, ...(endedTs ? { endedTs } : {}) };
    }
    default:
      throw new SourceDeploymentError(
        "bad_response",
        `export has an unknown state ${JSON.stringify(d.state)}`,
      );
  }
}

export async function latestExport(source: SourceDeployment): Promise<ExportState> {
  return parseExportDocument(await runQuery(source, "_system/cli/exports:getLatest", {}));
}

/** Nanosecond timestamp string → epoch ms. */
export function nsToMs(ns: string): number {
  return Number(BigInt(ns) / 1_000_000n);
}
