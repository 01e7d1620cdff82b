/**
 * Helpers for the executor's tests: a configuration, signed requests as the control plane sends them, job
 * payloads, and a controllable stand-in for the import engine (for tests that are not about importing).
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  CONTRACT_VERSION,
  type IncrementalJobPayload,
  type SnapshotJobPayload,
} from "../../convex/contract/executor.js";
import { signedHeaders } from "../../convex/contract/signing.js";
import { ImportCancelledError, type ImportOptions, type ImportResult } from "../src/import/api.js";
import { loadConfig, type ExecutorConfig } from "../src/service/config.js";
import type { ImportFn } from "../src/service/runImport.js";

export const SECRET = "test-shared-secret-0123456789-abcdefghij";
export const DEPLOY_KEY = "prod:happy-animal-123|0123456789abcdef-deploy-key";
export const SNAPSHOT_TS = "1745162191687000000";

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function testConfig(options: {
  convexSiteUrl: string;
  target?: string;
  dataDir?: string;
  env?: Record<string, string>;
}): ExecutorConfig {
  const dataDir = options.dataDir ?? tempDir("executor-data");
  return loadConfig({
    EXECUTOR_SECRET: SECRET,
    CONVEX_SITE_URL: options.convexSiteUrl,
    EXECUTOR_TARGET: options.target ?? `pglite:${path.join(dataDir, "warehouse")}`,
    EXECUTOR_PORT: "0",
    EXECUTOR_DATA_DIR: dataDir,
    EXECUTOR_ID: "test-pc",
    EXECUTOR_PROGRESS_SECONDS: "0.1",
    EXECUTOR_HEARTBEAT_SECONDS: "3600",
    ...options.env,
  });
}

export function makePayload(
  sourceUrl: string,
  overrides: Partial<SnapshotJobPayload> = {},
): SnapshotJobPayload {
  return {
    kind: "snapshot",
    contractVersion: CONTRACT_VERSION,
    jobId: `job-${Math.random().toString(36).slice(2, 10)}`,
    attempt: 1,
    app: { slug: "anouk", name: "Anouk" },
    source: { deploymentUrl: sourceUrl, deployKey: DEPLOY_KEY },
    snapshot: { snapshotTs: SNAPSHOT_TS, includeStorage: false },
    tables: null,
    targetSchema: "convex",
    deadline: Date.now() + 3_600_000,
    ...overrides,
  };
}

/** An incremental job: apply the change feed of `sourceUrl` from the position stored in the target schema. */
export function makeIncrementalPayload(
  sourceUrl: string,
  deployKey: string,
  overrides: Partial<IncrementalJobPayload> = {},
): IncrementalJobPayload {
  return {
    kind: "incremental",
    contractVersion: CONTRACT_VERSION,
    jobId: `job-${Math.random().toString(36).slice(2, 10)}`,
    attempt: 1,
    app: { slug: "anouk", name: "Anouk" },
    source: { deploymentUrl: sourceUrl, deployKey },
    incremental: { sourceTables: null },
    tables: null,
    targetSchema: "convex",
    deadline: Date.now() + 3_600_000,
    ...overrides,
  };
}

/** Answers are read in tests by property and checked with expect(); typing each shape adds nothing there. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJson = any;

export interface SignedCall {
  method?: "GET" | "POST";
  body?: unknown;
  /** Send this exact text instead of JSON.stringify(body). */
  raw?: string;
  secret?: string;
  nowMs?: number;
  headers?: Record<string, string>;
}

/** A request as the control plane sends it; returns the status, the JSON body and the headers that were used. */
export async function signedFetch(
  baseUrl: string,
  pathname: string,
  call: SignedCall = {},
): Promise<{ status: number; json: AnyJson; sent: { headers: Record<string, string>; raw: string } }> {
  const method = call.method ?? (call.body !== undefined || call.raw !== undefined ? "POST" : "GET");
  const raw = call.raw ?? (call.body !== undefined ? JSON.stringify(call.body) : "");
  const headers = {
    "content-type": "application/json",
    ...(await signedHeaders(call.secret ?? SECRET, { method, path: pathname, body: raw }, call.nowMs)),
    ...call.headers,
  };
  return replay(baseUrl, pathname, method, headers, raw);
}

/** Sends exactly these headers and body again (a captured request, replayed). */
export async function replay(
  baseUrl: string,
  pathname: string,
  method: string,
  headers: Record<string, string>,
  raw: string,
): Promise<{ status: number; json: AnyJson; sent: { headers: Record<string, string>; raw: string } }> {
  const response = await fetch(`${baseUrl}${pathname}`, {
    method,
    headers,
    ...(method === "GET" ? {} : { body: raw }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, sent: { headers, raw } };
}

/** A stand-in import engine: records calls, can hold imports until released, honours cancellation, can fail. */
export interface FakeImport {
  fn: ImportFn;
  calls: ImportOptions[];
  failWith: Error | undefined;
  /** From now on, each import waits for release() (or for cancellation). */
  hold(): void;
  release(): void;
}

export function fakeImport(rows = 3): FakeImport {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const fake: FakeImport = {
    calls: [],
    failWith: undefined,
    hold: () => {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    release: () => {
      gate = undefined;
      open();
    },
    fn: async (options) => {
      fake.calls.push(options);
      options.onProgress?.({
        phase: "loading",
        tables: [{ table: "users", state: "loading", rows: 1, bytes: 10 }],
      });
      const waitFor = gate;
      if (waitFor) {
        await new Promise<void>((resolve, reject) => {
          options.signal?.addEventListener("abort", () => reject(new ImportCancelledError()), { once: true });
          void waitFor.then(resolve);
        });
      }
      if (options.signal?.aborted) throw new ImportCancelledError();
      if (fake.failWith) throw fake.failWith;
      const result: ImportResult = {
        targetKind: "pglite",
        schema: options.schema ?? "convex",
        snapshotTs: options.snapshotTs ?? null,
        tables: [
          {
            table: "users",
            component: "",
            sqlTable: "users",
            rows,
            columns: 4,
            bytes: rows * 10,
            seconds: 0.01,
          },
        ],
        totalRows: rows,
        durationMs: 1,
      };
      return result;
    },
  };
  return fake;
}

export async function until(predicate: () => boolean, timeoutMs = 15_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
