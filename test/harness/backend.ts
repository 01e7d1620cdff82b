/**
 * The app's own Convex functions, hosted in this process by convex-test: calls by path as a client makes
 * them (public functions only, with the caller's identity), HTTP routes, and a signal whenever a write has
 * committed (from a call, an HTTP route or a scheduled function) so subscribed queries can be re-run.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { convexTest } from "convex-test";
import {
  makeFunctionReference,
  type GenericSchema,
  type SchemaDefinition,
  type UserIdentity,
} from "convex/server";
import { ConvexError, convexToJson, jsonToConvex, type JSONValue } from "convex/values";
import { appComponents, moduleMap, preload, type ModuleMap } from "./modules.js";

export type FunctionKind = "query" | "mutation" | "action";

/** A failed call as the sync protocol reports it: a message, plus the data of a ConvexError. */
export class FunctionFailure extends Error {
  constructor(
    message: string,
    readonly errorData: JSONValue | undefined,
  ) {
    super(message);
  }
}

/** How often to look for writes made by scheduled functions (the only writes no request is waiting for). */
const SCHEDULED_WRITE_CHECK_MS = 100;

type Registered = { isPublic?: boolean; isQuery?: boolean; isMutation?: boolean; isAction?: boolean };
type ConvexTestInstance = ReturnType<typeof convexTest>;

export class Backend {
  readonly #t: ConvexTestInstance;
  readonly #modules: ModuleMap;
  readonly #listeners = new Set<(ts: bigint) => void>();
  #lastTs = 0n;
  #checking: Promise<void> | null = null;
  #checkAgain = false;
  #timer: NodeJS.Timeout | null = null;

  private constructor(t: ConvexTestInstance, modules: ModuleMap) {
    this.#t = t;
    this.#modules = modules;
  }

  /** Loads the app in `convexDir` (schema, functions, components). Environment variables must be set first. */
  static async load(convexDir: string): Promise<Backend> {
    const modules = await moduleMap(convexDir);
    const schemaModule = (await import(pathToFileURL(path.join(convexDir, "schema.ts")).href)) as {
      default: SchemaDefinition<GenericSchema, boolean>;
    };
    const t = convexTest(schemaModule.default, modules);
    await preload(modules);
    for (const component of await appComponents(convexDir)) {
      await preload(component.modules);
      t.registerComponent(component.name, component.schema, component.modules);
    }
    const backend = new Backend(t, modules);
    backend.#timer = setInterval(() => void backend.checkForWrites(), SCHEDULED_WRITE_CHECK_MS);
    return backend;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#listeners.clear();
  }

  /** Called with the new snapshot timestamp after writes have committed. */
  onWrite(listener: (ts: bigint) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The timestamp of the latest committed write (0 before any). */
  get latestTs(): bigint {
    return this.#lastTs;
  }

  /**
   * Runs a public function the way a client call does. `args` and the result are in Convex's JSON encoding.
   * Refuses internal functions and the wrong kind, like the deployment.
   */
  async call(
    kind: FunctionKind,
    udfPath: string,
    args: JSONValue,
    identity: Partial<UserIdentity> | null,
  ): Promise<JSONValue> {
    await this.#requirePublic(kind, udfPath);
    const target = identity ? this.#t.withIdentity(identity) : this.#t;
    const decodedArgs = jsonToConvex(args ?? {}) as Record<string, unknown>;
    try {
      let result: unknown;
      if (kind === "query") result = await target.query(makeFunctionReference<"query">(udfPath), decodedArgs);
      else if (kind === "mutation")
        result = await target.mutation(makeFunctionReference<"mutation">(udfPath), decodedArgs);
      else result = await target.action(makeFunctionReference<"action">(udfPath), decodedArgs);
      return convexToJson(result as never);
    } catch (error) {
      throw toFailure(error, udfPath);
    } finally {
      if (kind !== "query") await this.checkForWrites();
    }
  }

  /** An HTTP action of convex/http.ts. */
  async fetch(pathAndQuery: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#t.fetch(pathAndQuery, init);
    } finally {
      await this.checkForWrites();
    }
  }

  /** Runs `fn` with a mutation context: test setup and demo seeding (e.g. the admin allow-list). */
  async seed<T>(fn: Parameters<ConvexTestInstance["run"]>[0]): Promise<T> {
    try {
      return (await this.#t.run(fn)) as T;
    } finally {
      await this.checkForWrites();
    }
  }

  /** Compares the snapshot timestamp with the last one seen and tells the listeners when it moved. */
  checkForWrites(): Promise<void> {
    if (this.#checking) {
      this.#checkAgain = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      do {
        this.#checkAgain = false;
        const ts = await this.#t.query(async (ctx) => ctx.meta.getSnapshotTs() as unknown as bigint);
        if (ts > this.#lastTs) {
          this.#lastTs = ts;
          for (const listener of this.#listeners) listener(ts);
        }
      } while (this.#checkAgain);
    })().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #requirePublic(kind: FunctionKind, udfPath: string): Promise<void> {
    const [modulePath, exportName = "default"] = udfPath.split(":") as [string, string?];
    const key = Object.keys(this.#modules).find((k) => k.replace(/\.[^./]+$/, "") === `./${modulePath}`);
    const load = key ? this.#modules[key] : undefined;
    const fn = load ? ((await load()) as Record<string, Registered | undefined>)[exportName] : undefined;
    const kindMatches =
      (kind === "query" && fn?.isQuery) ||
      (kind === "mutation" && fn?.isMutation) ||
      (kind === "action" && fn?.isAction);
    if (!fn || !fn.isPublic || !kindMatches) {
      // get-convex/convex-backend crates/udf/src/validation.rs `missing_or_internal_error`: a JsError, so a
      // production deployment hides its text like any function error's (redaction.rs); the log keeps it.
      throw toFailure(new Error(`Could not find public function for '${udfPath}'.`), udfPath);
    }
  }
}

/**
 * A function's error as a production deployment reports it to clients: the message is only
 * "[Request ID: …] Server Error", and only a ConvexError's data gets through (get-convex/convex-backend,
 * crates/application/src/redaction.rs: `RedactedJsError` with `block_logging`, its `Display` and
 * `into_error_payload`). So the dashboard and the demo can rely on nothing else, as in production.
 * What the client cannot see goes to the harness's stderr, as Convex writes it to the deployment's logs: a plain
 * error's message always (it is a bug or an outage), every error in full with HARNESS_DEBUG=1.
 */
export function toFailure(error: unknown, udfPath = "?"): FunctionFailure {
  if (process.env.HARNESS_DEBUG) console.error("[harness]", udfPath, error);
  const message = `[Request ID: ${requestId()}] Server Error`;
  // Checked by name: convex-test may hold its own copy of the ConvexError class.
  if (
    error instanceof ConvexError ||
    (error instanceof Error && error.name === "ConvexError" && "data" in error)
  ) {
    return new FunctionFailure(message, convexToJson((error as ConvexError<never>).data));
  }
  if (!process.env.HARNESS_DEBUG)
    console.error(`[harness] ${udfPath} failed: ${error instanceof Error ? error.message : String(error)}`);
  return new FunctionFailure(message, undefined);
}

/**
 * An HTTP action that threw, as production answers it (crates/application/src/redaction.rs
 * `to_http_response_parts` with `block_logging`): 500 `{code: "[Request ID: …] Server Error"}`, plus `data` for a
 * ConvexError; the message goes to the log only.
 */
export function httpActionFailure(error: unknown, route: string): { status: number; body: object } {
  const failure = toFailure(error, route);
  return {
    status: 500,
    body: { code: failure.message, ...(failure.errorData !== undefined ? { data: failure.errorData } : {}) },
  };
}

/** 16 hex digits, like the backend's request ids. */
function requestId(): string {
  return randomBytes(8).toString("hex");
}
