/**
 * Talking to a source Convex deployment with its deploy key, over plain HTTP (no Convex client):
 * list tables (`_system/cli/tables` per component, as `npx convex data` does), request a snapshot export and
 * read the latest export's state (`_system/cli/exports:getLatest`). See shared notes convex-export.md §2.
 *
 * Every failure becomes a {@link SourceDeploymentError} whose `kind` says what went wrong and whether a
 * later try may succeed. The deploy key is never part of a message.
 */
import { fetchWithTimeout } from "./fetchTimeout";

export type SourceErrorKind =
  | "bad_url"
  | "unreachable"
  | "key_rejected"
  | "missing_permission"
  | "not_found"
  | "export_in_progress"
  | "server_error"
  | "bad_response";

const RETRYABLE: Record<SourceErrorKind, boolean> = {
  bad_url: false,
  unreachable: true,
  key_rejected: false,
  missing_permission: false,
  not_found: false,
  export_in_progress: true,
  server_error: true,
  bad_response: false,
};

export class SourceDeploymentError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly kind: SourceErrorKind,
    message: string,
  ) {
    super(message);
    this.retryable = RETRYABLE[kind];
  }
}

export const SOURCE_REQUEST_TIMEOUT_MS = 30_000;
const TABLES_PAGE_SIZE = 10_000;

export interface SourceDeployment {
  url: string;
  deployKey: string;
  fetch?: typeof fetch;
}

/** Accepts https URLs, and http only for loopback (local backends, tests). Returns the URL without a trailing /. */
export function normalizeDeploymentUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SourceDeploymentError(
      "bad_url",
      `"${raw}" is not a URL (expected https://<name>.convex.cloud)`,
    );
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    throw new SourceDeploymentError("bad_url", `deployment URL ${url.origin} must use https`);
  if (url.pathname !== "/" || url.search || url.hash)
    throw new SourceDeploymentError("bad_url", `deployment URL must be just the origin, like ${url.origin}`);
  return url.origin;
}

async function call(source: SourceDeployment, path: string, init: RequestInit): Promise<Response> {
  const base = normalizeDeploymentUrl(source.url);
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

/** Maps a non-2xx answer to a specific error. */
export async function errorFromResponse(base: string, response: Response): Promise<SourceDeploymentError> {
  const body = await readError(response);
  const detail = [body.code, body.message].filter(Boolean).join(": ").slice(0, 500);
  const status = response.status;
  if (body.code === "ExportInProgress")
    return new SourceDeploymentError("export_in_progress", `an export is already running on ${base}`);
  if (status === 401 || body.code === "BadAdminKey" || body.code === "BadDeployKey")
    return new SourceDeploymentError("key_rejected", `deploy key rejected by ${base} (${status} ${detail})`);
  if (status === 403 || /permission/i.test(detail))
    return new SourceDeploymentError(
      "missing_permission",
      `deploy key lacks a permission on ${base} (${status} ${detail}); it needs to read data and create and download backups`,
    );
  if (status === 404)
    return new SourceDeploymentError("not_found", `no Convex deployment answers at ${base} (404 ${detail})`);
  if (status >= 500) return new SourceDeploymentError("server_error", `${base} answered ${status} ${detail}`);
  return new SourceDeploymentError("bad_response", `${base} answered ${status} ${detail}`);
}

/**
 * Runs a (system) query and unwraps the `{status, value}` envelope: POST /api/query (the documented HTTP API)
 * for the root; POST /api/function for a component, the endpoint through which `ConvexHttpClient` passes a
 * `componentPath` (the id from `_system/frontend/components:list`, as `npx convex data --component` does).
 */
export async function runQuery(
  source: SourceDeployment,
  path: string,
  args: Record<string, unknown>,
  componentPath?: string,
): Promise<unknown> {
  const base = normalizeDeploymentUrl(source.url);
  const response = await call(source, componentPath ? "/api/function" : "/api/query", {
    method: "POST",
    body: JSON.stringify({ path, args, format: "json", ...(componentPath ? { componentPath } : {}) }),
  });
  if (!response.ok && response.status !== 560) throw await errorFromResponse(base, response);
  const body = (await response.json().catch(() => null)) as {
    status?: string;
    value?: unknown;
    errorMessage?: string;
  } | null;
  if (body?.status === "success") return body.value;
  const message = body?.errorMessage ?? "malformed answer";
  if (/permission/i.test(message))
    throw new SourceDeploymentError("missing_permission", `${path} on ${base}: ${message}`);
  throw new SourceDeploymentError("bad_response", `${path} on ${base} failed: ${message}`);
}

interface ComponentInfo {
  id: string;
  path: string;
}

async function listComponents(source: SourceDeployment): Promise<ComponentInfo[]> {
  const value = await runQuery(source, "_system/frontend/components:list", {});
  if (!Array.isArray(value))
    throw new SourceDeploymentError("bad_response", "component list is not an array");
  return value.filter((c): c is ComponentInfo => typeof c?.id === "string" && typeof c?.path === "string");
}

async function listTablesOf(source: SourceDeployment, componentId: string | undefined): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = (await runQuery(
      source,
      "_system/cli/tables",
      { paginationOpts: { cursor, numItems: TABLES_PAGE_SIZE } },
      componentId,
    )) as { page?: { name?: unknown }[]; isDone?: boolean; continueCursor?: string } | null;
    if (!page || !Array.isArray(page.page))
      throw new SourceDeploymentError("bad_response", "table list has no page");
    for (const t of page.page) if (typeof t.name === "string") names.push(t.name);
    if (page.isDone !== false || !page.continueCursor) return names;
    cursor = page.continueCursor;
  }
}

/**
 * Every table of the deployment, component tables qualified as `<component path>/<table>` (the contract's
 * `qualifiedTableName`), sorted.
 */
export async function listTables(source: SourceDeployment): Promise<string[]> {
  const root = await listTablesOf(source, undefined);
  let components: ComponentInfo[];
  try {
    components = await listComponents(source);
  } catch (error) {
    // Deployments without the components system query still have root tables.
    if (error instanceof SourceDeploymentError && error.kind === "bad_response") components = [];
    else throw error;
  }
  const all = [...root];
  for (const component of components) {
    if (!component.path) continue;
    for (const table of await listTablesOf(source, component.id)) all.push(`${component.path}/${table}`);
  }
  return all.sort();
}

/** POST /api/export/request/zip. Resolves to "requested", or "in_progress" when one is already running. */
export async function requestExport(
  source: SourceDeployment,
  includeStorage: boolean,
): Promise<"requested" | "in_progress"> {
  const base = normalizeDeploymentUrl(source.url);
  const response = await call(source, `/api/export/request/zip?includeStorage=${includeStorage}`, {
    method: "POST",
  });
  if (response.ok) return "requested";
  const error = await errorFromResponse(base, response);
  if (error.kind === "export_in_progress") return "in_progress";
  throw error;
}

export type ExportState =
  | { state: "none" }
  | { state: "requested" | "in_progress"; progress?: string }
  | { state: "completed"; exportId: string; startTs: string; completeTs: string; expirationTs?: string }
  | { state: "failed" | "canceled"; exportId?: string };

function nsString(value: unknown): string | undefined {
  if (typeof value === "string" && /^\d+$/.test(value)) return value;
  if (typeof value === "number" && Number.isFinite(value)) return BigInt(Math.round(value)).toString();
  return undefined;
}

/** Interprets the `_exports` document returned by `_system/cli/exports:getLatest`. */
export function parseExportDocument(doc: unknown): ExportState {
  if (doc === null || doc === undefined) return { state: "none" };
  const d = doc as Record<string, unknown>;
  switch (d.state) {
    case "requested":
    case "in_progress":
      return {
        state: d.state,
        ...(typeof d.progress_message === "string" ? { progress: d.progress_message } : {}),
      };
    case "completed": {
      const startTs = nsString(d.start_ts);
      const completeTs = nsString(d.complete_ts);
      if (!startTs || !completeTs || typeof d._id !== "string")
        throw new SourceDeploymentError(
          "bad_response",
          "completed export without _id, start_ts or complete_ts",
        );
      const expirationTs = nsString(d.expiration_ts);
      return {
        state: "completed",
        exportId: d._id,
        startTs,
        completeTs,
        ...(expirationTs ? { expirationTs } : {}),
      };
    }
    case "failed":
    case "canceled":
      return { state: d.state, ...(typeof d._id === "string" ? { exportId: d._id } : {}) };
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
