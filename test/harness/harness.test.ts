import path from "node:path";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import { ConvexError, type Value } from "convex/values";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startHarness, type Harness } from "./server.js";

// The real browser client, in Node, against the harness hosting the project's own convex/ functions.
const ADMIN = { email: "admin@example.com", password: "correct-horse-battery" };
const SIGNUP_CODE = "harness-test-signup-code";
const signIn = makeFunctionReference<"action">("auth:signIn");
const listAdmins = makeFunctionReference<"query", Record<string, never>, { email: string }[]>("admins:list");
const addAdmin = makeFunctionReference<"mutation">("admins:add");
const seedFromEnv = makeFunctionReference<"mutation">("admins:seedFromEnv");
const cancelJob = makeFunctionReference<"mutation">("jobs:cancel");

let harness: Harness;
let token: string;
let refreshToken: string;

beforeAll(async () => {
  harness = await startHarness({
    convexDir: path.resolve(import.meta.dirname, "../../convex"),
    env: { ADMIN_EMAILS: ADMIN.email, ADMIN_SIGNUP_CODE: SIGNUP_CODE },
  });
  const http = new ConvexHttpClient(harness.cloudUrl);
  const result = (await http.action(signIn, {
    provider: "password",
    params: { ...ADMIN, flow: "signUp", signupCode: SIGNUP_CODE },
  })) as { tokens: { token: string; refreshToken: string } };
  token = result.tokens.token;
  refreshToken = result.tokens.refreshToken;
});
afterAll(async () => harness?.close());

function client(): ConvexClient {
  return new ConvexClient(harness.cloudUrl, {
    webSocketConstructor: WebSocket as never,
    unsavedChangesWarning: false,
  });
}

function nextValue<T>(c: ConvexClient, query: typeof listAdmins, accept: (v: T) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const unsubscribe = c.onUpdate(
      query,
      {},
      (value) => {
        if (accept(value as T)) {
          unsubscribe();
          resolve(value as T);
        }
      },
      reject,
    );
  });
}

describe("Convex stand-in backend", () => {
  it("refuses an anonymous subscription with the function's own error data", async () => {
    const c = client();
    const error = await new Promise<Error>((resolve) => c.onUpdate(listAdmins, {}, () => {}, resolve));
    expect(error).toBeInstanceOf(ConvexError);
    expect((error as ConvexError<Value>).data).toEqual({ code: "unauthenticated", message: "sign in first" });
    await c.close();
  });

  // As a production deployment (crates/application/src/redaction.rs): only a ConvexError's data gets through.
  it("hides a plain Error's message from clients: they see only Server Error", async () => {
    const c = client();
    c.setAuth(async () => token);
    // An argument that fails the validator is a plain Error thrown before the handler runs.
    const error = await c.mutation(cancelJob, { jobId: "not-a-job-id" }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).not.toBeInstanceOf(ConvexError);
    expect(error?.message).toMatch(
      /^\[CONVEX M\(jobs:cancel\)\] \[Request ID: [0-9a-f]{16}\] Server Error\n/,
    );
    expect(error?.message).not.toMatch(/not-a-job-id|validator|jobId/);
    const http = new ConvexHttpClient(harness.cloudUrl);
    http.setAuth(token);
    const overHttp = await http.mutation(cancelJob, { jobId: "not-a-job-id" }).catch((e: Error) => e);
    expect(overHttp.message).toMatch(/\[Request ID: [0-9a-f]{16}\] Server Error$/);
    await c.close();
  });

  // The sync protocol leaves `errorData` out of a QueryFailed without ConvexError data
  // (crates/convex/sync_types/src/types/json.rs); a `null` there makes the client throw a ConvexError.
  it("fails a subscription with a plain Error, not a ConvexError, when the query throws one", async () => {
    const c = client();
    c.setAuth(async () => token);
    const getApp = makeFunctionReference<"query">("apps:get");
    const error = await new Promise<Error>((resolve) =>
      c.onUpdate(getApp, { appId: "not-an-app-id" }, () => {}, resolve),
    );
    expect(error).not.toBeInstanceOf(ConvexError);
    expect("data" in error).toBe(false);
    expect(error.message).toMatch(/\[Request ID: [0-9a-f]{16}\] Server Error/);
    await c.close();
  });

  // public_api.rs answers a function's failure with HTTP 200 and {status: "error"} (UdfResponse::Error).
  it("answers a failed function over HTTP with 200 and status error, as the backend does", async () => {
    const response = await fetch(`${harness.cloudUrl}/api/mutation`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({
        path: "jobs:cancel",
        args: [{ jobId: "not-a-job-id" }],
        format: "convex_encoded_json",
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; errorMessage: string };
    expect(body.status).toBe("error");
    expect(body).not.toHaveProperty("errorData");
  });

  it("gives clients a field error's data, with the message hidden as in production", async () => {
    const c = client();
    c.setAuth(async () => token);
    const error = await c.mutation(addAdmin, { email: "not an email" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConvexError);
    expect((error as ConvexError<Value>).data).toEqual({
      code: "invalid_input",
      field: "email",
      message: '"not an email" is not an email address',
    });
    expect((error as Error).message).toMatch(/Server Error/);
    expect((error as Error).message).not.toMatch(/not an email/);
    await c.close();
  });

  it("confirms a valid Convex Auth token and pushes a live update after another client's mutation", async () => {
    const watcher = client();
    const writer = client();
    const authStates: boolean[] = [];
    watcher.setAuth(
      async () => token,
      (ok) => authStates.push(ok),
    );
    writer.setAuth(async () => token);
    const before = await nextValue<{ email: string }[]>(watcher, listAdmins, () => true);
    expect(authStates).toEqual([true]);
    expect(before.map((a) => a.email)).not.toContain("second@example.com");

    const seen = nextValue<{ email: string }[]>(watcher, listAdmins, (admins) =>
      admins.some((a) => a.email === "second@example.com"),
    );
    await writer.mutation(addAdmin, { email: "second@example.com" });
    expect((await seen).map((a) => a.email)).toContain("second@example.com");
    await Promise.all([watcher.close(), writer.close()]);
  });

  it("reports a token it cannot verify as not authenticated", async () => {
    const c = client();
    const authStates = await new Promise<boolean>((resolve) => {
      c.setAuth(async () => token.slice(0, -4) + "AAAA", resolve);
      c.onUpdate(
        listAdmins,
        {},
        () => {},
        () => {},
      );
    });
    expect(authStates).toBe(false);
    await c.close();
  });

  // udf/src/validation.rs `missing_or_internal_error` is a JsError, so production hides its text like any other.
  it("does not let clients call internal functions, and says only Server Error", async () => {
    const c = client();
    c.setAuth(async () => token);
    const error = await c.mutation(seedFromEnv, {}).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).not.toBeInstanceOf(ConvexError);
    expect(error?.message).toMatch(/\[Request ID: [0-9a-f]{16}\] Server Error\n/);
    expect(error?.message).not.toMatch(/Could not find/);
    await c.close();
  });

  it("refreshes a session over the HTTP function API, as the dashboard does before the JWT expires", async () => {
    const http = new ConvexHttpClient(harness.cloudUrl);
    const refreshed = (await http.action(signIn, { refreshToken })) as { tokens: { token: string } | null };
    expect(refreshed.tokens?.token).toMatch(/^ey/);
    http.setAuth(refreshed.tokens!.token);
    const admins = await http.query(listAdmins, {});
    expect(Array.isArray(admins)).toBe(true);
  });

  // redaction.rs `to_http_response_parts`: an HTTP action that throws answers 500 with only
  // {code: "[Request ID: …] Server Error"} (plus `data` for a ConvexError); the message stays in the logs.
  it("hides the message of an HTTP action that throws, as a production deployment does", async () => {
    const jwks = process.env.JWKS;
    delete process.env.JWKS; // @convex-dev/auth's jwks route then throws a plain Error naming the variable
    try {
      const response = await fetch(`${harness.siteUrl}/.well-known/jwks.json`);
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        code: expect.stringMatching(/^\[Request ID: [0-9a-f]{16}\] Server Error$/),
      });
      expect(text).not.toMatch(/JWKS|environment/);
    } finally {
      process.env.JWKS = jwks;
    }
  });

  it("serves the app's HTTP routes on the site URL", async () => {
    const response = await fetch(`${harness.siteUrl}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { keys: unknown[] }).keys).toHaveLength(1);
  });
});
