/**
 * `POST /api/query` and `POST /api/function` of the source stand-in: the system queries our code runs
 * (npm-packages/system-udfs/convex/_system at get-convex/convex-backend 94a42c3d) and how the backend runs a
 * function for an admin (crates/local_backend/src/public_api.rs, crates/udf/src/validation.rs,
 * crates/application/src/lib.rs `any_udf`).
 */
import type http from "node:http";
import { HttpError, INTERNAL_ERROR } from "./httpError.js";
import { OPERATION_ACTION, type DeploymentOp, type Identity, type KeyRing } from "./keys.js";
import type { ComponentIds, SourceCatalog } from "./sourceCatalog.js";
import { encodeValue } from "./valueFormats.js";

/** A function's own failure: HTTP 200 with `{status: "error"}` (public_api.rs `UdfResponse::Error`). */
class FunctionError extends Error {}

interface SystemFunction {
  op: DeploymentOp;
  args: string[];
  /** Runs in `component` (the system UDF re-runs itself there when given `componentId`). */
  run(args: Record<string, unknown>, component: string): unknown;
}

export interface FunctionContext {
  keys: KeyRing;
  catalog: SourceCatalog;
  componentIds: ComponentIds;
  /** The newest snapshot export's `_exports` document, or null. */
  latestExport(): unknown;
}

/** crates/common/src/execution_context.rs `RequestId::new`: 8 random bytes, hex. */
function requestId(): string {
  let id = "";
  for (let i = 0; i < 16; i++) id += Math.floor(Math.random() * 16).toString(16);
  return id;
}

/** crates/local_backend/src/parse.rs: `path/to/module` means its default export; `.js` is dropped. */
function canonicalPath(path: string): string {
  const [module, name] = path.includes(":") ? path.split(":", 2) : [path, "default"];
  return `${module!.replace(/\.js$/, "")}:${name}`;
}

function systemFunctions(ctx: FunctionContext): Record<string, SystemFunction> {
  /** `performOp("getTableMapping")`: table number → name, system tables included. */
  const tableMapping = (component: string): Record<string, string> => {
    const mapping: Record<string, string> = { "1": "_tables", "4": "_scheduled_jobs", "9": "_file_storage" };
    for (const t of ctx.catalog.tables(component)) mapping[String(t.number)] = t.name;
    return mapping;
  };
  return {
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
        const paths = ctx.catalog.componentPaths();
        if (paths.length === 0) return [];
        return [
          { id: ctx.componentIds.rootId, path: "", args: {}, state: "active", httpPrefix: null },
          ...paths.map((path) => ({
            id: ctx.componentIds.idOf(path),
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
          const path = ctx.componentIds.pathOf(args.componentId);
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
    "_system/cli/exports:getLatest": { op: "ViewBackups", args: [], run: () => ctx.latestExport() },
  };
}

/**
 * Runs a function the way the backend does for an admin caller; a function's failure comes back as
 * `[Request ID: …] Server Error\n<error>` (application/src/redaction.rs `RedactedJsError` Display; admins
 * see the error, production hides it from others). `route` is the endpoint: `/api/query` validates the path
 * as a public export (udf/src/validation.rs), `/api/function` looks it up in the component's own modules
 * (application/src/lib.rs `any_udf`), and the two word a missing function differently.
 */
function runFunction(
  ctx: FunctionContext,
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
  const fn = systemFunctions(ctx)[canonical];
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
  if (!ctx.keys.allows(identity, fn.op))
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

/** `POST /api/query` (`withComponent` false) or `POST /api/function` (true). */
export function handleFunctionCall(
  ctx: FunctionContext,
  req: http.IncomingMessage,
  body: string,
  withComponent: boolean,
): [number, unknown] {
  const identity = ctx.keys.identityOf(req.headers.authorization);
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
    if (identity.kind !== "admin") ctx.keys.requireOperation(identity, "ViewData");
    component = typeof parsed.componentPath === "string" ? parsed.componentPath : "";
    if (component !== "" && !ctx.catalog.componentPaths().includes(component))
      throw new HttpError(500, INTERNAL_ERROR.code, INTERNAL_ERROR.message);
  }
  // public_api.rs `UdfPostRequest` has no deny_unknown_fields: /api/query ignores `componentPath` & co.
  const result = runFunction(
    ctx,
    identity,
    parsed.path,
    parsed.args as Record<string, unknown>,
    withComponent ? { kind: "function", component } : { kind: "query" },
  );
  if (!result.ok) return [200, { status: "error", errorMessage: result.message }];
  return [200, { status: "success", value: encodeValue(result.value, parsed.format) }];
}
