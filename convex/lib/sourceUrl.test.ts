import { describe, expect, it } from "vitest";
import { needsHttpPermission, normalizeDeploymentUrl } from "./sourceUrl";

describe("needsHttpPermission (the dashboard offers the http checkbox when it is true)", () => {
  it("is false for https and for http to loopback, which the server takes without the permission", () => {
    for (const url of [
      "https://happy-animal-123.convex.cloud",
      "http://localhost:3210",
      "http://127.0.0.1:3210/convex",
      "HTTP://[::1]:3210",
    ]) {
      expect(needsHttpPermission(url)).toBe(false);
      expect(() => normalizeDeploymentUrl(url)).not.toThrow();
    }
  });

  it("is true for http to a private host, which the server refuses without the permission", () => {
    for (const url of ["http://10.0.0.5:3210", " http://convex.internal ", "http://backend:3210"]) {
      expect(needsHttpPermission(url)).toBe(true);
      expect(() => normalizeDeploymentUrl(url)).toThrow(/uses http/);
      expect(normalizeDeploymentUrl(url, { allowInsecureHttp: true })).toMatch(/^http:\/\//);
    }
  });

  it("is true for a loopback look-alike and for an http URL that does not parse", () => {
    expect(needsHttpPermission("http://localhost.example.com")).toBe(true);
    expect(needsHttpPermission("http://[")).toBe(true);
  });
});
