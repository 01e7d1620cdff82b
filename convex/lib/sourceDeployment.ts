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
import { fetchWithTimeout } from "./fetchTimeout";

export type SourceErrorKind =
  | "bad_url"
  | "unreachable"
  | "key_rejected"
  | "unsupported_key"
  | "missing_permission"
  | "not_found"
  | "export_in_progress"
  | "server_error"
  | "bad_response";

const RETRYABLE: Record<SourceErrorKind, boolean> = {
  bad_url: false,
  unreachable: true,
  key_rejected: false,
  unsupported_key: false,
  missing_permission: false,
  not_found: false,
  export_in_progress: true,
  server_error: true,
  bad_response: false,
};

/** The app form field a failure is about. */
export function fieldOfKind(kind: SourceErrorKind): "deploymentUrl" | "deployKey" {
  return kind === "key_rejected" || kind === "unsupported_key" || kind === "missing_permission"
    ? "deployKey"
    : "deploymentUrl";
}

export class SourceDeploymentError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly kind: SourceErrorKind,
    message: string,
    /** For `missing_permission`: the permissions the key lacks, as the Convex dashboard names them. */
    readonly missingPermissions: DeploymentPermission[] = [],
  ) {
    super(message);
    this.retryable = RETRYABLE[kind];
  }
}

export const SOURCE_REQUEST_TIMEOUT_MS = 30_000;

/** What a restricted deploy key needs (keybroker's `DeploymentOp` names, as the dashboard lists them). */
export const REQUIRED_PERMISSIONS = ["ViewData", "ViewBackups", "CreateBackups", "DownloadBackups"] as const;
export type DeploymentPermission = (typeof REQUIRED_PERMISSIONS)[number];

/**
 * How the backend names an operation it refuses: "You do not have permission to perform this operation
 * (deployment:data:view)." (crates/roles/src/eval.rs `require_operation`, crates/roles/src/types.rs
 * `RoleStatementAction`). Older backends printed the operation's own name; both are recognised.
 */
const PERMISSION_OF_ACTION: Record<string, DeploymentPermission> = {
  "deployment:data:view": "ViewData",
  "deployment:backups:view": "ViewBackups",
  "deployment:backups:create": "CreateBackups",
  "deployment:backups:download": "DownloadBackups",
  ViewData: "ViewData",
  ViewBackups: "ViewBackups",
  CreateBackups: "CreateBackups",
  DownloadBackups: "DownloadBackups",
};

function missingPermissionError(base: string, action: string, during: string): SourceDeploymentError {
  const permission = PERMISSION_OF_ACTION[action];
  const named = permission ?? action;
  return new SourceDeploymentError(
    "missing_permission",
    `the deploy key lacks the ${named} permission on ${base} (refused while ${during}). Give the key ` +
      `${REQUIRED_PERMISSIONS.join(", ")} (or use an unrestricted production deploy key).`,
    permission ? [permission] : [],
  );
}

export interface SourceDeployment {
  url: string;
  deployKey: string;
  /** Allow `http://` to a private host (self-hosted Convex on a private network). */
  allowInsecureHttp?: boolean;
  fetch?: typeof fetch;
}

// ---------------------------------------------------------------------------------------------------------
// Deployment URLs
// ---------------------------------------------------------------------------------------------------------

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
const PRIVATE_HOST =
  /^(10(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|169\.254(?:\.\d{1,3}){2}|\[f[cd][0-9a-f]{2}:[0-9a-f:]*\]|\[fe80:[0-9a-f:]*\]|[a-z0-9-]+|.+\.(?:local|internal|lan|home\.arpa))$/i;

/** Loopback needs no flag (nothing leaves the machine); other private hosts need `allowInsecureHttp`. */
export function isPrivateHost(hostname: string): boolean {
  return LOOPBACK.test(hostname) || PRIVATE_HOST.test(hostname);
}

/**
 * Checks a deployment URL and returns it without a trailing `/`. Accepted:
 * - Convex cloud: `https://<name>.convex.cloud` (not `.convex.site`, the HTTP-actions host);
 * - self-hosted: any `https://` host, optionally with a path prefix (a reverse proxy at `/convex`);
 * - `http://` only to loopback, or to a private host when `allowInsecureHttp` is set: the deploy key then
 *   travels unencrypted, readable by anyone on that network.
 */
export function normalizeDeploymentUrl(raw: string, options: { allowInsecureHttp?: boolean } = {}): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SourceDeploymentError(
      "bad_url",
      `"${raw}" is not a URL (expected https://<name>.convex.cloud)`,
    );
  }
  const host = url.hostname.toLowerCase();
  if (host.endsWith(".convex.site"))
    throw new SourceDeploymentError(
      "bad_url",
      `${url.origin} is the deployment's HTTP-actions address; use its API address ` +
        `https://${host.slice(0, -".convex.site".length)}.convex.cloud`,
    );
  if (host === "dashboard.convex.dev")
    throw new SourceDeploymentError(
      "bad_url",
      "that is the Convex dashboard's address; use the deployment's API URL https://<name>.convex.cloud " +
        "(the deployment's Settings page shows it)",
    );
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new SourceDeploymentError("bad_url", `deployment URL ${url.origin} must use https`);
  if (url.username || url.password)
    throw new SourceDeploymentError("bad_url", "the deployment URL must not contain a user name or password");
  if (url.search || url.hash)
    throw new SourceDeploymentError("bad_url", `deployment URL must not have a query or fragment`);
  if (url.protocol === "http:" && !LOOPBACK.test(host)) {
    if (!isPrivateHost(host))
      throw new SourceDeploymentError(
        "bad_url",
        `deployment URL ${url.origin} must use https (http is possible only for a host on a private network)`,
      );
    if (!options.allowInsecureHttp)
      throw new SourceDeploymentError(
        "bad_url",
        `deployment URL ${url.origin} uses http: the deploy key would travel unencrypted. Use https, or allow ` +
          `unencrypted http for this app if ${host} is on a network you trust`,
      );
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (host.endsWith(".convex.cloud") && path)
    throw new SourceDeploymentError("bad_url", `deployment URL must be just the origin, like ${url.origin}`);
  return `${url.origin}${path}`;
}

// ---------------------------------------------------------------------------------------------------------
// Deploy keys
// ---------------------------------------------------------------------------------------------------------

export type DeployKeyInfo = {
  /** `prod`, `dev`, `preview` (a preview deployment's own key), `custom`…; `legacy` without a prefix. */
  type: string;
  /** The deployment the key belongs to, when the key says. */
  deploymentName?: string;
};

/**
 * Tells deployment keys from the keys that cannot read one deployment's data. Formats from the Convex CLI
 * (node_modules/convex/src/cli/lib/deployment.ts): `prod:<deployment>|<secret>`, `dev:<deployment>|…`,
 * `preview:<deployment>|…` (a preview deployment's own key); a preview deploy key `preview:<team>:<project>|…`
 * creates preview deployments; a project token `project:<team>:<project>|…` manages a project. Self-hosted
 * admin keys (`<instance>|<secret>`) have no type prefix.
 */
export function classifyDeployKey(key: string): DeployKeyInfo {
  const bar = key.indexOf("|");
  const prefix = bar === -1 ? "" : key.slice(0, bar);
  const parts = prefix.split(":");
  if (parts[0] === "project" && parts.length >= 2)
    throw new SourceDeploymentError(
      "unsupported_key",
      "this is a project token, which manages a project rather than reading one deployment: use the " +
        "deployment's deploy key (Convex dashboard → the deployment → Settings → Deploy keys)",
    );
  if (parts[0] === "preview" && parts.length === 3)
    throw new SourceDeploymentError(
      "unsupported_key",
      "this is a preview deploy key, which creates preview deployments: use the deploy key of the " +
        "deployment to copy (usually production: Settings → Deploy keys of the production deployment)",
    );
  if (parts.length === 2 && parts[1]) return { type: parts[0]!, deploymentName: parts[1] };
  return prefix && !prefix.includes(":") ? { type: "legacy", deploymentName: prefix } : { type: "legacy" };
}

/** A key for deployment A against `https://B.convex.cloud` is refused before anything is sent. */
export function checkKeyMatchesUrl(key: string, url: string): void {
  const { deploymentName } = classifyDeployKey(key);
  const host = new URL(url).hostname;
  if (!deploymentName || !host.endsWith(".convex.cloud")) return;
  const urlName = host.split(".")[0];
  if (urlName !== deploymentName)
    throw new SourceDeploymentError(
      "key_rejected",
      `this deploy key belongs to deployment ${deploymentName}, but the URL is deployment ${urlName}'s`,
    );
}

// ---------------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------------

function baseOf(source: SourceDeployment): string {
  return normalizeDeploymentUrl(source.url, { allowInsecureHttp: source.allowInsecureHttp });
}

async function call(source: SourceDeployment, path: string, init: RequestInit): Promise<Response> {
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
  | { state: "requested" | "in_progress"; progress?: string }
  | { state: "completed"; exportId: string; startTs: string; completeTs: string; expirationTs?: string }
  | { state: "failed" | "canceled"; exportId?: string; endedTs?: string };

/** An int64 as format "json" writes it: a decimal string. A JS number could not hold a ns timestamp exactly. */
function int64String(value: unknown): string | undefined {
  return typeof value === "string" && /^\d+$/.test(value) ? value : undefined;
}

/**
 * Interprets the `_exports` document from `_system/cli/exports:getLatest` (crates/model/src/exports/types.rs
 * `SerializedExport`): states requested | in_progress | completed | failed | canceled (older documents say
 * `cancelled`, with `cancelled_ts`); `start_ts` of a completed export is the snapshot's timestamp.
 */
export function parseExportDocument(doc: unknown): ExportState {
  if (doc === null || doc === undefined) return { state: "none" };
  const d = doc as Record<string, unknown>;
  const exportId = typeof d._id === "string" ? { exportId: d._id } : {};
  switch (d.state) {
    case "requested":
    case "in_progress":
      return {
        state: d.state,
        ...(typeof d.progress_message === "string" ? { progress: d.progress_message } : {}),
      };
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
