/**
 * Where and how to reach the executor, from the Convex environment:
 *   EXECUTOR_URL      the Cloudflare Tunnel hostname, e.g. https://exec.example.com
 *   EXECUTOR_SECRET   the shared HMAC secret (contract/signing.ts), also set on the executor
 *   CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET   optional Cloudflare Access service token
 *   EXECUTOR_TIMEOUT_MS   optional, per request (default 15 s)
 */
export interface ExecutorConfig {
  url: string;
  secret: string;
  accessHeaders: Record<string, string>;
  timeoutMs: number;
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
  const timeoutText = env.EXECUTOR_TIMEOUT_MS;
  const timeoutMs = timeoutText ? Number(timeoutText) : EXECUTOR_REQUEST_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000)
    throw new ExecutorConfigError(
      `EXECUTOR_TIMEOUT_MS "${timeoutText}" must be a whole number from 100 to 120000`,
    );
  return { url, secret, accessHeaders, timeoutMs };
}

export const EXECUTOR_REQUEST_TIMEOUT_MS = 15_000;
