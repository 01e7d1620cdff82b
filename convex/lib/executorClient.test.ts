import { afterEach, describe, expect, test } from "vitest";
import { verifySignature } from "../contract/signing";
import { startServer, UNREACHABLE_URL, type Reply, type StandIn } from "../test/standins.testkit";
import { acceptedForAttempt, classifyStatus, postToExecutor } from "./executorClient";
import type { ExecutorConfig } from "./executorConfig";

const SECRET = "executor-client-secret-0123456789";
let servers: StandIn[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function answering(reply: Reply | (() => Reply)): Promise<ExecutorConfig> {
  const server = await startServer(() => (typeof reply === "function" ? reply() : reply));
  servers.push(server);
  return {
    url: server.url,
    secret: SECRET,
    accessHeaders: { "CF-Access-Client-Id": "id" },
    timeoutMs: 5_000,
  };
}

describe("executor client", () => {
  test("signs the request over its path and body and sends the Access headers", async () => {
    const config = await answering({ status: 202, body: { ok: true } });
    const body = JSON.stringify({ jobId: "j1" });
    expect(await postToExecutor(config, "/jobs/j1/cancel", body)).toEqual({
      kind: "ok",
      status: 202,
      body: { ok: true },
    });
    const req = servers[0]!.requests[0]!;
    expect(req).toMatchObject({ method: "POST", path: "/jobs/j1/cancel", body });
    expect(req.headers["cf-access-client-id"]).toBe("id");
    const signed = { method: "POST", path: req.path, body: req.body };
    expect(await verifySignature(SECRET, new Headers(req.headers), signed)).toEqual({ ok: true });
  });

  test("a refusal carries the executor's error text, cut to 300 characters", async () => {
    const config = await answering({ status: 409, body: { error: "x".repeat(500) } });
    expect(await postToExecutor(config, "/jobs", "{}")).toEqual({
      kind: "permanent",
      status: 409,
      message: `executor answered 409: ${"x".repeat(300)}`,
    });
  });

  test("a 503 without a JSON body is transient and says only the status", async () => {
    const config = await answering({ status: 503 });
    expect(await postToExecutor(config, "/jobs", "{}")).toEqual({
      kind: "transient",
      status: 503,
      message: "executor answered 503",
    });
  });

  test("an unreachable executor is a transient outcome, not an exception", async () => {
    const outcome = await postToExecutor(
      { url: UNREACHABLE_URL, secret: SECRET, accessHeaders: {}, timeoutMs: 5_000 },
      "/jobs",
      "{}",
    );
    expect(outcome).toMatchObject({
      kind: "transient",
      message: expect.stringMatching(/^executor unreachable/),
    });
  });

  test("statuses: 2xx ok; 408, 429 and 5xx transient; other 4xx permanent", () => {
    expect([200, 204, 408, 429, 500, 599, 400, 401, 404].map(classifyStatus)).toEqual([
      "ok",
      "ok",
      "transient",
      "transient",
      "transient",
      "transient",
      "permanent",
      "permanent",
      "permanent",
    ]);
  });

  test("an answer holding another attempt of the job is not an acceptance", () => {
    const held = { jobId: "j1", attempt: 1, state: "running", phase: "importing", tables: [] };
    expect(acceptedForAttempt({ kind: "ok", status: 200, body: held }, 2)).toEqual({
      kind: "transient",
      message: "the executor still holds attempt 1 of this job (running)",
    });
    const ours = { kind: "ok", status: 202, body: { ...held, attempt: 2, state: "queued" } } as const;
    expect(acceptedForAttempt(ours, 2)).toBe(ours);
  });
});
