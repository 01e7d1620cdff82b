import { describe, expect, test } from "vitest";
import { requestTarget, signedHeaders, verifySignature, type SignedRequest } from "./signing";

const SECRET = "a-shared-secret-of-at-least-32-chars!";
const request: SignedRequest = { method: "POST", path: "/jobs/abc/cancel", body: '{"jobId":"abc"}' };

async function check(sent: SignedRequest, received: SignedRequest) {
  return verifySignature(SECRET, new Headers(await signedHeaders(SECRET, sent)), received);
}

describe("request signatures (version 2)", () => {
  test("cover the method, the path with its query and the body", async () => {
    expect(await check(request, request)).toEqual({ ok: true });
    for (const changed of [
      { ...request, method: "GET" },
      { ...request, path: "/jobs/abd/cancel" },
      { ...request, path: "/jobs/abc/cancel?force=1" },
      { ...request, body: '{"jobId":"abd"}' },
    ])
      expect(await check(request, changed)).toEqual({ ok: false, reason: "bad_signature" });
  });

  test("a field moved between path and body does not verify (the parts are delimited)", async () => {
    const a = { method: "POST", path: "/x", body: "\n/y" };
    const b = { method: "POST", path: "/x\n", body: "/y" };
    expect(await check(a, b)).toEqual({ ok: false, reason: "bad_signature" });
  });

  test("requestTarget is the pathname and query as sent", () => {
    expect(requestTarget("https://h.example.com/jobs/a%20b?x=1&y=2")).toBe("/jobs/a%20b?x=1&y=2");
    expect(requestTarget("http://127.0.0.1:8080/executor/progress")).toBe("/executor/progress");
  });

  test("a missing or other version is refused as unsupported, naming the peer's version", async () => {
    const headers = new Headers(await signedHeaders(SECRET, request));
    headers.delete("x-signature-version");
    expect(await verifySignature(SECRET, headers, request)).toEqual({
      ok: false,
      reason: "unsupported_version",
      peerVersion: "1",
    });
    headers.set("x-signature-version", "3");
    expect(await verifySignature(SECRET, headers, request)).toMatchObject({ peerVersion: "3" });
  });
});
