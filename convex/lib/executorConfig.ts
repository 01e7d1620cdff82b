/**
 * Where and how to reach the executor, from the Convex environment:
 *   EXECUTOR_URL      the Cloudflare Tunnel hostname, e.g. https://exec.example.com
 *   EXECUTOR_SECRET   the shared HMAC secret (contract/signing.ts), also set on the executor
 *   CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET   optional Cloudflare Access service token
 */
export interface ExecutorConfig {
  url: string;
  secret: string;
  accessHeaders: Record<string, string>;
}

export class ExecutorConfigError extends Error {}

export function executorConfig(env: Record<string, string | undefined> = process.env): ExecutorConfig {
  const url = env.EXECUTOR_URL?.trim().replace(/\/+$/, "");
  const secret = env.EXECUTOR_SECRET;
  if (!url) throw new ExecutorConfigError("EXECUTOR_URL is not set on the Convex deployment");
  if (!/^https?:\/\//.test(url)) throw new ExecutorConfigError(`EXECUTOR_URL "${url}" is not an http(s) URL`);
  if (!secret) throw new ExecutorConfigError("EXECUTOR_SECRET is not set on the Convex deployment");
  const id = env.CF_ACCESS_CLIENT_ID;
  const accessSecret = env.CF_ACCESS_CLIENT_SECRET;
  const accessHeaders: Record<string, string> =
    id && accessSecret ? { "CF-Access-Client-Id": id, "CF-Access-Client-Secret": accessSecret } : {};
  return { url, secret, accessHeaders };
}

export type PostOutcome =
  | { kind: "ok"; status: number; body: unknown }
  | { kind: "transient"; message: string }
  | { kind: "permanent"; message: string };

export const EXECUTOR_REQUEST_TIMEOUT_MS = 15_000;

/** How an answer from the executor is treated: 2xx ok; 408/429/5xx and network errors retry; other 4xx stop. */
export function classifyStatus(status: number): "ok" | "transient" | "permanent" {
  if (status >= 200 && status < 300) return "ok";
  if (status === 408 || status === 429 || status >= 500) return "transient";
  return "permanent";
}
