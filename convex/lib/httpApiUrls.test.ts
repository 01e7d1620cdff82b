import { describe, expect, it } from "vitest";
import { curlTrigger, jobStatusUrl, siteUrlFor, triggerUrl } from "./httpApiUrls";

describe("siteUrlFor", () => {
  it("turns a .convex.cloud deployment into its .convex.site origin", () => {
    expect(siteUrlFor("https://happy-animal-123.convex.cloud")).toBe("https://happy-animal-123.convex.site");
    expect(siteUrlFor("https://happy-animal-123.eu-west-1.convex.cloud/")).toBe(
      "https://happy-animal-123.eu-west-1.convex.site",
    );
  });

  it("prefers a configured site URL, without its trailing slash", () => {
    expect(siteUrlFor("http://127.0.0.1:3210", "http://127.0.0.1:3211/")).toBe("http://127.0.0.1:3211");
  });

  it("gives no URL it cannot know: local backends, custom domains, garbage", () => {
    expect(siteUrlFor("http://127.0.0.1:3210")).toBeNull();
    expect(siteUrlFor("https://api.example.com")).toBeNull();
    expect(siteUrlFor("not a url")).toBeNull();
    expect(siteUrlFor("https://evil.convex.cloud.example.com")).toBeNull();
  });
});

describe("trigger URLs", () => {
  it("puts the slug under /api/sync/ and the job under /api/jobs/", () => {
    expect(triggerUrl("https://a.convex.site/", "shop-prod")).toBe(
      "https://a.convex.site/api/sync/shop-prod",
    );
    expect(jobStatusUrl("https://a.convex.site", "j1")).toBe("https://a.convex.site/api/jobs/j1");
  });

  it("writes a curl command that reads the token from the environment", () => {
    expect(curlTrigger("https://a.convex.site", "shop")).toBe(
      'curl -X POST -H "Authorization: Bearer $SYNC_TOKEN" https://a.convex.site/api/sync/shop',
    );
  });
});
