import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { browserSuitePlan } from "./browser/findBrowser.js";

// Tests of the dashboard and its stand-in backend: the harness, the site's own helpers and the Chromium tests.
// Separate from the root vitest.config.ts because the browser tests build the site and drive one Chromium;
// run with `npm run test:browser`. One file at a time: the machine has two cores.
// Without an installed Chromium, Chrome or Edge the browser tests are left out with a message (an error in CI).
const browsers = browserSuitePlan();
if (!browsers.run) console.warn(`\n⚠ ${browsers.message}\n`);

export default defineConfig({
  // The site's own alias (svelte.config.js `kit.alias`), so its modules import convex/ the same way here.
  resolve: { alias: { $convex: fileURLToPath(new URL("../convex", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts", "site/src/**/*.test.ts"],
    exclude: browsers.run
      ? ["**/node_modules/**"]
      : ["**/node_modules/**", "test/browser/!(findBrowser).test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
