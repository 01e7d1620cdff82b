import { describe, expect, test } from "vitest";
import { decryptSecret, encryptSecret, maskSecret, randomToken, sha256Hex } from "./crypto";

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(1)));
const OTHER_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(2)));

describe("secrets at rest", () => {
  test("round-trips, and never stores the plaintext", async () => {
    const secret = "prod:happy-animal-123|supersecretvalue";
    const sealed = await encryptSecret(secret, KEY);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain("supersecret");
    expect(await decryptSecret(sealed, KEY)).toBe(secret);
  });

  test("two encryptions of one secret differ (fresh IV)", async () => {
    expect(await encryptSecret("x", KEY)).not.toBe(await encryptSecret("x", KEY));
  });

  test("the wrong key or a tampered ciphertext is refused clearly", async () => {
    const sealed = await encryptSecret("x", KEY);
    await expect(decryptSecret(sealed, OTHER_KEY)).rejects.toThrow(
      /cannot be decrypted: was SECRETS_KEY changed/,
    );
    const tampered = sealed.slice(0, -4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA");
    await expect(decryptSecret(tampered, KEY)).rejects.toThrow(/cannot be decrypted/);
  });

  test("a missing or short key is named", async () => {
    await expect(encryptSecret("x", undefined)).rejects.toThrow(/SECRETS_KEY is not set/);
    await expect(encryptSecret("x", btoa("short"))).rejects.toThrow(/32 bytes, got 5/);
  });

  test("masking keeps the deployment name and 4 characters at most", () => {
    expect(maskSecret("prod:happy-animal-123|0123456789abcdefXYZW")).toBe("prod:happy-animal-123|••••XYZW");
    expect(maskSecret("short|abc")).toBe("short|••••");
    expect(maskSecret("nobarsecretvalue1234")).toBe("••••1234");
  });

  test("sha256 and random tokens", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const a = randomToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(a);
  });
});
