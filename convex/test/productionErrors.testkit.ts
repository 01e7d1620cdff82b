/**
 * Calls from tests see errors the way a browser sees them from a production deployment: Convex replaces the
 * message of every error a public function throws with "[Request ID: …] Server Error" and keeps only a
 * ConvexError's `data` (get-convex/convex-backend, crates/application/src/redaction.rs, `RedactedJsError`;
 * the client wraps it in node_modules/convex/src/browser/logging.ts `createHybridErrorStacktrace`). So a test
 * that expects a message a user should read fails unless that message travels in a ConvexError's data.
 *
 * Internal functions, `t.run` and HTTP routes are not client calls and keep their errors.
 */
import { getFunctionName, type FunctionReference } from "convex/server";
import { ConvexError, type Value } from "convex/values";
import { expect } from "vitest";
import { userErrorOf, type UserErrorCode } from "../lib/userError";

type Modules = Record<string, () => Promise<unknown>>;
type Registered = { isPublic?: boolean };

/** What a production client receives for any failed public call (the request id varies). */
export const SERVER_ERROR =
  /^\[CONVEX [QMA]\([^)]*\)\] \[Request ID: [0-9a-f]{16}\] Server Error\n {2}Called by client$/;

const KIND_PREFIX = { query: "Q", mutation: "M", action: "A" } as const;

async function isPublicFunction(modules: Modules, name: string): Promise<boolean> {
  const [modulePath, exportName = "default"] = name.split(":") as [string, string?];
  const key = Object.keys(modules).find((k) => k.replace(/\.[^./]+$/, "") === `../${modulePath}`);
  if (!key) return false;
  const exported = ((await modules[key]!()) as Record<string, Registered | undefined>)[exportName];
  return exported?.isPublic === true;
}

function requestId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** The error a production client would throw for `error` from public function `name`. */
export function asClientSees(kind: keyof typeof KIND_PREFIX, name: string, error: unknown): Error {
  const message = `[CONVEX ${KIND_PREFIX[kind]}(${name})] [Request ID: ${requestId()}] Server Error\n  Called by client`;
  // Checked by shape: convex-test may hold its own copy of the ConvexError class.
  if (error instanceof Error && error.name === "ConvexError" && "data" in error) {
    const clientError = new ConvexError<Value>(message);
    clientError.data = (error as ConvexError<Value>).data;
    return clientError;
  }
  return new Error(message);
}

interface Callable {
  query: (ref: FunctionReference<"query", "public" | "internal">, args?: unknown) => Promise<unknown>;
  mutation: (ref: FunctionReference<"mutation", "public" | "internal">, args?: unknown) => Promise<unknown>;
  action: (ref: FunctionReference<"action", "public" | "internal">, args?: unknown) => Promise<unknown>;
  withIdentity: (identity: object) => Callable;
}

/** Wraps a convex-test instance (or `withIdentity` view) so public calls fail as in production. */
export function withProductionErrors<T extends object>(t: T, modules: Modules): T {
  return new Proxy(t, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver) as unknown;
      if (typeof original !== "function") return original;
      if (property === "withIdentity")
        return (identity: object) =>
          withProductionErrors((original as Callable["withIdentity"]).call(target, identity), modules);
      if (property !== "query" && property !== "mutation" && property !== "action")
        return (original as (...args: unknown[]) => unknown).bind(target);
      const kind = property;
      return async (ref: FunctionReference<typeof kind, "public" | "internal">, args?: unknown) => {
        try {
          return await (original as Callable[typeof kind]).call(target, ref as never, args);
        } catch (error) {
          const name = getFunctionName(ref);
          if (!(await isPublicFunction(modules, name))) throw error;
          throw asClientSees(kind, name, error);
        }
      };
    },
  });
}

/** Asserts that `promise` fails with a user error whose data matches `expected` (the message as a RegExp). */
export async function expectUserError(
  promise: Promise<unknown>,
  expected: { code: UserErrorCode; field?: string; message?: RegExp },
): Promise<void> {
  const error = await promise.then(
    () => expect.unreachable("the call succeeded"),
    (e: unknown) => e,
  );
  const data = userErrorOf(error);
  expect(data, `not a user error: ${String(error)}`).not.toBeNull();
  expect(data).toMatchObject({
    code: expected.code,
    ...(expected.field !== undefined ? { field: expected.field } : {}),
    ...(expected.message ? { message: expect.stringMatching(expected.message) } : {}),
  });
}
