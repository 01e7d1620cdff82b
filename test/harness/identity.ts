/**
 * Stands in for the deployment's auth check. Convex Auth signs its JWTs with JWT_PRIVATE_KEY (RS256); the real
 * backend verifies them against the JWKS its auth.config.ts points at. The harness makes a fresh key pair per
 * process, hands the private half to the app's functions through the environment, and verifies with the public
 * half here.
 */
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import type { UserIdentity } from "convex/server";

export interface AuthKeys {
  /** PKCS#8 PEM, as Convex Auth expects in JWT_PRIVATE_KEY. */
  privateKeyPem: string;
  /** `{"keys":[…]}`, as Convex Auth expects in JWKS. */
  jwks: string;
  publicKey: KeyObject;
}

export function generateAuthKeys(): AuthKeys {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), use: "sig", alg: "RS256" };
  return {
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    jwks: JSON.stringify({ keys: [jwk] }),
    publicKey: createPublicKey(publicKey.export({ format: "pem", type: "spki" })),
  };
}

export class InvalidTokenError extends Error {}

/** Checks signature, audience, issuer and expiry; returns the identity the backend would give the functions. */
export function verifyToken(
  token: string,
  publicKey: KeyObject,
  issuer: string,
  now: number = Date.now(),
): Partial<UserIdentity> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new InvalidTokenError("Token is not a JWT");
  const [header, payload, signature] = parts as [string, string, string];
  const ok = verify(
    "RSA-SHA256",
    Buffer.from(`${header}.${payload}`),
    publicKey,
    Buffer.from(signature, "base64url"),
  );
  if (!ok) throw new InvalidTokenError("Could not verify token signature");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  if (claims.iss !== issuer)
    throw new InvalidTokenError(`Token issuer ${String(claims.iss)} is not ${issuer}`);
  if (claims.aud !== "convex" && !(Array.isArray(claims.aud) && claims.aud.includes("convex"))) {
    throw new InvalidTokenError("Token audience is not convex");
  }
  if (typeof claims.exp === "number" && claims.exp * 1000 < now) throw new InvalidTokenError("Token expired");
  if (typeof claims.sub !== "string") throw new InvalidTokenError("Token has no subject");
  return { subject: claims.sub, issuer, tokenIdentifier: `${issuer}|${claims.sub}` };
}
