/**
 * HMAC-SHA256 request signing shared by the control plane and the executor, in both directions (dispatch and
 * cancel to the executor, callbacks to Convex).
 *
 * Version 2 signs the whole request, so a signed request cannot be replayed against another path or method:
 *
 *   signature = hex(HMAC_SHA256(secret, "v2\n" + JSON.stringify([unixSeconds, METHOD, pathAndQuery]) + "\n" + rawBody))
 *
 * sent as three headers: X-Signature-Version (2), X-Convex-Sync-Timestamp and X-Convex-Sync-Signature. The path is
 * the request target as the receiver sees it (pathname and query of the URL, percent-encoded as on the wire).
 * Version 1 (timestamp and body only, no version header) is refused with reason "unsupported_version", so an old
 * peer gets a clear error instead of a bare "bad signature". A receiver rejects a timestamp more than
 * {@link SIGNATURE_WINDOW_SECONDS} away from its clock and compares signatures in constant time. Uses only Web
 * Crypto, so it runs in Convex's default runtime and in Node 22.
 */
export const SIGNATURE_VERSION = 2;
export const VERSION_HEADER = "x-signature-version";
export const SIGNATURE_HEADER = "x-convex-sync-signature";
export const TIMESTAMP_HEADER = "x-convex-sync-timestamp";
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

/** What a signature covers besides the timestamp. `body` is the exact string on the wire ("" when none). */
export interface SignedRequest {
  method: string;
  /** Path and query, e.g. "/jobs/abc?x=1"; see {@link requestTarget}. */
  path: string;
  body: string;
}

const encoder = new TextEncoder();

/** The path and query of a URL as sent on the wire: what both sides sign. */
export function requestTarget(url: string | URL): string {
  const u = typeof url === "string" ? new URL(url) : url;
  return u.pathname + u.search;
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The exact text that is signed. The header parts are a JSON array (no raw newline inside), and the body comes
 * last, so no split of the same characters between path and body signs the same. The method is upper-cased.
 */
export function canonicalRequest(timestamp: string, request: SignedRequest): string {
  const head = JSON.stringify([timestamp, request.method.toUpperCase(), request.path]);
  return `v${SIGNATURE_VERSION}\n${head}\n${request.body}`;
}

export async function computeSignature(
  secret: string,
  timestamp: string,
  request: SignedRequest,
): Promise<string> {
  const key = await hmacKey(secret);
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(canonicalRequest(timestamp, request))));
}

/** Headers to send with `request` (its body is the exact string that goes on the wire). */
export async function signedHeaders(
  secret: string,
  request: SignedRequest,
  nowMs: number = Date.now(),
): Promise<Record<string, string>> {
  if (!secret) throw new Error("signing secret is empty");
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    [VERSION_HEADER]: String(SIGNATURE_VERSION),
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: await computeSignature(secret, timestamp, request),
  };
}

/** Compares two strings in time that depends only on their lengths' maximum, never on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.max(x.length, y.length);
  let diff = x.length ^ y.length;
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export type SignatureFailure =
  "missing_secret" | "missing_headers" | "unsupported_version" | "malformed" | "stale" | "bad_signature";

export type SignatureCheck =
  | { ok: true }
  | {
      ok: false;
      reason: SignatureFailure;
      /** For "unsupported_version": the version the peer sent ("1" when it sent no version header). */
      peerVersion?: string;
    };

export async function verifySignature(
  secret: string | undefined,
  headers: { get(name: string): string | null },
  request: SignedRequest,
  nowMs: number = Date.now(),
): Promise<SignatureCheck> {
  if (!secret) return { ok: false, reason: "missing_secret" };
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  if (!timestamp || !signature) return { ok: false, reason: "missing_headers" };
  const version = headers.get(VERSION_HEADER)?.trim() ?? "1";
  if (version !== String(SIGNATURE_VERSION))
    return { ok: false, reason: "unsupported_version", peerVersion: version.slice(0, 20) };
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(signature))
    return { ok: false, reason: "malformed" };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS)
    return { ok: false, reason: "stale" };
  const expected = await computeSignature(secret, timestamp, request);
  return constantTimeEqual(expected, signature) ? { ok: true } : { ok: false, reason: "bad_signature" };
}

/** A message for a refused request that tells an operator what to do; never includes the secret. */
export function describeSignatureFailure(check: Extract<SignatureCheck, { ok: false }>): string {
  if (check.reason === "unsupported_version")
    return (
      `signature version ${check.peerVersion ?? "?"} is not supported; this side signs and verifies version ` +
      `${SIGNATURE_VERSION} (method, path and body): update the executor and the control plane to the same release`
    );
  return `signature check failed: ${check.reason}`;
}
