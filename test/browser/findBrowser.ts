/**
 * The Chromium-family browser the browser tests drive: CHROMIUM_PATH when set, else the first installed
 * Chromium, Chrome or Edge at the places their installers use. The Chrome and Edge paths are playwright-core's
 * own channel table (node_modules/playwright-core/lib/coreBundle.js, `_createChromiumChannel("chrome" | "msedge")`);
 * the Chromium paths are Debian's, Ubuntu's snap and the macOS app. No browser is downloaded.
 */
import { existsSync } from "node:fs";
import path from "node:path";

export type FoundBrowser = { executablePath: string; source: string };

function windowsCandidates(env: NodeJS.ProcessEnv): string[] {
  const roots = [env.LOCALAPPDATA, env.PROGRAMFILES, env["PROGRAMFILES(X86)"]].filter(
    (r): r is string => !!r,
  );
  const apps = [
    "Google\\Chrome\\Application\\chrome.exe",
    "Microsoft\\Edge\\Application\\msedge.exe",
    "Chromium\\Application\\chrome.exe",
  ];
  return roots.flatMap((root) => apps.map((app) => path.win32.join(root, app)));
}

export function browserCandidates(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  switch (platform) {
    case "linux":
      return [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/snap/bin/chromium",
        "/opt/google/chrome/chrome",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable",
        "/opt/microsoft/msedge/msedge",
        "/usr/bin/microsoft-edge",
      ];
    case "darwin":
      return [
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
      ];
    case "win32":
      return windowsCandidates(env);
    default:
      return [];
  }
}

/** The browser to use, or null when none is installed. A CHROMIUM_PATH that does not exist is an error. */
export function findBrowser(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  exists: (file: string) => boolean = existsSync,
): FoundBrowser | null {
  const given = env.CHROMIUM_PATH?.trim();
  if (given) {
    if (!exists(given)) throw new Error(`CHROMIUM_PATH is ${given}, which does not exist`);
    return { executablePath: given, source: "CHROMIUM_PATH" };
  }
  const found = browserCandidates(platform, env).find((file) => exists(file));
  return found ? { executablePath: found, source: "installed" } : null;
}

/**
 * What the browser suite does on this machine: run with the browser found; without one, skip with a message,
 * except in CI (CI=true), where a missing browser fails the run instead of passing it silently.
 */
export function browserSuitePlan(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  exists: (file: string) => boolean = existsSync,
): { run: true; browser: FoundBrowser } | { run: false; message: string } {
  const browser = findBrowser(env, platform, exists);
  if (browser) return { run: true, browser };
  const message =
    "No Chromium, Chrome or Edge found (looked at CHROMIUM_PATH and " +
    `${browserCandidates(platform, env).join(", ") || "no known paths on this platform"}).`;
  if (/^(1|true)$/i.test(env.CI ?? ""))
    throw new Error(`${message} CI=true: the browser tests must run here; install one or set CHROMIUM_PATH.`);
  return {
    run: false,
    message: `${message} Skipping the browser tests (test/browser/): install Chromium, Chrome or Edge, or set CHROMIUM_PATH, to run them.`,
  };
}
