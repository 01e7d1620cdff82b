/**
 * Convex Auth's environment for tests that sign in: it signs session JWTs with JWT_PRIVATE_KEY, so each test
 * backend gets a fresh RS256 key, as a deployment would have.
 */
export async function authEnv(): Promise<Record<string, string>> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const base64 = btoa(String.fromCharCode(...pkcs8)).replace(/(.{64})/g, "$1\n");
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return {
    JWT_PRIVATE_KEY: `-----BEGIN PRIVATE KEY-----\n${base64}\n-----END PRIVATE KEY-----`,
    JWKS: JSON.stringify({ keys: [{ ...jwk, use: "sig", alg: "RS256" }] }),
    CONVEX_SITE_URL: "https://test.convex.site",
  };
}
