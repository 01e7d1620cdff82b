/**
 * A stand-in for a source Convex deployment, built from the backend's own source (get-convex/convex-backend,
 * read at commit 94a42c3d) so that it answers every call our code makes the way a real deployment does — and
 * refuses the calls a real deployment refuses. It is the one stand-in for the offline demo
 * (scripts/demo/demo.ts), the control-plane tests (convex/*.test.ts), the executor tests and the browser tests.
 *
 * Routes (crates/local_backend/src/router.rs, public_api.rs, snapshot_export.rs):
 *
 *   POST /api/query                  system queries at the root: cli/tables, frontend/components:list,
 *                                    frontend/getTableMapping (per component through `componentId`),
 *                                    cli/exports:getLatest
 *   POST /api/function               admins only; looks functions up among deployed modules (never `_system/*`)
 *                                    of the component named by the path `componentPath`
 *   POST /api/export/request/zip     queues a snapshot export (the worker below runs it)
 *   GET  /api/export/zip/{id}        a completed export's ZIP, by snapshot timestamp or export id
 *
 * Exports move requested → in_progress → completed like the export worker (crates/application/src/exports/
 * worker.rs); `worker: "manual"` lets a test take each step with `source.exportWorker.step()`.
 *
 * Download faults (`failNextDownload`) imitate the network and proxies between us and Convex, not Convex.
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";

/** keybroker's `DeploymentOp` (crates/keybroker/src/operations.rs); the ones our code needs. */
export type DeploymentOp = "ViewData" | "ViewBackups" | "CreateBackups" | "DownloadBackups";

/**
 * How `require_operation` names an operation in its refusal (crates/roles/src/eval.rs `deployment_op_action`,
 * strum names in crates/roles/src/types.rs `RoleStatementAction`).
 */
export const OPERATION_ACTION: Record<DeploymentOp, string> = {
  ViewData: "deployment:data:view",
  ViewBackups: "deployment:backups:view",
  CreateBackups: "deployment:backups:create",
  DownloadBackups: "deployment:backups:download",
};

/** A download fault: what a flaky network or proxy does to `GET /api/export/zip/{id}`. */
export type DownloadFault =
  | "ok"
  /** Answers with this status and a Convex-style JSON error. */
  | { status: number }
  /** Sends the headers and about half the body, then destroys the connection. */
  | "drop"
  /** Announces the full Content-Length, sends about half, then ends the response cleanly. */
  | "truncate"
  /** Sends the body in small chunks with a pause between them. */
  | { slowChunkMs: number }
  /** Sends the headers, then nothing (a stalled server). */
  | "stall";

export interface RecordedRequest {
  method: string;
  /** Path and query string. */
  path: string;
  authorization: string | undefined;
  range: string | undefined;
  body: string;
  status: number;
}

export interface ConvexSourceOptions {
  /** The deployment's admin (deploy) key: `prod:<name>|<secret>`; every operation allowed. */
  deployKey: string;
  /** Restricted deploy keys with only these operations (a read-only key has no CreateBackups). */
  restrictedKeys?: Record<string, DeploymentOp[]>;
  /** Root tables, and tables of each component by component path (`chat`, `chat/workpool`). */
  tables?: { root: string[]; components?: Record<string, string[]> };
  /** The ZIP each requested export produces. */
  zipFile?: string;
  /** Exports that completed before the test, snapshot timestamp (ns) → ZIP file. */
  completedExports?: Record<string, string>;
  /** "auto" (default): the worker starts at once and completes after `exportDelayMs`. "manual": `step()`. */
  worker?: "auto" | "manual";
  exportDelayMs?: number;
  /** Deployment name used in download file names; default from the deploy key. */
  deploymentName?: string;
  /** Serve under this path, as a self-hosted backend behind a reverse proxy at `/convex` is reached. */
  pathPrefix?: string;
  port?: number;
}

/** An `_exports` document as the backend stores it (crates/model/src/exports/types.rs `SerializedExport`). */
interface ExportDoc {
  _id: string;
  _creationTime: number;
  state: "requested" | "in_progress" | "completed" | "failed" | "canceled";
  format: { format: "zip"; include_storage: boolean };
  component: string | null;
  requestor: "snapshotExport" | "cloudBackup";
  expiration_ts: bigint;
  start_ts?: bigint;
  complete_ts?: bigint;
  failed_ts?: bigint;
  canceled_ts?: bigint;
  progress_message?: string | null;
  zip_object_key?: string;
  size?: bigint;
  /** Not part of the document: the ZIP this export serves. */
  zip?: Buffer;
  /** Write the state as `cancelled`, the spelling older backends stored (serde alias in types.rs). */
  oldSpelling?: boolean;
}

export interface ExportWorker {
  /** Advances the oldest unfinished export one step: requested → in_progress → completed. */
  step(options?: { progress?: string }): void;
  /** The in-progress export fails (Export::Failed). */
  fail(): void;
  /** An admin cancels the unfinished export (Export::Canceled); `oldSpelling` stores `cancelled`. */
  cancel(options?: { oldSpelling?: boolean }): void;
  /** A dashboard or scheduled backup (requestor cloudBackup): unseen by getLatest, blocks new requests. */
  startBackup(): void;
  /** Adds a completed snapshot export, as if it had run before. Returns its snapshot timestamp. */
  addCompleted(options?: { completeTs?: bigint; expirationTs?: bigint; zipFile?: string }): string;
  /** The `_exports` documents, oldest first, in the JSON the system queries return. */
  documents(): Record<string, unknown>[];
}

export interface ConvexSource {
  url: string;
  deploymentName: string;
  requests: RecordedRequest[];
  /** How many snapshot downloads were sent in full. */
  readonly downloads: number;
  /** Component ids as `_system/frontend/components:list` reports them, by component path. */
  componentIds: Record<string, string>;
  exportWorker: ExportWorker;
  failNextDownload(...faults: DownloadFault[]): void;
  close(): Promise<void>;
}

/** ns timestamps as Convex writes them. */
export function nsOf(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

/** Export document ids and component ids are Convex document ids: 32 base32 characters. */
function documentId(): string {
  const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  let id = "k";
  for (let i = 0; i < 31; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

/** crates/common/src/execution_context.rs `RequestId::new`: 8 random bytes, hex. */
function requestId(): string {
  let id = "";
  for (let i = 0; i < 16; i++) id += Math.floor(Math.random() * 16).toString(16);
  return id;
}

/**
 * crates/common/src/types/admin_key.rs `AdminKey::remove_type_prefix`: `prod:<name>|<key>` → `<name>|<key>`;
 * a `preview:` or `project:` prefix leaves only `<key>` (then checked as an access token).
 */
function withoutTypePrefix(key: string): string {
  const bar = key.indexOf("|");
  if (bar === -1) return key;
  const [prefix, keyPart] = [key.slice(0, bar), key.slice(bar + 1)];
  const colon = prefix.indexOf(":");
  if (colon === -1) return key;
  const type = prefix.slice(0, colon).toLowerCase();
  return type === "preview" || type === "project" ? keyPart : `${prefix.slice(colon + 1)}|${keyPart}`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A function's own failure: HTTP 200 with `{status: "error"}` (public_api.rs `UdfResponse::Error`). */
class FunctionError extends Error {}

type Identity = { kind: "admin"; ops: Set<DeploymentOp> | "all" } | { kind: "unknown" };

export async function startConvexSource(options: ConvexSourceOptions): Promise<ConvexSource> {
  const deploymentName =
    options.deploymentName ?? (/^(?:[a-z]+:)?([^|:]+)\|/.exec(options.deployKey)?.[1] || "local-deployment");
  const keys = new Map<string, Set<DeploymentOp> | "all">([[withoutTypePrefix(options.deployKey), "all"]]);
  for (const [key, ops] of Object.entries(options.restrictedKeys ?? {}))
    keys.set(withoutTypePrefix(key), new Set(ops));
  const tables = { root: options.tables?.root ?? [], components: options.tables?.components ?? {} };
  const rootId = documentId();
  const componentIds: Record<string, string> = Object.fromEntries(
    Object.keys(tables.components).map((path) => [path, documentId()]),
  );
  const zip = options.zipFile ? readFileSync(options.zipFile) : undefined;
  const exports: ExportDoc[] = [];
  const requests: RecordedRequest[] = [];
  const faults: DownloadFault[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let downloads = 0;
  let clockNs = nsOf(Date.now());
  /** Strictly increasing timestamps, like the database's commit timestamps. */
  const nextTs = () => (clockNs = nsOf(Date.now()) > clockNs ? nsOf(Date.now()) : clockNs + 1n);

  for (const [ts, file] of Object.entries(options.completedExports ?? {}))
    exports.push(
      completedDoc(
        BigInt(ts),
        BigInt(ts) + 1_000_000n,
        nsOf(Date.now() + 14 * 86_400_000),
        readFileSync(file),
      ),
    );

  function completedDoc(startTs: bigint, completeTs: bigint, expirationTs: bigint, body: Buffer): ExportDoc {
    return {
      _id: documentId(),
      _creationTime: Number(startTs / 1_000_000n),
      state: "completed",
      format: { format: "zip", include_storage: false },
      component: null,
      requestor: "snapshotExport",
      expiration_ts: expirationTs,
      start_ts: startTs,
      complete_ts: completeTs,
      zip_object_key: documentId(),
      size: BigInt(body.length),
      zip: body,
    };
  }

  // ---- the export worker (crates/application/src/exports/worker.rs, model/src/exports/types.rs) ----

  const unfinished = () => exports.find((e) => e.state === "requested" || e.state === "in_progress");

  const exportWorker: ExportWorker = {
    step({ progress } = {}) {
      const e = unfinished();
      if (!e) throw new Error("no export is requested or in progress");
      if (e.state === "requested") {
        // Export::in_progress: start_ts is when the first attempt began.
        Object.assign(e, { state: "in_progress", start_ts: nextTs(), progress_message: progress ?? null });
      } else if (progress !== undefined) {
        e.progress_message = progress;
      } else {
        // Export::completed replaces start_ts with the snapshot's database timestamp ("replace start_ts with
        // the actual database TS"): the in-progress start_ts is not the snapshot's.
        const snapshotTs = nextTs();
        const body = e.zip ?? zip ?? Buffer.alloc(0);
        Object.assign(e, {
          state: "completed",
          start_ts: snapshotTs,
          complete_ts: nextTs(),
          zip_object_key: documentId(),
          size: BigInt(body.length),
          zip: body,
        });
        delete e.progress_message;
      }
    },
    fail() {
      const e = exports.find((x) => x.state === "in_progress");
      if (!e) throw new Error("no export in progress");
      Object.assign(e, { state: "failed", failed_ts: nextTs() });
      delete e.progress_message;
    },
    cancel({ oldSpelling } = {}) {
      const e = unfinished();
      if (!e) throw new Error("no export to cancel");
      Object.assign(e, { state: "canceled", canceled_ts: nextTs(), oldSpelling });
      delete e.progress_message;
    },
    startBackup() {
      exports.push({ ...newRequest(false), requestor: "cloudBackup" });
    },
    addCompleted({ completeTs, expirationTs, zipFile } = {}) {
      const complete = completeTs ?? nextTs();
      const doc = completedDoc(
        complete - 1_000_000_000n,
        complete,
        expirationTs ?? complete + nsOf(14 * 86_400_000),
        zipFile ? readFileSync(zipFile) : (zip ?? Buffer.alloc(0)),
      );
      exports.push(doc);
      return doc.start_ts!.toString();
    },
    documents: () => exports.map((e) => cleanJson(exportDocument(e)) as Record<string, unknown>),
  };

  function newRequest(includeStorage: boolean): ExportDoc {
    return {
      _id: documentId(),
      _creationTime: Date.now(),
      state: "requested",
      format: { format: "zip", include_storage: includeStorage },
      component: null,
      requestor: "snapshotExport",
      expiration_ts: nsOf(Date.now() + 14 * 86_400_000),
    };
  }

  function exportDocument(e: ExportDoc): Record<string, unknown> {
    const { zip: _zip, oldSpelling, ...doc } = e;
    const out: Record<string, unknown> = { ...doc };
    if (doc.state === "canceled" && oldSpelling) {
      out.state = "cancelled";
      out.cancelled_ts = out.canceled_ts;
      delete out.canceled_ts;
    }
    return out;
  }

  function runAutomatically(): void {
    if (options.worker === "manual") return;
    const delay = options.exportDelayMs ?? 1_500;
    const later = (ms: number, fn: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
    };
    later(Math.min(50, delay), () => {
      exportWorker.step();
      later(Math.max(0, delay - 50), () => exportWorker.step());
    });
  }

  // ---- authentication (local_backend/src/authentication.rs, authentication/src/application_auth.rs) ----

  function identityOf(authorization: string | undefined): Identity {
    if (authorization === undefined) return { kind: "unknown" };
    if (!/^convex /i.test(authorization))
      // A bearer token is checked as a user's JWT; none of ours is one.
      throw new HttpError(401, "InvalidAuthHeader", "Could not parse as a user identity token");
    const ops = keys.get(withoutTypePrefix(authorization.slice(7).trim()));
    // check_key: an unknown key (or access token, NullAccessTokenAuth) is "unauthenticated" → 401 BadAdminKey.
    if (ops === undefined)
      throw new HttpError(401, "BadAdminKey", "The provided admin key was invalid for this instance");
    return { kind: "admin", ops };
  }

  /** crates/roles/src/eval.rs `require_operation`. */
  function requireOperation(identity: Identity, op: DeploymentOp): void {
    if (identity.kind !== "admin")
      throw new HttpError(
        403,
        "BadDeployKey",
        `The provided deploy key was invalid for deployment '${deploymentName}'. Double check that the environment this key was generated for matches the desired deployment.`,
      );
    if (identity.ops !== "all" && !identity.ops.has(op))
      throw new HttpError(
        403,
        "OperationNotPermitted",
        `You do not have permission to perform this operation (${OPERATION_ACTION[op]}).`,
      );
  }

  // ---- system functions (npm-packages/system-udfs/convex/_system) ----

  interface SystemFunction {
    op: DeploymentOp;
    args: string[];
    /** Only in a component (the system UDF re-runs itself there when given `componentId`). */
    run(args: Record<string, unknown>, component: string): unknown;
  }

  /** `performOp("getTableMapping")`: table number → name, system tables included. */
  function tableMapping(component: string): Record<string, string> {
    const names = component === "" ? tables.root : (tables.components[component] ?? []);
    const mapping: Record<string, string> = { "1": "_tables", "4": "_scheduled_jobs", "9": "_file_storage" };
    names.forEach((name, i) => (mapping[String(10_001 + i)] = name));
    return mapping;
  }

  const componentPathOfId = (id: string) =>
    id === rootId ? "" : Object.entries(componentIds).find(([, cid]) => cid === id)?.[0];

  const systemFunctions: Record<string, SystemFunction> = {
    // _system/cli/tables.ts: names of the current component's tables, `_`-prefixed ones left out.
    "_system/cli/tables:default": {
      op: "ViewData",
      args: ["paginationOpts"],
      run: (_args, component) => ({
        page: Object.values(tableMapping(component))
          .filter((name) => !name.startsWith("_"))
          .map((name) => ({ name })),
        isDone: true,
        continueCursor: "end",
      }),
    },
    // _system/frontend/components.ts: every `_components` document with its path; the root's path is "".
    "_system/frontend/components:list": {
      op: "ViewData",
      args: [],
      run: () => {
        if (Object.keys(componentIds).length === 0) return [];
        return [
          { id: rootId, path: "", args: {}, state: "active", httpPrefix: null },
          ...Object.entries(componentIds).map(([path, id]) => ({
            id,
            name: path.split("/").at(-1),
            path,
            args: {},
            state: "active",
            httpPrefix: null,
          })),
        ];
      },
    },
    // _system/frontend/getTableMapping.ts via secretSystemTables.ts `queryWithComponent`: with a componentId
    // the query runs in that component; `_` names are dropped except _scheduled_jobs and _file_storage.
    "_system/frontend/getTableMapping:default": {
      op: "ViewData",
      args: ["componentId"],
      run: (args, component) => {
        let inComponent = component;
        if (typeof args.componentId === "string") {
          const path = componentPathOfId(args.componentId);
          // UNVERIFIED wording: the backend fails resolving the component of an unknown id.
          if (path === undefined) throw new FunctionError(`Component ${args.componentId} not found`);
          inComponent = path;
        }
        return Object.fromEntries(
          Object.entries(tableMapping(inComponent)).filter(
            ([, name]) => !name.startsWith("_") || ["_scheduled_jobs", "_file_storage"].includes(name),
          ),
        );
      },
    },
    // _system/cli/exports.ts: the newest export with requestor "snapshotExport" (by_requestor index, desc).
    "_system/cli/exports:getLatest": {
      op: "ViewBackups",
      args: [],
      run: () => {
        const latest = exports.filter((e) => e.requestor === "snapshotExport").at(-1);
        return latest ? exportDocument(latest) : null;
      },
    },
  };

  /** crates/local_backend/src/parse.rs: `path/to/module` means its default export; `.js` is dropped. */
  function canonicalPath(path: string): string {
    const [module, name] = path.includes(":") ? path.split(":", 2) : [path, "default"];
    return `${module!.replace(/\.js$/, "")}:${name}`;
  }

  /**
   * Runs a function the way the backend does for an admin caller; a function's failure comes back as
   * `[Request ID: …] Server Error\n<error>` (application/src/redaction.rs `RedactedJsError` Display; admins
   * see the error, production hides it from others). `route` is the endpoint: `/api/query` validates the path
   * as a public export (udf/src/validation.rs), `/api/function` looks it up in the component's own modules
   * (application/src/lib.rs `any_udf`), and the two word a missing function differently.
   */
  function runFunction(
    identity: Identity,
    path: string,
    args: Record<string, unknown>,
    route: { kind: "query" } | { kind: "function"; component: string },
  ): { ok: true; value: unknown } | { ok: false; message: string } {
    const fail = (error: string) => ({
      ok: false as const,
      message: `[Request ID: ${requestId()}] Server Error\n${error}`,
    });
    const canonical = canonicalPath(path);
    const isSystem = canonical.startsWith("_system/");
    if (route.kind === "query" && isSystem && identity.kind !== "admin")
      // application_function_runner/mod.rs `run_query_at_ts_inner`: system queries need an admin or system
      // identity (database.rs `unauthorized_error`).
      throw new HttpError(403, "SystemIdentityRequired", "Operation query not permitted");
    const fn = systemFunctions[canonical];
    if (route.kind === "function" && (!fn || route.component !== ""))
      // application/src/lib.rs `any_udf`: looked up among the deployed modules (ModuleModel), which never hold
      // `_system/*`, so no system function is found this way, at the root or in a component.
      return fail(
        `Could not find function for '${canonical}'${route.component ? ` in '${route.component}'` : ""}. Did you forget to run \`npx convex dev\`?`,
      );
    if (!fn && !isSystem)
      // udf/src/validation.rs `missing_or_internal_error` (this stand-in deploys no user functions).
      return fail(`Could not find public function for '${canonical}'.`);
    if (!fn) {
      // A system path is not validated; running it fails in the module (model/src/modules/user_error.rs
      // FunctionNotFoundError). UNVERIFIED: an unknown system *module* fails earlier, in execution_scope.rs.
      const [module, name] = canonical.split(":") as [string, string];
      return fail(`Couldn't find "${name}" in module "${module}.js".`);
    }
    if (identity.kind === "admin" && identity.ops !== "all" && !identity.ops.has(fn.op))
      // _system/server.ts `withArgsValidated`: `requireOperation` comes first; its syscall fails inside the
      // function (isolate/src/request_scope.rs: a deterministic user error becomes a JS exception), so it is a
      // function error, not an HTTP 403.
      return fail(
        `Uncaught Error: You do not have permission to perform this operation (${OPERATION_ACTION[fn.op]}).`,
      );
    const extra = Object.keys(args).filter((k) => !fn.args.includes(k));
    // Then `validateArgs` against the function's validator: an unknown argument fails the call.
    if (extra.length > 0)
      return fail(
        `ArgumentValidationError: Object contains extra field \`${extra[0]}\` that is not in the validator.`,
      );
    try {
      return { ok: true, value: fn.run(args, "") };
    } catch (error) {
      if (error instanceof FunctionError) return fail(`Uncaught Error: ${error.message}`);
      throw error;
    }
  }

  /**
   * crates/value/src/export.rs: `format` picks how values (int64 above all) are written; without one, clients
   * the backend does not know get the clean format (common/src/version.rs `default_format`).
   */
  function encodeValue(value: unknown, format: unknown): unknown {
    if (format === undefined || format === "json" || format === "convex_clean_json") return cleanJson(value);
    if (format === "convex_encoded_json" || format === "convex_json") return encodedJson(value);
    throw new HttpError(400, "BadFormat", `format param must be one of [\`json\`]. Got ${String(format)}`);
  }

  async function handleFunctionCall(
    req: http.IncomingMessage,
    body: string,
    withComponent: boolean,
  ): Promise<[number, unknown]> {
    const identity = identityOf(req.headers.authorization);
    let parsed: { path?: unknown; args?: unknown; format?: unknown; componentPath?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch (error) {
      throw new HttpError(
        400,
        "BadJsonBody",
        `Failed to deserialize the JSON body: ${(error as Error).message}`,
      );
    }
    if (typeof parsed.path !== "string" || typeof parsed.args !== "object" || parsed.args === null)
      throw new HttpError(
        400,
        "BadJsonBody",
        "Failed to deserialize the JSON body: missing field `path` or `args`",
      );
    let component = "";
    if (withComponent) {
      // args_structs.rs `UdfPostRequestWithComponent::component_path`: admins only, then the path is a
      // path of component names (ComponentPath::deserialize), resolved by must_component_path_to_ids, whose
      // "Component path not found" carries no ErrorMetadata: a 500 with the generic message.
      if (identity.kind !== "admin") requireOperation(identity, "ViewData");
      component = typeof parsed.componentPath === "string" ? parsed.componentPath : "";
      if (component !== "" && !(component in componentIds))
        throw new HttpError(
          500,
          "InternalServerError",
          "Your request couldn't be completed. Try again later.",
        );
    }
    // public_api.rs `UdfPostRequest` has no deny_unknown_fields: /api/query ignores `componentPath` & co.
    const result = runFunction(
      identity,
      parsed.path,
      parsed.args as Record<string, unknown>,
      withComponent ? { kind: "function", component } : { kind: "query" },
    );
    if (!result.ok) return [200, { status: "error", errorMessage: result.message }];
    return [200, { status: "success", value: encodeValue(result.value, parsed.format) }];
  }

  function handleExportRequest(req: http.IncomingMessage, url: URL): [number, unknown] {
    // snapshot_export.rs `request_zip_export` → application/src/lib.rs `request_export`.
    const identity = identityOf(req.headers.authorization);
    const includeStorage = url.searchParams.get("includeStorage");
    if (includeStorage !== null && includeStorage !== "true" && includeStorage !== "false")
      throw new HttpError(400, "BadQueryParams", "Failed to deserialize query string");
    requireOperation(identity, "CreateBackups");
    // Any export requested or in progress blocks a new one, whoever asked for it (latest_requested /
    // latest_in_progress look at every requestor, scheduled and dashboard backups included).
    if (unfinished())
      throw new HttpError(400, "ExportInProgress", "There is already an export requested or in progress.");
    exports.push(newRequest(includeStorage === "true"));
    runAutomatically();
    return [200, undefined];
  }

  function downloadTarget(req: http.IncomingMessage, id: string): ExportDoc {
    // snapshot_export.rs `get_zip_export` → application/src/lib.rs `get_zip_export`.
    const identity = identityOf(req.headers.authorization);
    requireOperation(identity, "DownloadBackups");
    const byId = exports.find((e) => e._id === id);
    if (!byId && !/^\d+$/.test(id))
      throw new HttpError(400, "BadSnapshotId", "Snapshot Id did not parse to an ID.");
    // By timestamp only a completed export matches (completed_export_at_ts uses the by_state_and_ts index).
    const found = byId ?? exports.find((e) => e.state === "completed" && e.start_ts === BigInt(id));
    if (!found) throw new HttpError(404, "ExportNotFound", `The requested export ${id} was not found`);
    if (found.state !== "completed")
      throw new HttpError(400, "ExportNotComplete", `The requested export ${id} has not completed`);
    return found;
  }

  function sendZip(res: http.ServerResponse, record: RecordedRequest, e: ExportDoc): void {
    const body = e.zip ?? Buffer.alloc(0);
    const fault = faults.shift() ?? "ok";
    if (typeof fault === "object" && "status" in fault) {
      record.status = fault.status;
      res.writeHead(fault.status, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          code: "InternalServerError",
          message: "Your request couldn't be completed. Try again later.",
        }),
      );
      return;
    }
    // snapshot_export.rs `get_zip_export`: no Range support, the whole object with its Content-Length, always
    // 200; Content-Length, Content-Disposition and Cache-Control are all its headers (no Content-Type).
    record.status = 200;
    res.writeHead(200, {
      "content-length": String(body.length),
      // local_backend/src/custom_headers.rs `ContentDispositionAttachment`: the file name is not quoted.
      "content-disposition": `attachment; filename=snapshot_${deploymentName}_${e.start_ts}.zip`,
      "cache-control": "private, max-age=2592000",
    });
    const half = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
    switch (fault) {
      case "ok":
        res.end(body, () => downloads++);
        return;
      case "drop":
        res.write(half, () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case "truncate":
        res.write(half, () => setTimeout(() => res.socket?.end(), 20));
        return;
      case "stall":
        res.flushHeaders();
        return;
      default:
        void sendSlowly(res, body, fault.slowChunkMs).then((complete) => complete && downloads++);
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const record: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        authorization: req.headers.authorization,
        range: req.headers.range,
        body,
        status: 0,
      };
      requests.push(record);
      const reply = (status: number, payload: unknown) => {
        record.status = status;
        if (payload === undefined) return void res.writeHead(status).end();
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
      };
      void (async () => {
        const url = new URL(req.url ?? "/", "http://source");
        const prefix = options.pathPrefix ?? "";
        if (prefix) {
          if (!url.pathname.startsWith(`${prefix}/`)) return reply(404, undefined);
          url.pathname = url.pathname.slice(prefix.length);
        }
        const clientHeader = req.headers["convex-client"];
        // common/src/version.rs: the Convex-Client header must read `<client name>-<version>`.
        if (typeof clientHeader === "string" && !clientHeader.includes("-"))
          throw new HttpError(
            400,
            "InvalidClientVersion",
            `Failed to parse client version string: '${clientHeader}'.`,
          );
        if (req.method === "POST" && (url.pathname === "/api/query" || url.pathname === "/api/function"))
          return reply(...(await handleFunctionCall(req, body, url.pathname === "/api/function")));
        if (req.method === "POST" && url.pathname === "/api/export/request/zip")
          return reply(...handleExportRequest(req, url));
        const zipMatch = /^\/api\/export\/zip\/([^/]+)$/.exec(url.pathname);
        if (req.method === "GET" && zipMatch) return sendZip(res, record, downloadTarget(req, zipMatch[1]!));
        // No route: axum's default 404 with an empty body.
        reply(404, undefined);
      })().catch((error: unknown) => {
        if (res.headersSent) return;
        if (error instanceof HttpError) reply(error.status, { code: error.code, message: error.message });
        else
          reply(500, {
            code: "InternalServerError",
            message: "Your request couldn't be completed. Try again later.",
          });
      });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deploymentName,
    requests,
    get downloads() {
      return downloads;
    },
    componentIds,
    exportWorker,
    failNextDownload: (...next) => faults.push(...next),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** `ConvexCleanJSON` (value/src/export.rs `export_clean`): int64 as a decimal string. */
function cleanJson(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(cleanJson);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, cleanJson(v)]),
    );
  return value;
}

/**
 * `ConvexEncodedJSON` (format `convex_encoded_json`; the default only for old npm/CLI/Python clients,
 * common/src/version.rs `default_format`): int64 as `{"$integer": <base64 of 8 LE bytes>}`.
 */
function encodedJson(value: unknown): unknown {
  if (typeof value === "bigint") {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(value);
    return { $integer: bytes.toString("base64") };
  }
  if (Array.isArray(value)) return value.map(encodedJson);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, encodedJson(v)]),
    );
  return value;
}

async function sendSlowly(res: http.ServerResponse, body: Buffer, pauseMs: number): Promise<boolean> {
  const chunk = Math.max(1, Math.ceil(body.length / 20));
  for (let i = 0; i < body.length; i += chunk) {
    if (res.destroyed) return false;
    res.write(body.subarray(i, i + chunk));
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  res.end();
  return true;
}
