/** Builds the dashboard for the browser tests when site/ sources are newer than site/build. */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const SITE_BUILD_DIR = path.join(ROOT, "site/build");

function newestMtime(entries: string[]): number {
  let newest = 0;
  for (const entry of entries) {
    const full = path.join(ROOT, entry);
    const stat = statSync(full, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) {
      for (const child of readdirSync(full, { recursive: true, withFileTypes: true })) {
        if (child.isFile())
          newest = Math.max(newest, statSync(path.join(child.parentPath, child.name)).mtimeMs);
      }
    } else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

export function ensureSiteBuilt(): void {
  const built = statSync(path.join(SITE_BUILD_DIR, "index.html"), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = newestMtime(["site/src", "site/static", "svelte.config.js", "vite.config.ts"]);
  if (built > sources) return;
  const vite = path.join(ROOT, "node_modules/vite/bin/vite.js");
  const result = spawnSync(process.execPath, [vite, "build", "--logLevel", "error"], {
    cwd: ROOT,
    // The served build gets the harness URL through its _app/env.js; this value is only a placeholder.
    env: { ...process.env, PUBLIC_CONVEX_URL: "http://127.0.0.1:3210" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}
