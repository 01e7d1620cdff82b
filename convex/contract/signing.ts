/**
 * HMAC-SHA256 request signing shared by the control plane and the executor.
 *
 * signature = hex(HMAC_SHA256(secret, `${unixSeconds}.${rawBody}`)), sent as two headers.
 * A receiver rejects a timestamp more than {@link SIGNATURE_WINDOW_SECONDS} away from its clock and compares
 * signatures in constant time. Uses only Web Crypto, so it runs in Convex's default runtime and in Node 22.
 */
export const SIGNATURE_HEADER = "x-convex-sync-signature";
export const TIMESTAMP_HEADER = "x-convex-sync-timestamp";
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function computeSignature(secret: string, timestamp: string, rawBody: string): Promise<string> {
  const key = await hmacKey(secret);
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${rawBody}`)));
}

/** Headers to send with `rawBody` (the exact string that goes on the wire). */
export async function signedHeaders(
  secret: string,
  rawBody: string,
  nowMs: number = Date.now(),
): Promise<Record<string, string>> {
  if (!secret) throw new Error("signing secret is empty");
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: await computeSignature(secret, timestamp, rawBody),
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

export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: "missing_secret" | "missing_headers" | "malformed" | "stale" | "bad_signature" };

export async function verifySignature(
  secret: string | undefined,
  headers: { get(name: string): string | null },
  rawBody: string,
  nowMs: number = Date.now(),
): Promise<SignatureCheck> {
  if (!secret) return { ok: false, reason: "missing_secret" };
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  if (!timestamp || !signature) return { ok: false, reason: "missing_headers" };
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(signature))
    return { ok: false, reason: "malformed" };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS)
    return { ok: false, reason: "stale" };
  const expected = await computeSignature(secret, timestamp, rawBody);
  return constantTimeEqual(expected, signature) ? { ok: true } : { ok: false, reason: "bad_signature" };
}
