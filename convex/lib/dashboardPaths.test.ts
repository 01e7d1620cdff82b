/// <reference types="vite/client" />
import { describe, expect, test } from "vitest";
import { alertMessage } from "./alertMessage";
import { dashboardLink, dashboardPaths } from "./dashboardPaths";

// The site's real pages, by file (SvelteKit: a route is a directory under site/src/routes with a +page.svelte).
const pageFiles = Object.keys(import.meta.glob("../../site/src/routes/**/+page.svelte"));

/** SvelteKit's route syntax for the forms the site uses: `[param]` is one segment, `(group)` is no segment. */
function routeOf(file: string): { route: string; pattern: RegExp } {
  const route = file.replace(/^.*\/site\/src\/routes/, "").replace(/\/\+page\.svelte$/, "") || "/";
  const segments = route
    .split("/")
    .filter((s) => s && !/^\(.*\)$/.test(s))
    .map((s) => (/^\[[^\]]+\]$/.test(s) ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return { route, pattern: new RegExp(`^/${segments.join("/")}$`) };
}
const routes = pageFiles.map(routeOf);

/** The route that serves `path` (static routes win over parameters, as in SvelteKit), or undefined. */
function routeFor(path: string): string | undefined {
  const pathname = new URL(path, "https://dashboard.example.com").pathname;
  const matches = routes.filter((r) => r.pattern.test(pathname));
  return (matches.find((r) => !r.route.includes("[")) ?? matches[0])?.route;
}

const SAMPLE_ID = "k57abc123def456";

describe("the dashboard's paths are the site's real routes", () => {
  test("the site's pages were found", () => {
    expect(routes.map((r) => r.route)).toContain("/logs/[jobId]");
  });

  test.each(Object.entries(dashboardPaths))("%s points at a page of the site", (_name, path) => {
    const route = routeFor(path(SAMPLE_ID));
    expect(route, `${path(SAMPLE_ID)} has no page under site/src/routes`).toBeDefined();
  });

  test("pages of one thing resolve to that thing's route, with the id in it", () => {
    expect(routeFor(dashboardPaths.job(SAMPLE_ID))).toBe("/logs/[jobId]");
    expect(routeFor(dashboardPaths.app(SAMPLE_ID))).toBe("/apps/[appId]");
    expect(routeFor(dashboardPaths.editApp(SAMPLE_ID))).toBe("/apps/[appId]/edit");
    expect(routeFor(dashboardPaths.logs({ app: SAMPLE_ID }))).toBe("/logs");
    expect(dashboardPaths.job(SAMPLE_ID)).toContain(SAMPLE_ID);
  });

  test("the failure email links to the job's page", () => {
    const { text } = alertMessage({
      kind: "failure",
      appName: "Shop",
      appSlug: "shop",
      jobId: SAMPLE_ID,
      attempt: 3,
      maxAttempts: 3,
      events: [],
      dashboardUrl: "https://sync.example.com/",
    });
    const link = /https:\/\/sync\.example\.com\S*/.exec(text)?.[0];
    expect(link).toBe(`https://sync.example.com/logs/${SAMPLE_ID}`);
    expect(routeFor(new URL(link!).pathname)).toBe("/logs/[jobId]");
    expect(dashboardLink("https://sync.example.com/base/", "/logs")).toBe(
      "https://sync.example.com/base/logs",
    );
  });
});
