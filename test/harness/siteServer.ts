/**
 * Serves the static dashboard build (site/build) the way a static host does: files as they are, index.html
 * for every other path (the SPA fallback), and `_app/env.js` rewritten so the build talks to `convexUrl` and
 * shows `convexSiteUrl` (the deployment's HTTP routes; see convex/lib/httpApiUrls.ts) as the trigger API's origin.
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
};

export interface SiteServer {
  url: string;
  close(): Promise<void>;
}

export async function serveSite(
  buildDir: string,
  convexUrl: string,
  port = 0,
  convexSiteUrl?: string,
): Promise<SiteServer> {
  const publicEnv = {
    PUBLIC_CONVEX_URL: convexUrl,
    ...(convexSiteUrl ? { PUBLIC_CONVEX_SITE_URL: convexSiteUrl } : {}),
  };
  const root = path.resolve(buildDir);
  const server = createServer((request, response) => {
    void (async () => {
      const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
      if (pathname === "/_app/env.js") {
        response.writeHead(200, { "content-type": TYPES[".js"]! });
        return response.end(`export const env=${JSON.stringify(publicEnv)}`);
      }
      const file = path.resolve(root, "." + pathname);
      const inside = file.startsWith(root + path.sep);
      const body = inside ? await readFile(file).catch(() => null) : null;
      if (body) {
        response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
        return response.end(body);
      }
      response.writeHead(200, { "content-type": TYPES[".html"]! });
      response.end(await readFile(path.join(root, "index.html")));
    })().catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
