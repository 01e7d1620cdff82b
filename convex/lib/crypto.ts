/**
 * AES-256-GCM for secrets at rest (deploy keys, the SMTP password), with the key from the Convex environment
 * variable SECRETS_KEY (32 random bytes, base64: `openssl rand -base64 32`). Web Crypto only, so it runs in
 * Convex's default runtime. Ciphertext format: `v1.<iv base64>.<ciphertext+tag base64>`.
 */
import { misconfigured } from "./userError";

export const SECRETS_KEY_ENV = "SECRETS_KEY";
const FORMAT_VERSION = "v1";
const IV_BYTES = 12;

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string, what: string): Uint8Array<ArrayBuffer> {
  try {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    throw new Error(`${what} is not valid base64`);
  }
}

async function importKey(keyBase64: string | undefined): Promise<CryptoKey> {
  // A deployment setting only its admin can fix: worth saying in production too (./userError.ts).
  if (!keyBase64) throw misconfigured(`${SECRETS_KEY_ENV} is not set: set it to 32 random bytes in base64`);
  const raw = fromBase64(keyBase64, SECRETS_KEY_ENV);
  if (raw.length !== 32) throw misconfigured(`${SECRETS_KEY_ENV} must decode to 32 bytes, got ${raw.length}`);
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

export async function encryptSecret(
  plaintext: string,
  keyBase64: string | undefined = process.env[SECRETS_KEY_ENV],
): Promise<string> {
  const key = await importKey(keyBase64);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(plaintext));
  return `${FORMAT_VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(ct))}`;
}

export async function decryptSecret(
  ciphertext: string,
  keyBase64: string | undefined = process.env[SECRETS_KEY_ENV],
): Promise<string> {
  const [version, ivText, ctText] = ciphertext.split(".");
  if (version !== FORMAT_VERSION || !ivText || !ctText)
    throw new Error("stored secret has an unknown format");
  const key = await importKey(keyBase64);
  try {
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(ivText, "iv") },
      key,
      fromBase64(ctText, "ciphertext"),
    );
    return new TextDecoder().decode(pt);
  } catch {
    throw new Error(`stored secret cannot be decrypted: was ${SECRETS_KEY_ENV} changed?`);
  }
}

/**
 * A display form that reveals nothing usable: the part before `|` of a deploy key (type and deployment name,
 * which are not secret) and the last 4 characters of the rest.
 */
export function maskSecret(secret: string): string {
  const bar = secret.indexOf("|");
  const head = bar >= 0 ? secret.slice(0, bar + 1) : "";
  const tail = bar >= 0 ? secret.slice(bar + 1) : secret;
  if (tail.length <= 8) return `${head}••••`;
  return `${head}••••${tail.slice(-4)}`;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** URL-safe random token with `bytes` of entropy. */
export function randomToken(bytes = 32): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return toBase64(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
