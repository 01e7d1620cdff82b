/**
 * The control plane's HTTP client for the executor: signs a request (contract/signing.ts), adds the Cloudflare
 * Access headers when configured, sends it with a timeout and reads the answer as a `PostOutcome`. It never
 * throws: an unreachable executor or a refusal is an outcome the job steps (dispatch.ts) decide about.
 */
import { v, type Infer } from "convex/values";
import { executorJobStatus } from "../contract/executor";
import { requestTarget, signedHeaders } from "../contract/signing";
import type { ExecutorConfig } from "./executorConfig";
import { fetchWithTimeout, RequestTimeoutError } from "./fetchTimeout";

/**
 * An answer, as a mutation receives it from the action that made the call. A failure keeps the HTTP status when
 * the executor answered at all, so callers tell answers apart by status, never by reading the message.
 */
export const postOutcomeValidator = v.union(
  v.object({ kind: v.literal("ok"), status: v.number(), body: v.any() }),
  v.object({
    kind: v.union(v.literal("transient"), v.literal("permanent")),
    message: v.string(),
    status: v.optional(v.number()),
  }),
);
export type PostOutcome = Infer<typeof postOutcomeValidator>;

/** How an answer from the executor is treated: 2xx ok; 408/429/5xx and network errors retry; other 4xx stop. */
export function classifyStatus(status: number): PostOutcome["kind"] {
  if (status >= 200 && status < 300) return "ok";
  if (status === 408 || status === 429 || status >= 500) return "transient";
  return "permanent";
}

/** POSTs `body` (already serialised) to the executor at `path`, signed. Never throws. */
export async function postToExecutor(
  config: ExecutorConfig,
  path: string,
  body: string,
): Promise<PostOutcome> {
  let response: Response;
  const url = `${config.url}${path}`;
  try {
    response = await fetchWithTimeout(
      url,
      {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...config.accessHeaders,
          ...(await signedHeaders(config.secret, { method: "POST", path: requestTarget(url), body })),
        },
        body,
      },
      config.timeoutMs,
    );
  } catch (error) {
    const reason =
      error instanceof RequestTimeoutError
        ? "timed out"
        : `unreachable (${error instanceof Error ? error.message : String(error)})`;
    return { kind: "transient", message: `executor ${reason}` };
  }
  const text = await response.text().catch(() => "");
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  const kind = classifyStatus(response.status);
  if (kind === "ok") return { kind, status: response.status, body: parsed };
  const detail = (parsed as { error?: unknown } | null)?.error;
  const message = `executor answered ${response.status}${typeof detail === "string" ? `: ${detail.slice(0, 300)}` : ""}`;
  return { kind, status: response.status, message };
}

/**
 * The executor answers a job id it knows with that job's state and starts nothing (contract: idempotent POST).
 * When that state is another attempt's (one still queued or running there), our attempt was not taken: try again
 * later rather than count it as dispatched and ignore every callback of the run that does happen.
 */
export function acceptedForAttempt(outcome: PostOutcome, attempt: number): PostOutcome {
  if (outcome.kind !== "ok") return outcome;
  const held = executorJobStatus.safeParse(outcome.body);
  if (!held.success || held.data.attempt === attempt) return outcome;
  return {
    kind: "transient",
    message: `the executor still holds attempt ${held.data.attempt} of this job (${held.data.state})`,
  };
}
